/**
 * paymentWorkflow: money in. Registers with the provider and hands the merchant the payment
 * instructions, then waits for the first of a verified callback, a status poll, a cancel request or
 * expiry. A payment that closed without money is watched for a late one, which is recorded, never lost.
 */
import {
  ApplicationFailure,
  condition,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import type { PaymentOutcome, PaymentRef, PaymentRegistration, PaymentStatus } from '../src/domain/payment';
import { closedWithoutPayment, paymentStatusRank } from '../src/domain/payment';
import { localProviderCall, providerCall, providerInquiry } from './activity-options';
import { activityFailureOf } from './activity-options';
import { REGISTRATION_ASKED_ACROSS_RUNS } from './patches';
import { nowIso } from './status-and-timeline';
import { paymentWorkflowV1 } from './legacy/payment-v1';
import { cancelPaymentUpdate, paymentRegisteredUpdate, paymentStateQuery } from './messages';
import type { CancelPaymentRequest } from './messages';
import { firstAnswer, MOVEMENT_CORE, Movement } from './movement';
import type { CallbackReader } from './movement';
import { DEFAULT_REGISTRATION_RETRY, nextDelay } from './timings';
import type { Carried, PaymentState, PaymentWorkflowInput, TimelineEntry } from './movement-state';

const calls = proxyActivities<KasirActivities>(providerCall);
const localCalls = proxyLocalActivities<KasirActivities>(localProviderCall);
const inquiries = proxyActivities<KasirActivities>(providerInquiry);

/** Errors after which the provider may hold the order: ask it before anything else. */
const MAY_EXIST = ['OutcomeUnknownError', 'ProviderResponseInvalidError'];

/** The domain's ladder, with REGISTERING below PENDING so registration's answer can move it. */
function rank(status: PaymentStatus): number {
  return status === 'REGISTERING' ? -1 : paymentStatusRank(status);
}

function initialState(input: PaymentWorkflowInput): PaymentState {
  const at = nowIso();
  return {
    id: input.paymentId,
    kind: 'payment',
    merchantId: input.merchantId,
    merchantReference: input.merchantReference,
    provider: input.provider,
    method: input.method,
    amount: input.amount,
    status: 'REGISTERING',
    requestFingerprint: input.requestFingerprint,
    needsAttention: false,
    createdAt: at,
    updatedAt: at,
    timeline: [],
    metadata: input.metadata,
  };
}

export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentState> {
  if (!patched(MOVEMENT_CORE)) return paymentWorkflowV1(input);
  return new Payment(input).run();
}

interface CancelRequest {
  reason?: string;
  answer?: { error?: string };
}

class Payment implements CallbackReader {
  private readonly input: PaymentWorkflowInput;
  private readonly movement: Movement<PaymentState>;
  private readonly state: PaymentState;
  private cancel?: CancelRequest;
  private attempt: number;
  private pollsThisRun = 0;
  private watchUntil?: number;

  constructor(input: PaymentWorkflowInput) {
    this.input = input;
    this.state = input.resume?.state ?? initialState(input);
    this.movement = new Movement({ kind: 'payment', rank, timings: input.timings }, this.state, input.resume);
    this.attempt = input.resume?.attempt ?? 0;
    this.watchUntil = input.resume?.watchUntil;

    setHandler(paymentStateQuery, () => this.state);
    setHandler(paymentRegisteredUpdate, async () => {
      await firstAnswer(() => this.state.status !== 'REGISTERING');
      return this.state;
    });
    setHandler(cancelPaymentUpdate, (request) => this.requestCancel(request), {
      validator: (_request: CancelPaymentRequest) => {
        if (this.state.status !== 'PENDING') {
          throw new Error(`payment ${this.state.id} is ${this.state.status}; only a PENDING payment can be cancelled`);
        }
      },
    });
    this.movement.servesRequests(
      () => this.cancel !== undefined && this.cancel.answer === undefined,
      () => this.handleCancel()
    );
  }

  async run(): Promise<PaymentState> {
    if (this.state.status === 'REGISTERING') {
      // A run that continued as new while asking about a lost registration goes on asking; it never
      // registers again.
      const unresolved = this.state.registrationUnresolved;
      if (unresolved !== undefined) await this.resolveUnknownRegistration(unresolved);
      else await this.register();
    }
    if (this.state.status === 'PENDING') await this.awaitPayment();
    if (this.shouldWatchForLatePayment()) await this.watchForLatePayment();
    return this.movement.closeOut(this, (carried) => this.nextRun(carried), this.cursor());
  }

  // ---- registration ----------------------------------------------------------------------------

  /**
   * Registers once, and again only while the provider cannot say it holds the order. An unknown
   * outcome (timeout, 5xx, an answer that says the order already exists) is resolved by asking the
   * provider, never taken as a failure: a provider that holds the order has it PENDING.
   */
  private async register(): Promise<void> {
    const retry = this.input.timings.payment.registrationRetry ?? DEFAULT_REGISTRATION_RETRY;
    let unknownBefore = false;
    for (let sent = 1; ; sent++) {
      let registration: PaymentRegistration;
      try {
        registration = await localCalls.registerPayment(this.state.provider, {
          reference: this.state.id,
          amount: this.state.amount,
          method: this.state.method,
          customer: this.input.customer,
          description: this.input.description,
          expiresInMinutes: this.input.expiresInMinutes,
          callbackUrl: this.input.callbackUrl,
          returnUrl: this.input.returnUrl,
        });
      } catch (err) {
        const failure = activityFailureOf(err);
        if (!failure) throw err;
        const type = failure.type ?? 'REGISTRATION_FAILED';
        if (!MAY_EXIST.includes(type)) {
          if (unknownBefore) return this.resolveUnknownRegistration(`${type}: ${failure.message}`);
          this.state.failure = { code: type, message: failure.message };
          this.movement.transition('FAILED', 'registration', type);
          return;
        }
        unknownBefore = true;
        this.movement.recordMoneyEvent('registration', `outcome unknown (${type}: ${failure.message})`);
        if (await this.adoptExistingOrder()) return;
        if (sent >= retry.attempts) return this.resolveUnknownRegistration(`${type}: ${failure.message}`);
        await sleep(nextDelay(retry, sent - 1));
        continue;
      }
      if (registration.result === 'registered') {
        this.state.instructions = registration.instructions;
        this.state.providerReference = registration.providerReference;
        this.state.providerStatus = registration.outcome.providerStatus;
        this.movement.transition('PENDING', 'registration');
        return;
      }
      // A refusal after an unknown attempt may be the provider refusing our own earlier order.
      if (unknownBefore)
        return this.resolveUnknownRegistration(`${registration.failure.code}: ${registration.failure.message}`);
      this.state.failure = registration.failure;
      this.movement.transition('FAILED', 'registration', registration.failure.code);
      return;
    }
  }

  /** After an unknown outcome: if the provider already shows the order paid or closed, that is the answer. */
  private async adoptExistingOrder(): Promise<boolean> {
    const known = await this.inquire();
    if (!known || known.status === 'not_found' || known.status === 'pending') return false;
    this.apply(known, 'registration');
    return true;
  }

  /**
   * Registration's answer was lost and sending again did not bring it back. Ask the provider: an order
   * it holds is PENDING (instructions it did not repeat cannot be shown, so an operator is told); an
   * order it does not know is closed at the provider if possible and watched for a stray payment.
   */
  private async resolveUnknownRegistration(why: string): Promise<void> {
    const known = await this.askAboutLostRegistration(why);
    if (this.state.status !== 'REGISTERING') {
      // A callback answered meanwhile (paid, expired, or held without the instructions it never repeated).
      if (this.state.status === 'PENDING' && !this.state.instructions) this.flagLostInstructions();
      return;
    }
    if (known === undefined) {
      this.state.failure = { code: 'REGISTRATION_OUTCOME_UNKNOWN', message: why };
      this.movement.transition(
        'EXPIRED',
        'registration',
        'the provider never answered about the order before it would expire'
      );
      this.movement.flag(
        'REGISTRATION_OUTCOME_UNKNOWN: the provider never said whether it holds the order; watching for a stray payment',
        'registration'
      );
      return;
    }
    if (known.status !== 'not_found' && known.status !== 'pending') return this.apply(known, 'registration');
    if (known?.status === 'pending') {
      this.state.providerStatus = known.providerStatus;
      this.state.providerReference ??= known.providerReference;
      this.movement.transition('PENDING', 'registration', 'the provider holds the order; its answer was lost');
      this.flagLostInstructions();
      return;
    }
    this.state.failure = { code: 'REGISTRATION_OUTCOME_UNKNOWN', message: why };
    await calls.cancelPayment(this.state.provider, this.ref()).catch(() => undefined);
    this.movement.transition('FAILED', 'registration', this.state.failure.code);
    this.movement.flag(
      'REGISTRATION_OUTCOME_UNKNOWN: closed at the provider where it can be; watching for a stray payment',
      'registration'
    );
  }

  private flagLostInstructions(): void {
    this.movement.flag(
      'REGISTRATION_ANSWER_LOST: the provider holds the order but did not repeat its payment instructions',
      'registration'
    );
  }

  /**
   * Nothing is decided while the provider cannot be asked: a closing outcome now could be wrong for an
   * order it holds. Asks on the poll schedule until it answers, a callback settles the payment, or the
   * payment would expire. The question is carried across continue-as-new (`registrationUnresolved`), so
   * a long outage neither grows one run's history without bound nor leads a next run to register again.
   */
  private async askAboutLostRegistration(why: string): Promise<PaymentOutcome | undefined> {
    if (!patched(REGISTRATION_ASKED_ACROSS_RUNS)) {
      let known = await this.inquire();
      for (let attempt = 0; known === undefined && Date.now() < this.expiresAt(); attempt++) {
        this.movement.note('registration', 'the provider cannot be asked about the order yet; asking again');
        await sleep(
          Math.min(nextDelay(this.input.timings.payment.poll, attempt), Math.max(1, this.expiresAt() - Date.now()))
        );
        known = await this.inquire();
      }
      return known;
    }
    this.state.registrationUnresolved = why;
    let known = await this.inquire();
    let askAt = Date.now() + nextDelay(this.input.timings.payment.poll, this.attempt);
    while (known === undefined && this.state.status === 'REGISTERING' && Date.now() < this.expiresAt()) {
      await this.movement.waitForWork(Math.min(askAt, this.expiresAt()));
      await this.movement.serveRequests();
      await this.movement.readCallbacks(this);
      if (this.state.status !== 'REGISTERING' || Date.now() >= this.expiresAt()) break;
      if (Date.now() >= askAt) {
        this.movement.note('registration', 'the provider could not be asked about the order; asking again');
        known = await this.inquire();
        this.attempt++;
        this.pollsThisRun++;
        askAt = Date.now() + nextDelay(this.input.timings.payment.poll, this.attempt);
      }
      if (known === undefined) await this.continueAsNewIfDue();
    }
    delete this.state.registrationUnresolved;
    return known;
  }

  // ---- waiting for the money ---------------------------------------------------------------------

  private expiresAt(): number {
    if (this.state.instructions) return Date.parse(this.state.instructions.expiresAt);
    return Date.parse(this.state.createdAt) + this.input.expiresInMinutes * 60_000;
  }

  private async awaitPayment(): Promise<void> {
    const expiresAt = this.expiresAt();
    let pollAt = Date.now() + nextDelay(this.input.timings.payment.poll, this.attempt);
    while (this.state.status === 'PENDING') {
      if (Date.now() >= expiresAt) return this.handleExpiry();
      await this.movement.waitForWork(Math.min(pollAt, expiresAt));
      await this.movement.serveRequests();
      await this.movement.readCallbacks(this);
      if (this.state.status === 'PENDING' && Date.now() >= pollAt && Date.now() < expiresAt) {
        const outcome = await this.inquire();
        if (outcome) this.apply(outcome, 'poll');
        this.attempt++;
        this.pollsThisRun++;
        pollAt = Date.now() + nextDelay(this.input.timings.payment.poll, this.attempt);
      }
      if (this.state.status === 'PENDING') await this.continueAsNewIfDue();
    }
  }

  private async handleExpiry(): Promise<void> {
    // A payment made at the last second may not have called back yet.
    const last = await this.inquire();
    if (last) this.apply(last, 'expiry');
    if (this.state.status !== 'PENDING') return;
    try {
      const afterCancel = await calls.cancelPayment(this.state.provider, this.ref());
      if (afterCancel.status === 'succeeded') return this.apply(afterCancel, 'expiry');
    } catch (err) {
      // No cancel at this provider (it expires the order itself), or it could not answer: the late
      // watch below still catches a payment.
      if (!activityFailureOf(err)) throw err;
    }
    this.movement.transition('EXPIRED', 'expiry');
  }

  private async requestCancel(request: CancelPaymentRequest): Promise<PaymentState> {
    this.cancel ??= { reason: request.reason };
    const pending = this.cancel;
    await condition(() => pending.answer !== undefined);
    if (this.cancel === pending) this.cancel = undefined;
    if (pending.answer?.error !== undefined) {
      throw ApplicationFailure.create({ type: 'CancelFailed', message: pending.answer.error, nonRetryable: true });
    }
    return this.state;
  }

  /** Cancels at the provider; only an order the provider really closed becomes CANCELLED. */
  private async handleCancel(): Promise<void> {
    const request = this.cancel!;
    if (this.state.status !== 'PENDING') {
      // The payment closed first (paid, expired): the answer is its state, as the API documents.
      request.answer = {};
      return;
    }
    try {
      const outcome = await calls.cancelPayment(this.state.provider, this.ref());
      if (outcome.status === 'pending' || outcome.status === 'not_found') {
        request.answer = {
          error: `${this.state.provider} did not close the order (it reports ${outcome.providerStatus}); it stays payable`,
        };
        return;
      }
      // The provider may report the payment paid after all: the customer won the race, and the answer
      // shows it.
      if (outcome.status === 'succeeded') this.apply(outcome, 'cancel');
      else {
        this.state.providerStatus = outcome.providerStatus;
        this.movement.transition('CANCELLED', 'cancel', request.reason);
      }
      request.answer = {};
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      request.answer = {
        error:
          failure.type === 'OperationNotSupportedError'
            ? `${this.state.provider} offers no cancel API: the order stays payable until it expires`
            : `the provider could not cancel: ${failure.message}`,
      };
    }
  }

  // ---- after closing without money ----------------------------------------------------------------

  private shouldWatchForLatePayment(): boolean {
    const s = this.state.status;
    return closedWithoutPayment(s) && (s === 'EXPIRED' || s === 'CANCELLED' || this.state.needsAttention);
  }

  /** Keeps asking, and reading callbacks, until the late window ends: a late payment is recorded. */
  private async watchForLatePayment(): Promise<void> {
    const timings = this.input.timings.payment;
    this.watchUntil ??= Date.parse(this.state.updatedAt) + timings.lateWindowMs;
    let lateAttempt = this.watchUntil === this.input.resume?.watchUntil ? this.attempt : 0;
    this.attempt = lateAttempt;
    let pollAt = Date.now() + nextDelay(timings.latePoll, lateAttempt);
    while (closedWithoutPayment(this.state.status) && Date.now() < this.watchUntil) {
      await this.movement.waitForWork(Math.min(pollAt, this.watchUntil));
      await this.movement.serveRequests();
      await this.movement.readCallbacks(this);
      if (closedWithoutPayment(this.state.status) && Date.now() >= pollAt && Date.now() < this.watchUntil) {
        const outcome = await this.inquire();
        if (outcome?.status === 'succeeded') this.apply(outcome, 'poll');
        else if (outcome) this.movement.note('poll', `late watch: provider reports ${outcome.providerStatus}`);
        lateAttempt++;
        this.attempt = lateAttempt;
        this.pollsThisRun++;
        pollAt = Date.now() + nextDelay(timings.latePoll, lateAttempt);
      }
      if (closedWithoutPayment(this.state.status)) await this.continueAsNewIfDue();
    }
  }

  // ---- the provider's word -----------------------------------------------------------------------

  /** Verified callbacks are taken at face value only when they name our order at our provider, with an amount. */
  applyVerified(event: ProviderCallbackEvent): boolean {
    if (event.kind !== 'payment') return false;
    const outcome = event.outcome;
    if (
      outcome.providerReference &&
      this.state.providerReference &&
      outcome.providerReference !== this.state.providerReference
    ) {
      this.movement.note(
        'callback',
        `callback names provider reference ${outcome.providerReference}; confirming by inquiry`
      );
      return false;
    }
    if (outcome.status === 'succeeded' && outcome.paidAmount === undefined) return false;
    this.apply(outcome, 'callback');
    return true;
  }

  async confirm(): Promise<void> {
    const confirmed = await this.inquire();
    if (confirmed) this.apply(confirmed, 'callback');
  }

  /**
   * Applies the provider's view; the ladder keeps it from ever moving the payment backwards. One
   * exception: a success whose amount was assumed (the provider's status gave none) yields to a later
   * report that names a different amount.
   */
  private apply(outcome: PaymentOutcome, source: TimelineEntry['source']): void {
    if (outcome.status === 'not_found') {
      this.movement.note(source, 'the provider does not know this order (yet)');
      return;
    }
    const next = statusFor(outcome, this.state);
    const correctsAssumedAmount =
      this.state.status === 'SUCCEEDED' && this.state.paidAmountAssumed === true && next === 'AMOUNT_MISMATCH';
    if (correctsAssumedAmount) this.state.status = 'PENDING'; // re-enter the ladder below the mismatch
    if (this.state.status === next || rank(next) <= rank(this.state.status)) {
      this.movement.note(source, `provider reports ${outcome.providerStatus}`);
      return;
    }
    this.state.providerStatus = outcome.providerStatus;
    this.state.providerReference ??= outcome.providerReference;
    const closedBefore = closedWithoutPayment(this.state.status) ? this.state.status : undefined;
    if (next === 'SUCCEEDED' || next === 'AMOUNT_MISMATCH') {
      this.state.paidAmount = outcome.paidAmount ?? this.state.amount;
      this.state.paidAmountAssumed = outcome.paidAmount === undefined ? true : undefined;
      this.state.paidAt = outcome.paidAt ?? this.state.paidAt ?? nowIso();
    }
    if (outcome.failure) this.state.failure = outcome.failure;
    this.movement.transition(next, source, outcome.providerStatus);
    if (next === 'AMOUNT_MISMATCH') {
      this.movement.flag(`AMOUNT_MISMATCH: paid ${this.state.paidAmount} but ${this.state.amount} was due`, source);
    }
    if (next === 'SUCCEEDED' && this.state.attentionReason?.startsWith('REGISTRATION_ANSWER_LOST')) {
      this.movement.clearAttention(); // paid: the lost instructions no longer matter
    }
    if (closedBefore && paymentStatusRank(next) >= paymentStatusRank('SUCCEEDED')) {
      this.movement.flag(`LATE_PAYMENT: paid after the payment was ${closedBefore}`, source, 'payment.late_payment');
    }
  }

  private async inquire(): Promise<PaymentOutcome | undefined> {
    try {
      return await inquiries.inquirePayment(this.state.provider, this.ref());
    } catch (err) {
      if (activityFailureOf(err)) return undefined; // the next poll asks again
      throw err;
    }
  }

  private ref(): PaymentRef {
    return {
      reference: this.state.id,
      providerReference: this.state.providerReference,
      amount: this.state.amount,
      method: this.state.method,
      createdAt: this.state.createdAt,
    };
  }

  // ---- history --------------------------------------------------------------------------------------

  private cursor(): { attempt: number; watchUntil?: number } {
    return { attempt: this.attempt, watchUntil: this.watchUntil };
  }

  private async continueAsNewIfDue(): Promise<void> {
    await this.movement.continueAsNewIfDue(this.pollsThisRun, (carried) => this.nextRun(carried), this.cursor());
  }

  private nextRun(carried: Carried<PaymentState>): [PaymentWorkflowInput] {
    return [{ ...this.input, resume: carried }];
  }
}

/** The status a provider's view means for this payment; money that does not match is never a success. */
function statusFor(outcome: PaymentOutcome, state: PaymentState): PaymentStatus {
  switch (outcome.status) {
    case 'pending':
    case 'not_found':
      return 'PENDING';
    case 'succeeded': {
      const paid = outcome.paidAmount ?? state.amount;
      return paid === state.amount ? 'SUCCEEDED' : 'AMOUNT_MISMATCH';
    }
    case 'failed':
      return 'FAILED';
    case 'expired':
      return 'EXPIRED';
    case 'cancelled':
      return 'CANCELLED';
    case 'refunded':
      return 'REFUNDED';
  }
}
