/**
 * Patch ids, in one place. Some are read by other processes too (the API tells a payout running the
 * frozen legacy code from one on the movement core by them, through Temporal's `TemporalChangeVersion`).
 * Constants only.
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

/**
 * Patch id: while a lost registration is resolved by asking the provider, the run reads callbacks and
 * continues as new when its history is due, carrying the question (`registrationUnresolved`).
 */
export const REGISTRATION_ASKED_ACROSS_RUNS = 'registration-asked-across-runs';
