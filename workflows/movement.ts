/**
 * The core every money-movement workflow (payment, payout, bill) is built on. The rules that keep
 * money safe are written here once, and each workflow reads as its business process on top of them:
 *
 * - Status only climbs the movement's ladder; every change is a money event on the timeline (never
 *   dropped) and one merchant webhook.
 * - Callbacks are buffered as they arrive, carried across continue-as-new, and read until the
 *   workflow has closed: nothing the API acknowledged to a provider is dropped.
 * - Hints (callbacks whose body no signature covers) only say "look now"; hints that arrive close
 *   together share one status inquiry, so replayed hints cannot grow history without bound.
 * - Updates hand their request to the main loop. The loop never continues as new, nor closes, while a
 *   request waits, so every update completes or is rejected whenever it arrives.
 * - History stays bounded: a run continues as new past a number of events, whatever filled them.
 * - Merchant webhooks go out in order through ordinary activities that run beside the workflow, so a
 *   merchant endpoint that is down never delays a movement, and its retries add no history.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import { INLINE_WEBHOOK_TIMEOUT_MS, inlineWebhookDelivery, webhookDelivery } from './activity-options';
import { nowIso, publishStatus } from './status-and-timeline';
import { DEFAULT_WEBHOOK_FAILING_AFTER_MS, Outbox } from './merchant-outbox';
import { SeenEvents } from './seen-events';
import { providerCallbackSignal } from './messages';
import {
  ATTENTION_IN_TRANSITION_EVENT,
  FINAL_EVENT_CLEARS_ATTENTION,
  BOUNDED_FIRST_ANSWER,
  BOUNDED_HANDLER_WAIT,
  HINT_ASKED_UNTIL_ANSWERED,
  MOVEMENT_CORE_PATCH,
  STATUS_UPSERTED_WHEN_CHANGED,
} from './patches';
import { inForce } from './patches-in-force';
import {
  DEFAULT_HINT_CONFIRM_ASKS,
  DEFAULT_HINT_MIN_INTERVAL_MS,
  DEFAULT_HISTORY_EVENTS_PER_RUN,
  nextDelay,
} from './timings';
import type { WorkflowTimings } from './timings';
import type { Carried, MoneyMovementState, OutboxState, TimelineEntry } from './movement-state';

/** Patch id of the core (see workflows/patches.ts). */
export const MOVEMENT_CORE = MOVEMENT_CORE_PATCH;

/**
 * How long the first-answer update waits for the provider's first answer before it answers with the
 * movement as it is (still REGISTERING / SUBMITTING / inquiring): the API then answers 202 and the
 * merchant reads the outcome later, so no update waits on a provider without bound.
 */
export const FIRST_ANSWER_WAIT_MS = 10_000;

/** Waits for a movement's first answer, for at most FIRST_ANSWER_WAIT_MS (patched). */
export async function firstAnswer(ready: () => boolean): Promise<void> {
  if (inForce(BOUNDED_FIRST_ANSWER)) await condition(ready, FIRST_ANSWER_WAIT_MS);
  else await condition(ready);
}

/**
 * Why a movement needs an operator when a callback it acknowledged could never be confirmed; it
 * survives the clearing a final status brings (a run that continued as new while closing out).
 */
export const HINT_UNCONFIRMED = 'HINT_UNCONFIRMED';

/**
 * The longest wait between inquiries for a hint the provider could not answer (they back off from
 * `hintMinIntervalMs`, doubling): a status API that is down for hours is asked about twice an hour.
 */
const UNANSWERED_HINT_MAX_INTERVAL_MS = 30 * 60_000;

/** Routine timeline entries kept (money events are always kept). */
const ROUTINE_ENTRIES_KEPT = 30;

type Source = TimelineEntry['source'];

/** What one kind of movement tells the core about itself. */
export interface MovementRules<S extends MoneyMovementState> {
  /** `payment`, `payout` or `bill`: the prefix of merchant event types. */
  kind: S['kind'];
  /** The ladder: a status of lower or equal rank never replaces the current one. */
  rank(status: S['status']): number;
  timings: WorkflowTimings;
}

/** Callback handling a movement supplies: what a verified callback does, and how a hint is confirmed. */
export interface CallbackReader {
  /** Applies a verified callback; false when it must be confirmed by inquiry like a hint instead. */
  applyVerified(event: ProviderCallbackEvent): boolean;
  /** One status inquiry whose answer is applied; false when the provider could not be asked. */
  confirm(): Promise<boolean>;
  /**
   * A callback from a provider this movement is not with: true if the movement took it (a payment that
   * failed over hears from a provider it left); otherwise the core notes and ignores it.
   */
  fromAnotherProvider?(event: ProviderCallbackEvent): boolean;
}

/** How a status change settles needs-attention (see `transition`). */
export type TransitionAttention = { raise: string } | { clear: string } | { clearUnless: string | undefined };

/**
 * How the provider's word moving a payout or bill to `next` settles needs-attention: an amount mismatch
 * raises its flag; a final outcome settles what an operator was needed for (any flag but
 * HINT_UNCONFIRMED), unless the provider contradicted an operator's resolution.
 */
export function attentionOfOutcome(
  next: string,
  mismatch: string | undefined,
  contradicted: boolean
): TransitionAttention | undefined {
  if (mismatch !== undefined) return { raise: mismatch };
  if ((next === 'SUCCEEDED' || next === 'FAILED') && !contradicted) return { clearUnless: HINT_UNCONFIRMED };
  return undefined;
}

/** The patch that put each way in force: executions recorded before it replay without it. */
function patchOf(attention: TransitionAttention): string {
  return 'clearUnless' in attention ? FINAL_EVENT_CLEARS_ATTENTION : ATTENTION_IN_TRANSITION_EVENT;
}

export class Movement<S extends MoneyMovementState> {
  readonly state: S;
  private readonly rules: MovementRules<S>;
  private readonly inbox: ProviderCallbackEvent[];
  private readonly seen: SeenEvents;
  private readonly outbox: Outbox;
  private hintWaiting = false;
  private lastHintInquiryAt: number;
  /** Inquiries in a row a waiting hint's provider could not answer (patched): it is asked again, backing off. */
  private unansweredHintAsks: number;
  /** The movement has reached its end and only closes out (`closeOut`). */
  private closingOut = false;
  /** Is a request (cancel, resolve, confirm) waiting for the main loop, and how the loop serves it. */
  private requestWaiting: () => boolean = () => false;
  private serveRequest: () => Promise<void> = async () => undefined;

  constructor(rules: MovementRules<S>, state: S, carried?: Carried<S>) {
    this.rules = rules;
    this.state = state;
    this.inbox = [...(carried?.inbox ?? [])];
    this.seen = new SeenEvents(carried?.seenEventIds);
    this.outbox = merchantOutbox(rules.timings, carried?.outbox);
    this.lastHintInquiryAt = carried?.lastHintInquiryAt ?? 0;
    this.unansweredHintAsks = carried?.unansweredHintAsks ?? 0;
    this.hintWaiting = this.unansweredHintAsks > 0;
    setHandler(providerCallbackSignal, (event) => void this.inbox.push(event));
    void this.outbox.run();
  }

  /**
   * How the movement's update handlers hand requests to the loop: `waiting` says one waits, `serve`
   * answers it. The core serves one whenever it would otherwise wait, continue as new or close.
   */
  servesRequests(waiting: () => boolean, serve: () => Promise<void>): void {
    this.requestWaiting = waiting;
    this.serveRequest = serve;
  }

  /** Answers a waiting request, if any. Loops call this after every wait. */
  async serveRequests(): Promise<void> {
    while (this.requestWaiting()) await this.serveRequest();
  }

  get status(): S['status'] {
    return this.state.status;
  }

  /**
   * Moves to `status` if it climbs the ladder; records it, publishes it and tells the merchant. With
   * `attention` (patched), the move changes whether an operator is needed, and that is settled before
   * the merchant's event is queued, so the event carries it as GET does: `raise` flags the movement (the
   * caller's `flag` then only records why); `clear` ends a flag whose reason has that kind; `clearUnless`
   * (a final outcome settling what the flag was about) ends any flag but one whose reason has that kind.
   */
  transition(status: S['status'], source: Source, note?: string, attention?: TransitionAttention): boolean {
    if (status === this.state.status || this.rules.rank(status) <= this.rules.rank(this.state.status)) return false;
    this.state.status = status;
    if (attention !== undefined && this.attentionChangedBy(attention) && inForce(patchOf(attention))) {
      this.state.needsAttention = 'raise' in attention;
      this.state.attentionReason = 'raise' in attention ? attention.raise : undefined;
    }
    this.record({ status, source, note, money: true });
    this.publish();
    this.emit(`${this.rules.kind}.${status.toLowerCase()}`);
    return true;
  }

  /** A money event that changes no status (a submission, an operator's action): kept for good. */
  recordMoneyEvent(source: Source, note: string): void {
    this.record({ status: this.state.status, source, note, money: true });
    this.publish();
  }

  /** A routine observation (a poll that changed nothing): bounded, with repeats folded together. */
  note(source: Source, note: string): void {
    const last = this.state.timeline[this.state.timeline.length - 1];
    const at = nowIso();
    if (last && !last.money && last.source === source && last.note === note && last.status === this.state.status) {
      last.repeated = (last.repeated ?? 1) + 1;
      last.lastAt = at;
      this.state.updatedAt = at;
      return;
    }
    this.record({ status: this.state.status, source, note });
  }

  /** Raises needs-attention with a reason an operator can act on; optionally tells the merchant too. */
  flag(reason: string, source: Source, eventType?: string): void {
    this.state.needsAttention = true;
    this.state.attentionReason = reason;
    this.record({ status: this.state.status, source, note: `needs attention: ${reason}`, money: true });
    this.publish();
    if (eventType) this.emit(eventType);
  }

  private attentionChangedBy(attention: TransitionAttention): boolean {
    if ('raise' in attention) return true;
    if ('clear' in attention) return this.state.needsAttention && this.hasReason(attention.clear);
    const kept = attention.clearUnless !== undefined && this.hasReason(attention.clearUnless);
    return this.state.needsAttention && !kept;
  }

  /** Whether needs-attention is raised for a reason of this kind (a prefix such as `HINT_UNCONFIRMED`). */
  hasReason(kind: string): boolean {
    return this.state.attentionReason?.startsWith(`${kind}:`) === true;
  }

  /** Clears needs-attention, unless its reason is of the kind `keep` names (a prefix such as `HINT_UNCONFIRMED`). */
  clearAttention(options: { keep?: string } = {}): void {
    if (!this.state.needsAttention) return;
    if (options.keep !== undefined && this.hasReason(options.keep)) return;
    this.state.needsAttention = false;
    this.state.attentionReason = undefined;
    this.publish();
  }

  /** Queues a merchant webhook carrying the movement's current state. */
  emit(type: string): void {
    this.outbox.emit(type, this.state);
  }

  /**
   * Waits until a request or a callback arrives, a hint's inquiry is due, `orWhen` holds, or `until`
   * (epoch ms) passes. Returns at once if there is work already.
   */
  async waitForWork(until: number, orWhen: () => boolean = () => false): Promise<void> {
    const deadline = this.hintWaiting ? Math.min(until, this.hintDueAt()) : until;
    const timeoutMs = deadline - Date.now();
    if (timeoutMs <= 0 || orWhen()) return;
    await condition(() => this.hasWork() || orWhen(), timeoutMs);
  }

  private hasWork(): boolean {
    return this.inbox.length > 0 || this.requestWaiting();
  }

  private hintDueAt(): number {
    const interval = this.rules.timings.hintMinIntervalMs ?? DEFAULT_HINT_MIN_INTERVAL_MS;
    if (this.unansweredHintAsks === 0) return this.lastHintInquiryAt + interval;
    return (
      this.lastHintInquiryAt +
      nextDelay(
        { initialMs: Math.max(interval, 1_000), maxMs: UNANSWERED_HINT_MAX_INTERVAL_MS, factor: 2 },
        this.unansweredHintAsks
      )
    );
  }

  /**
   * Reads every buffered callback for this movement. Verified ones are applied once each (by event
   * id); hints, and verified ones the movement will not take at face value, lead to one inquiry, at
   * most one per `hintMinIntervalMs`; a hint inside that interval waits for it (`waitForWork` wakes).
   */
  async readCallbacks(reader: CallbackReader): Promise<void> {
    while (this.inbox.length > 0) {
      const event = this.inbox.shift()!;
      if (event.kind !== this.rules.kind || event.reference !== this.state.id) {
        this.note('callback', `ignored a callback for ${event.kind} ${event.reference}`);
        continue;
      }
      if (event.provider !== this.state.provider) {
        if (reader.fromAnotherProvider?.(event)) continue;
        this.note(
          'callback',
          `ignored a callback from ${event.provider}; this ${this.rules.kind} is with ${this.state.provider}`
        );
        continue;
      }
      if (event.trust === 'verified') {
        if (this.seen.firstTime(event.eventId) && !reader.applyVerified(event)) this.hintWaiting = true;
      } else {
        this.hintWaiting = true;
      }
    }
    if (this.hintWaiting && Date.now() >= this.hintDueAt()) {
      this.hintWaiting = false;
      this.lastHintInquiryAt = Date.now();
      const answered = await reader.confirm();
      if (answered) {
        this.unansweredHintAsks = 0;
        // The provider's status answered (and was applied): a callback it could not confirm before is moot.
        if (this.hasReason(HINT_UNCONFIRMED)) this.clearAttention();
      } else if (inForce(HINT_ASKED_UNTIL_ANSWERED)) {
        // The callback was acknowledged to its provider, which will not send it again: until the
        // provider's status answers, the movement neither forgets it nor closes (closeOut waits for it);
        // after `hintConfirmAsks` inquiries an operator is told instead of the movement asking for ever.
        this.unansweredHintAsks++;
        const asks = this.rules.timings.hintConfirmAsks ?? DEFAULT_HINT_CONFIRM_ASKS;
        if (!this.closingOut || this.unansweredHintAsks < asks) {
          // Before closing out, the movement's own polls and attention rules go on beside the hint.
          this.hintWaiting = true;
          this.note('callback', "the provider's status could not be read to confirm a callback; asking again");
        } else {
          this.unansweredHintAsks = 0;
          const reason = `${HINT_UNCONFIRMED}: ${this.state.provider} sent a callback for this ${this.rules.kind} and its status could not be read to confirm it (${asks} inquiries); check with the provider`;
          // A movement already flagged keeps its reason; the unconfirmed callback joins its timeline.
          if (this.state.needsAttention) this.recordMoneyEvent('callback', reason);
          else this.flag(reason, 'callback');
        }
      }
    }
  }

  /** True when this run should hand over to a fresh one to keep its history bounded. */
  continueAsNewDue(pollsThisRun: number): boolean {
    const info = workflowInfo();
    const eventsPerRun = this.rules.timings.historyEventsPerRun ?? DEFAULT_HISTORY_EVENTS_PER_RUN;
    return (
      pollsThisRun >= this.rules.timings.pollsPerRun ||
      info.historyLength >= eventsPerRun ||
      info.continueAsNewSuggested
    );
  }

  /**
   * Continues as new, carrying everything, once no request waits and every handler has finished. If a
   * request or a callback arrives first it returns instead, so the loop serves it and tries again later:
   * a handler waiting on the loop and the loop waiting on handlers can never wait on each other.
   */
  async continueAsNewIfDue<A extends unknown[]>(
    pollsThisRun: number,
    nextRun: (carried: Carried<S>) => A,
    cursor: { attempt: number; watchUntil?: number }
  ): Promise<void> {
    // A hint held back to coalesce is answered in this run; one the provider could not answer yet (it
    // may wait long) is carried.
    const hintHeldBack = this.hintWaiting && this.unansweredHintAsks === 0;
    if (!this.continueAsNewDue(pollsThisRun) || this.hasWork() || hintHeldBack) return;
    if (!allHandlersFinished() && inForce(BOUNDED_HANDLER_WAIT)) {
      // A handler that waits on the loop itself (an unbounded first-answer update of an execution started
      // before `bounded-first-answer`) would never finish while the loop waits here: wait a while, then
      // go back to the loop and try again later.
      await condition(() => allHandlersFinished() || this.hasWork(), FIRST_ANSWER_WAIT_MS);
      if (!allHandlersFinished()) return;
    } else {
      await condition(() => allHandlersFinished() || this.hasWork());
    }
    if (this.hasWork()) return;
    await continueAsNew<(...args: A) => Promise<unknown>>(...nextRun(this.carry(cursor)));
  }

  private carry(cursor: { attempt: number; watchUntil?: number }): Carried<S> {
    return {
      state: this.state,
      outbox: this.outbox.snapshot(),
      seenEventIds: this.seen.snapshot(),
      attempt: cursor.attempt,
      watchUntil: cursor.watchUntil,
      inbox: [...this.inbox],
      lastHintInquiryAt: this.lastHintInquiryAt,
      ...(this.unansweredHintAsks > 0 ? { unansweredHintAsks: this.unansweredHintAsks } : {}),
    };
  }

  /**
   * The end of every movement: keeps reading callbacks (they may still change the outcome, and each
   * was acknowledged to its provider) until every webhook is delivered and every handler has finished.
   */
  async closeOut<A extends unknown[]>(
    reader: CallbackReader,
    nextRun: (carried: Carried<S>) => A,
    cursor: { attempt: number; watchUntil?: number }
  ): Promise<S> {
    const settled = () => this.outbox.drained() && allHandlersFinished();
    this.outbox.closingOut();
    this.closingOut = true;
    for (;;) {
      await this.serveRequests();
      if (this.inbox.length > 0) {
        await this.readCallbacks(reader);
        await this.continueAsNewIfDue(0, nextRun, cursor);
        continue;
      }
      if (this.hintWaiting) {
        const untilDue = this.hintDueAt() - Date.now();
        if (untilDue <= 0) await this.readCallbacks(reader);
        else await condition(() => this.hasWork(), untilDue);
        if (this.unansweredHintAsks > 0) await this.continueAsNewIfDue(0, nextRun, cursor);
        continue;
      }
      if (settled()) return this.state;
      await condition(() => this.hasWork() || settled());
    }
  }

  private record(entry: Omit<TimelineEntry, 'at'>): void {
    const at = nowIso();
    const timeline = this.state.timeline;
    timeline.push({ at, ...entry });
    const routine = timeline.filter((e) => !e.money).length;
    if (routine > ROUTINE_ENTRIES_KEPT) {
      const oldest = timeline.findIndex((e) => !e.money);
      timeline.splice(oldest, 1);
    }
    this.state.updatedAt = at;
  }

  private publish(): void {
    publishStatus(this.state, { onlyWhenChanged: inForce(STATUS_UPSERTED_WHEN_CHANGED) });
  }
}

/**
 * Merchant webhooks of the movement core: delivered one at a time, in order, by ordinary activities,
 * so the workflow task that queues one completes at once and the activity's retries (until the
 * merchant answers 2xx) add no history. An event's id is fixed when it is queued and carries the id of
 * the run that queued it: stable across retries and continue-as-new, and new after a reset or for a
 * movement re-created after retention, so a merchant deduplicating on ids never drops a new outcome as
 * a repeat of an old one. The outbox keeps the latest events with their delivery attempts (answered by
 * `merchantEventsQuery`) and flags the workflow `KasirWebhookFailing` while one goes undelivered longer
 * than `webhook.failingAfterMs`.
 */
export function merchantOutbox(timings: WorkflowTimings, carried?: OutboxState): Outbox {
  const deliver = proxyActivities<KasirActivities>(webhookDelivery(timings.webhook)).deliverMerchantWebhook;
  return new Outbox(
    deliver,
    carried,
    (seq) => {
      const info = workflowInfo();
      return `${info.workflowId}:${info.runId}:${seq}`;
    },
    {
      failingAfterMs: timings.webhook.failingAfterMs ?? DEFAULT_WEBHOOK_FAILING_AFTER_MS,
      retry: { initialIntervalMs: timings.webhook.initialIntervalMs, maxIntervalMs: timings.webhook.maxIntervalMs },
      // Replays executions that recorded `final-webhook-inline`; new ones never deliver inside a task.
      inline: {
        deliver: proxyLocalActivities<KasirActivities>(inlineWebhookDelivery).deliverMerchantWebhook,
        timeoutMs: INLINE_WEBHOOK_TIMEOUT_MS,
      },
    }
  );
}
