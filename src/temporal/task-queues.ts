/** Task queue names. One queue: every worker runs every workflow and activity, so scaling is "run more workers". */
export const KASIR_TASK_QUEUE = process.env.KASIR_TASK_QUEUE ?? 'kasir';
