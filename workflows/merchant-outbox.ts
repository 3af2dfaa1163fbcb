/** Merchant webhooks: the outbox each workflow run delivers from, in order, with durable retries. */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  TemporalFailure,
  condition,
  continueAsNew,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import type { WebhookDeliveryResult, WebhookHeartbeat } from '../activities/webhooks';
import { WEBHOOK_FAILING_ERROR_TYPE } from '../src/domain/errors';
import { merchantViewOf } from '../src/domain/merchant-view';
import type { MerchantView } from '../src/domain/merchant-view';
import { eventRedeliveriesQuery, merchantEventsQuery, recordRedeliveryUpdate } from './messages';
import type { EventRedeliveries, MerchantEventLog } from './messages';
import { FINAL_WEBHOOK_IN_BACKGROUND, FINAL_WEBHOOK_INLINE } from './patches';
import { WEBHOOK_FAILING_FLAG, WEBHOOK_FAILING_RAISED_BY_ATTEMPTS } from './patches';
import { inForce } from './patches-in-force';
import { KasirWebhookFailing } from './search-attributes';
import { nowIso } from './status-and-timeline';
import type { DeliveryAttempt, MerchantEvent, MerchantEventRecord } from './movement-state';
import type { MoneyMovementState, OutboxState } from './movement-state';

/** How long a webhook may go undelivered before its movement is flagged, unless timings say otherwise. */
export const DEFAULT_WEBHOOK_FAILING_AFTER_MS = 15 * 60_000;

/** Events the log keeps (undelivered ones are always kept); their data is the merchant view, ~1-2 kB each. */
const EVENT_LOG_LIMIT = 50;

/** Attempts kept per event and per redelivery record entry (their total is counted apart). */
export const ATTEMPTS_KEPT = 20;

export interface OutboxOptions {
  /** The id of the event queued with sequence number `seq`. */
  eventIdOf?: (seq: number) => string;
  /** Flag the workflow while a webhook goes undelivered this long (patched); undefined: no watch. */
  failingAfterMs?: number;
  /** The delivery activity's retry timings, so it knows when its next retry would be due. */
  retry?: { initialIntervalMs: number; maxIntervalMs: number };
  /** The one try inside the workflow task of executions that recorded `final-webhook-inline`: replay only. */
  inline?: { deliver: KasirActivities['deliverMerchantWebhook']; timeoutMs: number };
}

/**
 * Merchant webhooks, delivered in order by a background loop with durable retries. Event ids are
 * `<workflowId>:<seq>` unless the workflow names them otherwise, stable across retries, so merchants
 * can deduplicate. The latest events stay in a bounded log with their delivery attempts (the activity
 * returns them), carried across continue-as-new and answered by {@link merchantEventsQuery}.
 */
export class Outbox {
  private readonly pending: MerchantEvent[];
  private readonly log: MerchantEventRecord[];
  private nextSeq: number;
  private webhookFailing: boolean;
  private readonly deliver: KasirActivities['deliverMerchantWebhook'];
  private readonly eventIdOf: (seq: number) => string;
  private readonly failingAfterMs?: number;
  private readonly retry?: OutboxOptions['retry'];
  private readonly inline?: OutboxOptions['inline'];
  private closing = false;

  constructor(
    deliver: KasirActivities['deliverMerchantWebhook'],
    carried?: OutboxState,
    eventIdOf: (seq: number) => string = (seq) => `${workflowInfo().workflowId}:${seq}`,
    options: Omit<OutboxOptions, 'eventIdOf'> = {}
  ) {
    this.pending = carried ? [...carried.pending] : [];
    this.log = carried?.log ? carried.log.map((record) => ({ ...record, attempts: [...record.attempts] })) : [];
    // A run handed over before the log existed: its undelivered events start the log.
    for (const event of this.pending) {
      if (!this.log.some((record) => record.id === event.id)) this.log.push(pendingRecord(event));
    }
    this.nextSeq = carried?.nextSeq ?? 1;
    this.webhookFailing = carried?.webhookFailing ?? false;
    this.deliver = deliver;
    this.eventIdOf = eventIdOf;
    this.failingAfterMs = options.failingAfterMs;
    this.retry = options.retry;
    this.inline = options.inline;
    // A query adds nothing to history, so every workflow with an outbox answers it, old histories included.
    setHandler(merchantEventsQuery, (): MerchantEventLog => this.events());
  }

  emit(type: string, state: MoneyMovementState): void {
    const event: MerchantEvent = {
      id: this.eventIdOf(this.nextSeq++),
      type,
      merchantId: state.merchantId,
      createdAt: nowIso(),
      data: merchantView(state),
    };
    this.pending.push(event);
    this.log.push(pendingRecord(event));
    this.trimLog();
  }

  /** Runs for the life of the workflow run; never returns. */
  async run(): Promise<never> {
    for (;;) {
      await condition(() => this.pending.length > 0);
      const event = this.pending[0]!;
      const result = await this.deliverWatched(event);
      this.settle(event.id, result);
      this.pending.shift();
    }
  }

  /**
   * The movement is closing out. Only executions that recorded `final-webhook-inline` act on it (their
   * webhooks are first tried once inside the workflow task, as they were recorded); every other one
   * delivers in the background as always (`final-webhook-in-background`, workflows/patches.ts).
   */
  closingOut(): void {
    this.closing = true;
  }

  drained(): boolean {
    return this.pending.length === 0;
  }

  snapshot(): OutboxState {
    return {
      pending: [...this.pending],
      nextSeq: this.nextSeq,
      log: this.log.map((record) => ({ ...record, attempts: [...record.attempts] })),
      ...(this.webhookFailing ? { webhookFailing: true } : {}),
    };
  }

  events(): MerchantEventLog {
    return { events: this.log, webhookFailing: this.webhookFailing };
  }

  /**
   * Delivers one event, watched: once it has gone undelivered `failingAfterMs`, the workflow is flagged
   * `KasirWebhookFailing` and the event marked failing. The activity's retries add no history, and
   * nothing here waits on the movement's own loop. Executions before `webhook-failing-raised-by-attempts`
   * raced a timer against every delivery instead.
   */
  private async deliverWatched(event: MerchantEvent): Promise<WebhookDeliveryResult | undefined> {
    if (this.failingAfterMs === undefined) return this.deliver(event);
    if (inForce(WEBHOOK_FAILING_RAISED_BY_ATTEMPTS)) {
      const before = this.madeSoFar(event.id);
      // Only executions that recorded `final-webhook-inline` still try inside the workflow task.
      if (this.closing && this.inline && !inForce(FINAL_WEBHOOK_IN_BACKGROUND) && inForce(FINAL_WEBHOOK_INLINE)) {
        const first = await this.deliverInline(event, this.inline, before);
        if ('delivered' in first) return first;
        this.recordMade(event.id, first);
        return this.deliverRaisingFailing(event, this.failingAfterMs, first);
      }
      return this.deliverRaisingFailing(event, this.failingAfterMs, before);
    }
    if (!inForce(WEBHOOK_FAILING_FLAG)) return this.deliver(event);
    let settled = false;
    const delivering = this.deliver(event);
    delivering.then(
      () => void (settled = true),
      () => void (settled = true)
    );
    if (!(await condition(() => settled, this.failingAfterMs))) this.markFailing(event.id);
    return delivering;
  }

  /**
   * The delivery activity retries until the event's deadline and then ends with
   * `MerchantWebhookFailing`, carrying its attempts: the event is marked failing, the workflow flagged,
   * and a second delivery goes on retrying without a deadline, numbering its attempts after the first's.
   */
  private async deliverRaisingFailing(
    event: MerchantEvent,
    failingAfterMs: number,
    before?: WebhookHeartbeat
  ): Promise<WebhookDeliveryResult> {
    const failingAt = Date.parse(event.createdAt) + failingAfterMs;
    try {
      return await this.deliver(event, { failingAt, retry: this.retry, ...numberedAfter(before) });
    } catch (err) {
      const made = failingDeliveryOf(err);
      if (!made) throw err;
      this.markFailing(event.id, made);
      return this.deliver(event, { earlier: made.attempts, attemptsBefore: made.attemptCount ?? made.attempts.length });
    }
  }

  /** One try inside the workflow task: its result, or what it made when it failed (timeouts made one attempt). */
  private async deliverInline(
    event: MerchantEvent,
    inline: NonNullable<OutboxOptions['inline']>,
    before: WebhookHeartbeat | undefined
  ): Promise<WebhookDeliveryResult | WebhookHeartbeat> {
    try {
      return await inline.deliver(event, { timeoutMs: inline.timeoutMs, ...numberedAfter(before) });
    } catch (err) {
      if (!(err instanceof TemporalFailure)) throw err;
      // A timeout carries nothing: the try still counts as one attempt.
      const made = madeBy(err);
      const attemptCount = made?.attemptCount ?? (before?.attemptCount ?? 0) + 1;
      return { eventId: event.id, attempts: made?.attempts ?? before?.attempts ?? [], attemptCount };
    }
  }

  /**
   * What earlier deliveries of this event made, as its log record keeps it (a delivery that raised the
   * failing flag, a run this one continues): undefined when none was made.
   */
  private madeSoFar(id: string): WebhookHeartbeat | undefined {
    const record = this.log.find((r) => r.id === id);
    if (!record || record.attemptCount === 0) return undefined;
    return { eventId: id, attempts: record.attempts, attemptCount: record.attemptCount };
  }

  /** Marks the event failing with what its delivery made so far, and flags the workflow. */
  private markFailing(id: string, made?: WebhookHeartbeat): void {
    const record = this.log.find((r) => r.id === id);
    if (record && record.delivery === 'pending') record.delivery = 'failing';
    if (made) this.recordMade(id, made);
    this.flagFailing(true);
  }

  /** Keeps what a delivery that ended unanswered made on the event's record, for the API and the next run. */
  private recordMade(id: string, made: WebhookHeartbeat): void {
    const record = this.log.find((r) => r.id === id);
    if (!record) return;
    record.attempts = made.attempts.slice(-ATTEMPTS_KEPT);
    record.attemptCount = Math.max(record.attemptCount, made.attemptCount ?? made.attempts.length);
  }

  private settle(id: string, result: WebhookDeliveryResult | undefined): void {
    const record = this.log.find((r) => r.id === id);
    if (record) {
      // Results recorded before attempts were returned carry none: the count stays unknown (0).
      record.delivery = result?.delivered === false ? 'skipped' : 'delivered';
      record.deliveredAt = nowIso();
      if (result?.attempts) record.attempts = result.attempts.slice(-ATTEMPTS_KEPT);
      if (result?.attemptCount !== undefined) record.attemptCount = result.attemptCount;
    }
    this.flagFailing(false);
  }

  private flagFailing(failing: boolean): void {
    if (this.webhookFailing === failing) return;
    this.webhookFailing = failing;
    upsertSearchAttributes([{ key: KasirWebhookFailing, value: failing }]);
  }

  private trimLog(): void {
    while (this.log.length > EVENT_LOG_LIMIT) {
      const oldest = this.log.findIndex((r) => r.delivery !== 'pending' && r.delivery !== 'failing');
      if (oldest < 0) return;
      this.log.splice(oldest, 1);
    }
  }
}

/** The watch fields that make a delivery number its attempts after `before`'s. */
function numberedAfter(before: WebhookHeartbeat | undefined): { earlier?: DeliveryAttempt[]; attemptsBefore?: number } {
  return before ? { earlier: before.attempts, attemptsBefore: before.attemptCount ?? before.attempts.length } : {};
}

/** What a delivery that ended `MerchantWebhookFailing` had made, or undefined for any other failure. */
function failingDeliveryOf(err: unknown): WebhookHeartbeat | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (!(cause instanceof ApplicationFailure) || cause.type !== WEBHOOK_FAILING_ERROR_TYPE) return undefined;
  return madeBy(cause) ?? { eventId: '', attempts: [] };
}

/** The attempts a failed delivery carried in its failure's details (ordinary or local activity). */
function madeBy(err: unknown): WebhookHeartbeat | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure)) return undefined;
  const details = cause.details?.[0] as Partial<WebhookHeartbeat> | undefined;
  if (!details || !Array.isArray(details.attempts)) return undefined;
  return { eventId: details.eventId ?? '', attempts: details.attempts, attemptCount: details.attemptCount };
}

function pendingRecord(event: MerchantEvent): MerchantEventRecord {
  return { ...event, delivery: 'pending', attempts: [], attemptCount: 0 };
}

/**
 * What a merchant may see of a state: the one merchant view the API's GET uses too
 * (src/domain/merchant-view.ts), copied, since the outbox keeps the event while the state changes.
 */
function merchantView(state: MoneyMovementState): MerchantView<MoneyMovementState> {
  return JSON.parse(JSON.stringify(merchantViewOf(state))) as MerchantView<MoneyMovementState>;
}

/** How long a redelivery record stays open without a redelivery before it closes (the next one starts it again). */
const REDELIVERY_RECORD_IDLE_MS = 7 * 24 * 60 * 60_000;
/** Events a redelivery record keeps attempts for, newest kept. */
const REDELIVERY_RECORD_EVENTS = 50;

export interface EventRedeliveriesInput {
  movementWorkflowId: string;
  merchantId: string;
  /** What the record's previous run (closed when it went idle) held, read by the API; or carried across continue-as-new. */
  previous?: EventRedeliveries;
}

/**
 * eventRedeliveriesWorkflow: the durable record of the redeliveries merchants and operators asked for of
 * one movement's events (`<movement workflow id>:redeliveries`, `KasirKind = event_redeliveries`). The
 * API sends a redelivery itself and records its attempt here with update-with-start, so redeliveries
 * never add history to, wake, or re-open the movement's own workflow, whether it is open or closed.
 * Bounded: attempts per event and events per record; it closes after a week without redeliveries.
 */
export async function eventRedeliveriesWorkflow(input: EventRedeliveriesInput): Promise<EventRedeliveries> {
  const state: EventRedeliveries = input.previous ?? {
    movementWorkflowId: input.movementWorkflowId,
    merchantId: input.merchantId,
    attempts: {},
  };
  let recorded = 0;
  setHandler(eventRedeliveriesQuery, () => state);
  setHandler(recordRedeliveryUpdate, ({ eventId, attempt }) => {
    recorded++;
    const attempts = [...(state.attempts[eventId] ?? []), attempt].slice(-ATTEMPTS_KEPT);
    delete state.attempts[eventId];
    state.attempts[eventId] = attempts;
    const ids = Object.keys(state.attempts);
    for (const id of ids.slice(0, Math.max(0, ids.length - REDELIVERY_RECORD_EVENTS))) delete state.attempts[id];
    return state;
  });
  for (;;) {
    const seen = recorded;
    const active = await condition(
      () => recorded !== seen || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 1_000,
      REDELIVERY_RECORD_IDLE_MS
    );
    if (!active) break;
    if (recorded === seen) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof eventRedeliveriesWorkflow>({ ...input, previous: state });
    }
  }
  await condition(allHandlersFinished);
  return state;
}
