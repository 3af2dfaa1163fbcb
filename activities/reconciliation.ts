/**
 * Reconciliation's activities: read one page of a provider's movements from Temporal's visibility index,
 * re-check a small batch of them at the provider through its documented status APIs (payments
 * `inquire`, payouts `inquire`, bills `status`; docs/providers/*.md), flag what differs, and read the
 * provider's balance. The workflow (workflows/reconciliation.ts) paces and records; every I/O is here.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import { isKasirError, NON_RETRYABLE_ERROR_TYPES } from '../src/domain/errors';
import type { ProviderId } from '../src/domain/provider';
import {
  billProviderSide,
  differenceOf,
  paymentProviderSide,
  payoutProviderSide,
  RECONCILED_KINDS,
  reasonOf,
} from '../src/domain/reconciliation';
import type {
  BalanceAtRun,
  KasirSide,
  ProviderSide,
  ReconciledKind,
  ReconciliationDifference,
} from '../src/domain/reconciliation';
import { lateRecordIdOf, recordLateMoney } from '../src/temporal/late-money-record';
import {
  billStateQuery,
  paymentStateQuery,
  payoutStateQuery,
  providerCallbackSignal,
  refundStateQuery,
} from '../workflows/messages';
import type { CalledBackMovementState, MoneyMovementState } from '../workflows/movement-state';
import {
  KasirKind,
  KasirMerchant,
  KasirMerchantReference,
  KasirNeedsAttention,
  KasirProvider,
  KasirStatus,
} from '../workflows/search-attributes';
import type { WorkflowTimings } from '../workflows/timings';
import type { ActivityDeps } from '.';
import { translateErrors } from './failures';

/** A movement to re-check, as the visibility index lists it. */
export interface MovementToCheck {
  workflowId: string;
  kind: ReconciledKind;
}

export interface ListMovementsInput {
  provider: ProviderId;
  /** UTC ISO instants `[from, to)`: the Jakarta day being reconciled. */
  window: { from: string; to: string };
  /** Temporal's page token, base64, from the previous page; absent for the first. */
  pageToken?: string;
  pageSize: number;
}

export interface MovementPageToCheck {
  movements: MovementToCheck[];
  /** Absent on the last page. */
  nextPageToken?: string;
}

export interface ReconcileBatchInput {
  provider: ProviderId;
  date: string;
  movements: MovementToCheck[];
  /** Timings of the late-money records this batch may start (config, snapshotted by the run). */
  timings: WorkflowTimings;
}

/** A movement the provider could not be asked about for good (credentials refused, an unreadable answer). */
export interface UncheckedMovement {
  movementId: string;
  workflowId: string;
  reason: string;
}

export interface ReconciledBatch {
  /** Movements read and compared (those that no longer exist in Temporal are not counted). */
  checked: number;
  differences: ReconciliationDifference[];
  unchecked: UncheckedMovement[];
}

/**
 * The visibility query for the movements of one provider that a day's run re-checks: created before the
 * day ended, and created, closed or still open on that day. Runs that continued as new are left out (the
 * chain's latest run stands for the movement), and so are late-money records (`KasirKind = late_callback`).
 */
export function reconciliationQuery(provider: ProviderId, window: { from: string; to: string }): string {
  const kinds = RECONCILED_KINDS.map((kind) => `'${kind}'`).join(', ');
  return [
    `KasirProvider = '${provider}'`,
    `KasirKind IN (${kinds})`,
    `ExecutionStatus != 'ContinuedAsNew'`,
    `StartTime < '${window.to}'`,
    `(StartTime >= '${window.from}' OR CloseTime >= '${window.from}' OR ExecutionStatus = 'Running')`,
  ].join(' AND ');
}

function isReconciledKind(kind: string | undefined): kind is ReconciledKind {
  return (RECONCILED_KINDS as readonly (string | undefined)[]).includes(kind);
}

const STATE_QUERIES: Record<ReconciledKind, QueryDefinition<MoneyMovementState>> = {
  payment: paymentStateQuery,
  payout: payoutStateQuery,
  bill: billStateQuery,
  refund: refundStateQuery,
};

/** The movement's state by its state query (a closed workflow answers it too), or undefined once deleted. */
async function kasirStateOf(client: Client, movement: MovementToCheck): Promise<MoneyMovementState | undefined> {
  try {
    return await client.workflow.getHandle(movement.workflowId).query(STATE_QUERIES[movement.kind]);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined; // past retention: nothing left to reconcile
    throw err;
  }
}

async function isOpen(client: Client, workflowId: string): Promise<boolean> {
  const description = await client.workflow.getHandle(workflowId).describe();
  return description.status.name === 'RUNNING';
}

function kasirSideOf(state: MoneyMovementState, workflowId: string, open: boolean): KasirSide {
  const amount = state.kind === 'bill' ? state.inquiry?.amount : state.amount;
  const paidAmount = state.kind === 'payment' ? state.paidAmount : undefined;
  return {
    workflowId,
    id: state.id,
    kind: state.kind,
    provider: state.provider,
    status: state.status,
    open,
    ...(amount !== undefined ? { amount } : {}),
    ...(paidAmount !== undefined ? { paidAmount } : {}),
  };
}

/** The provider's word on a movement, and the outcome it gave (to hand on to a late-money record). */
type ProviderAnswer = { side: ProviderSide; event?: ProviderCallbackEvent } | undefined;

/**
 * Asks the provider through the same connector calls the movement workflows use. A refund is not asked:
 * providers report a payment's status, not a refund's (src/domain/refund.ts), so only Kasir's own view
 * of a refund is reconciled (`STILL_UNKNOWN`).
 */
async function askProvider(deps: ActivityDeps, state: MoneyMovementState, date: string): Promise<ProviderAnswer> {
  const connector = deps.connectors[state.provider];
  const stamp = { provider: state.provider, reference: state.id, trust: 'hint' as const };
  const eventId = `reconciliation:${date}`;
  const receivedAt = new Date().toISOString();
  switch (state.kind) {
    case 'payment': {
      if (!connector.payments) return undefined;
      const outcome = await connector.payments.inquire({
        reference: state.id,
        providerReference: state.providerReference,
        amount: state.amount,
        method: state.method,
        createdAt: state.createdAt,
      });
      return {
        side: paymentProviderSide(outcome),
        event: { ...stamp, kind: 'payment', eventId, receivedAt, outcome },
      };
    }
    case 'payout': {
      if (!connector.payouts) return undefined;
      const outcome = await connector.payouts.inquire({
        reference: state.id,
        providerReference: state.providerReference,
      });
      return { side: payoutProviderSide(outcome), event: { ...stamp, kind: 'payout', eventId, receivedAt, outcome } };
    }
    case 'bill': {
      if (!connector.bills) return undefined;
      const outcome = await connector.bills.status(state.id);
      return { side: billProviderSide(outcome), event: { ...stamp, kind: 'bill', eventId, receivedAt, outcome } };
    }
    case 'refund':
      return { side: { state: 'open', providerStatus: 'not asked: providers report payments, not refunds' } };
  }
}

/** A provider error that retrying cannot fix: the movement is listed as unchecked instead of failing the run. */
function isPermanent(err: unknown): boolean {
  return isKasirError(err) && (NON_RETRYABLE_ERROR_TYPES as readonly string[]).includes(err.name);
}

/**
 * Money the provider shows for a movement Kasir closed without it: recorded in the movement's durable
 * late-money record (`<workflow id>:late`) by the same function as a late callback
 * (src/temporal/late-money-record.ts). The record confirms with the provider, flags itself
 * (`KasirNeedsAttention`) and tells the merchant.
 */
async function recordReconciledLateMoney(
  client: Client,
  workflowId: string,
  movement: CalledBackMovementState,
  event: ProviderCallbackEvent,
  timings: WorkflowTimings
): Promise<void> {
  await recordLateMoney(client, {
    recordId: lateRecordIdOf(workflowId),
    movement,
    callback: event,
    timings,
    taskQueue: Context.current().info.taskQueue,
    // As the API indexes a record (src/api/routes/callbacks.ts): never listed as a second movement.
    searchAttributes: [
      { key: KasirKind, value: 'late_callback' },
      { key: KasirStatus, value: 'LATE_CALLBACK_UNCONFIRMED' },
      { key: KasirProvider, value: movement.provider },
      { key: KasirMerchant, value: movement.merchantId },
      { key: KasirMerchantReference, value: movement.merchantReference },
      { key: KasirNeedsAttention, value: false },
    ],
    summary: `Reconciliation: ${movement.provider} shows money for ${movement.id}, closed ${movement.status}`,
  });
}

/** How a difference is flagged beyond the run's own record, doing it (idempotently: a batch may run again). */
async function flag(
  client: Client,
  kasir: KasirSide,
  state: MoneyMovementState,
  answer: NonNullable<ProviderAnswer>,
  timings: WorkflowTimings
): Promise<ReconciliationDifference['flaggedBy']> {
  if (state.kind === 'refund' || !answer.event) return 'report';
  if (kasir.open) {
    // The open movement asks its provider itself on a hint (trust `hint` is never taken at face value).
    await client.workflow.getHandle(kasir.workflowId).signal(providerCallbackSignal, answer.event);
    return 'hint';
  }
  await recordReconciledLateMoney(client, kasir.workflowId, state, answer.event, timings);
  return 'late_callback';
}

export function createReconciliationActivities(deps: ActivityDeps) {
  return {
    /** One page of the provider's movements to re-check; the workflow keeps the page token in its state. */
    async listMovementsToReconcile(input: ListMovementsInput): Promise<MovementPageToCheck> {
      const client = Context.current().client;
      const response = await client.workflowService.listWorkflowExecutions({
        namespace: client.options.namespace,
        query: reconciliationQuery(input.provider, input.window),
        pageSize: input.pageSize,
        nextPageToken: input.pageToken ? Buffer.from(input.pageToken, 'base64') : undefined,
      });
      const movements: MovementToCheck[] = [];
      for (const execution of response.executions ?? []) {
        const kind = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields).get(KasirKind);
        const workflowId = execution.execution?.workflowId;
        if (workflowId && isReconciledKind(kind)) movements.push({ workflowId, kind });
      }
      const token = response.nextPageToken;
      return {
        movements,
        ...(token && token.length > 0 ? { nextPageToken: Buffer.from(token).toString('base64') } : {}),
      };
    },

    /**
     * Re-checks a small batch: Kasir's state by query, the provider's by its status API, compared with
     * `differenceOf`, and each difference flagged (see `flag`). A provider that is down fails the batch
     * and Temporal retries it; flagging twice is harmless (signals are hints, records are one per movement).
     */
    async reconcileMovements(input: ReconcileBatchInput): Promise<ReconciledBatch> {
      const client = Context.current().client;
      const result: ReconciledBatch = { checked: 0, differences: [], unchecked: [] };
      for (const movement of input.movements) {
        Context.current().heartbeat(movement.workflowId);
        const state = await kasirStateOf(client, movement);
        if (!state || state.provider !== input.provider) continue;
        const kasir = kasirSideOf(state, movement.workflowId, await isOpen(client, movement.workflowId));
        let answer: ProviderAnswer;
        try {
          answer = await askProvider(deps, state, input.date);
        } catch (err) {
          if (!isPermanent(err)) {
            // Retryable (the provider is down): the batch fails and Temporal runs it again.
            return translateErrors(async () => {
              throw err;
            });
          }
          result.unchecked.push({
            movementId: state.id,
            workflowId: movement.workflowId,
            reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
          });
          continue;
        }
        result.checked++;
        if (!answer) continue;
        const kind = differenceOf(kasir, answer.side);
        if (!kind) continue;
        const flaggedBy =
          kind === 'PAID_AT_PROVIDER_ONLY' ? await flag(client, kasir, state, answer, input.timings) : 'report';
        result.differences.push({
          kind,
          movementId: state.id,
          movementKind: state.kind,
          workflowId: movement.workflowId,
          provider: state.provider,
          kasirStatus: state.status,
          providerStatus: answer.side.providerStatus,
          ...((kasir.paidAmount ?? kasir.amount) !== undefined
            ? { kasirAmount: kasir.paidAmount ?? kasir.amount }
            : {}),
          ...(answer.side.amount !== undefined ? { providerAmount: answer.side.amount } : {}),
          reason: reasonOf(kind, kasir, answer.side),
          flaggedBy,
        });
      }
      return result;
    },

    /** The provider's balance, where it has a balance API (`PayoutsCapability.balance`; BDPay); else undefined. */
    async providerBalance(provider: ProviderId): Promise<BalanceAtRun | undefined> {
      const payouts = deps.connectors[provider].payouts;
      if (!payouts) return undefined;
      const balance = await translateErrors(() => payouts.balance());
      return { ...balance, at: new Date().toISOString() };
    },
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
