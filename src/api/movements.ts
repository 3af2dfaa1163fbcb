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
import { deriveId, kindOfId, workflowIdOf } from '../ids';
import type { MovementKind } from '../ids';
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
   * The `Idempotency-Key` header, when sent. It never chooses the id; it only finds a movement created
   * before ids came from the reference alone, whose id was derived from the key (see {@link legacyMovement}).
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
  const legacy = spec.idempotencyKey !== undefined ? await legacyMovement(deps, spec, spec.idempotencyKey) : undefined;
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
 * Compatibility with movements created before ids came from the reference alone: their id was derived
 * from the `Idempotency-Key` header when one was sent. If such a workflow exists for this merchant and
 * key, the request is answered with it (a replay, or a 409 for a different body) instead of creating a
 * second movement. A quick describe finds nothing for keys that never created one.
 *
 * A workflow found under the key whose reference *is* the key was created from that reference (the two
 * derivations coincide); it is not a key-derived movement, and is left alone.
 */
async function legacyMovement<W extends Workflow, S extends MovementStateBase>(
  deps: ApiDeps,
  spec: CreateMovement<W, S>,
  key: string
): Promise<CreatedMovement<S> | undefined> {
  const legacyId = deriveId(spec.kind, spec.merchant.id, key);
  if (legacyId === spec.id) return undefined;
  const handle = deps.client.workflow.getHandle(workflowIdOf(spec.kind, legacyId));
  let state: S;
  try {
    await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.describe());
    state = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.query(spec.stateQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (state.merchantId !== spec.merchant.id || state.merchantReference === key) return undefined;
  if (state.requestFingerprint !== spec.fingerprint) {
    deps.metrics.workflowStarts.inc({ kind: spec.kind, outcome: 'conflict' });
    throw new ApiError(
      409,
      'idempotency_error',
      'idempotency_key_reused',
      `The Idempotency-Key '${key}' was already used for ${spec.kind} ${legacyId} (reference '${state.merchantReference}') ` +
        'with a different request body. Repeat the original request exactly to retrieve it; a new ' +
        `${spec.kind} needs its own reference and a new Idempotency-Key (or none).`,
      { param: 'Idempotency-Key' }
    );
  }
  const outcome = spec.isPending(state) ? 'pending' : 'replayed';
  deps.metrics.workflowStarts.inc({ kind: spec.kind, outcome });
  deps.log.info(
    { workflowId: workflowIdOf(spec.kind, legacyId), kind: spec.kind },
    'replayed a movement whose id came from its Idempotency-Key'
  );
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
export async function loadOwned<S extends { merchantId: string }>(
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
  return { state, handle };
}
