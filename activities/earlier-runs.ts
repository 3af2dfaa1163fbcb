/**
 * What the runs a reset replaced did with money, read from Temporal's histories. A workflow reset
 * starts a new run from a point before its submission: the new run's history no longer shows the
 * submission, and a provider that keeps no record of a refused request (BDPay answers "not found" for
 * a payout it refused) cannot tell either. The replaced runs' histories still can, so the money-moving
 * activities read them before they send anything.
 *
 * Only histories are read (strongly consistent; no visibility query, which may lag or be rate limited):
 * a reset run's history names the run it was reset from (`WorkflowTaskFailed`, cause RESET_WORKFLOW,
 * `baseRunId`); that run's continue-as-new successors follow from its last event; runs of this chain
 * before a continue-as-new are reached through `continuedExecutionRunId`. A run that is not a reset,
 * nor continued from one, reads nothing more than its own history.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { PROVIDER_CHECK_UNAVAILABLE } from '../src/domain/errors';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const EventType = temporal.api.enums.v1.EventType;
const RESET_CAUSE = temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW;

/** A replaced run that may have sent the money, and the status the merchant last heard of it. */
export interface EarlierSubmission {
  /** The run whose history schedules the submission. */
  runId: string;
  /** `KasirStatus` as the last of the replaced runs published it, or started with (what the merchant last heard). */
  status?: string;
}

/** How many runs are read at most: resets of resets and long chains end somewhere. */
const MAX_RUNS_READ = 50;

/**
 * An earlier run of the calling workflow, replaced by a reset, whose history schedules one of
 * `activityTypes`, unless every such attempt failed with `ProviderCheckUnavailable` (nothing was sent
 * then). A scheduled attempt without a result counts: a reset may have cut it off mid-call.
 */
export async function earlierSubmissionOf(activityTypes: readonly string[]): Promise<EarlierSubmission | undefined> {
  const { workflowExecution } = Context.current().info;
  if (!workflowExecution) return undefined; // not called from a workflow: there are no runs to read
  const runs = new RunReader(Context.current().client, workflowExecution.workflowId);
  const replaced = await runs.replacedBy(workflowExecution.runId);
  let sentIn: string | undefined;
  let lastHeard: { startedAt: number; status?: string } | undefined;
  for (const runId of replaced) {
    const events = await runs.history(runId);
    if (!sentIn && mayHaveSent(events, activityTypes)) sentIn = runId;
    const startedAt = epochMsOf(events[0]);
    if (!lastHeard || startedAt >= lastHeard.startedAt) lastHeard = { startedAt, status: lastPublishedStatus(events) };
  }
  if (!sentIn) return undefined;
  return { runId: sentIn, ...(lastHeard?.status !== undefined ? { status: lastHeard.status } : {}) };
}

class RunReader {
  private readonly histories = new Map<string, HistoryEvent[]>();
  constructor(
    private readonly client: Client,
    private readonly workflowId: string
  ) {}

  async history(runId: string): Promise<HistoryEvent[]> {
    let events = this.histories.get(runId);
    if (!events) {
      const history = await this.client.workflow.getHandle(this.workflowId, runId).fetchHistory();
      events = history.events ?? [];
      this.histories.set(runId, events);
    }
    return events;
  }

  /**
   * Every run a reset replaced on the way to `runId`: for this run and the runs it continued from, the
   * base run of each reset, that base run's own continue-as-new successors, and so on for their resets.
   */
  async replacedBy(runId: string): Promise<string[]> {
    const replaced: string[] = [];
    const seen = new Set<string>([runId]);
    const chain = [runId];
    while (chain.length > 0 && seen.size < MAX_RUNS_READ) {
      const current = chain.shift()!;
      const events = await this.history(current);
      const next: string[] = [];
      const started = events[0]?.workflowExecutionStartedEventAttributes;
      if (started?.continuedExecutionRunId) next.push(started.continuedExecutionRunId);
      for (const event of events) {
        const failed = event.workflowTaskFailedEventAttributes;
        if (failed?.cause === RESET_CAUSE && failed.baseRunId) next.push(failed.baseRunId);
      }
      const last = events[events.length - 1];
      const successor = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (successor && current !== runId) next.push(successor);
      for (const id of next) {
        if (seen.has(id)) continue;
        seen.add(id);
        chain.push(id);
        replaced.push(id);
      }
    }
    // Runs of this very chain before a continue-as-new are not replaced: only those reached through a reset.
    return this.onlyThroughResets(runId, replaced);
  }

  /** Drops the runs that are plain continue-as-new predecessors of `runId` (their state was carried). */
  private async onlyThroughResets(runId: string, candidates: string[]): Promise<string[]> {
    const ownChain = new Set<string>();
    for (let id: string | undefined = runId; id && !ownChain.has(id) && ownChain.size < MAX_RUNS_READ;) {
      ownChain.add(id);
      const events = await this.history(id);
      const isReset = events.some((e) => e.workflowTaskFailedEventAttributes?.cause === RESET_CAUSE);
      if (isReset) break; // before this run, its base run's own history counts as replaced
      id = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    }
    return candidates.filter((id) => !ownChain.has(id));
  }
}

function epochMsOf(event: HistoryEvent | undefined): number {
  const seconds = event?.eventTime?.seconds;
  return (
    Number(seconds === null || seconds === undefined ? 0 : seconds.toString()) * 1000 +
    (event?.eventTime?.nanos ?? 0) / 1e6
  );
}

function mayHaveSent(events: HistoryEvent[], activityTypes: readonly string[]): boolean {
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

/**
 * The `KasirStatus` a run last published: the one it started with (a run continued into inherits its
 * predecessor's and upserts nothing while the status stays), then each one it upserted. Search
 * attributes are never encrypted by the payload codec.
 */
function lastPublishedStatus(events: HistoryEvent[]): string | undefined {
  const started = events[0]?.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields?.KasirStatus;
  let status = started ? defaultPayloadConverter.fromPayload<string>(started) : undefined;
  for (const event of events) {
    if (event.eventType !== EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) continue;
    const payload = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.KasirStatus;
    if (payload) status = defaultPayloadConverter.fromPayload<string>(payload);
  }
  return status;
}
