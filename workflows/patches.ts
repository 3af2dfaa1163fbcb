/**
 * Patch ids, in one place. Some are read by other processes too (the API tells a payout running the
 * frozen legacy code from one on the movement core by them, through Temporal's `TemporalChangeVersion`).
 * Constants only; workflows/patches-in-force.ts reads them.
 */

/**
 * Executions started after this patch run on the movement core (workflows/movement.ts); older ones
 * finish on the frozen code in `workflows/legacy/`, so every history recorded before keeps replaying.
 */
export const MOVEMENT_CORE_PATCH = 'movement-core';

/**
 * Patch id: registration and webhook delivery run as local activities. Both are safe to repeat (the
 * provider refuses a duplicate order id; merchants deduplicate on the event id), and running them in
 * the workflow task saves two server round trips each (benchmarks: create p50 154 → 65 ms).
 * Payout submission and bill payment stay ordinary single-attempt activities: a local activity is
 * re-run when its workflow task is retried, which would be a second submission.
 */
export const LOCAL_ACTIVITIES = 'local-registration-and-webhooks';

/**
 * Patch id: hint-level callbacks (unsigned, or signed over headers only) are no longer deduplicated by
 * their event id, since a forged hint could carry a genuine id and hide the real callback. Each batch
 * of hints now leads to one status inquiry.
 */
export const CONFIRM_EVERY_HINT = 'confirm-every-hint';

/** Added after the first histories were recorded: registrations that ended unknown used to fail at once. */
export const RETRY_UNKNOWN_REGISTRATION = 'retry-unknown-registration';

/**
 * Patch id: while a lost registration is resolved by asking the provider, the run reads callbacks and
 * continues as new when its history is due, carrying the question (`registrationUnresolved`).
 */
export const REGISTRATION_ASKED_ACROSS_RUNS = 'registration-asked-across-runs';

/** Patch id: the first-answer update (update-with-start) answers within a bounded wait (workflows/movement.ts). */
export const BOUNDED_FIRST_ANSWER = 'bounded-first-answer';

/** Patch id: continue-as-new waits a bounded time for running handlers, then goes back to the loop. */
export const BOUNDED_HANDLER_WAIT = 'bounded-handler-wait';

/**
 * Patch id: routing (issue #15). A payment whose input carries a routing decision records it on its
 * timeline and may fail over to its next provider. Only inputs the API built from a routing rule carry
 * one, so histories recorded before never reach this patch.
 */
export const ROUTING_FAILOVER = 'routing-failover';

/** Patch id: a payout's provider check and its submission run in one activity (reset-safe). */
export const CHECK_AND_SUBMIT_TOGETHER = 'check-and-submit-together';

/** Patch id: a bill's status check and its payment run in one activity (reset-safe). */
export const CHECK_AND_PAY_TOGETHER = 'check-and-pay-together';

/** Patch id: a reset bill run asks whether a run it replaces paid before inquiring again or expiring. */
export const RESET_RUN_ASKS_WHAT_WAS_PAID = 'reset-run-asks-what-was-paid';

/**
 * Patch id: the outbox watches each delivery with a timer and flags the workflow `KasirWebhookFailing`
 * while one has gone undelivered past `webhook.failingAfterMs`.
 */
export const WEBHOOK_FAILING_FLAG = 'webhook-failing-flag';

/**
 * Patch id: the delivery activity itself tells the outbox when a webhook has gone undelivered past
 * `webhook.failingAfterMs` (it ends with `MerchantWebhookFailing`), instead of a timer racing every
 * delivery: a webhook delivered on time adds no timer to history (two events and one action less).
 */
export const WEBHOOK_FAILING_RAISED_BY_ATTEMPTS = 'webhook-failing-raised-by-attempts';

/**
 * Patch id: status and needs-attention are upserted only when they change, not on every money event
 * (a routing note, a submission) that leaves them as they are.
 */
export const STATUS_UPSERTED_WHEN_CHANGED = 'status-upserted-when-changed';

/**
 * Patch id: once a movement is closing out, its webhook is first tried once inside the workflow task
 * (a local activity with a short timeout), so a merchant that answers at once is told without an
 * activity's round trip and the workflow completes in the same task; otherwise the delivery goes on in
 * the background as before.
 */
export const FINAL_WEBHOOK_INLINE = 'final-webhook-inline';

/**
 * Patch id: a closing movement's webhook goes out in the background again, never inside the workflow
 * task. A workflow task can be thrown away and run again (a signal arriving as the workflow completes
 * fails it), so a send inside it could reach the merchant twice with different bodies; and queries and
 * update answers waited for the merchant meanwhile. Executions that recorded `final-webhook-inline`
 * keep replaying it.
 */
export const FINAL_WEBHOOK_IN_BACKGROUND = 'final-webhook-in-background';

/**
 * Patch id: a reset bill run that cannot yet ask whether a run it replaces paid waits until it can,
 * instead of inquiring again: a new inquiry failing meanwhile closed the bill INQUIRY_FAILED (attention
 * cleared) while a replaced run's payment went through.
 */
export const RESET_RUN_WAITS_FOR_WHAT_WAS_PAID = 'reset-run-waits-for-what-was-paid';
/**
 * Patch id: an operator's FAILED for a full refund is checked with the provider first: a payment it
 * shows refunded proves the refund, which then stands and the FAILED is refused, as it is while the
 * provider cannot be asked (a partial refund cannot be proven by a payment's status, so the operator's
 * word settles it as before).
 */
export const REFUND_FAILED_RESOLUTION_CHECKED = 'refund-failed-resolution-checked';
/**
 * Patch id: a late-callback record reads every callback it was given before it closes on the
 * provider's answer. One signalled while it asked the provider was dropped when the answer closed it
 * DENIED or UNRESOLVED. (The callbacks a record holds when it continues as new are carried in its
 * input, which needs no patch.) Asked only when such a callback is waiting, so records that never
 * meet one carry no marker.
 */
export const LATE_RECORD_READS_EVERY_CALLBACK = 'late-record-reads-every-callback';
/**
 * Patch id: a hint (or a callback not taken at face value) whose confirming inquiry the provider could
 * not answer is asked about again, backing off, and carried across continue-as-new, instead of being
 * forgotten after one failed inquiry: the movement does not close while it waits, until, closing out,
 * `timings.hintConfirmAsks` inquiries went unanswered (then an operator is told). A payment's late
 * watch ended and closed EXPIRED over a paid notification the API had acknowledged.
 */
export const HINT_ASKED_UNTIL_ANSWERED = 'hint-asked-until-answered';
/**
 * Patch id: a status change that needs an operator (an amount mismatch, a registration whose outcome
 * was never learned) raises the flag before the merchant's event is queued, so `payment.amount_mismatch`
 * and its kind carry `needsAttention` and its reason as GET does; they carried `needsAttention: false`.
 */
export const ATTENTION_IN_TRANSITION_EVENT = 'attention-in-transition-event';
/**
 * Patch id: a payout, bill or refund reaching its final outcome (by the provider's word or an
 * operator's resolution) clears a flag the outcome settles (an unresolved payment, an unknown outcome)
 * before the merchant's event is queued, so `payout.succeeded` and its kind carry `needsAttention` as GET
 * does; they carried the stale flag, cleared just after.
 */
export const FINAL_EVENT_CLEARS_ATTENTION = 'final-event-clears-attention';
/**
 * Patch id: a bill an operator resolved FAILED (or forced SUCCEEDED) keeps asking Ayopop for
 * `timings.bill.watchAfterOperatorResolutionMs`, as a payout does: a success after all is a
 * `bill.paid_after_failure`, a failure after a forced success a `bill.contradicted`, and a token Ayopop
 * gives after a forced success is kept. Such a bill closed at once, and a late success reached it only
 * by a callback.
 */
export const BILL_RESOLUTION_WATCHED = 'bill-resolution-watched';
/**
 * Patch ids that one marker puts in force together, newest first. A new execution records the newest
 * one marker (and one `TemporalChangeVersion` upsert) instead of one per patch, which was 8 of a
 * settled payment's 41 history events. Executions started before a consolidation replay as they were
 * recorded, patch by patch. Each list is frozen once released: a patch added later gets its own id
 * (checked on its own) until a newer consolidation lists it, and that list keeps every id of the older.
 */
const PATCHES_2026_12_01 = [
  MOVEMENT_CORE_PATCH,
  REGISTRATION_ASKED_ACROSS_RUNS,
  BOUNDED_FIRST_ANSWER,
  BOUNDED_HANDLER_WAIT,
  ROUTING_FAILOVER,
  CHECK_AND_SUBMIT_TOGETHER,
  CHECK_AND_PAY_TOGETHER,
  RESET_RUN_ASKS_WHAT_WAS_PAID,
  WEBHOOK_FAILING_FLAG,
  WEBHOOK_FAILING_RAISED_BY_ATTEMPTS,
  STATUS_UPSERTED_WHEN_CHANGED,
];

export const CONSOLIDATED_PATCHES: readonly { id: string; covers: readonly string[] }[] = [
  { id: 'patches-2026-12-01-c', covers: [...PATCHES_2026_12_01, FINAL_WEBHOOK_IN_BACKGROUND] },
  { id: 'patches-2026-12-01-b', covers: [...PATCHES_2026_12_01, FINAL_WEBHOOK_INLINE] },
  { id: 'patches-2026-12-01', covers: PATCHES_2026_12_01 },
];

/** Every patch id the workflows know (a worker may be told to hold any of them back). */
export const ALL_PATCH_IDS: readonly string[] = [
  ...new Set([
    LOCAL_ACTIVITIES,
    CONFIRM_EVERY_HINT,
    RETRY_UNKNOWN_REGISTRATION,
    RESET_RUN_WAITS_FOR_WHAT_WAS_PAID,
    REFUND_FAILED_RESOLUTION_CHECKED,
    LATE_RECORD_READS_EVERY_CALLBACK,
    HINT_ASKED_UNTIL_ANSWERED,
    ATTENTION_IN_TRANSITION_EVENT,
    FINAL_EVENT_CLEARS_ATTENTION,
    BILL_RESOLUTION_WATCHED,
    ...CONSOLIDATED_PATCHES.flatMap((c) => [c.id, ...c.covers]),
  ]),
];

/**
 * The patch ids the release before this one knew (read from workflows/ at commit b8f099c, the code
 * landed on 2026-12-01 04:56 UTC), frozen: its workers replay a history only if every marker in it is
 * one of these.
 */
export const PREVIOUS_RELEASE_PATCH_IDS: readonly string[] = [
  'movement-core',
  'local-registration-and-webhooks',
  'confirm-every-hint',
  'retry-unknown-registration',
  'registration-asked-across-runs',
  'bounded-first-answer',
  'bounded-handler-wait',
  'routing-failover',
  'check-and-submit-together',
  'check-and-pay-together',
  'reset-run-asks-what-was-paid',
  'webhook-failing-flag',
];

/**
 * The patches this release records that the release before cannot replay: what
 * `worker.holdBackPatches` names while a rollout (or a rollback) has both releases' workers running.
 */
export const NEW_SINCE_PREVIOUS_RELEASE: readonly string[] = ALL_PATCH_IDS.filter(
  (id) => !PREVIOUS_RELEASE_PATCH_IDS.includes(id)
);
