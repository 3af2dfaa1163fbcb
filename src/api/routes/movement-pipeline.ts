/**
 * The one pipeline behind the create, retrieve and list routes of every movement kind. A kind's route
 * file declares only what is its own (body schema, how a request becomes its workflow's input, its
 * documentation); the descriptor in `movement-kinds.ts` supplies the workflow side.
 *
 * Create: validate → derive the id from the merchant's reference → the kind builds its workflow input
 * → update-with-start (`movements.ts`) → 201/200/202 with the merchant view. Retrieve: query on
 * behalf of the merchant → the merchant view. List: the visibility index (`listing.ts`), on the kind's
 * collection (`/v1/payouts`), with the filters its search attributes allow. `movementRoutes` gives a
 * kind all three from one declaration.
 */
import type { Response } from 'express';
import { z } from 'zod';
import type { ProviderId } from '../../domain/provider';
import { deriveId, requestFingerprint } from '../../ids';
import type { WorkflowTimings } from '../../../workflows/timings';
import type { ApiDeps } from '../deps';
import { listMovements, ListQueryFields } from '../listing';
import type { MovementInputFields, MovementKindSpec, MovementStateBase } from '../movement-kinds';
import { createMovement, loadOwned } from '../movements';
import type { CreatedMovement } from '../movements';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import { IdempotencyHeadersSchema, IdParamsSchema, movementListSchema } from '../schemas';
import { callbackUrlOf, commonErrors, errorResponse } from './route-commons';

const STATUS_OF: Record<CreatedMovement<unknown>['outcome'], number> = { created: 201, replayed: 200, pending: 202 };

/** 201 for a first create, 200 with `Idempotent-Replayed: true` for a repeat, 202 while the first answer is pending. */
function sendCreated(
  res: Response,
  outcome: CreatedMovement<unknown>['outcome'],
  location: string,
  view: unknown
): void {
  res.status(STATUS_OF[outcome]).location(location);
  if (outcome === 'replayed') res.set('Idempotent-Replayed', 'true');
  res.json(view);
}

/** The movement's own path: its `path` with the id in place of `:id`. */
function locationOf(kind: { path: string }, id: string): string {
  return kind.path.replace(':id', id);
}

/** The path of the kind's collection: its `path` without `/:id`. */
function collectionOf(kind: { path: string }): string {
  return kind.path.replace(/\/:id$/, '');
}

/** The fields of a workflow input the pipeline fills in for every kind, once the kind names its provider. */
export type MovementInputBase = MovementInputFields & { callbackUrl: string; timings: WorkflowTimings };

export interface MovementRequest<T> {
  deps: ApiDeps;
  /** The validated body. */
  body: T;
  /** The movement's id, derived from the merchant and `body.reference`. */
  id: string;
  /** What every workflow input has (merchant, reference, fingerprint, callback URL, timings) for `provider`. */
  base: (provider: ProviderId) => MovementInputBase;
}

/** How a route of the pipeline is documented. */
export interface RouteDoc {
  path: string;
  operationId: string;
  summary: string;
  description: string;
}

/** A merchant's route about movements of `kind`, as `doc` describes it. */
function merchantRoute(kind: { tag: string }, doc: RouteDoc) {
  const { path, operationId, summary, description } = doc;
  return { path, operationId, summary, description, tags: [kind.tag], auth: 'merchant' as const };
}

export interface CreateRouteSpec<T extends { reference: string }, I> extends RouteDoc {
  body: z.ZodType<T>;
  /** The 201 answer: what the first answer holds. */
  created: string;
  /** The 202 answer: the status while the workflow's first answer is outstanding. */
  pending: string;
  /**
   * The workflow's input. Throws a 400 (`ApiError.field`) for a request no provider can take, before
   * any workflow starts.
   */
  input(request: MovementRequest<T>): I;
}

/** `POST` creating a movement of `kind`: idempotent by the merchant's reference. */
export function createMovementRoute<
  S extends MovementStateBase,
  I extends MovementInputFields,
  V,
  T extends { reference: string },
>(kind: MovementKindSpec<S, I, V>, spec: CreateRouteSpec<T, I>): AnyRoute {
  return defineRoute({
    method: 'post',
    ...merchantRoute(kind, spec),
    bodyKind: 'json',
    body: spec.body,
    headers: IdempotencyHeadersSchema,
    responses: {
      201: { description: spec.created, schema: kind.viewSchema },
      200: {
        description: `The same request was made before: the existing ${kind.kind}.`,
        schema: kind.viewSchema,
        headers: { 'Idempotent-Replayed': '`true`: this answer replays an earlier request.' },
      },
      202: { description: spec.pending, schema: kind.viewSchema },
      400: errorResponse('Invalid request: every bad field is listed in `errors`.'),
      409: errorResponse('The `reference` was already used with a different body.'),
      ...commonErrors,
    },
    async handler({ deps, merchant, body, headers, requestId, res }) {
      const fingerprint = requestFingerprint(body);
      const input = spec.input({
        deps,
        body,
        // The reference is the business key: one reference, one movement, whatever the Idempotency-Key.
        id: deriveId(kind.kind, merchant.id, body.reference),
        base: (provider) => ({
          merchantId: merchant.id,
          merchantReference: body.reference,
          provider,
          callbackUrl: callbackUrlOf(deps.config, provider),
          requestFingerprint: fingerprint,
          createdByRequest: requestId,
          timings: deps.config.timings,
        }),
      });
      const { state, outcome } = await createMovement(deps, kind, input, requestId, headers['Idempotency-Key']);
      sendCreated(res, outcome, locationOf(kind, state.id), kind.view(state));
    },
  });
}

/** `GET` of one movement of `kind` at `kind.path`, as its workflow holds it now. */
export function getMovementRoute<S extends MovementStateBase, V>(
  kind: MovementKindSpec<S, never, V>,
  description?: string,
  augment?: ViewAugment<V>
): AnyRoute {
  return defineRoute({
    method: 'get',
    path: kind.path,
    operationId: `get${kind.title}`,
    summary: `Retrieve a ${kind.kind}`,
    ...(description !== undefined ? { description } : {}),
    tags: [kind.tag],
    auth: 'merchant',
    bodyKind: 'none',
    params: IdParamsSchema,
    responses: {
      200: { description: `The ${kind.kind}.`, schema: kind.viewSchema },
      404: errorResponse(`No such ${kind.kind} for this merchant.`),
      ...commonErrors,
    },
    async handler({ deps, merchant, params, res }) {
      const { state } = await loadOwned(deps, kind, params.id, merchant);
      const view = kind.view(state);
      res.json(augment ? await augment(deps, view) : view);
    },
  });
}

/**
 * The filters a kind's list takes beside `listing.ts`'s `ListQueryFields` (reference, needs_attention,
 * created range, limit, page_token): each names a search attribute every movement of the kind sets.
 */
export interface ListFilters {
  /** `KasirStatus`: the kind's statuses. */
  status: z.ZodType<string>;
  /** `KasirProvider`: the providers that take this kind. */
  provider: z.ZodType<string>;
  /** `KasirMethod`, for kinds that index one. */
  method?: z.ZodType<string>;
}

export interface ListRouteSpec {
  filters: ListFilters;
  /** Added to the route's description, after what every list says. */
  description?: string;
}

/** The list's query: the kind's filters, each optional, then the ones every list takes. */
function listQueryOf(filters: ListFilters) {
  const own = { status: filters.status.optional(), provider: filters.provider.optional() };
  return filters.method
    ? z.strictObject({ ...own, method: filters.method.optional(), ...ListQueryFields })
    : z.strictObject({ ...own, ...ListQueryFields });
}

/** `GET` on the kind's collection: the merchant's movements of `kind`, newest first, from the visibility index. */
export function listMovementsRoute(
  kind: Pick<MovementKindSpec<MovementStateBase, never, unknown>, 'kind' | 'title' | 'tag' | 'path'>,
  spec: ListRouteSpec
): AnyRoute {
  const plural = kind.tag.toLowerCase();
  return defineRoute({
    method: 'get',
    ...merchantRoute(kind, {
      path: collectionOf(kind),
      operationId: `list${kind.tag}`,
      summary: `List ${plural}`,
      description:
        `Your ${plural}, newest first, from Kasir's search index (updated within seconds of each change). ` +
        'Filters combine with AND. Page with `limit` and `page_token`.' +
        (spec.description !== undefined ? ` ${spec.description}` : ''),
    }),
    bodyKind: 'none',
    query: listQueryOf(spec.filters),
    responses: {
      200: { description: `A page of ${kind.kind} summaries.`, schema: movementListSchema(kind.kind, kind.title) },
      400: errorResponse('Invalid filter or page token.'),
      ...commonErrors,
    },
    async handler({ deps, merchant, query, res }) {
      res.json(await listMovements(deps, kind.kind, merchant, query));
    },
  });
}

/** What `GET` adds to a movement's view from beyond its workflow (a payment's refunds, from its ledger). */
export type ViewAugment<V> = (deps: ApiDeps, view: V) => Promise<V>;

export interface MovementRoutesSpec<T extends { reference: string }, I, V> {
  create: CreateRouteSpec<T, I>;
  /** The description of `GET` on one movement. */
  get?: string;
  /** Adds to the view `GET` answers with. */
  augment?: ViewAugment<V>;
  list: ListRouteSpec;
}

/**
 * Every route the pipeline gives a kind: create, retrieve and list. A kind's route file declares
 * these once; its own routes (cancel, confirm, resolve) come beside them.
 */
export function movementRoutes<
  S extends MovementStateBase,
  I extends MovementInputFields,
  V,
  T extends { reference: string },
>(kind: MovementKindSpec<S, I, V>, spec: MovementRoutesSpec<T, I, V>): AnyRoute[] {
  return [
    createMovementRoute(kind, spec.create),
    getMovementRoute(kind, spec.get, spec.augment),
    listMovementsRoute(kind, spec.list),
  ];
}
