/**
 * refundWorkflow: money back to a paid payment's customer, with a payout's guarantees. The refund is
 * sent at most once (one attempt, never again after a reset: activities/earlier-runs.ts); a lost answer
 * is resolved by asking the provider about the payment, never by refunding again; what cannot be proven
 * raises needs-attention instead of failing. It is started by its payment's ledger
 * (workflows/refund-ledger.ts), which it tells its final outcome.
 */
import { ApplicationFailure, condition, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import type { EarlierSubmission } from '../activities/earlier-runs';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import type { PaymentOutcome } from '../src/domain/payment';
import { refundIsFinal, refundProvableByStatus, refundProvenBy, refundStatusRank } from '../src/domain/refund';
import type { RefundToProve, SubmitRefundInput } from '../src/domain/refund';
import { activityFailureOf, answerOf } from './activity-options';
import { inquiries, submissions } from './activity-proxies';
import { askAgainWhileCheckUnavailable } from './check-then-send';
import { refundSettledSignal, refundStateQuery, refundSubmittedUpdate, resolveRefundUpdate } from './messages';
import type { ResolveRefundRequest } from './messages';
import { initialRefundState } from './initial-states';
import { REFUND_FAILED_RESOLUTION_CHECKED } from './patches';
import { inForce, readPatches } from './patches-in-force';
import { MovementWorkflow } from './movement-workflow';
import type { RefundState, RefundWorkflowInput } from './movement-state';
import { nowIso } from './status-and-timeline';
import { DEFAULT_TIMINGS, nextDelay } from './timings';
import type { PayoutTimings } from './timings';

export async function refundWorkflow(input: RefundWorkflowInput): Promise<RefundState> {
  readPatches();
  return new Refund(input).run();
}

class Refund extends MovementWorkflow<RefundState, RefundWorkflowInput, PaymentOutcome> {
  private readonly timings: PayoutTimings;
  private resolution?: { request: ResolveRefundRequest; applied: boolean; refusal?: string };

  constructor(input: RefundWorkflowInput) {
    super(input, initialRefundState, 'refund', refundStatusRank);
    // Refunds are resolved on the payout's schedule (query backoff, attention window) unless config says otherwise.
    this.timings = input.timings.refund ?? input.timings.payout ?? DEFAULT_TIMINGS.payout;
    this.answersState(refundStateQuery, refundSubmittedUpdate, () => this.state.status !== 'REQUESTED');
    setHandler(resolveRefundUpdate, (request) => this.requestResolution(request), {
      validator: (request: ResolveRefundRequest) => this.validateResolution(request),
    });
    this.movement.servesRequests(
      () => this.resolution !== undefined && !this.resolution.applied,
      async () => {
        if (this.failedResolutionToCheck()) {
          const payment = await this.askProvider();
          if (!payment) return this.refuseResolution('the provider could not be asked whether it refunded the payment');
          this.apply(payment);
        }
        this.applyResolution();
      }
    );
  }

  // ---- operator resolution -----------------------------------------------------------------------

  /**
   * Only a refund whose outcome the provider's status cannot prove (UNKNOWN, needs attention) can be
   * resolved by an operator, with evidence; a FAILED frees its amount on the payment's ledger.
   */
  private validateResolution(request: ResolveRefundRequest): void {
    if (request.outcome !== 'SUCCEEDED' && request.outcome !== 'FAILED')
      throw new Error('outcome must be SUCCEEDED or FAILED');
    if (typeof request.evidence !== 'string' || request.evidence.trim().length < 10) {
      throw new Error('evidence must describe what proves the outcome (at least 10 characters)');
    }
    if (typeof request.operator !== 'string' || request.operator.trim() === '') throw new Error('operator is required');
    if (refundIsFinal(this.state.status)) throw new Error(`refund ${this.state.id} is already ${this.state.status}`);
    if (this.state.status !== 'UNKNOWN') {
      throw new Error(`refund ${this.state.id} is ${this.state.status}; only an UNKNOWN refund can be resolved`);
    }
    if (this.resolution !== undefined)
      throw new Error(`another resolution of refund ${this.state.id} is being applied`);
  }

  private async requestResolution(request: ResolveRefundRequest): Promise<RefundState> {
    const pending: NonNullable<Refund['resolution']> = { request, applied: false };
    this.resolution = pending;
    await condition(() => pending.applied);
    if (pending.refusal !== undefined) {
      throw ApplicationFailure.create({ type: 'ResolutionRefused', message: pending.refusal, nonRetryable: true });
    }
    return this.state;
  }

  /**
   * An operator's FAILED for a refund of all that remained of the payment, which the payment's status
   * can prove wrong (patched): asked before it applies, and refused while the provider cannot be asked
   * (a FAILED frees the amount).
   */
  private failedResolutionToCheck(): boolean {
    const request = this.resolution!.request;
    return (
      request.outcome === 'FAILED' &&
      !refundIsFinal(this.state.status) &&
      refundProvableByStatus(this.toProve()) &&
      inForce(REFUND_FAILED_RESOLUTION_CHECKED)
    );
  }

  private toProve(): RefundToProve {
    return { ...this.input, amount: this.state.amount };
  }

  /** Answers the waiting resolution with a refusal; the refund takes another one later. */
  private refuseResolution(why: string): void {
    const pending = this.resolution!;
    pending.refusal = `${why}; try again once it can be`;
    pending.applied = true;
    this.resolution = undefined;
  }

  private applyResolution(): void {
    const pending = this.resolution!;
    const { outcome, evidence, operator } = pending.request;
    if (refundIsFinal(this.state.status)) {
      // The provider's own answer settled it while the request waited: that stands, the request is refused.
      pending.refusal = `refund ${this.state.id} became ${this.state.status} on the provider's word before the resolution applied`;
      pending.applied = true;
      return;
    }
    this.state.resolution = { by: operator, outcome, evidence, at: nowIso() };
    this.movement.recordMoneyEvent('operator', `${operator} resolved ${outcome}: ${evidence}`);
    if (outcome === 'FAILED') this.state.failure = { code: 'OPERATOR_RESOLVED', message: evidence };
    this.movement.transition(outcome, 'operator', operator, { clearUnless: undefined });
    this.movement.clearAttention();
    pending.applied = true;
  }

  async run(): Promise<RefundState> {
    if (!this.state.submitted) await this.submitOnce();
    await this.resolveOutcome();
    if (this.state.status === 'SUCCEEDED' || this.state.status === 'FAILED') await this.tellLedger(this.state.status);
    return this.closeOut();
  }

  private async submitOnce(): Promise<void> {
    const input: SubmitRefundInput = {
      payment: this.input.payment,
      refundReference: this.state.id,
      amount: this.state.amount,
      reason: this.state.reason,
    };
    // Recorded before the call and carried across continue-as-new: from here on, only inquiries.
    this.state.submitted = true;
    this.state.submittedAt = nowIso();
    this.movement.recordMoneyEvent('submission', 'refund sent to the provider');
    try {
      const answer = await this.sendUnlessSent(input);
      if ('earlier' in answer) return this.adoptEarlierRun(answer.earlier);
      const submission = answer.submission;
      if (submission.result === 'refused') {
        this.state.failure = submission.failure;
        this.movement.transition('FAILED', 'submission', submission.failure.code);
        return;
      }
      this.state.providerStatus = submission.payment.providerStatus;
      this.movement.transition('SUCCEEDED', 'submission', submission.payment.providerStatus);
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      // Whatever broke (timeout, 5xx, worker death), the refund may have reached the provider.
      this.movement.transition('UNKNOWN', 'submission', failure.message);
    }
  }

  /** The refund activity, asked again while Temporal cannot say whether a replaced run sent it (nothing was sent). */
  private sendUnlessSent(input: SubmitRefundInput): ReturnType<KasirActivities['submitRefundUnlessSent']> {
    return askAgainWhileCheckUnavailable(() => submissions.submitRefundUnlessSent(this.state.provider, input), {
      schedule: this.timings.query,
      unavailable: () =>
        this.movement.note(
          'submission',
          'could not tell whether an earlier run sent this refund; nothing sent, asking again'
        ),
      wait: (delayMs) => this.movement.waitForWork(Date.now() + delayMs),
    });
  }

  /** An earlier run of this workflow (before a reset) sent the refund: it is not sent again. */
  private adoptEarlierRun(earlier: EarlierSubmission): void {
    this.movement.recordMoneyEvent(
      'submission',
      `an earlier run (${earlier.runId}, ${earlier.status ?? 'status unknown'}) already sent this refund; not sent again`
    );
    if (earlier.status === 'SUCCEEDED' || earlier.status === 'FAILED') {
      this.movement.transition(earlier.status, 'submission', 'as the earlier run found');
    } else {
      this.movement.transition('UNKNOWN', 'submission', 'sent by an earlier run; resolving by inquiry');
    }
  }

  private attentionAt(): number {
    return Date.parse(this.state.submittedAt ?? this.state.createdAt) + this.timings.attentionAfterMs;
  }

  /** UNKNOWN until the provider's payment status proves the refund; needs attention when it cannot. */
  private async resolveOutcome(): Promise<void> {
    let queryAt = Date.now() + nextDelay(this.timings.query, this.attempt);
    while (!refundIsFinal(this.state.status)) {
      if (!this.state.needsAttention && Date.now() >= this.attentionAt()) {
        const minutes = Math.round(this.timings.attentionAfterMs / 60_000);
        this.movement.flag(
          `UNRESOLVED: the provider's answer to this refund was lost and its payment status has not proven it ${minutes} min later; check with the provider`,
          'query',
          'refund.needs_attention'
        );
      }
      const wakeAt = this.state.needsAttention ? queryAt : Math.min(queryAt, this.attentionAt());
      await this.takeTurn(wakeAt);
      if (!refundIsFinal(this.state.status) && Date.now() >= queryAt) {
        await this.confirm();
        queryAt = this.counted(this.timings.query);
      }
      if (!refundIsFinal(this.state.status)) await this.continueAsNewIfDue();
    }
    if (this.state.status === 'SUCCEEDED') this.movement.clearAttention();
  }

  // ---- the provider's word -----------------------------------------------------------------------

  /** Providers call back about the payment, not the refund: nothing reaches a refund's workflow by callback. */
  applyVerified(_event: ProviderCallbackEvent): boolean {
    return false;
  }

  protected askProvider(): Promise<PaymentOutcome | undefined> {
    return answerOf(() => inquiries.inquirePayment(this.state.provider, this.input.payment));
  }

  /** The payment's status proves only a refund of all that remained (src/domain/refund.ts); the word is always an inquiry's. */
  protected apply(payment: PaymentOutcome): void {
    this.state.providerStatus = payment.providerStatus;
    if (refundProvenBy(payment, this.toProve())) {
      this.movement.transition('SUCCEEDED', 'query', `payment ${payment.providerStatus}`, { clearUnless: undefined });
    } else {
      this.movement.note('query', `payment ${payment.providerStatus}: does not prove this refund either way`);
    }
  }

  /** The ledger frees a FAILED refund's amount; a ledger already closed (its refund window over) needs no word. */
  private async tellLedger(status: 'SUCCEEDED' | 'FAILED'): Promise<void> {
    try {
      await getExternalWorkflowHandle(this.input.ledgerWorkflowId).signal(refundSettledSignal, {
        refundId: this.state.id,
        status,
      });
    } catch (err) {
      this.movement.note('submission', `the payment's ledger could not be told: ${(err as Error).message}`);
    }
  }
}
