/**
 * What earlier runs of the calling workflow did with money, read from Temporal itself. A workflow reset
 * starts a new run from a point before its submission: the new run's history no longer shows the
 * submission, and a provider that keeps no record of a refused request (BDPay answers "not found" for
 * a payout it refused) cannot tell either. The earlier run's history still can, so the money-moving
 * activities read it before they send anything.
 */
import { Context } from '@temporalio/activity';
import type { temporal } from '@temporalio/proto';
import { PROVIDER_CHECK_UNAVAILABLE } from '../src/domain/errors';
import { KasirStatus } from '../workflows/search-attributes';

/** An earlier run of this workflow that may have sent the money: its run id and its last published status. */
export interface EarlierSubmission {
  runId: string;
  status?: string;
}

/**
 * The most recent other run of the calling workflow (same workflow id) whose history schedules one of
 * `activityTypes`, unless every such attempt failed with `ProviderCheckUnavailable` (nothing was sent
 * then). A scheduled attempt without a result counts: a reset may have cut it off mid-call. Runs of the
 * same continue-as-new chain carry their own state forward, so finding them here is harmless; a workflow
 * id is never reused within retention (the API starts movements with REJECT_DUPLICATE).
 */
export async function earlierSubmissionOf(activityTypes: readonly string[]): Promise<EarlierSubmission | undefined> {
  const { workflowExecution } = Context.current().info;
  if (!workflowExecution) return undefined; // not called from a workflow: there are no runs to read
  const client = Context.current().client;
  const runs = client.workflow.list({ query: `WorkflowId = ${JSON.stringify(workflowExecution.workflowId)}` });
  let found: (EarlierSubmission & { startedAt: number }) | undefined;
  for await (const run of runs) {
    if (run.runId === workflowExecution.runId) continue;
    const history = await client.workflow.getHandle(workflowExecution.workflowId, run.runId).fetchHistory();
    if (!mayHaveSent(history.events ?? [], activityTypes)) continue;
    const startedAt = run.startTime.getTime();
    if (found && found.startedAt >= startedAt) continue;
    found = { runId: run.runId, status: run.typedSearchAttributes.get(KasirStatus), startedAt };
  }
  return found && { runId: found.runId, ...(found.status !== undefined ? { status: found.status } : {}) };
}

function mayHaveSent(events: temporal.api.history.v1.IHistoryEvent[], activityTypes: readonly string[]): boolean {
  const attempts = new Set<string>();
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled && activityTypes.includes(scheduled.activityType?.name ?? '')) attempts.add(String(event.eventId));
    const failed = event.activityTaskFailedEventAttributes;
    if (failed && failed.failure?.applicationFailureInfo?.type === PROVIDER_CHECK_UNAVAILABLE) {
      attempts.delete(String(failed.scheduledEventId));
    }
  }
  return attempts.size > 0;
}
