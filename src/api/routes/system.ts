/** Liveness, readiness (Temporal reachable), Prometheus metrics (operators only), the OpenAPI document and its docs page. */
import { z } from 'zod';
import { renderDocsPage } from '../docs-page';
import { ApiError } from '../http-errors';
import { OPERATOR_KEY_HEADER } from '../middleware/auth';
import type { OpenApiDocument } from '../openapi';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import { ErrorResponseSchema } from '../schemas';

const HealthSchema = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const ReadySchema = z
  .object({ status: z.literal('ready'), temporal: z.object({ serverVersion: z.string().optional() }) })
  .meta({ id: 'Ready' });

export function systemRoutes(document: () => OpenApiDocument): AnyRoute[] {
  let docsHtml: string | undefined;
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'Liveness',
      description: 'The process is up. Does not touch Temporal.',
      tags: ['System'],
      auth: 'none',
      bodyKind: 'none',
      responses: { 200: { description: 'Alive.', schema: HealthSchema } },
      async handler({ res }) {
        res.json({ status: 'ok' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'ready',
      summary: 'Readiness',
      description: 'Ready to serve: Temporal answered a system-info call within a short deadline.',
      tags: ['System'],
      auth: 'none',
      bodyKind: 'none',
      responses: {
        200: { description: 'Temporal is reachable.', schema: ReadySchema },
        503: { description: 'Temporal is not reachable.', schema: ErrorResponseSchema },
      },
      async handler({ deps, res, log }) {
        try {
          const info = await deps.client.withDeadline(Date.now() + deps.timeouts.readinessMs, () =>
            deps.client.workflowService.getSystemInfo({})
          );
          res.json({ status: 'ready', temporal: { serverVersion: info.serverVersion ?? undefined } });
        } catch (err) {
          log.warn({ err: String(err) }, 'readiness: Temporal unreachable');
          throw new ApiError(503, 'api_error', 'temporal_unreachable', 'Temporal is not reachable.', {
            headers: { 'Retry-After': '5' },
          });
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        'HTTP request durations by route and status (`kasir_http_request_duration_seconds`), callbacks by provider and result ' +
        '(`kasir_callbacks_total`), orphan callbacks (`kasir_orphan_callbacks_total`) and workflow starts (`kasir_workflow_starts_total`). ' +
        `For scrapers and operators: \`Authorization: Bearer <metrics key>\` (a key that opens nothing else, \`api.metricsKeySha256\`) or the \`${OPERATOR_KEY_HEADER}\` header; merchant keys are refused; ` +
        'the callback counts by result would otherwise tell anyone which references exist. `/healthz` and `/readyz` stay public.',
      tags: ['System'],
      auth: 'metrics',
      bodyKind: 'none',
      responses: {
        200: { description: 'Prometheus text exposition format.', mediaType: 'text/plain' },
        401: { description: 'Missing or invalid metrics or operator key.', schema: ErrorResponseSchema },
      },
      async handler({ deps, res }) {
        res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
      },
    }),
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This OpenAPI document',
      tags: ['System'],
      auth: 'none',
      bodyKind: 'none',
      responses: {
        200: {
          description: 'OpenAPI 3.0 document, generated from the same zod schemas that validate requests.',
          mediaType: 'application/json',
        },
      },
      async handler({ res }) {
        res.json(document());
      },
    }),
    defineRoute({
      method: 'get',
      path: '/docs',
      operationId: 'docs',
      summary: 'Readable API docs',
      tags: ['System'],
      auth: 'none',
      bodyKind: 'none',
      responses: {
        200: { description: 'Self-contained HTML rendering of the OpenAPI document.', mediaType: 'text/html' },
      },
      async handler({ res }) {
        docsHtml ??= renderDocsPage(document());
        res.type('html').set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'").send(docsHtml);
      },
    }),
  ];
}
