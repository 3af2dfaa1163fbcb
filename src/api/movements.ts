/**
 * The Temporal side of the API, for a movement of any kind (its descriptor in `movement-kinds.ts`):
 * creating it by update-with-start with Stripe-style idempotency, loading it on behalf of its
 * merchant, and asking it for a change by update. The API holds no state; the workflow is the record,
 * and its update validators are the one judge of which change fits it.
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
import type { QueryDefinition, UpdateDefinition, Workflow } from '@temporalio/common';
import type { Merchant } from '../config';
import { deriveId, kindOfId, workflowIdOf } from '../ids';
import type { ApiDeps } from './deps';
import { ApiError, isTemporalUnavailable } from './http-errors';
import { withLateCorrection } from './late-records';
import { sameReferenceQuery } from './listing';
import { movementSearchAttributes } from './movement-kinds';
import type { MovementInputFields, MovementKindSpec, MovementStateBase } from './movement-kinds';

/** Memo key naming the request that started a workflow, to tell a first create (201) from a replay (200). */
const CREATED_BY_MEMO = 'kasirCreatedByRequest';

/** A movement kind as the Temporal calls here need it (the view type does not matter to them). */
type KindOf<S extends MovementStateBase, I extends MovementInputFields = MovementInputFields> = MovementKindSpec<
  S,
  I,
  unknown
>;

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
 *
 * The input names the merchant, its reference (the business key the id was derived from: one
 * reference is one movement, whatever the `Idempotency-Key` header) and the request's fingerprint,
 * which tells a replay from a different request reusing the reference (409).
 */
export async function createMovement<S extends MovementStateBase, I extends MovementInputFields>(
  deps: ApiDeps,
  spec: KindOf<S, I>,
  input: I,
  requestId: string,
  idempotencyKey?: string
): Promise<CreatedMovement<S>> {
  const { client, config, timeouts, metrics } = deps;
  const legacy =
    (idempotencyKey !== undefined ? await keyDerivedMovement(deps, spec, input, idempotencyKey) : undefined) ??
    (await sameReferenceElsewhere(deps, spec, input));
  if (legacy)
    return { ...legacy, state: await withLateCorrection(deps, workflowIdOf(spec.kind, legacy.state.id), legacy.state) };

  const id = spec.idOf(input);
  const workflowId = workflowIdOf(spec.kind, id);
  const operation = new WithStartWorkflowOperation<Workflow>(spec.workflowType, {
    workflowId,
    taskQueue: config.temporal.taskQueue,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: movementSearchAttributes(spec, input),
    memo: { [CREATED_BY_MEMO]: requestId },
    staticSummary: `${spec.summary(input)} via ${input.provider} for ${input.merchantId}/${input.merchantReference}`,
    staticDetails: [
      `merchant: ${input.merchantId}`,
      `reference: ${input.merchantReference}`,
      ...spec.details(input),
      `created by request: ${requestId}`,
    ].join('\n'),
  });

  let state: S;
  let outcome: CreatedMovement<S>['outcome'];
  try {
    state = await client.withDeadline(Date.now() + timeouts.createMs, () =>
      client.workflow.executeUpdateWithStart(spec.firstAnswer, { startWorkflowOperation: operation })
    );
    outcome = (await startedByThisRequest(state, requestId, operation, deps)) ? 'created' : 'replayed';
    // The workflow answers within its bound even when the provider has not: then it is still pending.
    if (spec.isPending(state)) outcome = 'pending';
  } catch (err) {
    const recovered = await stateAfterFailedStart<S>(deps, workflowId, spec.stateQuery, err);
    state = recovered;
    // The state names the request that started it: this one, when its own update outlived the deadline.
    if (spec.isPending(recovered)) outcome = 'pending';
    else outcome = recovered.createdByRequest === requestId ? 'created' : 'replayed';
    deps.log.info(
      { workflowId, err: String(err), status: recovered.status },
      'update-with-start did not answer; read state by query'
    );
  }

  refuseOtherRequest(deps, spec, state, input);
  metrics.workflowStarts.inc({ kind: spec.kind, outcome });
  // A replay shows what GET shows: a late correction included.
  if (outcome !== 'created') state = await withLateCorrection(deps, workflowId, state);
  return { state, outcome };
}

/**
 * Compatibility, exact and strongly consistent: a movement created before ids came from the reference
 * alone had its id derived from the `Idempotency-Key` it was sent with. A request carrying that key is
 * answered with it (a replay, or a 409 naming the key for another body).
 */
async function keyDerivedMovement<S extends MovementStateBase, I extends MovementInputFields>(
  deps: ApiDeps,
  spec: KindOf<S, I>,
  input: I,
  key: string
): Promise<CreatedMovement<S> | undefined> {
  const legacyId = deriveId(spec.kind, input.merchantId, key);
  if (legacyId === spec.idOf(input)) return undefined;
  let state: S;
  try {
    const handle = deps.client.workflow.getHandle(workflowIdOf(spec.kind, legacyId));
    state = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.query(spec.stateQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  if (state.merchantId !== input.merchantId || state.merchantReference === key) return undefined;
  refuseOtherRequest(deps, spec, state, input, key);
  return replayOf(deps, spec, state);
}

/**
 * Compatibility with movements created before ids came from the reference alone: their id was derived
 * from the `Idempotency-Key` header when one was sent. Such a movement is found by the search
 * attributes every movement has carried from the start (merchant and reference), so re-sending it
 * with that key, another key or none answers with it (a replay, or a 409 for a different body) and
 * never creates a second movement for the same reference.
 */
async function sameReferenceElsewhere<S extends MovementStateBase, I extends MovementInputFields>(
  deps: ApiDeps,
  spec: KindOf<S, I>,
  input: I
): Promise<CreatedMovement<S> | undefined> {
  const query = sameReferenceQuery({
    workflowType: spec.workflowType,
    kind: spec.kind,
    merchantId: input.merchantId,
    reference: input.merchantReference,
    id: spec.idOf(input),
  });
  if (query === undefined) {
    deps.log.warn(
      { kind: spec.kind },
      'reference cannot be searched for older movements (it has a quote or backslash)'
    );
    return undefined;
  }
  let existingWorkflowId: string | undefined;
  try {
    await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, async () => {
      for await (const execution of deps.client.workflow.list({ query, pageSize: 1 })) {
        existingWorkflowId = execution.workflowId;
        break;
      }
    });
  } catch (err) {
    // Visibility is a convenience for movements from before the change, never a reason to refuse a
    // create: an older movement with this reference is rare, and its provider refuses its id again.
    deps.log.warn({ kind: spec.kind, err: String(err) }, 'could not search for an older movement with this reference');
    return undefined;
  }
  if (existingWorkflowId === undefined) return undefined;
  const handle = deps.client.workflow.getHandle(existingWorkflowId);
  const state = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
    handle.query(spec.stateQuery)
  );
  if (state.merchantId !== input.merchantId || state.merchantReference !== input.merchantReference) return undefined;
  refuseOtherRequest(deps, spec, state, input);
  deps.log.info(
    { workflowId: existingWorkflowId, kind: spec.kind },
    'replayed a movement created under an older id for this reference'
  );
  return replayOf(deps, spec, state);
}

/**
 * A 409 (`idempotency_key_reused`) when an existing movement was created by a request with another body
 * than this one, counted as a conflict. It names `reference`, or the `Idempotency-Key` its id was
 * derived from (a movement from before ids came from the reference alone).
 */
function refuseOtherRequest(
  deps: ApiDeps,
  spec: Pick<KindOf<MovementStateBase>, 'kind'>,
  state: MovementStateBase,
  input: MovementInputFields,
  idempotencyKey?: string
): void {
  if (state.requestFingerprint === input.requestFingerprint) return;
  deps.metrics.workflowStarts.inc({ kind: spec.kind, outcome: 'conflict' });
  const [param, message] =
    idempotencyKey === undefined
      ? [
          'reference',
          `The reference '${input.merchantReference}' was already used for ${spec.kind} ${state.id} with a different ` +
            `request body. A reference identifies one ${spec.kind}, whatever the Idempotency-Key: repeat the original ` +
            `request exactly to retrieve it, or use a new reference for a new ${spec.kind}.`,
        ]
      : [
          'Idempotency-Key',
          `The Idempotency-Key '${idempotencyKey}' was already used for ${spec.kind} ${state.id} (reference ` +
            `'${state.merchantReference}') with a different request body. Repeat the original request exactly to retrieve it.`,
        ];
  throw new ApiError(409, 'idempotency_error', 'idempotency_key_reused', message, { param });
}

/** An existing movement answering a repeated create: replayed (200), or pending (202) without a first answer yet. */
function replayOf<S extends MovementStateBase>(
  deps: ApiDeps,
  spec: Pick<KindOf<S>, 'kind' | 'isPending'>,
  state: S
): CreatedMovement<S> {
  const outcome = spec.isPending(state) ? 'pending' : 'replayed';
  deps.metrics.workflowStarts.inc({ kind: spec.kind, outcome });
  return { state, outcome };
}

/**
 * Whether this request started the workflow that answered it. The state names the request that
 * started it (`createdByRequest`, from the workflow input), so the answer alone tells; a workflow
 * started without it (an API or worker of an earlier release) is described for the memo its start
 * carried, one more call to the server.
 */
async function startedByThisRequest(
  state: MovementStateBase,
  requestId: string,
  operation: WithStartWorkflowOperation<Workflow>,
  deps: ApiDeps
): Promise<boolean> {
  if (state.createdByRequest !== undefined) return state.createdByRequest === requestId;
  const handle = await operation.workflowHandle();
  const description = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.describe());
  return description.memo?.[CREATED_BY_MEMO] === requestId;
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
 * A movement's state on behalf of `merchant` (undefined: an operator, who sees every merchant's).
 * Another merchant's id, a malformed id, an id of another kind and a missing workflow all give the
 * same 404, so ids reveal nothing about existence.
 */
export async function loadOwned<S extends MovementStateBase>(
  deps: ApiDeps,
  spec: Pick<KindOf<S>, 'kind' | 'stateQuery'>,
  id: string,
  merchant: Merchant | undefined
): Promise<{ state: S; handle: WorkflowHandle }> {
  if (kindOfId(id) !== spec.kind) throw ApiError.notFound(spec.kind, id);
  const handle = deps.client.workflow.getHandle(workflowIdOf(spec.kind, id));
  let state: S;
  try {
    state = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.query(spec.stateQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw ApiError.notFound(spec.kind, id);
    throw err;
  }
  if (merchant !== undefined && state.merchantId !== merchant.id) throw ApiError.notFound(spec.kind, id);
  return { state: await withLateCorrection(deps, handle.workflowId, state), handle };
}

/**
 * Asks a movement's workflow for a change (cancel, confirm, resolve) by update. The workflow's update
 * validator alone decides whether the change fits the movement's state: its refusal (or the handler's
 * failure) is a `WorkflowUpdateFailedError`, answered as 409 with the workflow's reason unless
 * `refused` words it otherwise. Requests given the same `updateId` share one update: Temporal runs it
 * once and answers each of them with its one outcome. A workflow that has closed takes no update at all; that is a 409 too,
 * naming the status it closed in.
 */
export async function updateMovement<S extends MovementStateBase, Args extends [unknown, ...unknown[]]>(
  deps: ApiDeps,
  spec: Pick<KindOf<S>, 'kind' | 'stateQuery'>,
  handle: WorkflowHandle,
  update: UpdateDefinition<S, Args>,
  args: Args,
  options: { refused?: (err: WorkflowUpdateFailedError) => ApiError; updateId?: string } = {}
): Promise<S> {
  const { refused, updateId } = options;
  try {
    return await deps.client.withDeadline(Date.now() + deps.timeouts.updateMs, () =>
      handle.executeUpdate(update, { args, ...(updateId !== undefined ? { updateId } : {}) })
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && refused) throw refused(err);
    if (!(err instanceof WorkflowNotFoundError)) throw err;
    const closed = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
      handle.query(spec.stateQuery)
    );
    throw new ApiError(
      409,
      'state_error',
      'invalid_state',
      `${spec.kind} ${closed.id} is ${closed.status} and closed: it takes no more changes`
    );
  }
}
