/**
 * payoutWorkflow: money out. Asks the provider whether it already holds the payout, submits it at most
 * once, and resolves an unknown outcome only by query and callbacks. Never auto-fails: after a window
 * it raises needs-attention, and an operator's resolution is checked against the provider first.
 */
import { setHandler, sleep } from '@temporalio/workflow';
import type { EarlierSubmission } from '../activities/earlier-runs';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import type { PayoutOutcome, PayoutStatus, PayoutSubmission } from '../src/domain/payout';
import { payoutIsFinal, payoutStatusRank } from '../src/domain/payout';
import { activityFailureOf, answerOf } from './activity-options';
import { inquiries, submissions } from './activity-proxies';
import { CHECK_TRIES } from './check-then-send';
import { initialPayoutState } from './initial-states';
import { nowIso } from './status-and-timeline';
import { payoutWorkflowV1 } from './legacy/payout-v1';
import { checkResolutionRequest, payoutStateQuery, payoutSubmittedUpdate, resolvePayoutUpdate } from './messages';
import type { ResolvePayoutRequest } from './messages';
import { attentionOfOutcome, HINT_UNCONFIRMED, MOVEMENT_CORE } from './movement';
import { CHECK_AND_SUBMIT_TOGETHER } from './patches';
import { inForce, readPatches } from './patches-in-force';
import { MovementWorkflow } from './movement-workflow';
import { contradictedAfterResolution, OperatorResolutions, resolutionNeedsWatching } from './operator-resolution';
import { DEFAULT_TIMINGS, nextDelay } from './timings';
import type { PayoutState, PayoutWorkflowInput, TimelineEntry } from './movement-state';

export async function payoutWorkflow(input: PayoutWorkflowInput): Promise<PayoutState> {
  readPatches();
  if (!inForce(MOVEMENT_CORE)) return payoutWorkflowV1(input);
  return new Payout(input).run();
}

class Payout extends MovementWorkflow<PayoutState, PayoutWorkflowInput, PayoutOutcome> {
  private readonly resolutions = new OperatorResolutions();

  constructor(input: PayoutWorkflowInput) {
    super(input, initialPayoutState, 'payout', payoutStatusRank);
    this.answersState(payoutStateQuery, payoutSubmittedUpdate, () => this.state.status !== 'SUBMITTING');
    setHandler(resolvePayoutUpdate, (request) => this.resolutions.request(request, () => this.state), {
      validator: (request: ResolvePayoutRequest) => this.validateResolution(request),
    });
    this.movement.servesRequests(
      () => this.resolutions.waiting,
      () => this.handleResolution()
    );
  }

  async run(): Promise<PayoutState> {
    if (!this.state.submitted) await this.submitOnce();
    await this.resolveOutcome();
    if (resolutionNeedsWatching(this.state)) await this.watchAfterOperatorResolution();
    if (
      payoutIsFinal(this.state.status) &&
      this.state.status !== 'AMOUNT_MISMATCH' &&
      !contradictedAfterResolution(this.state)
    ) {
      this.movement.clearAttention({ keep: HINT_UNCONFIRMED });
    }
    return this.closeOut();
  }

  // ---- submission --------------------------------------------------------------------------------

  /**
   * At most one submission per payout id, ever. Before it, the provider is asked whether it already
   * holds this id (a reset workflow, a workflow re-created after retention, an answer that was lost):
   * a payout it holds is adopted, never sent again. The provider refusing a duplicate id is the last
   * line of defence, and such a refusal is read as "it exists" (resolved by query), never as FAILED.
   */
  private async submitOnce(): Promise<void> {
    const input = {
      reference: this.state.id,
      amount: this.state.amount,
      feeMode: this.state.feeMode,
      beneficiary: this.input.beneficiary,
      description: this.input.description,
      callbackUrl: this.input.callbackUrl,
    };
    // The check and the submission run in one activity attempt, so a reset to any workflow task (or
    // an activity dispatched again) still asks the provider first.
    const checkInSubmission = inForce(CHECK_AND_SUBMIT_TOGETHER);
    if (!checkInSubmission) {
      const existing = await this.query();
      if (existing && existing.status !== 'not_found') return this.adoptHeld(existing);
    }
    // The flag is recorded before the call and carried across continue-as-new.
    this.state.submitted = true;
    this.state.submittedAt = nowIso();
    this.movement.recordMoneyEvent('submission', 'submitted to the provider');
    try {
      let submission: PayoutSubmission;
      if (checkInSubmission) {
        // After the last try, the failure is the outcome: UNKNOWN (below).
        const sent = await this.sendUnlessHeld(
          () => submissions.submitPayoutUnlessHeld(this.state.provider, input),
          this,
          { schedule: this.input.timings.payout.query, source: 'submission', what: 'payout' }
        );
        if (sent === undefined) return;
        submission = sent.submission;
      } else {
        submission = await submissions.submitPayout(this.state.provider, input);
      }
      this.state.providerReference = submission.providerReference;
      this.state.providerStatus = submission.providerCode;
      if (submission.fee !== undefined) this.state.fee = submission.fee;
      if (submission.result === 'accepted')
        this.movement.transition('PROCESSING', 'submission', submission.providerCode);
      else if (submission.result === 'unknown') {
        this.movement.transition('UNKNOWN', 'submission', submission.message ?? submission.providerCode);
      } else {
        // FAIL says nothing was created, unless the refusal was for an id the provider already holds:
        // only the provider's own "not found" makes it final.
        this.state.declinedAtSubmission = true;
        this.state.failure = {
          code: submission.providerCode,
          message: submission.message ?? 'the provider rejected the payout',
        };
        this.movement.recordMoneyEvent(
          'submission',
          `provider refused: ${submission.providerCode} ${submission.message ?? ''}`.trim()
        );
        // The refusal is confirmed by the provider's own "not found" before the merchant hears anything:
        // an UNKNOWN in between could follow a FAILED the merchant already got (after a reset).
        let confirmed = await this.query();
        for (let tries = 1; confirmed === undefined && tries < CHECK_TRIES; tries++) {
          await sleep(nextDelay(this.input.timings.payout.query, tries - 1));
          confirmed = await this.query();
        }
        if (confirmed) this.apply(confirmed, 'query');
        if (this.state.status === 'SUBMITTING')
          this.movement.transition('UNKNOWN', 'submission', 'refusal not yet confirmed by query');
      }
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      // Whatever broke (timeout, worker death, anything), the request may have reached the provider.
      this.movement.transition('UNKNOWN', 'submission', failure.message);
    }
  }

  /** The provider already holds this payout (a reset, a re-created workflow, a lost answer): adopt it. */
  adoptHeld(existing: PayoutOutcome): void {
    this.state.submitted = true;
    this.state.submittedAt ??= nowIso();
    this.movement.recordMoneyEvent(
      'query',
      `the provider already holds this payout (${existing.providerStatus}); not submitted again`
    );
    this.apply(existing, 'query');
    if (this.state.status === 'SUBMITTING') this.movement.transition('UNKNOWN', 'query', existing.providerStatus);
  }

  /**
   * The provider does not know this payout, but an earlier run of this workflow (before a reset)
   * submitted it: nothing is sent again. If that run ended FAILED, the provider refused it then and
   * still knows nothing of it, so FAILED stands (the merchant may have been told already; never UNKNOWN
   * after FAILED); otherwise the outcome is unknown and resolved by query, as after any lost answer.
   */
  adoptEarlierRun(earlier: EarlierSubmission): void {
    this.state.submitted = true;
    this.state.submittedAt ??= nowIso();
    this.movement.recordMoneyEvent(
      'submission',
      `an earlier run (${earlier.runId}, ${earlier.status ?? 'status unknown'}) already submitted this payout; not sent again`
    );
    if (earlier.status === 'FAILED') {
      this.state.declinedAtSubmission = true;
      this.state.failure ??= { code: 'REFUSED', message: 'the provider refused the payout (in an earlier run)' };
      this.movement.transition('FAILED', 'query', 'the provider does not know it; refused in an earlier run');
    } else {
      this.movement.transition('UNKNOWN', 'submission', 'submitted by an earlier run; resolving by query');
    }
  }

  // ---- resolving the outcome ----------------------------------------------------------------------

  private attentionAt(): number {
    return Date.parse(this.state.submittedAt ?? this.state.createdAt) + this.input.timings.payout.attentionAfterMs;
  }

  private async resolveOutcome(): Promise<void> {
    let queryAt = Date.now() + nextDelay(this.input.timings.payout.query, this.attempt);
    while (!payoutIsFinal(this.state.status)) {
      if (!this.state.needsAttention && Date.now() >= this.attentionAt()) {
        const minutes = Math.round(this.input.timings.payout.attentionAfterMs / 60_000);
        this.movement.flag(
          `UNRESOLVED: no final answer ${minutes} min after submission; resolve with evidence`,
          'query',
          'payout.needs_attention'
        );
      }
      const wakeAt = this.state.needsAttention ? queryAt : Math.min(queryAt, this.attentionAt());
      await this.takeTurn(wakeAt);
      if (!payoutIsFinal(this.state.status) && Date.now() >= queryAt) {
        const outcome = await this.query();
        if (outcome) this.apply(outcome, 'query');
        queryAt = this.counted(this.input.timings.payout.query);
      }
      if (!payoutIsFinal(this.state.status)) await this.continueAsNewIfDue();
    }
  }

  /**
   * After an operator's FAILED (or a forced SUCCEEDED), keep asking for a while: a provider that pays
   * after all, or that fails a payout an operator forced to success, must not leave the merchant with
   * the wrong outcome. A payment is promoted to SUCCEEDED and flagged; a failure is flagged.
   */
  private async watchAfterOperatorResolution(): Promise<void> {
    await this.watchAfterResolution({
      windowMs:
        this.input.timings.payout.watchAfterOperatorFailureMs ?? DEFAULT_TIMINGS.payout.watchAfterOperatorFailureMs!,
      schedule: this.input.timings.payout.query,
      watching: () => resolutionNeedsWatching(this.state) && !contradictedAfterResolution(this.state),
      source: 'query',
    });
  }

  // ---- operator resolution -----------------------------------------------------------------------

  private validateResolution(request: ResolvePayoutRequest): void {
    checkResolutionRequest(request);
    if (payoutIsFinal(this.state.status)) throw new Error(`payout ${this.state.id} is already ${this.state.status}`);
    if (!this.state.submitted || this.state.status === 'SUBMITTING')
      throw new Error(`payout ${this.state.id} has not been submitted yet`);
    if (this.state.status !== 'UNKNOWN' && !this.state.needsAttention) {
      throw new Error(
        `payout ${this.state.id} is ${this.state.status} at the provider; only a payout whose outcome is UNKNOWN or that needs attention can be resolved`
      );
    }
    if (this.resolutions.inProgress) throw new Error(`another resolution of payout ${this.state.id} is being applied`);
  }

  /** Checks the provider, then applies the operator's outcome, unless the provider contradicts it. */
  private async handleResolution(): Promise<void> {
    await this.resolutions.serve({
      refusal: payoutIsFinal(this.state.status) ? `payout ${this.state.id} is already ${this.state.status}` : undefined,
      ask: () => this.query(),
      word: (provider) => provider,
      apply: ({ request: { outcome, evidence, operator }, resolution, forced, note, provider }) => {
        this.state.resolution = resolution;
        this.movement.recordMoneyEvent('operator', note);
        if (!forced && provider && (provider.status === 'succeeded' || provider.status === 'failed')) {
          // The provider's own final word agrees: apply it, amount check included.
          this.apply(provider, 'operator');
        } else {
          if (outcome === 'FAILED') this.state.failure = { code: 'OPERATOR_RESOLVED', message: evidence };
          this.movement.transition(outcome, 'operator', operator, { clearUnless: undefined });
        }
        if (this.state.status !== 'AMOUNT_MISMATCH') this.movement.clearAttention();
      },
    });
  }

  // ---- the provider's word -----------------------------------------------------------------------

  /** A verified callback is taken at face value only when it names the provider's reference we know. */
  applyVerified(event: ProviderCallbackEvent): boolean {
    if (event.kind !== 'payout') return false;
    const outcome = event.outcome;
    if (this.namesOtherReference(outcome.providerReference, this.state.providerReference, 'query')) return false;
    this.apply(outcome, 'callback');
    return true;
  }

  protected askProvider(): Promise<PayoutOutcome | undefined> {
    return this.query();
  }

  protected apply(outcome: PayoutOutcome, source: TimelineEntry['source']): void {
    if (outcome.fee !== undefined) this.state.fee = outcome.fee;
    const next = this.statusFor(outcome);
    const forcedSuccess = this.state.resolution?.outcome === 'SUCCEEDED' && this.state.resolution.forced === true;
    if (outcome.status === 'failed' && forcedSuccess && !contradictedAfterResolution(this.state)) {
      this.state.providerStatus = outcome.providerStatus;
      this.movement.flag(
        'FAILED_AFTER_FORCED_SUCCESS: the provider reports failed a payout an operator forced to SUCCEEDED',
        source,
        'payout.contradicted'
      );
      return;
    }
    if (
      next === undefined ||
      next === this.state.status ||
      payoutStatusRank(next) <= payoutStatusRank(this.state.status)
    ) {
      this.movement.note(
        source,
        outcome.status === 'not_found'
          ? 'provider does not know this payout (yet)'
          : `provider reports ${outcome.providerStatus}`
      );
      return;
    }
    const failedBefore = this.state.status === 'FAILED';
    this.state.providerStatus = outcome.providerStatus;
    this.state.providerReference ??= outcome.providerReference;
    if (next === 'FAILED') {
      this.state.failure = outcome.failure ??
        this.state.failure ?? { code: outcome.providerStatus, message: 'the provider reports the payout failed' };
    }
    const mismatch =
      next === 'AMOUNT_MISMATCH'
        ? `AMOUNT_MISMATCH: the provider reports ${outcome.amount} sent for ${this.state.amount} requested`
        : undefined;
    this.movement.transition(
      next,
      source,
      outcome.providerStatus,
      attentionOfOutcome(next, mismatch, contradictedAfterResolution(this.state))
    );
    if (mismatch) this.movement.flag(mismatch, source);
    if (failedBefore && payoutStatusRank(next) > payoutStatusRank('FAILED')) {
      this.movement.flag(
        'PAID_AFTER_FAILURE: the provider paid a payout that had been marked FAILED',
        source,
        'payout.paid_after_failure'
      );
    }
  }

  private statusFor(outcome: PayoutOutcome): PayoutStatus | undefined {
    switch (outcome.status) {
      case 'succeeded':
        return outcome.amount !== undefined && outcome.amount !== this.state.amount ? 'AMOUNT_MISMATCH' : 'SUCCEEDED';
      case 'failed':
        return 'FAILED';
      case 'processing':
        return 'PROCESSING';
      case 'not_found':
        // Evidence, never grounds to fail, unless the provider refused the submission itself.
        return this.state.declinedAtSubmission && this.state.status !== 'PROCESSING' ? 'FAILED' : undefined;
    }
  }

  private query(): Promise<PayoutOutcome | undefined> {
    return answerOf(() =>
      inquiries.inquirePayout(this.state.provider, {
        reference: this.state.id,
        providerReference: this.state.providerReference,
      })
    );
  }
}
