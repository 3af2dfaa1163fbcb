/**
 * What the frozen workflows in this folder share: how a run opens, hands over to the next one and
 * closes. Each helper issues exactly the commands, in exactly the order, of the code it replaced in all
 * three, so their histories keep replaying (test/replay); change none of it.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import type { ProviderCallbackEvent } from '../../src/domain/callback';
import { Outbox } from '../merchant-outbox';
import type { KasirActivities } from '../../activities';
import { localWebhookDelivery, webhookDelivery } from '../activity-options';
import { LOCAL_ACTIVITIES } from '../patches';
import { providerCallbackSignal } from '../messages';
import type { Carried, MoneyMovementState, OutboxState, TimelineEntry } from '../movement-state';
import { SeenEvents } from '../seen-events';
import { publishStatus, recordTimeline } from '../status-and-timeline';
import type { WebhookTimings } from '../timings';

/** What a frozen run keeps while it runs. */
export interface LegacyRun<S> {
  state: S;
  outbox: Outbox;
  seen: SeenEvents;
  /** Callbacks signalled to the run and not yet read, oldest first. */
  callbacks: ProviderCallbackEvent[];
}

/**
 * Opens a run: the carried state or `initial()`, then the outbox (which asks its patch only after the
 * state is built), the seen event ids, and the state query and callback signal answered.
 */
export function openLegacyRun<S>(
  resume: Carried<S> | undefined,
  webhook: WebhookTimings,
  initial: () => S,
  stateQuery: QueryDefinition<S>
): LegacyRun<S> {
  const state = resume?.state ?? initial();
  const run = { state, outbox: legacyOutbox(webhook, resume?.outbox), seen: new SeenEvents(resume?.seenEventIds) };
  const callbacks: ProviderCallbackEvent[] = [];
  setHandler(stateQuery, () => state);
  setHandler(providerCallbackSignal, (event) => void callbacks.push(event));
  return { ...run, callbacks };
}

/** Answers `update` with the state once `answered()`: the frozen first-answer updates, unbounded. */
export function answerWhen<S>(update: UpdateDefinition<S, []>, state: S, answered: () => boolean): void {
  setHandler(update, async () => {
    await condition(answered);
    return state;
  });
}

/**
 * Moves a frozen payout or bill run to `status` unless it already has it: recorded, published, and told
 * to the merchant as `<kind>.<status>`.
 */
export function transitionLegacyRun<S extends MoneyMovementState>(
  run: { state: S; outbox: Outbox },
  kind: string,
  status: S['status'],
  source: TimelineEntry['source'],
  note?: string
): void {
  const { state, outbox } = run;
  if (status === state.status) return;
  state.status = status;
  recordTimeline(state, { status, source, note });
  publishStatus(state);
  outbox.emit(`${kind}.${status.toLowerCase()}`, state);
}

/** Hands over to a new run once every handler finished, carrying the state, outbox, seen ids and attempt. */
export async function handOverLegacyRun<S, I extends { resume?: Carried<S> }>(
  input: I,
  run: Omit<LegacyRun<S>, 'callbacks'> & { attempt: number }
): Promise<never> {
  await condition(allHandlersFinished);
  return continueAsNew<(input: I) => Promise<unknown>>({
    ...input,
    resume: {
      state: run.state,
      outbox: run.outbox.snapshot(),
      seenEventIds: run.seen.snapshot(),
      attempt: run.attempt,
    },
  });
}

/**
 * Closes a run: a needs-attention flag is cleared when `settled` (the movement has its last word), then
 * the run waits until every webhook is delivered and every handler finished.
 */
export async function closeLegacyRun<
  S extends { status: string; needsAttention: boolean; attentionReason?: string; timeline: TimelineEntry[] },
>(state: S, outbox: Outbox, settled: boolean): Promise<S> {
  if (state.needsAttention && settled) {
    state.needsAttention = false;
    publishStatus(state);
  }
  await condition(() => outbox.drained() && allHandlersFinished());
  return state;
}

/** The outbox of the frozen workflows in `legacy/`: local-activity delivery behind its patch. */
function legacyOutbox(timings: WebhookTimings, carried?: OutboxState): Outbox {
  const deliver = patched(LOCAL_ACTIVITIES)
    ? proxyLocalActivities<KasirActivities>(localWebhookDelivery(timings)).deliverMerchantWebhook
    : proxyActivities<KasirActivities>(webhookDelivery(timings)).deliverMerchantWebhook;
  return new Outbox(deliver, carried);
}
