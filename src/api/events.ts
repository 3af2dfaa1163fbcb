/**
 * Merchant events as the API reads them: every webhook Kasir sent is an event in the outbox log of the
 * workflow that queued it (`merchantEventsQuery`), with the attempts its delivery activity returned.
 * While an event is still being retried its attempts live in the pending activity's heartbeat details,
 * read with `describe()` and decoded with the client's data converter (they are encrypted like every
 * payload). Redeliveries the API made are kept by the movement's redelivery record
 * (`<workflow id>:redeliveries`, workflows/merchant-outbox.ts).
 *
 * Event ids name their workflow (`<workflow id>:<run id>:<seq>`, or `<workflow id>:<seq>` before run ids
 * were added; a late-callback record's workflow id is its movement's plus `:late` or `:late:<provider>`),
 * so one event is found without any index. Listing without a movement walks the
 * merchant's movements through visibility, newest first, and reads each one's log: a page costs one
 * visibility call plus, per movement, one query (a closed workflow's is answered by a worker replaying
 * its last run), one query of its redelivery record (answered by the server when there is none) and one
 * `describe()` when an event of it is still undelivered.
 */
import { WithStartWorkflowOperation, WorkflowNotFoundError, QueryNotRegisteredError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { Merchant } from '../config';
import { PROVIDER_IDS } from '../domain/provider';
import { kindOfId } from '../ids';
import type { MovementKind } from '../ids';
import type { WebhookHeartbeat } from '../../activities/webhooks';
import { isDelivered, sendMerchantWebhook } from '../../activities/webhooks';
import { eventRedeliveriesQuery, merchantEventsQuery, recordRedeliveryUpdate } from '../../workflows/messages';
import type { EventRedeliveries } from '../../workflows/messages';
import type { EventRedeliveriesInput } from '../../workflows/merchant-outbox';
import type { DeliveryAttempt, DeliveryStatus, MerchantEventRecord } from '../../workflows/movement-state';
import { KasirKind, KasirMerchant } from '../../workflows/search-attributes';
import type { ApiDeps } from './deps';
import { ApiError } from './http-errors';
import { visibilityLiteral } from './listing';
import { lateRecordIdOf } from './late-records';
import type { EventList, EventView, RedeliveryResult } from './schemas';

/** Where an event was queued: its workflow, and the movement that workflow is about. */
export interface EventSource {
  workflowId: string;
  movement: { kind: MovementKind; id: string };
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
// A late-callback record is `<movement workflow id>:late`, or `:late:<provider>` for a provider a routed payment left.
const LATE_RECORD = `(?::late(?::(?:${PROVIDER_IDS.join('|')}))?)?`;
const EVENT_ID = new RegExp(
  `^((payment|payout|bill|refund):([0-9A-Z]{20})${LATE_RECORD})(?::${UUID})?:[1-9][0-9]{0,8}$`
);

/** The workflow an event id names, or undefined when it is not an id Kasir issues. */
export function eventSourceOf(eventId: string): EventSource | undefined {
  const match = EVENT_ID.exec(eventId);
  if (!match) return undefined;
  const [, workflowId, kind, id] = match as unknown as [string, string, MovementKind, string];
  if (kindOfId(id) !== kind) return undefined;
  return { workflowId, movement: { kind, id } };
}

/** The record of a movement's redeliveries (workflows/merchant-outbox.ts `eventRedeliveriesWorkflow`). */
export function redeliveryRecordIdOf(workflowId: string): string {
  return `${workflowId}:redeliveries`;
}

/** What the pending delivery activity of a workflow tells about the event it is delivering. */
interface PendingDelivery {
  eventId?: string;
  attempts: DeliveryAttempt[];
  attemptCount: number;
  failed: boolean;
  nextAttemptAt?: string;
}

function shortCall<T>(deps: ApiDeps, call: () => Promise<T>): Promise<T> {
  return deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, call);
}

async function pendingDeliveryOf(deps: ApiDeps, handle: WorkflowHandle): Promise<PendingDelivery | undefined> {
  const description = await shortCall(deps, () => handle.describe());
  const activity = (description.raw.pendingActivities ?? []).find(
    (a) => a.activityType?.name === 'deliverMerchantWebhook'
  );
  if (!activity) return undefined;
  let details: Partial<WebhookHeartbeat> | undefined;
  if (activity.heartbeatDetails?.payloads?.length) {
    details = await decodeFromPayloadsAtIndex<Partial<WebhookHeartbeat>>(
      deps.client.options.loadedDataConverter,
      0,
      activity.heartbeatDetails.payloads
    );
  }
  // A retry waiting out its backoff is due at its schedule time (the dev server sets no `nextAttemptScheduleTime`).
  const waiting = activity.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED;
  const next =
    optionalTsToMs(activity.nextAttemptScheduleTime) ??
    (waiting && (activity.attempt ?? 1) > 1 ? optionalTsToMs(activity.scheduledTime) : undefined);
  const attempts = Array.isArray(details?.attempts) ? details.attempts : [];
  return {
    eventId: details?.eventId,
    attempts,
    // `attempt` is the attempt running or scheduled next: those before it were made.
    attemptCount: Math.max(attempts.length, details?.attemptCount ?? 0, (activity.attempt ?? 1) - 1),
    failed: activity.lastFailure != null || attempts.length > 0,
    ...(next !== undefined ? { nextAttemptAt: new Date(next).toISOString() } : {}),
  };
}

async function queryOrUndefined<T>(
  deps: ApiDeps,
  handle: WorkflowHandle,
  read: () => Promise<T>
): Promise<T | undefined> {
  try {
    return await shortCall(deps, read);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || err instanceof QueryNotRegisteredError) return undefined;
    throw err;
  }
}

/** The redeliveries recorded for a workflow's events, or undefined when none were asked for. */
async function redeliveriesOf(deps: ApiDeps, workflowId: string): Promise<EventRedeliveries | undefined> {
  const record = deps.client.workflow.getHandle(redeliveryRecordIdOf(workflowId));
  return queryOrUndefined(deps, record, () => record.query(eventRedeliveriesQuery));
}

/** One event as the API shows it: the log's record, with what the pending activity and redeliveries add. */
function viewOf(
  source: EventSource,
  record: MerchantEventRecord,
  pending: PendingDelivery | undefined,
  redelivered: DeliveryAttempt[]
): EventView {
  let delivery: DeliveryStatus = record.delivery;
  let attempts = record.attempts;
  let attemptCount = record.attemptCount;
  let nextAttemptAt: string | undefined;
  if (pending && (delivery === 'pending' || delivery === 'failing')) {
    // A delivery that has not yet heartbeated (the one after the failing flag, a continued run's) knows
    // less than the record, which holds what earlier deliveries of the event made.
    if (pending.attempts.length > 0) attempts = pending.attempts;
    attemptCount = Math.max(attemptCount, pending.attemptCount);
    if (pending.failed) delivery = 'failing';
    nextAttemptAt = pending.nextAttemptAt;
  }
  const all = [...attempts, ...redelivered].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const redeliveredOk = redelivered.find(isDelivered);
  if (redeliveredOk && delivery !== 'delivered') delivery = 'delivered';
  return {
    object: 'event',
    id: record.id,
    type: record.type,
    merchantId: record.merchantId,
    createdAt: record.createdAt,
    movement: source.movement,
    data: record.data,
    deliveryStatus: delivery,
    ...(record.deliveredAt !== undefined
      ? { deliveredAt: record.deliveredAt }
      : redeliveredOk
        ? { deliveredAt: redeliveredOk.at }
        : {}),
    attemptCount: attemptCount + redelivered.length,
    attempts: all,
    ...(nextAttemptAt !== undefined && delivery === 'failing' ? { nextAttemptAt } : {}),
  };
}

/**
 * Every event a workflow's log holds, as the API shows them; undefined when the workflow does not
 * exist. `redeliveries` is what the redelivery record holds, when it was read already.
 */
export async function eventsOfWorkflow(
  deps: ApiDeps,
  source: EventSource
): Promise<{ events: EventView[]; redeliveries?: EventRedeliveries } | undefined> {
  const handle = deps.client.workflow.getHandle(source.workflowId);
  const [log, redeliveries] = await Promise.all([
    queryOrUndefined(deps, handle, () => handle.query(merchantEventsQuery)),
    redeliveriesOf(deps, source.workflowId),
  ]);
  if (!log) return undefined;
  // Events are delivered in order, one at a time: the pending activity is delivering the oldest undelivered one.
  const firstUndelivered = log.events.find((e) => e.delivery === 'pending' || e.delivery === 'failing');
  const pending = firstUndelivered ? await pendingDeliveryOf(deps, handle) : undefined;
  const pendingFor =
    pending && (pending.eventId ?? firstUndelivered?.id) === firstUndelivered?.id ? pending : undefined;
  const events = log.events.map((record) =>
    viewOf(
      source,
      record,
      record.id === firstUndelivered?.id ? pendingFor : undefined,
      redeliveries?.attempts[record.id] ?? []
    )
  );
  return { events, redeliveries };
}

/** One event of `merchant` (any merchant's for an operator), with its delivery; 404 otherwise. */
export async function loadEvent(
  deps: ApiDeps,
  eventId: string,
  merchant: Merchant | undefined
): Promise<{ event: EventView; source: EventSource; redeliveries?: EventRedeliveries }> {
  const source = eventSourceOf(eventId);
  if (!source) throw ApiError.notFound('event', eventId);
  const found = await eventsOfWorkflow(deps, source);
  const event = found?.events.find((e) => e.id === eventId);
  if (!event || (merchant !== undefined && event.merchantId !== merchant.id)) throw ApiError.notFound('event', eventId);
  return { event, source, redeliveries: found?.redeliveries };
}

export interface EventListQuery {
  type?: string;
  movement?: string;
  delivery_status?: DeliveryStatus;
  limit: number;
  page_token?: string;
}

/** Workflow kinds whose outbox sends a merchant events: the movements and their late-callback records. */
const EVENT_SOURCE_KINDS = ['payment', 'payout', 'bill', 'refund', 'late_callback'];

function sourceOfWorkflowId(workflowId: string): EventSource | undefined {
  return eventSourceOf(`${workflowId}:1`);
}

/**
 * A page of the merchant's events, newest first. With `movement`, that movement's events (and its
 * late-callback records'); otherwise the events of the merchant's `limit` most recent movements (a
 * page of movements from visibility, so a page may hold more or fewer than `limit` events, or none,
 * and still have more).
 */
export async function listEvents(deps: ApiDeps, merchant: Merchant, query: EventListQuery): Promise<EventList> {
  let sources: EventSource[];
  let nextPageToken: string | null = null;
  if (query.movement !== undefined) {
    const kind = kindOfId(query.movement);
    if (!kind) throw ApiError.field('movement', 'invalid_movement', 'must be a payment, payout, bill or refund id');
    const workflowId = `${kind}:${query.movement}`;
    // A payment's money may also be recorded at a provider it failed over from (one record per provider).
    const leftProviders = kind === 'payment' ? PROVIDER_IDS : [];
    sources = [workflowId, lateRecordIdOf(workflowId), ...leftProviders.map((p) => lateRecordIdOf(workflowId, p))].map(
      (id) => sourceOfWorkflowId(id)!
    );
  } else {
    const merchantLiteral = visibilityLiteral(merchant.id);
    if (merchantLiteral === undefined) return { object: 'list', data: [], hasMore: false, nextPageToken: null };
    const visibilityQuery =
      `${KasirMerchant.name} = ${merchantLiteral} AND ` +
      `${KasirKind.name} IN (${EVENT_SOURCE_KINDS.map((k) => `'${k}'`).join(', ')})`;
    // The token is bound to the merchant and every filter, like the movement lists' tokens.
    const boundTo = `events|${visibilityQuery}|type=${query.type ?? ''}|delivery_status=${query.delivery_status ?? ''}`;
    const token = query.page_token ? deps.pageTokens.decode(boundTo, query.page_token) : undefined;
    const response = await shortCall(deps, () =>
      deps.client.workflowService.listWorkflowExecutions({
        namespace: deps.client.options.namespace,
        // Every run of a movement has a visibility record, and each source reads the movement's latest
        // run: the runs of one movement on a page are read once (below). Runs on different pages are
        // not filtered out by status: a movement that continues as new between two pages would then be
        // on neither (its new run sorts before the cursor); it may be listed again instead, with the
        // same event ids, which merchants deduplicate on.
        query: visibilityQuery,
        pageSize: query.limit,
        nextPageToken: token,
      })
    );
    const seen = new Set<string>();
    sources = (response.executions ?? [])
      .map((execution) => execution.execution?.workflowId ?? '')
      .filter((workflowId) => !seen.has(workflowId) && seen.add(workflowId))
      .map((workflowId) => sourceOfWorkflowId(workflowId))
      .filter((source): source is EventSource => source !== undefined);
    if (response.nextPageToken && response.nextPageToken.length > 0)
      nextPageToken = deps.pageTokens.encode(boundTo, response.nextPageToken);
  }
  const perSource = await Promise.all(sources.map((source) => eventsOfWorkflow(deps, source)));
  const data = perSource
    .flatMap((found) => found?.events ?? [])
    .filter((e) => e.merchantId === merchant.id)
    .filter((e) => query.type === undefined || e.type === query.type)
    .filter((e) => query.delivery_status === undefined || e.deliveryStatus === query.delivery_status)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
  return { object: 'list', data, hasMore: nextPageToken !== null, nextPageToken };
}

/**
 * Sends an event again, now, signed as the outbox signs it and with its `Kasir-Event-Id`, and records
 * the attempt in the movement's redelivery record (never in the movement itself, whose money state it
 * cannot touch). The answer is the attempt, whatever the merchant's endpoint said; `recorded` is false
 * if Temporal could not record it (the attempt was made all the same).
 */
export async function redeliverEvent(
  deps: ApiDeps,
  eventId: string,
  merchant: Merchant | undefined
): Promise<RedeliveryResult> {
  const { event, source, redeliveries } = await loadEvent(deps, eventId, merchant);
  const target = deps.config.merchants.find((m) => m.id === event.merchantId);
  if (!target?.webhookUrl) {
    throw new ApiError(
      409,
      'state_error',
      'no_webhook_url',
      `merchant ${event.merchantId} has no webhook URL configured: there is nowhere to redeliver to`
    );
  }
  const attempt = await sendMerchantWebhook(
    { webhookUrl: target.webhookUrl, webhookSecret: target.webhookSecret },
    {
      id: event.id,
      type: event.type,
      merchantId: event.merchantId,
      createdAt: event.createdAt,
      data: event.data as never,
    },
    { attempt: 1, redelivery: true }
  );
  let recorded = true;
  try {
    await recordRedelivery(deps, source, event.merchantId, eventId, attempt, redeliveries);
  } catch (err) {
    recorded = false;
    deps.log.warn({ eventId, err: String(err) }, 'redelivery made but not recorded');
  }
  return { object: 'event_redelivery', eventId, delivered: isDelivered(attempt), attempt, recorded };
}

async function recordRedelivery(
  deps: ApiDeps,
  source: EventSource,
  merchantId: string,
  eventId: string,
  attempt: DeliveryAttempt,
  previous: EventRedeliveries | undefined
): Promise<void> {
  const input: EventRedeliveriesInput = { movementWorkflowId: source.workflowId, merchantId, previous };
  const operation = new WithStartWorkflowOperation('eventRedeliveriesWorkflow', {
    workflowId: redeliveryRecordIdOf(source.workflowId),
    taskQueue: deps.config.temporal.taskQueue,
    args: [input],
    // An open record takes the attempt; a closed one (idle for a week) starts again from what it held.
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    typedSearchAttributes: [
      { key: KasirKind, value: 'event_redeliveries' },
      { key: KasirMerchant, value: merchantId },
    ],
    staticSummary: `Redeliveries of ${source.workflowId}'s merchant events`,
  });
  await deps.client.withDeadline(Date.now() + deps.timeouts.updateMs, () =>
    deps.client.workflow.executeUpdateWithStart(recordRedeliveryUpdate, {
      args: [{ eventId, attempt }],
      startWorkflowOperation: operation,
    })
  );
}
