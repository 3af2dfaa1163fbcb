/**
 * reconciliationWorkflow: one provider's reconciliation of one Jakarta day (`reconciliation:<provider>:<date>`).
 * It pages through the visibility index for the provider's movements created or changed that day, has
 * each small batch re-checked at the provider by one activity (activities/reconciliation.ts), and keeps
 * every difference in its own state: the query `reconciliationState`, its result, and its search
 * attributes (`KasirKind = reconciliation`, `KasirNeedsAttention`, `KasirDifferenceKinds`).
 *
 * Pacing: after each batch the run sleeps (a durable timer) so that it never asks the provider more
 * than `checksPerSecond` times a second, whatever the batch took. Resumability: the visibility page
 * token, the unchecked rest of the current page and everything found so far are workflow state,
 * carried across continue-as-new (every `checksPerRun` movements); a worker that dies mid-run loses
 * nothing, since an activity's result is in history once it returns, and a batch cut off mid-call is
 * simply run again (flagging is idempotent).
 *
 * scheduledReconciliationWorkflow is what each provider's Temporal Schedule starts every day: it works
 * out the last complete Jakarta day and runs that day's reconciliation as a child with its own id, so a
 * day already reconciled (on demand, or by an earlier trigger) is not run again.
 */
import {
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { ReconciliationActivities, ReconciledBatch } from '../activities/reconciliation';
import {
  DIFFERENCE_KINDS,
  emptyCounts,
  jakartaDayWindow,
  previousJakartaDay,
  RECONCILIATION_KIND,
  reconciliationWorkflowId,
} from '../src/domain/reconciliation';
import type { BalanceAtRun, DifferenceKind } from '../src/domain/reconciliation';
import { activityFailureOf } from './activity-options';
import { MAX_DIFFERENCES_KEPT, reconciliationStateQuery } from './reconciliation-messages';
import type {
  ReconciliationInput,
  ReconciliationProgress,
  ReconciliationState,
  ScheduledReconciliationInput,
} from './reconciliation-messages';
import { KasirDifferenceKinds, KasirKind, KasirNeedsAttention, KasirProvider, KasirStatus } from './search-attributes';

/**
 * Reading the visibility index and re-checking a batch: retried until they succeed, so an outage of
 * Temporal's visibility or of the provider pauses the run instead of ending it (visible in the UI as the
 * activity's last failure). A provider's permanent refusal of one movement is listed, not retried.
 */
const reading = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});
const checking = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: '10 minutes',
  // Heartbeats once per movement: a batch lost with its worker is run again within this.
  heartbeatTimeout: '15 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
  },
});
/** The balance is a nicety of the report: a few tries, then the report goes without it. */
const balance = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 3 },
});

function initialState(input: ReconciliationInput): ReconciliationState {
  return {
    provider: input.provider,
    date: input.date,
    window: jakartaDayWindow(input.date),
    status: 'RUNNING',
    requestedBy: input.requestedBy,
    startedAt: new Date().toISOString(),
    checked: 0,
    counts: emptyCounts(),
    differences: [],
    differencesTruncated: false,
    unchecked: [],
    runs: 1,
  };
}

function record(state: ReconciliationState, batch: ReconciledBatch): void {
  state.checked += batch.checked;
  for (const difference of batch.differences) {
    state.counts[difference.kind]++;
    if (state.differences.length < MAX_DIFFERENCES_KEPT) state.differences.push(difference);
    else state.differencesTruncated = true;
  }
  state.unchecked.push(...batch.unchecked.slice(0, Math.max(0, MAX_DIFFERENCES_KEPT - state.unchecked.length)));
}

function kindsFound(state: ReconciliationState): DifferenceKind[] {
  return DIFFERENCE_KINDS.filter((kind) => state.counts[kind] > 0);
}

/** What operators search by in the Temporal UI, e.g. `KasirKind = 'reconciliation' AND KasirNeedsAttention = true`. */
function publish(state: ReconciliationState): void {
  upsertSearchAttributes([
    { key: KasirKind, value: RECONCILIATION_KIND },
    { key: KasirProvider, value: state.provider },
    { key: KasirStatus, value: state.status },
    { key: KasirNeedsAttention, value: kindsFound(state).length > 0 || state.unchecked.length > 0 },
    { key: KasirDifferenceKinds, value: kindsFound(state) },
  ]);
}

async function balanceAtRun(input: ReconciliationInput): Promise<BalanceAtRun | undefined> {
  try {
    return await balance.providerBalance(input.provider);
  } catch (err) {
    if (activityFailureOf(err)) return undefined;
    throw err;
  }
}

export async function reconciliationWorkflow(input: ReconciliationInput): Promise<ReconciliationState> {
  const progress: ReconciliationProgress = input.resume ?? {
    state: initialState(input),
    pending: [],
    lastPageRead: false,
    balanceAsked: false,
  };
  const { state } = progress;
  setHandler(reconciliationStateQuery, () => state);
  if (!input.resume) publish(state);

  if (!progress.balanceAsked) {
    const found = await balanceAtRun(input);
    if (found) state.balance = found;
    progress.balanceAsked = true;
  }

  const { pacing } = input;
  let checkedThisRun = 0;
  for (;;) {
    if (progress.pending.length === 0) {
      if (progress.lastPageRead) break;
      const page = await reading.listMovementsToReconcile({
        provider: input.provider,
        window: state.window,
        pageSize: pacing.pageSize,
        ...(progress.pageToken !== undefined ? { pageToken: progress.pageToken } : {}),
      });
      progress.pending = page.movements;
      progress.pageToken = page.nextPageToken;
      progress.lastPageRead = page.nextPageToken === undefined;
      continue;
    }
    const batch = progress.pending.slice(0, Math.max(1, pacing.batchSize));
    const startedAt = Date.now();
    const result = await checking.reconcileMovements({
      provider: input.provider,
      date: input.date,
      movements: batch,
      timings: input.timings,
    });
    progress.pending = progress.pending.slice(batch.length);
    const before = kindsFound(state).length + state.unchecked.length;
    record(state, result);
    if (kindsFound(state).length + state.unchecked.length !== before) publish(state);
    checkedThisRun += batch.length;

    // At most `checksPerSecond` provider calls a second, counting the time the batch itself took.
    const pause = Math.ceil((batch.length * 1000) / pacing.checksPerSecond) - (Date.now() - startedAt);
    if (pause > 0) await sleep(pause);

    const moreToDo = progress.pending.length > 0 || !progress.lastPageRead;
    if (moreToDo && (checkedThisRun >= pacing.checksPerRun || workflowInfo().continueAsNewSuggested)) {
      state.runs++;
      await continueAsNew<typeof reconciliationWorkflow>({ ...input, resume: progress });
    }
  }

  state.status = 'COMPLETED';
  state.completedAt = new Date().toISOString();
  publish(state);
  return state;
}

export interface ScheduledReconciliationResult {
  workflowId: string;
  /** False when that day's run already existed (run on demand, or by an earlier trigger). */
  started: boolean;
  checked?: number;
  counts?: Record<DifferenceKind, number>;
}

export async function scheduledReconciliationWorkflow(
  input: ScheduledReconciliationInput
): Promise<ScheduledReconciliationResult> {
  // The last complete Jakarta day before the scheduled time (docs: the schedule runs after midnight WIB).
  const date = previousJakartaDay(workflowInfo().startTime);
  const workflowId = reconciliationWorkflowId(input.provider, date);
  try {
    const state = await executeChild(reconciliationWorkflow, {
      workflowId,
      args: [{ provider: input.provider, date, pacing: input.pacing, timings: input.timings, requestedBy: 'schedule' }],
      // The day's run stands on its own: it is not cancelled with this starter.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // A day already reconciled is not run again; a run that failed or was terminated is.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: `Reconciliation of ${input.provider} for ${date} (Jakarta)`,
    });
    return { workflowId, started: true, checked: state.checked, counts: state.counts };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}
