/**
 * Inputs, state and the query of reconciliation runs (workflows/reconciliation.ts). The API and the
 * schedule setup import these; nothing here runs activities.
 */
import { defineQuery } from '@temporalio/workflow';
import type { BalanceAtRun, DifferenceKind, ReconciliationDifference } from '../src/domain/reconciliation';
import type { ProviderId } from '../src/domain/provider';
import type { MovementToCheck, UncheckedMovement } from '../activities/reconciliation';
import type { WorkflowTimings } from './timings';

/** How fast a run asks a provider, and how much one run of the workflow does before continuing as new. */
export interface ReconciliationPacing {
  /** Provider status calls per second, at most: the run sleeps between batches to keep to it. */
  checksPerSecond: number;
  /** Movements re-checked by one activity. */
  batchSize: number;
  /** Movements read from the visibility index per page. */
  pageSize: number;
  /** Movements one run checks before it continues as new (history stays bounded). */
  checksPerRun: number;
}

export const DEFAULT_RECONCILIATION_PACING: ReconciliationPacing = {
  checksPerSecond: 5,
  batchSize: 10,
  pageSize: 100,
  checksPerRun: 500,
};

export interface ReconciliationInput {
  provider: ProviderId;
  /** The Jakarta day reconciled, `yyyy-MM-dd`. */
  date: string;
  pacing: ReconciliationPacing;
  /** Timings of the late-money records a run may start (workflows/late-callback.ts). */
  timings: WorkflowTimings;
  requestedBy: 'schedule' | 'operator';
  /** Carried across continue-as-new. */
  resume?: ReconciliationProgress;
}

/** At most this many differences are kept in detail (a workflow's state must stay well under 2 MB); counts are exact. */
export const MAX_DIFFERENCES_KEPT = 1_000;

export interface ReconciliationState {
  provider: ProviderId;
  date: string;
  /** UTC instants `[from, to)` of the Jakarta day. */
  window: { from: string; to: string };
  status: 'RUNNING' | 'COMPLETED';
  requestedBy: 'schedule' | 'operator';
  startedAt: string;
  completedAt?: string;
  /** Movements read and compared so far. */
  checked: number;
  counts: Record<DifferenceKind, number>;
  differences: ReconciliationDifference[];
  /** True when more differences were found than {@link MAX_DIFFERENCES_KEPT}. */
  differencesTruncated: boolean;
  unchecked: UncheckedMovement[];
  /** The provider's balance when the run began, where it has a balance API. */
  balance?: BalanceAtRun;
  /** Runs of this workflow so far (continue-as-new). */
  runs: number;
}

/** Where a run stands, handed to the next run: nothing is checked twice, nothing skipped. */
export interface ReconciliationProgress {
  state: ReconciliationState;
  /** The visibility page token (base64) of the next page; absent before the first page and after the last. */
  pageToken?: string;
  /** Movements of the current page not yet checked. */
  pending: MovementToCheck[];
  /** True once the last page was read. */
  lastPageRead: boolean;
  balanceAsked: boolean;
}

export const reconciliationStateQuery = defineQuery<ReconciliationState>('reconciliationState');

/** What the scheduled starter (one Temporal Schedule per provider) passes on to each day's run. */
export interface ScheduledReconciliationInput {
  provider: ProviderId;
  pacing: ReconciliationPacing;
  timings: WorkflowTimings;
}
