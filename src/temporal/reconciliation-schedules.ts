/**
 * One Temporal Schedule per provider (`reconciliation:<provider>`) that starts the daily reconciliation
 * at `reconciliation.runAt`, Jakarta time. Operators run one on demand with the schedule's "Trigger"
 * in the Temporal UI (or `temporal schedule trigger`), or for any day with
 * `POST /v1/operator/reconciliations`.
 */
import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { KasirConfig } from '../config';
import { PROVIDER_IDS } from '../domain/provider';
import type { ProviderId } from '../domain/provider';
import { reconciliationScheduleId } from '../domain/reconciliation';
import type { ReconciliationPacing, ScheduledReconciliationInput } from '../../workflows/reconciliation-messages';
import type { scheduledReconciliationWorkflow } from '../../workflows/reconciliation';

export function reconciliationPacingOf(config: KasirConfig): ReconciliationPacing {
  const { checksPerSecond, batchSize, pageSize, checksPerRun } = config.reconciliation;
  return { checksPerSecond, batchSize, pageSize, checksPerRun };
}

export function reconciledProviders(config: KasirConfig): readonly ProviderId[] {
  return config.reconciliation.providers ?? PROVIDER_IDS;
}

/**
 * Creates each provider's schedule, or updates it to the current config (time, pacing, timings) when
 * it exists. Safe to call at every start.
 */
export async function ensureReconciliationSchedules(client: Client, config: KasirConfig): Promise<string[]> {
  const [hour, minute] = config.reconciliation.runAt.split(':').map(Number) as [number, number];
  const ids: string[] = [];
  for (const provider of reconciledProviders(config)) {
    const scheduleId = reconciliationScheduleId(provider);
    const input: ScheduledReconciliationInput = {
      provider,
      pacing: reconciliationPacingOf(config),
      timings: config.timings,
    };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'scheduledReconciliationWorkflow',
      args: [input] as Parameters<typeof scheduledReconciliationWorkflow>,
      taskQueue: config.temporal.taskQueue,
      workflowId: `reconciliation-schedule:${provider}`,
      staticSummary: `Starts the daily reconciliation of ${provider}`,
    };
    // Jakarta has no daylight saving (src/domain/jakarta-time.ts), so this is the same UTC instant every day.
    const spec = {
      calendars: [{ hour, minute, comment: `${config.reconciliation.runAt} WIB` }],
      timezone: 'Asia/Jakarta',
    };
    // A run still going when the next is due finishes first; a missed day (no server) is caught up once.
    const policies = { overlap: ScheduleOverlapPolicy.BUFFER_ONE, catchupWindow: '1 day' };
    try {
      await client.schedule.create({ scheduleId, spec, action, policies });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies }));
    }
    ids.push(scheduleId);
  }
  return ids;
}
