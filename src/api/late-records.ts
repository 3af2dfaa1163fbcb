/**
 * Late-callback records (workflows/late-callback.ts) as the API reads them: money a provider reported
 * after a movement closed without it (or, for a routed payment, at a provider it left). A closed
 * workflow's search attributes cannot change, so GET and the lists correct what the movement shows
 * from its records.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { lateCorrected } from '../domain/late-correction';
import type { ProviderId } from '../domain/provider';
import { lateRecordIdOf } from '../temporal/late-money-record';
import { workflowIdOf } from '../ids';
import type { MovementKind } from '../ids';
import type { LateCallbackState } from '../../workflows/late-callback';
import { lateCallbackStateQuery } from '../../workflows/messages';
import type { ApiDeps } from './deps';
import type { MovementSummary } from './listing';

export { lateRecordIdOf };

/** The record's state, or undefined when there is none. */
export async function lateRecordOf(
  deps: ApiDeps,
  workflowId: string,
  leftProvider?: ProviderId
): Promise<LateCallbackState | undefined> {
  return lateRecordStateOf(deps, lateRecordIdOf(workflowId, leftProvider));
}

async function lateRecordStateOf(deps: ApiDeps, recordId: string): Promise<LateCallbackState | undefined> {
  try {
    const record = deps.client.workflow.getHandle(recordId);
    return await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
      record.query(lateCallbackStateQuery)
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** States in which a movement already recorded the money a provider reports. */
export const MONEY_RECORDED: ReadonlySet<string> = new Set(['SUCCEEDED', 'AMOUNT_MISMATCH', 'REFUNDED']);

type ConfirmedRecord = LateCallbackState & { correctedStatus: 'SUCCEEDED' | 'AMOUNT_MISMATCH' };

/** A record that confirmed money for a movement that closed with `closedStatus`. */
function confirmsMoney(
  record: LateCallbackState | undefined,
  closedStatus: string | undefined
): record is ConfirmedRecord {
  return (
    record?.status === 'LATE_CALLBACK' && record.correctedStatus !== undefined && record.closedStatus === closedStatus
  );
}

/** The fields of a movement's state a late correction reads. */
interface CorrectableState {
  status: string;
  createdAt: string;
  provider?: ProviderId;
  routing?: { tried: { provider: ProviderId }[] };
}

/**
 * A movement as the merchant must see it once a provider's late report of money is confirmed:
 * - closed without money (expired, cancelled, failed, or terminated while pending) and money confirmed
 *   at its provider, or at a provider a routed payment left: the corrected status, flagged, not the
 *   closing one;
 * - closed with money and more money confirmed at a provider a routed payment left (the customer paid
 *   twice): its status, flagged with the record's reason.
 * Costs one query per record that may exist (its own provider's, and one per provider left), each
 * answered at once when there is none.
 */
export async function withLateCorrection<S extends CorrectableState>(
  deps: ApiDeps,
  workflowId: string,
  state: S
): Promise<S> {
  const left = [...new Set((state.routing?.tried ?? []).map((t) => t.provider))].filter((p) => p !== state.provider);
  const moneyRecorded = MONEY_RECORDED.has(state.status);
  const providers: (ProviderId | undefined)[] = [...(moneyRecorded ? [] : [undefined]), ...left];
  if (providers.length === 0) return state;
  let records: (LateCallbackState | undefined)[];
  try {
    records = await Promise.all(providers.map((provider) => lateRecordOf(deps, workflowId, provider)));
  } catch (err) {
    deps.log.warn(
      { workflowId, err: String(err) },
      'could not read the late-callback records; answering the movement as it is'
    );
    return state;
  }
  // Only a record about this very movement as it closed, not one re-created under the same id.
  const confirmed = records.filter(
    (record): record is ConfirmedRecord =>
      confirmsMoney(record, state.status) && record.movementCreatedAt === state.createdAt
  );
  const first = confirmed[0];
  if (!first) return state;
  if (moneyRecorded) return { ...state, needsAttention: true, attentionReason: first.attentionReason };
  return lateCorrected(state, { ...first, correctedStatus: first.correctedStatus });
}

/**
 * A page of a merchant's movements as GET shows each: one visibility call finds the confirmed records
 * of the page's closed movements (by merchant and reference), and each one found is read. A row whose
 * movement closed without money takes the corrected status; a paid one with money at a provider it
 * left is flagged. Filters still match what each movement's own workflow recorded.
 */
export async function withLateCorrections(
  deps: ApiDeps,
  kind: MovementKind,
  merchantId: string,
  rows: MovementSummary[],
  literal: (value: string) => string | undefined
): Promise<MovementSummary[]> {
  const closed = rows.filter((row) => row.closedAt !== undefined && row.merchantReference !== undefined);
  const references = [...new Set(closed.map((row) => literal(row.merchantReference!)))];
  const merchant = literal(merchantId);
  if (kind === 'refund' || closed.length === 0 || merchant === undefined || references.includes(undefined)) return rows;
  const query =
    `KasirKind = 'late_callback' AND KasirStatus = 'LATE_CALLBACK' AND KasirMerchant = ${merchant} AND ` +
    `KasirMerchantReference IN (${references.join(', ')})`;
  try {
    const found = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
      deps.client.workflowService.listWorkflowExecutions({ namespace: deps.client.options.namespace, query })
    );
    const byRow = new Map(closed.map((row) => [workflowIdOf(kind, row.id), row]));
    const corrections = new Map<string, MovementSummary>();
    for (const execution of found.executions ?? []) {
      const recordId = execution.execution?.workflowId ?? '';
      const row = byRow.get(recordId.replace(/:late(?::[a-z]+)?$/, ''));
      if (!row) continue;
      const record = await lateRecordStateOf(deps, recordId);
      // About this very movement: made after it closed (a movement re-created under the id closed later).
      if (!record || !confirmsMoney(record, row.status) || record.recordedAt < row.closedAt!) continue;
      const money = MONEY_RECORDED.has(row.status ?? '');
      corrections.set(row.id, { ...row, status: money ? row.status : record.correctedStatus, needsAttention: true });
    }
    return rows.map((row) => corrections.get(row.id) ?? row);
  } catch (err) {
    deps.log.warn({ kind, err: String(err) }, 'could not read late-callback records for a list; rows as they are');
    return rows;
  }
}
