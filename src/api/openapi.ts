/**
 * The OpenAPI 3 document, generated (zod-to-openapi) from the route table itself: the same zod schemas
 * that validate requests describe them here, and every mounted route is a path here.
 */
import { OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';
import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { KasirConfig } from '../config';
import { OPERATOR_KEY_HEADER } from './middleware/auth';
import { ErrorResponseSchema } from './schemas';
import { DEFAULT_SERVER_LIMITS } from './server';
import type { AnyRoute } from './route';
import { toOpenApiPath } from './route';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV3['generateDocument']>;

const DESCRIPTION = `Kasir is one merchant API over Indonesia's payment rails (Finpay, NICEPAY, BDPay, Ayopop). Every money movement is a durable Temporal workflow; this API validates, starts or signals workflows, and answers.

**Authentication.** \`Authorization: Bearer <your API key>\`. You only ever see your own payments, payouts and bills: another merchant's id is a 404.

**Idempotency.** Creates take an optional \`Idempotency-Key\` header; without one, \`reference\` is the key. Repeating a request with the same key and body returns the same object (200, \`Idempotent-Replayed: true\`); the same key with a different body is 409 \`idempotency_key_reused\`.

**Errors.** One shape: \`{"error": {"type", "code", "message", "param", "errors", "request_id"}}\`. Validation errors (400) list every bad field in \`errors\`. Every answer carries a \`Request-Id\` header.

**Webhooks.** Kasir POSTs events (\`payment.succeeded\`, \`payout.failed\`, ...) to your webhook URL, signed in the \`Kasir-Signature\` header as \`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">\` with your webhook secret. Verify over the raw body, reject timestamps more than 5 minutes off, and deduplicate on the event \`id\` (also in \`Kasir-Event-Id\`): deliveries are retried with backoff until you answer 2xx.`;

function responseOf(spec: AnyRoute['responses'][number]): ResponseConfig {
  const headers = spec.headers
    ? Object.fromEntries(
        Object.entries(spec.headers).map(([name, description]) => [
          name,
          { description, schema: { type: 'string' as const } },
        ])
      )
    : undefined;
  const content = spec.schema
    ? { 'application/json': { schema: spec.schema } }
    : spec.mediaType
      ? // A JSON answer without a zod schema (the OpenAPI document itself) is an object; others are text.
        {
          [spec.mediaType]: {
            schema: spec.mediaType === 'application/json' ? z.record(z.string(), z.unknown()) : z.string(),
          },
        }
      : undefined;
  return { description: spec.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
}

/**
 * The route's documented responses, plus the answers the app gives on the route's behalf: 400 where
 * anything is validated (parameters, headers, a body, or a path that is not valid percent-encoding),
 * 413 and 415 where a body is read, 408 when a request does not arrive within the server's request
 * timeout, and 500 anywhere. A route's own description of a status wins.
 */
function responsesOf(route: AnyRoute): AnyRoute['responses'] {
  const implied: AnyRoute['responses'] = {};
  if (route.params || route.query || route.headers || route.bodyKind === 'json') {
    implied[400] = {
      description: 'Invalid request: every bad field is listed in `errors`.',
      schema: ErrorResponseSchema,
    };
  }
  if (route.bodyKind !== 'none') {
    implied[413] = {
      description: `The body is larger than ${route.bodyKind === 'json' ? '100 kB' : '1 MB'}.`,
      schema: ErrorResponseSchema,
    };
    implied[415] = {
      description:
        route.bodyKind === 'json'
          ? 'A body was sent that is not (UTF-8) application/json, or in a content encoding Kasir does not read.'
          : 'The body is in a content encoding Kasir does not read.',
      schema: ErrorResponseSchema,
    };
  }
  implied[408] = {
    description:
      `The request did not arrive in time (headers within ${DEFAULT_SERVER_LIMITS.headersTimeoutMs / 1000} s, the whole ` +
      `request within ${DEFAULT_SERVER_LIMITS.requestTimeoutMs / 1000} s): the connection is closed, without a body.`,
  };
  implied[500] = { description: 'Internal error; no details beyond the request id.', schema: ErrorResponseSchema };
  return { ...implied, ...route.responses };
}

function requestOf(route: AnyRoute): RouteConfig['request'] {
  const request: NonNullable<RouteConfig['request']> = {};
  if (route.params instanceof z.ZodObject) request.params = route.params;
  if (route.query instanceof z.ZodObject) request.query = route.query;
  if (route.headers instanceof z.ZodObject) request.headers = route.headers;
  if (route.body) {
    request.body = { required: route.bodyOptional !== true, content: { 'application/json': { schema: route.body } } };
  } else if (route.rawBody) {
    request.body = {
      description: route.rawBody.description,
      required: true,
      content: { [route.rawBody.mediaType]: { schema: z.string() } },
    };
  }
  return request;
}

export function buildOpenApiDocument(routes: readonly AnyRoute[], config: KasirConfig): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'merchantKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'Your merchant API key.',
  });
  registry.registerComponent('securitySchemes', 'operatorKey', {
    type: 'apiKey',
    in: 'header',
    name: OPERATOR_KEY_HEADER,
    description: 'Kasir operators only.',
  });
  registry.registerComponent('securitySchemes', 'metricsKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'A metrics scraper key (`api.metricsKeySha256`): it opens `/metrics` and nothing else.',
  });
  for (const route of routes) {
    registry.registerPath({
      method: route.method,
      path: toOpenApiPath(route.path),
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags,
      security:
        route.auth === 'merchant'
          ? [{ merchantKey: [] }]
          : route.auth === 'operator'
            ? [{ operatorKey: [] }]
            : route.auth === 'metrics'
              ? [{ metricsKey: [] }, { operatorKey: [] }]
              : [],
      request: requestOf(route),
      responses: Object.fromEntries(
        Object.entries(responsesOf(route)).map(([status, spec]) => [status, responseOf(spec)])
      ),
    });
  }
  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: { title: 'Kasir merchant API', version: '1.0.0', description: DESCRIPTION },
    servers: [{ url: config.api.publicUrl.replace(/\/+$/, '') }],
    tags: [
      { name: 'Payments', description: 'Money in: virtual accounts, QRIS, retail, e-wallets.' },
      { name: 'Payouts', description: 'Money out to bank accounts.' },
      { name: 'Bills', description: 'PPOB: electricity, phone, BPJS and more.' },
      { name: 'Operator', description: 'For Kasir operators, not merchants.' },
      { name: 'Callbacks', description: 'For providers, not merchants.' },
      { name: 'System', description: 'Health, readiness, metrics and these docs.' },
    ],
  });
}
