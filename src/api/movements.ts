/**
 * The Temporal side of the API: creating a movement by update-with-start with Stripe-style idempotency,
 * and loading one on behalf of its merchant. The API holds no state; the workflow is the record.
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
import type { ApiDeps } from './deps';
import { ApiError, isTemporalUnavailable } from './http-errors';

/** Memo key naming the request that started a workflow, to tell a first create (201) from a replay (200). */
const CREATED_BY_MEMO = 'kasirCreatedByRequest';

export interface MovementStateBase {
  id: string;
  merchantId: string;
  status: string;
  requestFingerprint: string;
}

export interface CreateMovement<W extends Workflow, S extends MovementStateBase> {
  kind: MovementKind;
  id: string;
  merchant: Merchant;
  /** The key the id was derived from, and where it came from (for the 409's message and `param`). */
  idempotencyKey: { value: string; param: 'Idempotency-Key' | 'reference' };
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
      `The ${spec.idempotencyKey.param === 'reference' ? 'reference (your idempotency key when no Idempotency-Key header is sent)' : 'Idempotency-Key'} ` +
        `'${spec.idempotencyKey.value}' was already used for ${spec.kind} ${spec.id} with a different request body. ` +
        'Repeat the original request exactly to retrieve it, or use a new key for a new one.',
      { param: spec.idempotencyKey.param }
    );
  }
  metrics.workflowStarts.inc({ kind: spec.kind, outcome });
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
