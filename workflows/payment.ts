/**
 * paymentWorkflow: money in. Registers with the provider and hands the merchant the payment
 * instructions, then waits for the first of a verified callback, a status poll, a cancel request or
 * expiry. A payment that closed without money is watched for a late one, which is recorded, never lost.
 */
import { ApplicationFailure, condition, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import type { PaymentOutcome, PaymentRef, PaymentRegistration, PaymentStatus } from '../src/domain/payment';
import { closedWithoutPayment, PAYMENT_METHODS, paymentStatusRank } from '../src/domain/payment';
import { activityFailureOf, answerOf } from './activity-options';
import { calls, inquiries, localCalls } from './activity-proxies';
import { initialPaymentState } from './initial-states';
import { REGISTRATION_ASKED_ACROSS_RUNS, ROUTING_FAILOVER } from './patches';
import { inForce, readPatches } from './patches-in-force';
import { nowIso } from './status-and-timeline';
import { paymentWorkflowV1 } from './legacy/payment-v1';
import { cancelPaymentUpdate, paymentRegisteredUpdate, paymentStateQuery } from './messages';
import type { CancelPaymentRequest } from './messages';
import { MOVEMENT_CORE } from './movement';
import { MovementWorkflow } from './movement-workflow';
import { DEFAULT_REGISTRATION_RETRY, nextDelay } from './timings';
import { KasirProvider } from './search-attributes';
import type {
  LeftProviderReason,
  PaymentFallback,
  PaymentState,
  PaymentWorkflowInput,
  TimelineEntry,
} from './movement-state';

/**
 * Methods whose order can reach the customer without Kasir showing any instructions (the provider pushes
 * it to the customer's e-wallet app, docs/providers/bdpay.md §7.2, or the customer is already on the
 * provider's page): after an unknown outcome they never fail over.
 */
const PUSHED_TO_CUSTOMER: ReadonlySet<string> = new Set(PAYMENT_METHODS.filter((m) => m.startsWith('EWALLET_')));

/** Errors after which the provider may hold the order: ask it before anything else. */
const MAY_EXIST = ['OutcomeUnknownError', 'ProviderResponseInvalidError'];

/**
 * Errors that prove the provider created nothing: it refused the request before acting on it
 * (credentials refused, request rejected, operation not offered). A provider that was unavailable (429,
 * 503 after the activity's retries) is not among them: connectors report a mutating call whose effect is
 * unknown as `OutcomeUnknownError`, but an error that escapes later in the same call must never move a
 * payment that may exist. Only these, and a decline returned as
 * data, let registration fail over at once; anything else (an activity timeout, an unexpected failure)
 * keeps the payment where it is.
 */
const REFUSED_BEFORE_ACTING = ['ProviderAuthError', 'ProviderRequestRejectedError', 'OperationNotSupportedError'];

/** Why registration left a provider that holds no order for this payment. */
interface Left {
  reason: LeftProviderReason;
  detail: string;
}

/** The domain's ladder, with REGISTERING below PENDING so registration's answer can move it. */
function rank(status: PaymentStatus): number {
  return status === 'REGISTERING' ? -1 : paymentStatusRank(status);
}

export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<PaymentState> {
  readPatches();
  if (!inForce(MOVEMENT_CORE)) return paymentWorkflowV1(input);
  return new Payment(input).run();
}

interface CancelRequest {
  reason?: string;
  answer?: { error?: string };
}

/** Why a payment whose provider holds the order, but never repeated its instructions, needs an operator. */
const LOST_INSTRUCTIONS_KIND = 'REGISTRATION_ANSWER_LOST';
const LOST_INSTRUCTIONS = `${LOST_INSTRUCTIONS_KIND}: the provider holds the order but did not repeat its payment instructions`;

class Payment extends MovementWorkflow<PaymentState, PaymentWorkflowInput, PaymentOutcome> {
  private cancel?: CancelRequest;

  constructor(input: PaymentWorkflowInput) {
    super(input, initialPaymentState, 'payment', rank);

    this.answersState(paymentStateQuery, paymentRegisteredUpdate, () => this.state.status !== 'REGISTERING');
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
      if (unresolved !== undefined) await this.failOverWhileLeft(await this.resolveUnknownRegistration(unresolved));
      else await this.register();
    }
    if (this.state.status === 'PENDING') await this.awaitPayment();
    if (this.shouldWatchForLatePayment()) await this.watchForLatePayment();
    if (this.mustCheckLeftProviders()) await this.checkLeftProviders();
    return this.closeOut();
  }

  // ---- registration ----------------------------------------------------------------------------

  /**
   * Registers once, and again only while the provider cannot say it holds the order. An unknown
   * outcome (timeout, 5xx, an answer that says the order already exists) is resolved by asking the
   * provider, never taken as a failure: a provider that holds the order has it PENDING.
   */
  private async register(): Promise<void> {
    this.recordRoutingDecision();
    await this.failOverWhileLeft(await this.registerAtProvider());
  }

  /**
   * Registration at the current provider. Returns why it left the provider when the next one in the
   * payment's routing rule may take the payment over (the provider provably holds no order); otherwise
   * the payment's state says how registration ended.
   */
  private async registerAtProvider(): Promise<Left | undefined> {
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
          expiresInMinutes: this.expiresInMinutesLeft(),
          callbackUrl: this.callbackUrl(),
          returnUrl: this.input.returnUrl,
        });
      } catch (err) {
        const failure = activityFailureOf(err);
        if (!failure) throw err;
        const type = failure.type ?? 'REGISTRATION_FAILED';
        if (!MAY_EXIST.includes(type)) {
          if (unknownBefore) return this.resolveUnknownRegistration(`${type}: ${failure.message}`);
          if (REFUSED_BEFORE_ACTING.includes(type) && this.nextFallback()) {
            return { reason: 'refused', detail: `${type}: ${failure.message}` };
          }
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
      if (this.nextFallback()) {
        return { reason: 'declined', detail: `${registration.failure.code}: ${registration.failure.message}` };
      }
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
  private async resolveUnknownRegistration(why: string): Promise<Left | undefined> {
    const known = await this.askAboutLostRegistration(why);
    if (this.state.status !== 'REGISTERING') {
      // A callback answered meanwhile (paid, expired, or held without the instructions it never repeated).
      if (this.state.status === 'PENDING' && !this.state.instructions) this.flagLostInstructions();
      return;
    }
    if (known === undefined) {
      this.state.failure = { code: 'REGISTRATION_OUTCOME_UNKNOWN', message: why };
      const reason =
        'REGISTRATION_OUTCOME_UNKNOWN: the provider never said whether it holds the order; watching for a stray payment';
      this.movement.transition(
        'EXPIRED',
        'registration',
        'the provider never answered about the order before it would expire',
        { raise: reason }
      );
      this.movement.flag(reason, 'registration');
      return;
    }
    if (known.status !== 'not_found' && known.status !== 'pending') {
      this.apply(known, 'registration');
      return;
    }
    if (known?.status === 'pending') {
      this.state.providerStatus = known.providerStatus;
      this.state.providerReference ??= known.providerReference;
      this.movement.transition('PENDING', 'registration', 'the provider holds the order; its answer was lost', {
        raise: LOST_INSTRUCTIONS,
      });
      this.flagLostInstructions();
      return;
    }
    // A push or redirect method (e-wallets) may already have reached the customer through a request that
    // landed after the "not found": its payment never moves to another provider on an unknown outcome.
    if (!PUSHED_TO_CUSTOMER.has(this.state.method) && this.nextFallback()) return this.leaveAfterNotFound(why);
    this.state.failure = { code: 'REGISTRATION_OUTCOME_UNKNOWN', message: why };
    await calls.cancelPayment(this.state.provider, this.ref()).catch(() => undefined);
    const reason = 'REGISTRATION_OUTCOME_UNKNOWN: closed at the provider where it can be; watching for a stray payment';
    this.movement.transition('FAILED', 'registration', this.state.failure.code, { raise: reason });
    this.movement.flag(reason, 'registration');
  }

  // ---- routing: failing over to the next provider (issue #15) ---------------------------------------

  /** Records the API's routing decision on the timeline, once, as the first money event. */
  private recordRoutingDecision(): void {
    const routing = this.input.routing;
    if (routing === undefined || this.state.routing !== undefined || !inForce(ROUTING_FAILOVER)) return;
    this.state.routing = { tried: [], ...(routing.pinned ? { pinned: true } : {}) };
    this.movement.recordMoneyEvent(
      'registration',
      routing.pinned
        ? `routing: ${this.state.provider}, pinned by the merchant (no failover)`
        : `routing: ${routing.decision}`
    );
  }

  /**
   * The next provider of the payment's rule, if it may fail over at all: never for a pinned provider,
   * an input without routing, or a provider already tried.
   */
  private nextFallback(): PaymentFallback | undefined {
    const routing = this.input.routing;
    if (routing === undefined || routing.pinned) return undefined;
    const tried = new Set([this.state.provider, ...(this.state.routing?.tried ?? []).map((t) => t.provider)]);
    const next = routing.fallbacks.find((f) => !tried.has(f.provider));
    if (next === undefined || !inForce(ROUTING_FAILOVER)) return undefined;
    return next;
  }

  /** Moves the payment, under the same id, to each next provider while the one before provably holds no order. */
  private async failOverWhileLeft(left: Left | undefined): Promise<void> {
    while (left !== undefined && this.state.status === 'REGISTERING') {
      const next = this.nextFallback();
      if (next === undefined) return; // unreachable: a Left is only returned while a next provider exists
      const from = this.state.provider;
      const routing = (this.state.routing ??= { tried: [] });
      routing.tried.push({ provider: from, reason: left.reason, detail: left.detail, at: nowIso() });
      this.state.provider = next.provider;
      delete this.state.providerReference;
      delete this.state.providerStatus;
      delete this.state.failure;
      upsertSearchAttributes([{ key: KasirProvider, value: next.provider }]);
      this.movement.recordMoneyEvent(
        'registration',
        `failed over from ${from} to ${next.provider} (${left.reason}: ${left.detail}); the same payment id is ${next.provider}'s order reference`
      );
      left = await this.registerAtProvider();
    }
  }

  /**
   * After an unknown outcome and the provider's "not found": closes the order at the provider where it
   * can (a cancel is attempted; a provider without a cancel API refuses it), then leaves it. If the
   * cancel's answer shows the order after all (pending, or paid), the payment stays with this provider.
   */
  private async leaveAfterNotFound(why: string): Promise<Left | undefined> {
    let afterCancel: PaymentOutcome | undefined;
    try {
      afterCancel = await calls.cancelPayment(this.state.provider, this.ref());
    } catch (err) {
      if (!activityFailureOf(err)) throw err; // no such order, no cancel API, or no answer: it said "not found"
    }
    if (afterCancel?.status === 'pending') {
      this.state.providerStatus = afterCancel.providerStatus;
      this.state.providerReference ??= afterCancel.providerReference;
      this.movement.transition(
        'PENDING',
        'registration',
        'the provider holds the order after all; its answer was lost',
        { raise: LOST_INSTRUCTIONS }
      );
      this.flagLostInstructions();
      return undefined;
    }
    if (afterCancel?.status === 'succeeded' || afterCancel?.status === 'refunded') {
      this.apply(afterCancel, 'registration');
      return undefined;
    }
    const cancel = afterCancel ? `cancel answered ${afterCancel.providerStatus}` : 'cancel attempted';
    return { reason: 'unknown_then_not_found', detail: `${why}; status inquiry: not found; ${cancel}` };
  }

  /**
   * The payment's expiry as minutes from now: after a failover the next provider gets what is left, so
   * the payment never outlives what the merchant asked for.
   */
  private expiresInMinutesLeft(): number {
    if (!this.state.routing?.tried.length) return this.input.expiresInMinutes;
    return Math.max(1, Math.floor((this.expiresAt() - Date.now()) / 60_000));
  }

  /** The callback URL of the current provider: the input's for the first, the fallback's after a failover. */
  private callbackUrl(): string {
    if (this.state.provider === this.input.provider) return this.input.callbackUrl;
    return this.input.routing?.fallbacks.find((f) => f.provider === this.state.provider)?.callbackUrl ?? '';
  }

  private mustCheckLeftProviders(): boolean {
    const routing = this.state.routing;
    return (
      routing !== undefined && !routing.leftChecked && routing.tried.some((t) => t.reason === 'unknown_then_not_found')
    );
  }

  /**
   * As the payment closes, asks every provider it left after an unknown outcome once more: an order
   * stored there after its "not found" (a request still in flight) is cancelled where possible, and
   * anything else (paid there, still payable, or no answer) is flagged for an operator. Callbacks from
   * those providers are not the payment's (the movement core notes and ignores them), so this is where
   * such money is caught while the workflow runs.
   */
  private async checkLeftProviders(): Promise<void> {
    const routing = this.state.routing!;
    const left = [
      ...new Set(routing.tried.filter((t) => t.reason === 'unknown_then_not_found').map((t) => t.provider)),
    ];
    for (const provider of left) {
      const ref = { ...this.ref(), providerReference: undefined };
      const seen = await answerOf(() => inquiries.inquirePayment(provider, ref));
      if (seen === undefined) {
        this.movement.flag(
          `LEFT_PROVIDER_UNCHECKED: ${provider} (left after an unknown outcome) could not be asked whether it holds an order for this payment`,
          'registration'
        );
        continue;
      }
      if (seen.status === 'succeeded' || seen.status === 'refunded') {
        this.movement.flag(
          `PAID_AT_LEFT_PROVIDER: ${provider} reports ${seen.providerStatus} for this payment, which moved to ${this.state.provider}`,
          'registration'
        );
        continue;
      }
      if (seen.status !== 'pending') {
        this.movement.note('registration', `${provider} (left) reports ${seen.providerStatus}: no live order there`);
        continue;
      }
      const afterCancel = await answerOf(() => calls.cancelPayment(provider, ref));
      const closed = afterCancel !== undefined && ['cancelled', 'expired', 'failed'].includes(afterCancel.status);
      if (closed) {
        this.movement.recordMoneyEvent(
          'registration',
          `${provider} (left) held an order for this payment after all; cancelled (${afterCancel.providerStatus})`
        );
      } else {
        this.movement.flag(
          `LIVE_ORDER_AT_LEFT_PROVIDER: ${provider} holds a payable order for this payment, which moved to ${this.state.provider}, and could not close it`,
          'registration'
        );
      }
    }
    routing.leftChecked = true;
  }

  /**
   * A callback from a provider this payment failed over from: money there is not this payment's at its
   * current provider, and must never be lost either. Claimed money is flagged for an operator at once
   * (the check as the payment closes asks that provider itself); anything else is noted.
   */
  fromAnotherProvider(event: ProviderCallbackEvent): boolean {
    if (!this.state.routing?.tried.some((t) => t.provider === event.provider)) return false;
    if (event.kind === 'payment' && (event.outcome.status === 'succeeded' || event.outcome.status === 'refunded')) {
      this.movement.flag(
        `PAID_AT_LEFT_PROVIDER: ${event.provider} calls back ${event.outcome.providerStatus} for this payment, which moved to ${this.state.provider}`,
        'callback'
      );
    } else {
      this.movement.note(
        'callback',
        `${event.provider} (left) calls back ${event.kind === 'payment' ? event.outcome.providerStatus : event.kind}`
      );
    }
    return true;
  }

  private flagLostInstructions(): void {
    this.movement.flag(LOST_INSTRUCTIONS, 'registration');
  }

  /**
   * Nothing is decided while the provider cannot be asked: a closing outcome now could be wrong for an
   * order it holds. Asks on the poll schedule until it answers, a callback settles the payment, or the
   * payment would expire. The question is carried across continue-as-new (`registrationUnresolved`), so
   * a long outage neither grows one run's history without bound nor leads a next run to register again.
   */
  private async askAboutLostRegistration(why: string): Promise<PaymentOutcome | undefined> {
    if (!inForce(REGISTRATION_ASKED_ACROSS_RUNS)) {
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
      await this.takeTurn(Math.min(askAt, this.expiresAt()));
      if (this.state.status !== 'REGISTERING' || Date.now() >= this.expiresAt()) break;
      if (Date.now() >= askAt) {
        this.movement.note('registration', 'the provider could not be asked about the order; asking again');
        known = await this.inquire();
        askAt = this.counted(this.input.timings.payment.poll);
      }
      if (known === undefined) await this.continueAsNewIfDue();
    }
    delete this.state.registrationUnresolved;
    // The outage's backoff is not the order's: waiting for the customer starts from the first poll again.
    this.attempt = 0;
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
      await this.takeTurn(Math.min(pollAt, expiresAt));
      if (this.state.status === 'PENDING' && Date.now() >= pollAt && Date.now() < expiresAt) {
        const outcome = await this.inquire();
        if (outcome) this.apply(outcome, 'poll');
        pollAt = this.counted(this.input.timings.payment.poll);
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
    // The late watch has its own schedule: it starts again from the first step, unless carried over.
    if (this.watchUntil !== this.input.resume?.watchUntil) this.attempt = 0;
    let pollAt = Date.now() + nextDelay(timings.latePoll, this.attempt);
    while (closedWithoutPayment(this.state.status) && Date.now() < this.watchUntil) {
      await this.takeTurn(Math.min(pollAt, this.watchUntil));
      if (closedWithoutPayment(this.state.status) && Date.now() >= pollAt && Date.now() < this.watchUntil) {
        const outcome = await this.inquire();
        if (outcome?.status === 'succeeded') this.apply(outcome, 'poll');
        else if (outcome) this.movement.note('poll', `late watch: provider reports ${outcome.providerStatus}`);
        pollAt = this.counted(timings.latePoll);
      }
      if (closedWithoutPayment(this.state.status)) await this.continueAsNewIfDue();
    }
  }

  // ---- the provider's word -----------------------------------------------------------------------

  /** Verified callbacks are taken at face value only when they name our order at our provider, with an amount. */
  applyVerified(event: ProviderCallbackEvent): boolean {
    if (event.kind !== 'payment') return false;
    const outcome = event.outcome;
    if (this.namesOtherReference(outcome.providerReference, this.state.providerReference, 'inquiry')) return false;
    if (outcome.status === 'succeeded' && outcome.paidAmount === undefined) return false;
    this.apply(outcome, 'callback');
    return true;
  }

  protected askProvider(): Promise<PaymentOutcome | undefined> {
    return this.inquire();
  }

  /**
   * Applies the provider's view; the ladder keeps it from ever moving the payment backwards. One
   * exception: a success whose amount was assumed (the provider's status gave none) yields to a later
   * report that names a different amount.
   */
  protected apply(outcome: PaymentOutcome, source: TimelineEntry['source']): void {
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
    const mismatch =
      next === 'AMOUNT_MISMATCH'
        ? `AMOUNT_MISMATCH: paid ${this.state.paidAmount} but ${this.state.amount} was due`
        : undefined;
    const instructionsLost = next === 'PENDING' && this.state.status === 'REGISTERING' && !this.state.instructions;
    const paidAfterLostInstructions = next === 'SUCCEEDED' && this.movement.hasReason(LOST_INSTRUCTIONS_KIND);
    this.movement.transition(
      next,
      source,
      outcome.providerStatus,
      mismatch
        ? { raise: mismatch }
        : instructionsLost
          ? { raise: LOST_INSTRUCTIONS }
          : paidAfterLostInstructions
            ? { clear: LOST_INSTRUCTIONS_KIND }
            : undefined
    );
    if (mismatch) this.movement.flag(mismatch, source);
    if (paidAfterLostInstructions) this.movement.clearAttention(); // paid: the lost instructions no longer matter
    if (closedBefore && paymentStatusRank(next) >= paymentStatusRank('SUCCEEDED')) {
      this.movement.flag(`LATE_PAYMENT: paid after the payment was ${closedBefore}`, source, 'payment.late_payment');
    }
  }

  /** The provider's view, or undefined if it could not be asked (the next poll asks again). */
  private inquire(): Promise<PaymentOutcome | undefined> {
    return answerOf(() => inquiries.inquirePayment(this.state.provider, this.ref()));
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
