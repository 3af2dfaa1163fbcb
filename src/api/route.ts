/**
 * One declaration per endpoint: method, path, auth, zod schemas, documented responses and the handler.
 * `app.ts` mounts these on Express and `openapi.ts` documents the very same objects, so the document
 * cannot drift from the routes or from validation.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Merchant } from '../config';
import type { Logger } from '../logger';
import type { ApiDeps } from './deps';

export type HttpMethod = 'get' | 'post';

/** How a route reads its body: JSON (with content-type and zod checks), raw bytes (callbacks), or none. */
export type BodyKind = 'json' | 'raw' | 'none';

/** `metrics`: a scraper's own key (`api.metricsKeySha256`) or the operator key. */
export type RouteAuth = 'merchant' | 'operator' | 'metrics' | 'none';

export interface DocumentedResponse {
  description: string;
  /** A zod schema for `application/json`; omit for non-JSON or empty answers. */
  schema?: z.ZodType;
  /** Another media type with a plain description (`text/plain`, `text/html`). */
  mediaType?: string;
  /** Response headers worth documenting: name → description. */
  headers?: Record<string, string>;
}

export interface RouteContext<P, Q, B, H> {
  req: Request;
  res: Response;
  deps: ApiDeps;
  params: P;
  query: Q;
  body: B;
  headers: H;
  /** The caller, for `auth: 'merchant'` routes. */
  merchant: Merchant;
  requestId: string;
  log: Logger;
}

export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  H extends z.ZodType = z.ZodType,
> {
  method: HttpMethod;
  /** Express syntax (`/v1/payments/:id`); `openapi.ts` turns `:id` into `{id}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: RouteAuth;
  bodyKind: BodyKind;
  /** A JSON body may be omitted entirely (it is then validated as `{}`). */
  bodyOptional?: boolean;
  params?: P;
  query?: Q;
  body?: B;
  /** Request headers the route reads (e.g. `Idempotency-Key`): validated and documented. Keys are header names. */
  headers?: H;
  /** Documented raw body (callbacks): media type and description. */
  rawBody?: { mediaType: string; description: string };
  responses: Record<number, DocumentedResponse>;
  handler(ctx: RouteContext<z.infer<P>, z.infer<Q>, z.infer<B>, z.infer<H>>): Promise<void>;
}

/** Keeps the generic parameters of one route while erasing them for the route table. */
export function defineRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType, H extends z.ZodType>(
  spec: RouteSpec<P, Q, B, H>
): AnyRoute {
  return spec;
}

export type AnyRoute = RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>;

/** `/v1/payments/:id` → `/v1/payments/{id}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Matches a concrete path against a route path, segment by segment. */
export function pathMatches(routePath: string, actual: string): boolean {
  const want = routePath.split('/');
  const got = actual.replace(/\/+$/, '').split('/');
  if (want.length !== got.length) return false;
  return want.every((segment, i) => (segment.startsWith(':') ? (got[i] ?? '') !== '' : segment === got[i]));
}
