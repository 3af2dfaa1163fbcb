/**
 * Merchant webhooks: the one way a signed event is sent (the outbox's activity and the API's
 * redelivery share it), and the delivery activity, which records every attempt it makes.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { WEBHOOK_FAILING_ERROR_TYPE } from '../src/domain/errors';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '../src/webhooks/signature';
import type { DeliveryAttempt, MerchantEvent } from '../workflows/movement-state';

export interface MerchantWebhookTarget {
  webhookUrl?: string;
  webhookSecret: string;
}

export interface WebhookActivityDeps {
  /** Looks up where and how to deliver a merchant's webhooks; secrets never enter workflow history. */
  merchantWebhook(merchantId: string): MerchantWebhookTarget | undefined;
  webhookTimeoutMs?: number;
}

/** What the delivery activity answers: delivered (or skipped: no webhook URL), and every attempt made. */
export interface WebhookDeliveryResult {
  delivered: boolean;
  status?: number;
  /** The latest attempts, oldest first (at most ATTEMPTS_KEPT); absent in results recorded before attempts were kept. */
  attempts?: DeliveryAttempt[];
  /** How many attempts were made in all. */
  attemptCount?: number;
}

/** Heartbeat details of the delivery activity: what earlier attempts found, carried into the next retry. */
export interface WebhookHeartbeat {
  eventId: string;
  attempts: DeliveryAttempt[];
  /** Attempts made in all, earlier deliveries of the event included (absent in details recorded before). */
  attemptCount?: number;
}

/**
 * How the outbox watches a delivery (absent for deliveries scheduled before the watch moved into the
 * activity). With `failingAt`, an attempt that fails at or after that instant (epoch ms) ends the
 * activity with `WEBHOOK_FAILING_ERROR_TYPE` (details: a {@link WebhookHeartbeat}) instead of
 * retrying, so the workflow flags the movement and delivers again without a deadline; until then, the
 * next retry is never due later than `failingAt`. `earlier` and `attemptsBefore` carry what earlier
 * deliveries of the event made, so attempt numbers go on.
 */
export interface WebhookWatch {
  failingAt?: number;
  /** The delivery's retry policy (backoff coefficient 2), to know when the next retry would be due. */
  retry?: { initialIntervalMs: number; maxIntervalMs: number };
  earlier?: DeliveryAttempt[];
  attemptsBefore?: number;
  /** This attempt's HTTP timeout when shorter than the configured one (the try inside the workflow task). */
  timeoutMs?: number;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Attempts kept in heartbeat details and results (the same bound as workflows/merchant-outbox.ts). */
const ATTEMPTS_KEPT = 20;

/**
 * Sends one signed event to `webhookUrl` and answers how it went; never throws. A redirect is never
 * followed (a signed event cannot be steered elsewhere): it is an answer like any other non-2xx.
 */
export async function sendMerchantWebhook(
  target: { webhookUrl: string; webhookSecret: string },
  event: MerchantEvent,
  options: { attempt: number; redelivery?: boolean; timeoutMs?: number }
): Promise<DeliveryAttempt> {
  const body = JSON.stringify(event);
  const at = new Date().toISOString();
  const started = performance.now();
  const latency = () => Math.round(performance.now() - started);
  const base = { at, attempt: options.attempt, ...(options.redelivery ? { redelivery: true } : {}) };
  try {
    const response = await fetch(target.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [WEBHOOK_SIGNATURE_HEADER]: signWebhook(body, target.webhookSecret),
        'Kasir-Event-Id': event.id,
        'Kasir-Delivery-Attempt': String(options.attempt),
        ...(options.redelivery ? { 'Kasir-Redelivery': 'true' } : {}),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS),
    });
    await response.arrayBuffer().catch(() => undefined);
    return { ...base, status: response.status, latencyMs: latency() };
  } catch (err) {
    const error =
      err instanceof Error && err.name === 'TimeoutError'
        ? `no answer within ${options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS} ms`
        : networkErrorOf(err);
    return { ...base, error, latencyMs: latency() };
  }
}

export function isDelivered(attempt: DeliveryAttempt): boolean {
  return attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300;
}

function networkErrorOf(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  const detail = cause?.code ?? cause?.message;
  return `network error: ${err instanceof Error ? err.message : String(err)}${detail ? ` (${detail})` : ''}`;
}

function earlierAttempts(eventId: string, watch: WebhookWatch): DeliveryAttempt[] {
  const details = Context.current().info.heartbeatDetails as Partial<WebhookHeartbeat> | undefined;
  return details?.eventId === eventId && Array.isArray(details.attempts) ? details.attempts : (watch.earlier ?? []);
}

/** When Temporal would run the next retry after `attempt` under the watch's policy (coefficient 2), in ms. */
function naturalRetryDelayMs(retry: NonNullable<WebhookWatch['retry']>, attempt: number): number {
  return Math.min(retry.maxIntervalMs, retry.initialIntervalMs * 2 ** Math.max(0, attempt - 1));
}

export function createWebhookActivities(deps: WebhookActivityDeps) {
  return {
    /**
     * Delivers one signed merchant webhook. Any non-2xx (a redirect included) or network error throws, so
     * Temporal retries with backoff until the merchant answers 2xx. Each attempt (time, HTTP status or
     * error, latency) is added to the activity's heartbeat details, which Temporal hands to the next
     * retry and the API reads from the pending activity, so retries still add no history; the list comes
     * back in the result and the workflow keeps it. A merchant that chose no webhook URL is skipped; a
     * merchant missing from config fails the attempt, visible to operators as the activity's last
     * failure, and is delivered once config has it again. With a watch (`watch.failingAt`), a failure
     * past that instant ends the activity with `WEBHOOK_FAILING_ERROR_TYPE`: the workflow flags the
     * movement only then, so a delivery that succeeds costs no timer in its history.
     */
    async deliverMerchantWebhook(event: MerchantEvent, watch: WebhookWatch = {}): Promise<WebhookDeliveryResult> {
      const context = Context.current();
      const attemptOfThis = context.info.attempt;
      const attempt = (watch.attemptsBefore ?? 0) + attemptOfThis;
      const earlier = earlierAttempts(event.id, watch);
      const target = deps.merchantWebhook(event.merchantId);
      if (target && !target.webhookUrl) return { delivered: false, attempts: earlier, attemptCount: attempt };
      const made: DeliveryAttempt = target?.webhookUrl
        ? await sendMerchantWebhook({ webhookUrl: target.webhookUrl, webhookSecret: target.webhookSecret }, event, {
            attempt,
            timeoutMs: Math.min(watch.timeoutMs ?? Infinity, deps.webhookTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS),
          })
        : { at: new Date().toISOString(), attempt, error: 'merchant not in Kasir config', latencyMs: 0 };
      const attempts = [...earlier, made].slice(-ATTEMPTS_KEPT);
      if (isDelivered(made)) return { delivered: true, status: made.status, attempts, attemptCount: attempt };
      const heartbeat: WebhookHeartbeat = { eventId: event.id, attempts, attemptCount: attempt };
      // Local activities (the frozen legacy workflows) cannot heartbeat: their attempts are not carried.
      if (!context.info.isLocal) context.heartbeat(heartbeat);
      const [message, type] = !target
        ? [
            `merchant ${event.merchantId} is not in Kasir's config: webhook ${event.id} waits until it is`,
            'MerchantNotConfigured',
          ]
        : made.status !== undefined
          ? [`merchant answered HTTP ${made.status}`, 'MerchantWebhookRejected']
          : [`merchant did not answer: ${made.error}`, 'MerchantWebhookUnreachable'];
      // Every failure carries what was made, so whoever delivers the event next numbers on from it.
      if (watch.failingAt === undefined) throw ApplicationFailure.create({ message, type, details: [heartbeat] });
      const untilFailing = watch.failingAt - Date.now();
      if (untilFailing <= 0) {
        throw ApplicationFailure.create({
          message: `webhook ${event.id} undelivered past its deadline: ${message}`,
          type: WEBHOOK_FAILING_ERROR_TYPE,
          nonRetryable: true,
          details: [heartbeat],
        });
      }
      const natural = watch.retry ? naturalRetryDelayMs(watch.retry, attemptOfThis) : untilFailing;
      throw ApplicationFailure.create({
        message,
        type,
        details: [heartbeat],
        nextRetryDelay: Math.min(natural, untilFailing),
      });
    },
  };
}
