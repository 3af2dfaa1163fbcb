/**
 * Every duration a workflow waits on, passed in its input (snapshotted at start) so that config, not
 * code, sets them, in-flight workflows keep theirs when config changes, and tests can shorten them.
 */
export interface BackoffSchedule {
  initialMs: number;
  maxMs: number;
  /** Multiplier applied after each attempt. */
  factor: number;
}

export interface PaymentTimings {
  /**
   * Re-sending a registration whose outcome was unknown (timeout, 5xx). Absent in inputs recorded
   * before it existed, hence optional.
   */
  registrationRetry?: BackoffSchedule & { attempts: number };
  /** Status inquiries while waiting for a callback, per provider cadence, backing off. */
  poll: BackoffSchedule;
  /** After expiry, how long to keep watching for a late payment before closing. */
  lateWindowMs: number;
  /** Inquiries during the late window. */
  latePoll: BackoffSchedule;
}

export interface PayoutTimings {
  /** Kill-Bill-janitor-like query schedule while the outcome is unknown or processing. */
  query: BackoffSchedule;
  /** Unresolved this long after submission: raise needs-attention (never auto-fail). */
  attentionAfterMs: number;
  /**
   * After an operator marked a payout FAILED, how long to keep asking the provider, so a payout it
   * pays after all is caught and flagged. Optional: absent in inputs recorded before it existed.
   */
  watchAfterOperatorFailureMs?: number;
}

export interface BillTimings {
  /** How long an inquiry may wait for the merchant's confirmation when the provider gives no expiry. */
  confirmWindowMs: number;
  /** Ayopop: check status no sooner than 150 s after a payment that did not answer definitively. */
  firstStatusCheckMs: number;
  statusPoll: BackoffSchedule;
  attentionAfterMs: number;
  /**
   * After an operator's FAILED (or a forced SUCCEEDED), the bill keeps asking the provider this long
   * (default 72 h): a payment that succeeds after all, or fails after a forced success, is caught.
   */
  watchAfterOperatorResolutionMs?: number;
}

export interface WebhookTimings {
  initialIntervalMs: number;
  maxIntervalMs: number;
  /**
   * A webhook undelivered this long flags its movement `KasirWebhookFailing` until it is delivered.
   * Optional (default DEFAULT_WEBHOOK_FAILING_AFTER_MS in workflows/merchant-outbox.ts).
   */
  failingAfterMs?: number;
}

export interface WorkflowTimings {
  payment: PaymentTimings;
  payout: PayoutTimings;
  bill: BillTimings;
  /**
   * Refunds whose answer was lost: inquiry backoff and the attention window (the payout's when absent),
   * and `windowMs`, how long after a payment's first refund request more may be asked for.
   */
  refund?: Pick<PayoutTimings, 'query' | 'attentionAfterMs'> & { windowMs?: number };
  webhook: WebhookTimings;
  /** Polls before a long wait continues as new, keeping history small. */
  pollsPerRun: number;
  /**
   * History events after which a run continues as new, whatever filled them (callbacks, hints,
   * updates). Optional: absent in inputs recorded before it existed (then DEFAULT_HISTORY_EVENTS_PER_RUN).
   */
  historyEventsPerRun?: number;
  /**
   * Unsigned callbacks (hints) arriving closer together than this share one status inquiry, so
   * replayed hints cannot make a workflow inquire without bound. Optional, as above.
   */
  hintMinIntervalMs?: number;
  /**
   * Inquiries a hint gets while the provider's status cannot be read (backing off from
   * `hintMinIntervalMs` to twice an hour) before, once its movement is closing out, it is flagged for
   * an operator (`HINT_UNCONFIRMED`) and no longer holds the movement open. Optional, as above (then
   * DEFAULT_HINT_CONFIRM_ASKS).
   */
  hintConfirmAsks?: number;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const DEFAULT_TIMINGS: WorkflowTimings = {
  payment: {
    registrationRetry: { initialMs: 2 * SECOND, maxMs: 20 * SECOND, factor: 2, attempts: 4 },
    poll: { initialMs: 30 * SECOND, maxMs: 30 * MINUTE, factor: 2 },
    lateWindowMs: 72 * HOUR,
    latePoll: { initialMs: 10 * MINUTE, maxMs: 6 * HOUR, factor: 2 },
  },
  payout: {
    query: { initialMs: 10 * SECOND, maxMs: HOUR, factor: 2 },
    attentionAfterMs: 24 * HOUR,
    watchAfterOperatorFailureMs: 72 * HOUR,
  },
  bill: {
    confirmWindowMs: 30 * MINUTE,
    firstStatusCheckMs: 150 * SECOND,
    statusPoll: { initialMs: 30 * SECOND, maxMs: 30 * MINUTE, factor: 2 },
    attentionAfterMs: 24 * HOUR,
    watchAfterOperatorResolutionMs: 72 * HOUR,
  },
  refund: {
    query: { initialMs: 10 * SECOND, maxMs: HOUR, factor: 2 },
    attentionAfterMs: 24 * HOUR,
    windowMs: 180 * 24 * HOUR,
  },
  webhook: { initialIntervalMs: SECOND, maxIntervalMs: 10 * MINUTE },
  pollsPerRun: 200,
  historyEventsPerRun: 2_000,
  hintMinIntervalMs: 10 * SECOND,
  hintConfirmAsks: 12,
};

export const DEFAULT_HISTORY_EVENTS_PER_RUN = DEFAULT_TIMINGS.historyEventsPerRun!;
export const DEFAULT_HINT_MIN_INTERVAL_MS = DEFAULT_TIMINGS.hintMinIntervalMs!;
export const DEFAULT_HINT_CONFIRM_ASKS = DEFAULT_TIMINGS.hintConfirmAsks!;

export const DEFAULT_REGISTRATION_RETRY = DEFAULT_TIMINGS.payment.registrationRetry!;

export function nextDelay(schedule: BackoffSchedule, attempt: number): number {
  return Math.min(schedule.maxMs, Math.round(schedule.initialMs * Math.pow(schedule.factor, attempt)));
}
