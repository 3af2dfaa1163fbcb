/**
 * FROZEN: the payout workflow as it ran before the movement core (patch `movement-core`, see
 * workflows/movement.ts). Only executions that started before that patch replay through this code; it
 * must never change, or their histories stop replaying (test/replay). New executions never reach it.
 */
/**
 * payoutWorkflow: money out. Submits exactly once; an unknown outcome is resolved only by query and
 * callbacks, on a janitor-like schedule. Never auto-fails: after a window it raises needs-attention
 * and waits for an operator's validated resolution.
 */
import { ActivityFailure, condition, patched, setHandler } from '@temporalio/workflow';
import type { PayoutOutcome, PayoutStatus } from '../../src/domain/payout';
import { inquiries, submissions } from '../activity-proxies';
import { initialPayoutState } from '../initial-states';
import { CONFIRM_EVERY_HINT } from '../patches';
import { answerWhen, closeLegacyRun, handOverLegacyRun, openLegacyRun, transitionLegacyRun } from './legacy-run';
import { activityFailureOf } from '../activity-options';
import { nowIso, publishStatus, recordTimeline, shouldContinueAsNew } from '../status-and-timeline';
import { payoutStateQuery, payoutSubmittedUpdate, resolvePayoutUpdate } from '../messages';
import type { ResolvePayoutRequest } from '../messages';
import { nextDelay } from '../timings';
import type { PayoutState, PayoutWorkflowInput, TimelineEntry } from '../movement-state';

const FINAL: readonly PayoutStatus[] = ['SUCCEEDED', 'FAILED'];

export async function payoutWorkflowV1(input: PayoutWorkflowInput): Promise<PayoutState> {
  const run = openLegacyRun(input.resume, input.timings.webhook, () => initialPayoutState(input), payoutStateQuery);
  const { state, outbox, seen, callbacks } = run;
  let resolution: ResolvePayoutRequest | undefined;
  let attempt = input.resume?.attempt ?? 0;
  let queriesThisRun = 0;

  answerWhen(payoutSubmittedUpdate, state, () => state.status !== 'SUBMITTING');
  setHandler(
    resolvePayoutUpdate,
    async (request) => {
      resolution = request;
      await condition(() => FINAL.includes(state.status));
      return state;
    },
    {
      validator: (request: ResolvePayoutRequest) => {
        if (request.outcome !== 'SUCCEEDED' && request.outcome !== 'FAILED')
          throw new Error('outcome must be SUCCEEDED or FAILED');
        if (typeof request.evidence !== 'string' || request.evidence.trim().length < 10) {
          throw new Error('evidence must describe what proves the outcome (at least 10 characters)');
        }
        if (typeof request.operator !== 'string' || request.operator.trim() === '')
          throw new Error('operator is required');
        if (FINAL.includes(state.status)) throw new Error(`payout ${state.id} is already ${state.status}`);
        if (!state.submitted || state.status === 'SUBMITTING')
          throw new Error(`payout ${state.id} has not been submitted yet`);
      },
    }
  );
  void outbox.run();

  function transition(status: PayoutStatus, source: TimelineEntry['source'], note?: string): void {
    transitionLegacyRun(run, 'payout', status, source, note);
  }

  function apply(outcome: PayoutOutcome, source: TimelineEntry['source']): void {
    if (FINAL.includes(state.status)) return;
    state.providerStatus = outcome.providerStatus;
    state.providerReference ??= outcome.providerReference;
    if (outcome.fee !== undefined) state.fee = outcome.fee;
    switch (outcome.status) {
      case 'succeeded':
        return transition('SUCCEEDED', source, outcome.providerStatus);
      case 'failed':
        state.failure = outcome.failure ?? {
          code: outcome.providerStatus,
          message: 'the provider reports the payout failed',
        };
        return transition('FAILED', source, outcome.providerStatus);
      case 'processing':
        // An UNKNOWN submission the provider now reports as existing is no longer unknown.
        return transition('PROCESSING', source, outcome.providerStatus);
      case 'not_found':
        // Evidence for an operator, never grounds to fail or resubmit: the provider may still be catching up.
        recordTimeline(state, { status: state.status, source, note: 'provider does not know this payout (yet)' });
        return;
    }
  }

  async function confirmByQuery(): Promise<void> {
    const confirmed = await inquiries
      .inquirePayout(state.provider, { reference: state.id, providerReference: state.providerReference })
      .catch(() => undefined);
    if (confirmed) apply(confirmed, 'callback');
  }

  // Submission: exactly once. The flag is carried across continue-as-new and set before the call.
  if (!state.submitted) {
    state.submitted = true;
    state.submittedAt = nowIso();
    try {
      const submission = await submissions.submitPayout(state.provider, {
        reference: state.id,
        amount: state.amount,
        feeMode: state.feeMode,
        beneficiary: input.beneficiary,
        description: input.description,
        callbackUrl: input.callbackUrl,
      });
      state.providerReference = submission.providerReference;
      state.providerStatus = submission.providerCode;
      if (submission.fee !== undefined) state.fee = submission.fee;
      if (submission.result === 'accepted') transition('PROCESSING', 'submission', submission.providerCode);
      else if (submission.result === 'failed') {
        state.failure = {
          code: submission.providerCode,
          message: submission.message ?? 'the provider rejected the payout',
        };
        transition('FAILED', 'submission', submission.providerCode);
      } else transition('UNKNOWN', 'submission', submission.message ?? submission.providerCode);
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      // Whatever broke (timeout, worker death, anything), the request may have reached the provider.
      transition('UNKNOWN', 'submission', failure.message);
    }
  }

  const attentionAt = Date.parse(state.submittedAt ?? state.createdAt) + input.timings.payout.attentionAfterMs;
  while (!FINAL.includes(state.status)) {
    if (!state.needsAttention && Date.now() >= attentionAt) {
      state.needsAttention = true;
      state.attentionReason = `unresolved ${Math.round(input.timings.payout.attentionAfterMs / 60_000)} min after submission: resolve with evidence`;
      recordTimeline(state, { status: state.status, source: 'query', note: 'needs attention' });
      publishStatus(state);
      outbox.emit('payout.needs_attention', state);
    }
    const untilQuery = nextDelay(input.timings.payout.query, attempt);
    const wait = state.needsAttention ? untilQuery : Math.min(untilQuery, Math.max(1, attentionAt - Date.now()));
    const woken = await condition(() => callbacks.length > 0 || resolution !== undefined, wait);
    if (resolution) {
      const { outcome, evidence, operator } = resolution;
      state.resolution = { by: operator, outcome, evidence, at: nowIso() };
      if (outcome === 'FAILED') state.failure = { code: 'OPERATOR_RESOLVED', message: evidence };
      state.needsAttention = false;
      transition(outcome, 'operator', `${operator}: ${evidence}`);
      break;
    }
    const confirmEveryHint = callbacks.length > 0 && patched(CONFIRM_EVERY_HINT);
    let hinted = false;
    while (callbacks.length > 0) {
      const event = callbacks.shift()!;
      if (event.kind !== 'payout' || event.reference !== state.id) continue;
      if (event.trust === 'verified') {
        if (seen.firstTime(event.eventId)) apply(event.outcome, 'callback');
      } else if (confirmEveryHint) {
        hinted = true;
      } else if (seen.firstTime(event.eventId)) {
        await confirmByQuery();
      }
    }
    if (hinted) await confirmByQuery();
    if (!woken && !FINAL.includes(state.status)) {
      try {
        apply(
          await inquiries.inquirePayout(state.provider, {
            reference: state.id,
            providerReference: state.providerReference,
          }),
          'query'
        );
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
      }
      attempt++;
      queriesThisRun++;
      if (!FINAL.includes(state.status) && shouldContinueAsNew(queriesThisRun, input.timings.pollsPerRun)) {
        await handOverLegacyRun(input, { ...run, attempt });
      }
    }
  }

  return closeLegacyRun(state, outbox, FINAL.includes(state.status));
}
