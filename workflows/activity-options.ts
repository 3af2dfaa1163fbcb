/**
 * Activity option sets, by kind of call, and how a call failed. Temporal owns retries; connectors never
 * retry.
 */
import { ActivityFailure, ApplicationFailure, TemporalFailure } from '@temporalio/workflow';
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/domain/errors';
import type { WebhookTimings } from './timings';

/** The retry policy of a provider call: backoff to 20 s, no retry of what the provider refused for good. */
function providerRetry(initialInterval: string, maximumAttempts: number): RetryPolicy {
  return {
    initialInterval,
    backoffCoefficient: 2,
    maximumInterval: '20 seconds',
    maximumAttempts,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  };
}

/** Registration, cancel: safe to repeat (the provider rejects a duplicate order id), so bounded retries. */
export const providerCall = {
  startToCloseTimeout: '30 seconds',
  retry: providerRetry('1 second', 5),
} as const satisfies ActivityOptions;

/** Status inquiries: a failed one is simply tried again at the next poll. */
export const providerInquiry = {
  startToCloseTimeout: '30 seconds',
  retry: providerRetry('2 seconds', 3),
} as const satisfies ActivityOptions;

/**
 * Payout submission and bill payment: ONE attempt, ever. If the worker dies mid-call or the call times
 * out, Temporal must not run it again; the workflow resolves the outcome by query instead.
 */
export const moneyMovingSubmission = {
  startToCloseTimeout: '45 seconds',
  retry: { maximumAttempts: 1 },
} as const satisfies ActivityOptions;

/** Just above the merchant webhook's HTTP timeout, so a delivery lost with a dead worker is retried promptly. */
const WEBHOOK_TIMEOUT = '15 seconds';

/** Merchant webhooks are retried with backoff until the merchant answers 2xx. */
function webhookRetry(timings: WebhookTimings): RetryPolicy {
  return {
    initialInterval: timings.initialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval: timings.maxIntervalMs,
  };
}

/** Merchant webhooks: retried with backoff until the merchant answers 2xx. */
export function webhookDelivery(timings: WebhookTimings): ActivityOptions {
  return { startToCloseTimeout: WEBHOOK_TIMEOUT, retry: webhookRetry(timings) };
}

/** Registration as a local activity: the same bounded retries, run inside the workflow task. */
export const localProviderCall = {
  startToCloseTimeout: providerCall.startToCloseTimeout,
  retry: providerCall.retry,
} as const satisfies LocalActivityOptions;

/** Merchant webhooks as local activities; past a minute of retrying, the SDK backs off on durable timers. */
export function localWebhookDelivery(timings: WebhookTimings): LocalActivityOptions {
  return { startToCloseTimeout: WEBHOOK_TIMEOUT, retry: webhookRetry(timings), localRetryThreshold: '1 minute' };
}

/**
 * How long a closing movement's webhook could take inside the workflow task before it went to the
 * background: kept for executions that recorded `final-webhook-inline`; no new execution does this.
 */
export const INLINE_WEBHOOK_TIMEOUT_MS = 1_000;

/** That one try (never retried inside the task), for the executions that recorded it. */
export const inlineWebhookDelivery = {
  startToCloseTimeout: INLINE_WEBHOOK_TIMEOUT_MS + 1_000,
  retry: { maximumAttempts: 1 },
} as const satisfies LocalActivityOptions;

/**
 * How an activity call failed, or undefined if `err` is not an activity's failure (then rethrow it).
 * Ordinary activities fail with an `ActivityFailure` wrapping the cause; local activities can fail with
 * the cause itself, so both shapes are read here, once.
 */
export function activityFailureOf(err: unknown): { type?: string; message: string } | undefined {
  const cause = err instanceof ActivityFailure ? (err.cause ?? err) : err;
  if (!(cause instanceof TemporalFailure)) return undefined;
  return { type: cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined, message: cause.message };
}

/**
 * The activity's answer, or undefined if the activity failed (the caller asks again later, or decides
 * without it); anything else is rethrown.
 */
export async function answerOf<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (err) {
    if (activityFailureOf(err)) return undefined;
    throw err;
  }
}
