/** A movement's status as operators see it (search attributes, current details) and its bounded timeline. */
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributePair } from '@temporalio/common';
import { KasirNeedsAttention, KasirStatus } from './search-attributes';
import type { TimelineEntry } from './movement-state';

export function nowIso(): string {
  return new Date(Date.now()).toISOString();
}

/** Keeps the timeline bounded so long-lived workflows stay small across continue-as-new. */
const TIMELINE_LIMIT = 50;
export function recordTimeline(
  state: { timeline: TimelineEntry[]; updatedAt: string },
  entry: Omit<TimelineEntry, 'at'>
): void {
  const at = nowIso();
  state.timeline.push({ at, ...entry });
  if (state.timeline.length > TIMELINE_LIMIT) state.timeline.splice(0, state.timeline.length - TIMELINE_LIMIT);
  state.updatedAt = at;
}

/**
 * Mirrors status and needs-attention into search attributes so operators can filter on them, and
 * into the workflow's current details (shown in the Temporal UI) so they can read why at a glance.
 * With `onlyWhenChanged` (patched), search attributes that already hold these values are not upserted
 * again: each upsert is a history event and a billable action.
 */
export function publishStatus(
  state: { status: string; needsAttention: boolean; attentionReason?: string; timeline: TimelineEntry[] },
  options: { onlyWhenChanged?: boolean } = {}
): void {
  const pairs: SearchAttributePair[] = [
    { key: KasirStatus, value: state.status },
    { key: KasirNeedsAttention, value: state.needsAttention },
  ];
  const indexed = workflowInfo().typedSearchAttributes;
  const unchanged =
    indexed.get(KasirStatus) === state.status && indexed.get(KasirNeedsAttention) === state.needsAttention;
  if (!(options.onlyWhenChanged && unchanged)) upsertSearchAttributes(pairs);
  const recent = state.timeline
    .slice(-5)
    .map((t) => `- ${t.at} ${t.status} (${t.source}${t.note ? `: ${t.note}` : ''})`)
    .join('\n');
  setCurrentDetails(
    [
      `**${state.status}**`,
      state.needsAttention ? `Needs attention: ${state.attentionReason ?? 'see timeline'}` : '',
      recent,
    ]
      .filter(Boolean)
      .join('\n\n')
  );
}

/** True when this run should hand over to a fresh one to keep history small. */
export function shouldContinueAsNew(pollsThisRun: number, pollsPerRun: number): boolean {
  return pollsThisRun >= pollsPerRun || workflowInfo().continueAsNewSuggested;
}
