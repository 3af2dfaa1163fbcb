/**
 * Patch ids that other processes read too (the API tells a payout running the frozen legacy code
 * from one on the movement core by them, through Temporal's `TemporalChangeVersion`). Constants only.
 */

/**
 * Executions started after this patch run on the movement core (workflows/movement.ts); older ones
 * finish on the frozen code in `workflows/legacy/`, so every history recorded before keeps replaying.
 */
export const MOVEMENT_CORE_PATCH = 'movement-core';
