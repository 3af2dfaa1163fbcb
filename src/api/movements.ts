/**
 * The Temporal side of the API: creating a movement by update-with-start with Stripe-style idempotency,
 * and loading one on behalf of its merchant. The API holds no state; the workflow is the record.
 *
 * A movement's id is derived from the merchant and the merchant's `reference`, its business key: one
 * reference is one movement. The `Idempotency-Key` header adds replay, never a second movement.
 */
import {
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import type { QueryDefinition, SearchAttributePair, UpdateDefinition, Workflow } from '@temporalio/common';
import type { Merchant } from '../config';
import { kindOfId, workflowIdOf } from '../ids';
import type { MovementKind } from '../ids';
import type { LateCallbackState } from '../../workflows/late-callback';
import { lateCallbackStateQuery } from '../../workflows/messages';
import type { ApiDeps } from './deps';
import { ApiError, isTemporalUnavailable } from './http-errors';

/** Memo key naming the request that started a workflow, to tell a first create (201) from a replay (200). */
const CREATED_BY_MEMO = 'kasirCreatedByRequest';

export interface MovementStateBase {
  id: string;
  merchantId: string;
  merchantReference: string;
  status: string;
  requestFingerprint: string;
}

export interface CreateMovement<W extends Workflow, S extends MovementStateBase> {
  kind: MovementKind;
  /** `deriveId(kind, merchant.id, reference)`: the reference is the movement's business key. */
  id: string;
  merchant: Merchant;
  /** The merchant's reference the id was derived from (named by a 409). */
  reference: string;
  /**
   * The `Idempotency-Key` header, when sent: it adds replay and never chooses the id (movements created
   * before ids came from the reference alone are found by reference, see `sameReferenceElsewhere`).
   */
  idempotencyKey?: string;
  fingerprint: string;
  requestId: string;
  workflowType: string;
  args: Parameters<W>;
  searchAttributes: SearchAttributePair[];
  staticSummary: string;
  staticDetails: string;
  /** The update that answers once the workflow has its first result. */
  firstAnswer: UpdateDefinition<S, []>;
  stateQuery: QueryDefinition<S>;
  /** True while the first answer is still outstanding (REGISTERING, SUBMITTING, an inquiry not back yet). */
  isPending(state: S): boolean;
}

export interface CreatedMovement<S> {
  state: S;
  /** `created`: this request started it (201); `replayed`: it existed with the same body (200); `pending`: no first answer yet (202). */
  outcome: 'created' | 'replayed' | 'pending';
}

/**
 * Starts the movement's workflow and waits for its first answer in one call (update-with-start,
 * `USE_EXISTING`), so a repeated request attaches to the same workflow. Update-with-start is not
 * atomic: if the workflow exists but is closed (`REJECT_DUPLICATE` refuses to start it again), or the
 * update does not complete in time, the workflow's state is read by query instead.
 */
export async function createMovement<W extends Workflow, S extends MovementStateBase>(
  deps: ApiDeps,
  spec: CreateMovement<W, S>
): Promise<CreatedMovement<S>> {
  const { client, config, timeouts, metrics } = deps;
  const legacy = await sameReferenceElsewhere(deps, spec);
  if (legacy) return legacy;

  const workflowId = workflowIdOf(spec.kind, spec.id);
  // `spec.args` is checked against the workflow's signature by the caller's `W`; the operation itself is untyped.
  const args: unknown[] = spec.args;
  const operation = new WithStartWorkflowOperation<Workflow>(spec.workflowType, {
    workflowId,
    taskQueue: config.temporal.taskQueue,
    args,
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: spec.searchAttributes,
    memo: { [CREATED_BY_MEMO]: spec.requestId },
    staticSummary: spec.staticSummary,
    staticDetails: spec.staticDetails,
  });

  let state: S;
  let outcome: CreatedMovement<S>['outcome'];
  try {
    state = await client.withDeadline(Date.now() + timeouts.createMs, () =>
      client.workflow.executeUpdateWithStart(spec.firstAnswer, { startWorkflowOperation: operation })
    );
    outcome = (await startedBy(await operation.workflowHandle(), deps)) === spec.requestId ? 'created' : 'replayed';
  } catch (err) {
    const recovered = await stateAfterFailedStart<S>(deps, workflowId, spec.stateQuery, err);
    state = recovered;
    outcome = spec.isPending(recovered) ? 'pending' : 'replayed';
    deps.log.info(
      { workflowId, err: String(err), status: recovered.status },
      'update-with-start did not answer; read state by query'
    );
  }

  if (state.requestFingerprint !== spec.fingerprint) {
    metrics.workflowStarts.inc({ kind: spec.kind, outcome: 'conflict' });
    throw new ApiError(
      409,
      'idempotency_error',
      'idempotency_key_reused',
      `The reference '${spec.reference}' was already used for ${spec.kind} ${spec.id} with a different request body. ` +
        `A reference identifies one ${spec.kind}, whatever the Idempotency-Key: repeat the original request exactly ` +
        `to retrieve it, or use a new reference for a new ${spec.kind}.`,
      { param: 'reference' }
    );
  }
  metrics.workflowStarts.inc({ kind: spec.kind, outcome });
  return { state, outcome };
}

/**
 * A string literal for a Temporal visibility query, or undefined when the value cannot be written as
 * one: the query parser unescapes `\'` but reads a backslash literally, and it does not match values
 * with a double quote (checked against the dev server).
 */
function visibilityLiteral(value: string): string | undefined {
  if (/["\\]/.test(value)) return undefined;
  return `'${value.replace(/'/g, "\\'")}'`;
}

/**
 * Compatibility with movements created before ids came from the reference alone: their id was derived
 * from the `Idempotency-Key` header when one was sent. Such a movement is found by the search
 * attributes every movement has carried from the start (merchant and reference), so re-sending it
 * with that key, another key or none answers with it (a replay, or a 409 for a different body) and
 * never creates a second movement for the same reference.
 */
async function sameReferenceElsewhere<W extends Workflow, S extends MovementStateBase>(
  deps: ApiDeps,
  spec: CreateMovement<W, S>
): Promise<CreatedMovement<S> | undefined> {
  const reference = visibilityLiteral(spec.reference);
  if (reference === undefined) {
    deps.log.warn({ kind: spec.kind }, 'reference cannot be searched for older movements (it has a quote or backslash)');
    return undefined;
  }
  const query = [
    `WorkflowType = '${spec.workflowType}'`,
    `KasirMerchant = '${spec.merchant.id}'`,
    `KasirMerchantReference = ${reference}`,
    `WorkflowId != '${workflowIdOf(spec.kind, spec.id)}'`,
  ].join(' AND ');
  let existingWorkflowId: string | undefined;
  await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, async () => {
    for await (const execution of deps.client.workflow.list({ query, pageSize: 1 })) {
      existingWorkflowId = execution.workflowId;
      break;
    }
  });
  if (existingWorkflowId === undefined) return undefined;
  const handle = deps.client.workflow.getHandle(existingWorkflowId);
  const state = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.query(spec.stateQuery));
  if (state.merchantId !== spec.merchant.id || state.merchantReference !== spec.reference) return undefined;
  if (state.requestFingerprint !== spec.fingerprint) {
    deps.metrics.workflowStarts.inc({ kind: spec.kind, outcome: 'conflict' });
    throw new ApiError(
      409,
      'idempotency_error',
      'idempotency_key_reused',
      `The reference '${spec.reference}' was already used for ${spec.kind} ${state.id} with a different request body. ` +
        `A reference identifies one ${spec.kind}: repeat the original request exactly to retrieve it, or use a new reference.`,
      { param: 'reference' }
    );
  }
  const outcome = spec.isPending(state) ? 'pending' : 'replayed';
  deps.metrics.workflowStarts.inc({ kind: spec.kind, outcome });
  deps.log.info({ workflowId: existingWorkflowId, kind: spec.kind }, 'replayed a movement created under an older id for this reference');
  return { state, outcome };
}

async function startedBy(handle: WorkflowHandle, deps: ApiDeps): Promise<unknown> {
  const description = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.describe());
  return description.memo?.[CREATED_BY_MEMO];
}

async function stateAfterFailedStart<S>(
  deps: ApiDeps,
  workflowId: string,
  stateQuery: QueryDefinition<S>,
  err: unknown
): Promise<S> {
  const recoverable =
    err instanceof WorkflowExecutionAlreadyStartedError || isTemporalUnavailable(err) || isUpdateFailure(err);
  if (!recoverable) throw err;
  try {
    const handle = deps.client.workflow.getHandle(workflowId);
    return await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.query(stateQuery));
  } catch (queryErr) {
    deps.log.warn({ workflowId, err: String(queryErr) }, 'state query after a failed update-with-start failed too');
    deps.metrics.workflowStarts.inc({ kind: workflowId.split(':')[0] ?? 'unknown', outcome: 'error' });
    throw err;
  }
}

function isUpdateFailure(err: unknown): boolean {
  return (
    err instanceof WorkflowUpdateFailedError ||
    err instanceof WorkflowUpdateRPCTimeoutOrCancelledError ||
    err instanceof WorkflowNotFoundError
  );
}

/**
 * A movement's state on behalf of `merchant`. Another merchant's id, a malformed id, an id of another
 * kind and a missing workflow all give the same 404, so ids reveal nothing about existence.
 */
export async function loadOwned<S extends { merchantId: string; status: string }>(
  deps: ApiDeps,
  kind: MovementKind,
  id: string,
  merchant: Merchant | undefined,
  stateQuery: QueryDefinition<S>
): Promise<{ state: S; handle: WorkflowHandle }> {
  if (kindOfId(id) !== kind) throw ApiError.notFound(kind, id);
  const handle = deps.client.workflow.getHandle(workflowIdOf(kind, id));
  let state: S;
  try {
    state = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.query(stateQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw ApiError.notFound(kind, id);
    throw err;
  }
  if (merchant !== undefined && state.merchantId !== merchant.id) throw ApiError.notFound(kind, id);
  return { state: await withLateCorrection(deps, handle.workflowId, state), handle };
}

/** The id of the record a late success callback leaves for a closed movement (workflows/late-callback.ts). */
export function lateRecordIdOf(workflowId: string): string {
  return `${workflowId}:late`;
}

/** The record's state, or undefined when there is none. */
export async function lateRecordOf(deps: ApiDeps, workflowId: string): Promise<LateCallbackState | undefined> {
  try {
    const record = deps.client.workflow.getHandle(lateRecordIdOf(workflowId));
    return await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => record.query(lateCallbackStateQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** States in which a movement already recorded the money a provider reports. */
export const MONEY_RECORDED: ReadonlySet<string> = new Set(['SUCCEEDED', 'AMOUNT_MISMATCH', 'REFUNDED']);

/**
 * A movement that closed without money (expired, cancelled, failed, or terminated while pending), for
 * which a provider later reported money (confirmed): the merchant sees the corrected status, flagged,
 * not the closing one. Costs one query, answered at once when there is no record.
 */
async function withLateCorrection<S extends { status: string }>(deps: ApiDeps, workflowId: string, state: S): Promise<S> {
  if (MONEY_RECORDED.has(state.status)) return state;
  const record = await lateRecordOf(deps, workflowId);
  if (record?.status !== 'LATE_CALLBACK' || record.correctedStatus === undefined) return state;
  return {
    ...state,
    status: record.correctedStatus,
    needsAttention: true,
    attentionReason: record.attentionReason,
    ...(record.kind === 'payment' ? { paidAmount: record.paidAmount, paidAt: record.receivedAt } : {}),
  };
}
