/**
 * An operator's resolution of a payout or a bill payment the provider left unresolved (workflows/payout.ts,
 * workflows/bill.ts), the part they share: the update waits until the workflow's loop serves it, and the
 * provider is asked first: an outcome its own status contradicts is refused unless forced with evidence.
 */
import { ApplicationFailure, condition } from '@temporalio/workflow';
import { resolutionContradicts } from '../src/domain/payout';
import type { ProviderPayoutStatus } from '../src/domain/payout';
import type { ResolvePayoutRequest } from './messages';
import type { OperatorResolution } from './movement-state';
import type { PendingRequest } from './movement-workflow';
import { nowIso } from './status-and-timeline';

/** A resolution the provider's word let through: what to record, and the word it was checked against. */
export interface AcceptedResolution<O> {
  request: ResolvePayoutRequest;
  resolution: OperatorResolution;
  forced: boolean;
  note: string;
  provider: O | undefined;
}

/** A movement's operator resolutions: at most one in progress, served by the workflow's loop. */
export class OperatorResolutions {
  private pending?: PendingRequest<ResolvePayoutRequest>;

  /** A resolution is being applied: another is refused. */
  get inProgress(): boolean {
    return this.pending !== undefined;
  }

  /** A resolution waits for the workflow's loop to serve it. */
  get waiting(): boolean {
    return this.pending !== undefined && this.pending.answer === undefined;
  }

  /** The update's handler: waits until the loop has served the request; throws the refusal, if any. */
  async request<S>(request: ResolvePayoutRequest, state: () => S): Promise<S> {
    const pending: PendingRequest<ResolvePayoutRequest> = { request };
    this.pending = pending;
    await condition(() => pending.answer !== undefined);
    this.pending = undefined;
    if (pending.answer?.error !== undefined) {
      throw ApplicationFailure.create({ type: 'ResolutionRefused', message: pending.answer.error, nonRetryable: true });
    }
    return state();
  }

  /**
   * Serves the waiting request: refused with `refusal` if the movement gives one (already final), else
   * the provider is asked, and a resolution its word lets through is applied by `apply`.
   */
  async serve<O>(how: {
    refusal: string | undefined;
    ask: () => Promise<O | undefined>;
    word: (outcome: O) => ProviderWordOnResolution;
    apply: (accepted: AcceptedResolution<O>) => void;
  }): Promise<void> {
    const pending = this.pending!;
    if (how.refusal !== undefined) {
      pending.answer = { error: how.refusal };
      return;
    }
    const provider = await how.ask();
    const judged = judgedResolution(pending.request, provider === undefined ? undefined : how.word(provider));
    if ('error' in judged) {
      pending.answer = { error: judged.error };
      return;
    }
    how.apply({ ...judged, request: pending.request, provider });
    pending.answer = {};
  }
}

/** The provider's word when the operator resolved: its status, and its own code for it. */
export interface ProviderWordOnResolution {
  status: ProviderPayoutStatus;
  providerStatus: string;
}

/**
 * The resolution checked against the provider's word (undefined: it could not be asked): refused with
 * why, or the resolution to record and the note for the timeline. `forced` when it overrides the
 * provider (or the provider could not be asked).
 */
function judgedResolution(
  request: ResolvePayoutRequest,
  provider: ProviderWordOnResolution | undefined
): { error: string } | { resolution: OperatorResolution; forced: boolean; note: string } {
  const { outcome, evidence, operator, force } = request;
  if (provider === undefined && !force) {
    return { error: 'provider could not be asked for its status; try again, or force the resolution with evidence' };
  }
  if (provider && resolutionContradicts(outcome, provider.status) && !force) {
    return {
      error: `provider contradicts the resolution: it reports ${provider.providerStatus} (${provider.status}); force it with evidence if you are sure`,
    };
  }
  const forced = provider === undefined || resolutionContradicts(outcome, provider.status);
  return {
    resolution: {
      by: operator,
      outcome,
      evidence,
      at: nowIso(),
      providerStatus: provider?.providerStatus,
      forced: forced || undefined,
    },
    forced,
    note: `${operator} resolved ${outcome}${forced ? ' (forced)' : ''}: ${evidence}`,
  };
}

/** An operator's FAILED, or a resolution forced against the provider's word, is watched for a while after. */
export function resolutionNeedsWatching(state: { status: string; resolution?: OperatorResolution }): boolean {
  const resolution = state.resolution;
  if (!resolution || resolution.outcome !== state.status) return false;
  return resolution.outcome === 'FAILED' || resolution.forced === true;
}

/**
 * The provider contradicted the outcome afterwards (paid after a failure; failed, or charged another
 * amount, after a forced success): that flag stays for an operator, and the watch ends.
 */
export function contradictedAfterResolution(state: { needsAttention: boolean; attentionReason?: string }): boolean {
  const reason = state.needsAttention ? (state.attentionReason ?? '') : '';
  return /^(PAID_AFTER_FAILURE|FAILED_AFTER_FORCED_SUCCESS|AMOUNT_MISMATCH_AFTER_FORCED_SUCCESS)/.test(reason);
}
