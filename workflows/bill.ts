/**
 * billWorkflow: PPOB. Inquiry → the merchant confirms the total it saw → one payment → status until
 * final. A payment that did not answer definitively is resolved by status on the same reference after
 * the provider's documented delay, never by paying again.
 */
import { ApplicationFailure, condition, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { EarlierSubmission } from '../activities/earlier-runs';
import type { BillPaymentOutcome, BillStatus } from '../src/domain/bill';
import { billIsFinal, billStatusRank, billTotalOf } from '../src/domain/bill';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import { activityFailureOf, answerOf } from './activity-options';
import { calls, inquiries, submissions } from './activity-proxies';
import { answeredInquiryOf, billInquiryInputOf } from './bill-inquiry';
import { askAgainWhileCheckUnavailable } from './check-then-send';
import { initialBillState } from './initial-states';
import { nowIso } from './status-and-timeline';
import { billWorkflowV1 } from './legacy/bill-v1';
import {
  billInquiredUpdate,
  billStateQuery,
  checkResolutionRequest,
  confirmBillPaymentUpdate,
  resolveBillUpdate,
} from './messages';
import type { ConfirmBillPaymentRequest, ResolveBillRequest } from './messages';
import { attentionOfOutcome, HINT_UNCONFIRMED, MOVEMENT_CORE } from './movement';
import {
  BILL_RESOLUTION_WATCHED,
  CHECK_AND_PAY_TOGETHER,
  RESET_RUN_ASKS_WHAT_WAS_PAID,
  RESET_RUN_WAITS_FOR_WHAT_WAS_PAID,
} from './patches';
import { inForce, readPatches } from './patches-in-force';
import { MovementWorkflow } from './movement-workflow';
import { contradictedAfterResolution, OperatorResolutions, resolutionNeedsWatching } from './operator-resolution';
import type { PendingRequest } from './movement-workflow';
import { DEFAULT_TIMINGS, nextDelay } from './timings';
import type { BillState, BillWorkflowInput, TimelineEntry } from './movement-state';

export async function billWorkflow(input: BillWorkflowInput): Promise<BillState> {
  readPatches();
  if (!inForce(MOVEMENT_CORE)) return billWorkflowV1(input);
  return new Bill(input).run();
}

/** A merchant's confirmation: answered once the payment has a first answer (or it was refused). */
type Confirmation = PendingRequest<ConfirmBillPaymentRequest>;

class Bill extends MovementWorkflow<BillState, BillWorkflowInput, BillPaymentOutcome> {
  private inquired: boolean;
  private confirmation?: Confirmation;
  private readonly resolutions = new OperatorResolutions();

  constructor(input: BillWorkflowInput) {
    super(input, initialBillState, 'bill', billStatusRank);
    this.inquired = input.resume !== undefined;

    this.answersState(billStateQuery, billInquiredUpdate, () => this.inquired);
    setHandler(confirmBillPaymentUpdate, (request) => this.requestConfirmation(request), {
      validator: (request: ConfirmBillPaymentRequest) => this.validateConfirmation(request),
    });
    setHandler(resolveBillUpdate, (request) => this.resolutions.request(request, () => this.state), {
      validator: (request: ResolveBillRequest) => this.validateResolution(request),
    });
    // A confirmation is answered by the payment step itself; this serves one that can no longer pay,
    // and an operator's resolution.
    const confirmationWaiting = () =>
      this.confirmation?.answer === undefined && this.confirmation !== undefined && this.state.status !== 'INQUIRED';
    const resolutionWaiting = () => this.resolutions.waiting;
    this.movement.servesRequests(
      () => confirmationWaiting() || resolutionWaiting(),
      async () => {
        if (confirmationWaiting()) {
          this.confirmation!.answer = this.state.paymentSubmitted
            ? {}
            : { error: `bill ${this.state.id} is ${this.state.status}` };
        }
        if (resolutionWaiting()) await this.handleResolution();
      }
    );
  }

  async run(): Promise<BillState> {
    // A reset run waiting to learn what the runs it replaces paid may continue as new before it knows:
    // the next run waits on, then inquires (it has no inquiry yet).
    const stillWaiting = this.input.resume !== undefined && this.waitedForWhatWasPaid();
    if ((!this.input.resume && this.replacesEarlierRuns()) || stillWaiting)
      await this.adoptWhatReplacedRunsPaid(stillWaiting || inForce(RESET_RUN_WAITS_FOR_WHAT_WAS_PAID));
    if ((!this.input.resume || stillWaiting) && !this.state.paymentSubmitted) await this.inquire();
    this.inquired = true;
    if (this.state.status === 'INQUIRED' && !this.state.paymentSubmitted) await this.awaitConfirmation();
    if (this.confirmation !== undefined && !this.state.paymentSubmitted && this.state.status === 'INQUIRED')
      await this.payOnce();
    if (this.confirmation) this.confirmation.answer ??= {};
    if (this.state.status === 'PROCESSING' || this.state.status === 'PAYING') await this.awaitFinalStatus();
    if (resolutionNeedsWatching(this.state) && inForce(BILL_RESOLUTION_WATCHED)) {
      await this.watchAfterResolution({
        windowMs:
          this.input.timings.bill.watchAfterOperatorResolutionMs ??
          DEFAULT_TIMINGS.bill.watchAfterOperatorResolutionMs!,
        schedule: this.input.timings.bill.statusPoll,
        watching: () => resolutionNeedsWatching(this.state) && !contradictedAfterResolution(this.state),
        source: 'poll',
      });
    }
    if (
      billIsFinal(this.state.status) &&
      this.state.status !== 'AMOUNT_MISMATCH' &&
      !contradictedAfterResolution(this.state)
    ) {
      this.movement.clearAttention({ keep: HINT_UNCONFIRMED });
    }
    return this.closeOut();
  }

  // ---- inquiry and confirmation --------------------------------------------------------------------

  private async inquire(): Promise<void> {
    try {
      const outcome = await calls.inquireBill(this.state.provider, billInquiryInputOf(this.input));
      if (outcome.result === 'failed') {
        this.state.inquiryFailure = { code: outcome.providerCode, reason: outcome.reason };
        this.movement.transition('INQUIRY_FAILED', 'inquiry', outcome.providerCode);
      } else {
        this.state.inquiry = answeredInquiryOf(outcome, this.input.timings.bill.confirmWindowMs);
        this.state.providerCode = outcome.providerCode;
        this.movement.recordMoneyEvent('inquiry', `inquired: total ${billTotalOf(this.state)}`);
        this.movement.emit('bill.inquired');
      }
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      const type = failure.type ?? 'INQUIRY_ERROR';
      this.state.inquiryFailure = { code: type, reason: { id: failure.message, en: failure.message } };
      this.movement.transition('INQUIRY_FAILED', 'inquiry', type);
    }
    this.inquired = true;
  }

  /** Only an answered, unexpired inquiry can be paid, and only for the total it stated. */
  private validateConfirmation(request: ConfirmBillPaymentRequest): void {
    if (!this.state.inquiry || !this.inquired) {
      throw new Error(`bill ${this.state.id} has no answered inquiry yet; confirm once the inquiry has answered`);
    }
    if (this.state.status !== 'INQUIRED' || this.state.paymentSubmitted || this.confirmation !== undefined) {
      throw new Error(`bill ${this.state.id} is ${this.state.status}; only an INQUIRED bill can be paid, once`);
    }
    const total = billTotalOf(this.state);
    if (request.expectedTotal !== undefined && request.expectedTotal !== total) {
      throw new Error(`expectedTotal ${request.expectedTotal} does not match the inquiry total ${total}`);
    }
    if (Date.parse(this.state.inquiry.expiresAt) <= Date.now()) {
      throw new Error(
        `the inquiry for bill ${this.state.id} expired at ${this.state.inquiry.expiresAt}; inquire again`
      );
    }
  }

  private async requestConfirmation(request: ConfirmBillPaymentRequest): Promise<BillState> {
    const pending: Confirmation = { request };
    this.confirmation = pending;
    if (request.requestId !== undefined) this.state.confirmedByRequest = request.requestId;
    await condition(() => pending.answer !== undefined && this.state.status !== 'PAYING');
    if (pending.answer?.error !== undefined) {
      throw ApplicationFailure.create({
        type: 'ConfirmationRefused',
        message: pending.answer.error,
        nonRetryable: true,
      });
    }
    return this.state;
  }

  /**
   * Waits for the merchant's confirmation until the inquiry expires. Callbacks that arrive meanwhile
   * are read (nothing was paid, so they change nothing) and history stays bounded.
   */
  private async awaitConfirmation(): Promise<void> {
    const expiresAt = Date.parse(this.state.inquiry!.expiresAt);
    while (this.confirmation === undefined && Date.now() < expiresAt) {
      await this.movement.waitForWork(expiresAt, () => this.confirmation !== undefined);
      if (this.confirmation !== undefined) return;
      await this.movement.readCallbacks(this);
      // Evaluated live (never while the copied history of a reset replays), so the flag is carried
      // across the continue-as-new below.
      this.replacesEarlierRuns();
      await this.continueAsNewIfDue();
    }
    if (this.confirmation !== undefined) return;
    // A reset run may have lost the confirmation a replaced run paid on: it never expires paid money.
    if (this.replacesEarlierRuns() && (await this.adoptWhatReplacedRunsPaid(true))) return;
    this.movement.transition('EXPIRED', 'expiry', 'not confirmed before the inquiry expired');
  }

  /**
   * True in a run a workflow reset started (its history was copied from the run it replaces), from the
   * patch on. Such a run may not know that a replaced run paid: it asks before inquiring again, and
   * before closing without money.
   */
  private replacesEarlierRuns(): boolean {
    if (this.state.startedByReset) return true;
    const info = workflowInfo();
    // Carried across continue-as-new: a run continued from a reset run has its own run id as original.
    if (info.originalExecutionRunId !== info.runId && inForce(RESET_RUN_ASKS_WHAT_WAS_PAID)) {
      this.state.startedByReset = true;
    }
    return this.state.startedByReset === true;
  }

  /**
   * True in a run continued from a reset run that was still waiting to learn what the runs it replaces
   * paid (patch `reset-run-waits-for-what-was-paid`): nothing inquired, nothing paid, nothing closed.
   */
  private waitedForWhatWasPaid(): boolean {
    const state = this.state;
    const untouched = state.inquiry === undefined && state.inquiryFailure === undefined && !state.paymentSubmitted;
    return (
      state.startedByReset === true &&
      untouched &&
      state.status === 'INQUIRED' &&
      inForce(RESET_RUN_WAITS_FOR_WHAT_WAS_PAID)
    );
  }

  /**
   * Asks the provider (and the replaced runs' histories) whether this bill was paid before; adopts that
   * payment if so (true). Nothing is sent. If they cannot be asked, the run goes on and says so.
   */
  private async adoptWhatReplacedRunsPaid(untilAnswered: boolean): Promise<boolean> {
    for (let round = 0; ; round++) {
      try {
        const found = await askAgainWhileCheckUnavailable(
          () => submissions.billPaidBefore(this.state.provider, this.state.id),
          {
            schedule: this.input.timings.bill.statusPoll,
            unavailable: () => this.movement.note('payment', 'could not ask whether a replaced run paid; asking again'),
          }
        );
        if ('held' in found) this.adoptHeld(found.held);
        else if ('earlier' in found) this.adoptEarlierRun(found.earlier);
        if (this.state.attentionReason?.startsWith('RESET_UNCHECKED')) this.movement.clearAttention();
        return !('nothing' in found);
      } catch (err) {
        const failure = activityFailureOf(err);
        if (!failure) throw err;
        if (!this.state.needsAttention) {
          this.movement.flag(
            `RESET_UNCHECKED: this run replaces runs a reset discarded and could not ask whether they paid (${failure.message})`,
            'payment'
          );
        }
        // Before closing without money, it keeps asking: a bill a replaced run paid is never told EXPIRED.
        if (!untilAnswered) return false;
        await sleep(nextDelay(this.input.timings.bill.statusPoll, round));
        // A long outage does not grow one run without bound: the next run asks again at expiry.
        await this.continueAsNewIfDue();
      }
    }
  }

  // ---- payment -----------------------------------------------------------------------------------

  /**
   * One payment per bill id. The provider is asked first whether it already holds this reference (a
   * reset or re-created workflow); a provider that refuses a duplicate reference is the last defence,
   * and that refusal reads as "processing", resolved by status.
   */
  private async payOnce(): Promise<void> {
    const input = {
      reference: this.state.id,
      inquiryId: this.state.inquiry!.inquiryId,
      productCode: this.state.productCode,
      accountNumber: this.input.accountNumber,
      amount: this.state.inquiry!.amount,
      callbackUrl: this.input.callbackUrl,
    };
    // The check and the payment run in one activity attempt, so a reset to any task still asks first.
    const checkInPayment = inForce(CHECK_AND_PAY_TOGETHER);
    if (!checkInPayment) {
      const existing = await this.status();
      if (existing && (existing.status !== 'processing' || existing.transactionId !== undefined))
        return this.adoptHeld(existing);
    }
    this.state.paymentSubmitted = true;
    this.movement.transition('PAYING', 'payment');
    try {
      if (checkInPayment) {
        const sent = await this.sendUnlessHeld(() => submissions.payBillUnlessHeld(this.state.provider, input), this, {
          schedule: this.input.timings.bill.statusPoll,
          source: 'payment',
          what: 'payment',
        });
        if (sent === undefined) return;
        this.apply(sent.payment, 'payment');
      } else {
        this.apply(await submissions.payBill(this.state.provider, input), 'payment');
      }
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      this.movement.transition('PROCESSING', 'payment', `no definite answer: ${failure.message}`);
    }
  }

  /** The provider already holds a payment under this reference (a reset, a re-created workflow): adopt it. */
  adoptHeld(existing: BillPaymentOutcome): void {
    this.state.paymentSubmitted = true;
    this.movement.recordMoneyEvent(
      'payment',
      `the provider already holds this payment (${existing.providerCode}); not paid again`
    );
    this.movement.transition('PAYING', 'payment');
    this.apply(existing, 'payment');
  }

  /**
   * The provider shows no payment under this reference, but an earlier run of this workflow (before a
   * reset) sent one: it is not paid again. A FAILED that run reached stands; otherwise the status is
   * resolved by the provider's status, as after any lost answer.
   */
  adoptEarlierRun(earlier: EarlierSubmission): void {
    this.state.paymentSubmitted = true;
    this.movement.recordMoneyEvent(
      'payment',
      `an earlier run (${earlier.runId}, ${earlier.status ?? 'status unknown'}) already paid this bill; not paid again`
    );
    if (earlier.status === 'FAILED') {
      // The replaced run's failure detail (and whether the deposit came back) is in its history.
      this.movement.transition('FAILED', 'payment', `failed in run ${earlier.runId}`);
    } else {
      this.movement.transition('PROCESSING', 'payment', 'paid by an earlier run; resolving by status');
    }
  }

  /** When the payment was sent: the PAYING money event (kept for good on the timeline). */
  private paidSince(): number {
    const paying = this.state.timeline.find((entry) => entry.money && entry.status === 'PAYING');
    return Date.parse(paying?.at ?? this.state.updatedAt);
  }

  /** Status until final: the first check no sooner than the provider's documented delay; callbacks are hints. */
  private async awaitFinalStatus(): Promise<void> {
    const timings = this.input.timings.bill;
    const attentionAt = this.paidSince() + timings.attentionAfterMs;
    let checkAt =
      Date.now() + (this.attempt === 0 ? timings.firstStatusCheckMs : nextDelay(timings.statusPoll, this.attempt));
    while (!billIsFinal(this.state.status)) {
      const wakeAt = this.state.needsAttention ? checkAt : Math.min(checkAt, attentionAt);
      await this.takeTurn(wakeAt);
      if (!billIsFinal(this.state.status) && Date.now() >= checkAt) {
        const outcome = await this.status();
        if (outcome) this.apply(outcome, 'poll');
        checkAt = this.counted(timings.statusPoll);
      }
      if (!this.state.needsAttention && !billIsFinal(this.state.status) && Date.now() >= attentionAt) {
        this.movement.flag(
          'UNRESOLVED: payment still processing at the provider; check with the provider',
          'poll',
          'bill.needs_attention'
        );
      }
      if (!billIsFinal(this.state.status)) await this.continueAsNewIfDue();
    }
  }

  // ---- operator resolution -----------------------------------------------------------------------

  /**
   * Only a paid bill that needs attention (its payment unresolved at the provider: Ayopop answers
   * "processing" for a payment it never received, docs/providers/ayopop.md) can be resolved; without this
   * it would ask for ever and never close.
   */
  private validateResolution(request: ResolveBillRequest): void {
    checkResolutionRequest(request);
    if (billIsFinal(this.state.status)) throw new Error(`bill ${this.state.id} is already ${this.state.status}`);
    if (!this.state.paymentSubmitted) throw new Error(`bill ${this.state.id} has not been paid yet`);
    // Only a payment the provider leaves unresolved: never one still being sent (PAYING), whatever else
    // flagged it.
    const unresolved = /^(UNRESOLVED|HINT_UNCONFIRMED):/.test(this.state.attentionReason ?? '');
    if (this.state.status !== 'PROCESSING' || !this.state.needsAttention || !unresolved) {
      throw new Error(
        `bill ${this.state.id} is ${this.state.status} at the provider; only a bill whose payment the provider leaves unresolved (needs attention) can be resolved`
      );
    }
    if (this.resolutions.inProgress) throw new Error(`another resolution of bill ${this.state.id} is being applied`);
  }

  /**
   * Checks the provider, then applies the operator's outcome unless the provider contradicts it, as a
   * payout's (workflows/operator-resolution.ts): a bill the provider still shows processing is resolved
   * FAILED only with `force`. What Ayopop says after it is caught by the watch that follows (`run`), and
   * once the bill has closed, a success by its late-callback record (`bill.paid_after_failure`).
   */
  private async handleResolution(): Promise<void> {
    await this.resolutions.serve({
      refusal: billIsFinal(this.state.status) ? `bill ${this.state.id} is already ${this.state.status}` : undefined,
      ask: () => this.status(),
      word: (provider) => ({ status: provider.status, providerStatus: provider.providerCode }),
      apply: ({ request: { outcome, evidence, operator }, resolution, forced, note, provider }) => {
        this.state.resolution = resolution;
        this.movement.recordMoneyEvent('operator', note);
        if (!forced && provider && provider.status !== 'processing') {
          // The provider's own final word agrees: apply it, amount check included.
          this.apply(provider, 'operator');
        } else {
          if (outcome === 'FAILED') {
            this.state.failure = { code: 'OPERATOR_RESOLVED', message: evidence, depositRefunded: false };
          } else {
            this.state.paidAt = nowIso();
          }
          this.movement.transition(outcome, 'operator', operator, { clearUnless: HINT_UNCONFIRMED });
        }
        if (this.state.status !== 'AMOUNT_MISMATCH') this.movement.clearAttention({ keep: HINT_UNCONFIRMED });
      },
    });
  }

  // ---- the provider's word -----------------------------------------------------------------------

  /** Ayopop's callbacks are unsigned: every one is a hint, confirmed by status. */
  applyVerified(event: ProviderCallbackEvent): boolean {
    if (event.kind !== 'bill') return false;
    this.apply(event.outcome, 'callback');
    return true;
  }

  protected async askProvider(): Promise<BillPaymentOutcome | undefined> {
    // Nothing was paid: a hint cannot be about our payment.
    return this.state.paymentSubmitted ? this.status() : undefined;
  }

  /** A hint about a bill never paid needs no answer: nothing is left waiting on the provider's status. */
  override async confirm(): Promise<boolean> {
    return this.state.paymentSubmitted ? super.confirm() : true;
  }

  protected apply(outcome: BillPaymentOutcome, source: TimelineEntry['source']): void {
    const next = this.statusFor(outcome);
    const forcedSuccess = this.state.resolution?.outcome === 'SUCCEEDED' && this.state.resolution.forced === true;
    if (forcedSuccess && this.state.status === 'SUCCEEDED' && inForce(BILL_RESOLUTION_WATCHED)) {
      if (outcome.status === 'failed' && !contradictedAfterResolution(this.state)) {
        this.state.providerCode = outcome.providerCode;
        this.movement.flag(
          'FAILED_AFTER_FORCED_SUCCESS: the provider reports failed a bill payment an operator forced to SUCCEEDED',
          source,
          'bill.contradicted'
        );
        return;
      }
      if (next === 'AMOUNT_MISMATCH' && !contradictedAfterResolution(this.state)) {
        // Ayopop charged another amount than the bill an operator forced to SUCCEEDED: never a quiet success.
        this.state.providerCode = outcome.providerCode;
        if (outcome.token !== undefined) this.state.token ??= outcome.token;
        this.movement.flag(
          `AMOUNT_MISMATCH_AFTER_FORCED_SUCCESS: the provider reports ${outcome.amount} paid for a bill of ${this.state.inquiry?.amount} an operator forced to SUCCEEDED`,
          source,
          'bill.contradicted'
        );
        return;
      }
      if (outcome.status === 'succeeded' && outcome.token !== undefined && this.state.token === undefined) {
        // The customer's token (PLN token, voucher) the forced success could not give.
        this.state.token = outcome.token;
        if (outcome.transactionId) this.state.transactionId = outcome.transactionId;
        this.state.providerCode = outcome.providerCode;
        this.movement.recordMoneyEvent(
          source,
          `the provider confirms the payment (${outcome.providerCode}); token received`
        );
        return;
      }
    }
    if (next === this.state.status || billStatusRank(next) <= billStatusRank(this.state.status)) {
      this.movement.note(source, `provider reports ${outcome.providerCode}`);
      return;
    }
    const failedBefore = this.state.status === 'FAILED';
    this.state.providerCode = outcome.providerCode;
    if (outcome.transactionId) this.state.transactionId = outcome.transactionId;
    if (next === 'SUCCEEDED' || next === 'AMOUNT_MISMATCH') {
      this.state.token = outcome.token;
      this.state.paidAt = nowIso();
    }
    if (next === 'FAILED') {
      this.state.failure = {
        code: outcome.providerCode,
        message: outcome.message ?? 'the provider reports the payment failed',
        depositRefunded: outcome.depositRefunded ?? false,
      };
    }
    const mismatch =
      next === 'AMOUNT_MISMATCH'
        ? `AMOUNT_MISMATCH: the provider reports ${outcome.amount} paid for a bill of ${this.state.inquiry?.amount}`
        : undefined;
    this.movement.transition(
      next,
      source,
      outcome.providerCode,
      attentionOfOutcome(next, mismatch, contradictedAfterResolution(this.state))
    );
    if (mismatch) this.movement.flag(mismatch, source);
    if (failedBefore && billStatusRank(next) > billStatusRank('FAILED')) {
      this.movement.flag(
        'PAID_AFTER_FAILURE: the provider reports a success after a failure',
        source,
        'bill.paid_after_failure'
      );
    }
  }

  private statusFor(outcome: BillPaymentOutcome): BillStatus {
    switch (outcome.status) {
      case 'succeeded':
        return outcome.amount !== undefined && this.state.inquiry && outcome.amount !== this.state.inquiry.amount
          ? 'AMOUNT_MISMATCH'
          : 'SUCCEEDED';
      case 'failed':
        return 'FAILED';
      case 'processing':
        return 'PROCESSING';
    }
  }

  private status(): Promise<BillPaymentOutcome | undefined> {
    return answerOf(() => inquiries.billStatus(this.state.provider, this.state.id));
  }
}
