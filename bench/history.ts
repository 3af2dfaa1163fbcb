/**
 * Reads finished workflows' histories (every run, following continue-as-new) and counts their events
 * by type and their Temporal Cloud actions, by the rules of https://docs.temporal.io/cloud/actions:
 * a workflow start (client, continue-as-new, child: a child start is two), a timer started, a search
 * attribute upsert (one per command; `TemporalChangeVersion`-only upserts are exempt; attributes given
 * at start are free), a signal, an accepted update, an activity attempt, and all local activities of one
 * workflow task together as one. Queries, heartbeats and rejected updates are not in histories and are
 * not counted here.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface HistoryCount {
  workflows: number;
  runs: number;
  events: number;
  actions: number;
  /** Events per type (short names, e.g. `TIMER_STARTED`), summed over every workflow. */
  byType: Record<string, number>;
  /** Actions per kind, summed over every workflow. */
  actionsByKind: Record<string, number>;
}

function typeName(event: HistoryEvent): string {
  const name = EventType[event.eventType ?? 0] ?? `UNKNOWN_${event.eventType}`;
  return name.replace(/^EVENT_TYPE_/, '');
}

function bump(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

/** The actions one run's history stands for, by kind. */
export function actionsOf(events: readonly HistoryEvent[]): Record<string, number> {
  const actions: Record<string, number> = {};
  const localActivityTasks = new Set<string>();
  for (const event of events) {
    const type = event.eventType;
    if (type === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) bump(actions, 'workflow started');
    else if (type === EventType.EVENT_TYPE_TIMER_STARTED) bump(actions, 'timer started');
    else if (type === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) {
      const fields = Object.keys(
        event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}
      );
      if (fields.some((f) => f !== 'TemporalChangeVersion')) bump(actions, 'search attribute upsert');
    } else if (type === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) bump(actions, 'signal');
    else if (type === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) bump(actions, 'update');
    else if (type === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)
      bump(actions, 'activity attempt', Math.max(1, event.activityTaskStartedEventAttributes?.attempt ?? 1));
    else if (type === EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) bump(actions, 'child workflow', 2);
    else if (type === EventType.EVENT_TYPE_MARKER_RECORDED) {
      const marker = event.markerRecordedEventAttributes;
      if (marker?.markerName === 'core_local_activity')
        localActivityTasks.add(String(marker.workflowTaskCompletedEventId ?? event.eventId));
    }
  }
  if (localActivityTasks.size > 0) bump(actions, 'local activities (one per workflow task)', localActivityTasks.size);
  return actions;
}

/** Every run of a workflow, first to last, following continue-as-new. */
async function runsOf(client: Client, workflowId: string): Promise<HistoryEvent[][]> {
  const description = await client.workflow.getHandle(workflowId).describe();
  // The latest run names the first run of its chain; walk forward from there.
  let runId: string | undefined = description.raw.workflowExecutionInfo?.firstRunId || description.runId;
  const runs: HistoryEvent[][] = [];
  while (runId && runs.length < 1_000) {
    const history: temporal.api.history.v1.IHistory = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const events: HistoryEvent[] = history.events ?? [];
    runs.push(events);
    const last: HistoryEvent | undefined = events[events.length - 1];
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}

/** Counts the histories of these finished workflows. */
export async function countHistories(client: Client, workflowIds: readonly string[]): Promise<HistoryCount> {
  const count: HistoryCount = { workflows: 0, runs: 0, events: 0, actions: 0, byType: {}, actionsByKind: {} };
  for (const workflowId of workflowIds) {
    const runs = await runsOf(client, workflowId);
    count.workflows++;
    for (const events of runs) {
      count.runs++;
      count.events += events.length;
      for (const event of events) bump(count.byType, typeName(event));
      for (const [kind, n] of Object.entries(actionsOf(events))) {
        bump(count.actionsByKind, kind, n);
        count.actions += n;
      }
    }
  }
  return count;
}

/** Per-workflow averages of a count, as printable rows. */
export function perWorkflow(record: Record<string, number>, workflows: number): [string, number][] {
  return Object.entries(record)
    .map(([key, n]): [string, number] => [key, n / Math.max(1, workflows)])
    .sort((a, b) => b[1] - a[1]);
}
