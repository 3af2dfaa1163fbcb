/**
 * Events: every webhook Kasir sends a merchant, listed and read with its delivery attempts, and sent
 * again on request (by the merchant, or by an operator for any merchant). Operators also list the
 * movements whose merchant endpoint is failing. The reading and sending is in `../events.ts`.
 */
import { z } from 'zod';
import { kindOfId } from '../../ids';
import { KasirMerchant, KasirWebhookFailing } from '../../../workflows/search-attributes';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { listEvents, loadEvent, redeliverEvent } from '../events';
import { OPERATOR_KEY_HEADER } from '../middleware/auth';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import { DeliveryStatusSchema, EventListSchema, EventViewSchema, RedeliveryResultSchema } from '../schemas';
import { answers } from './route-commons';

const EventIdParamsSchema = z.object({
  id: z.string().max(200).meta({
    description: 'The event id, as its webhook carried it (`Kasir-Event-Id`).',
    example: 'payment:P0M6XH4B8Q2W9N1C7D3E:0196f4c2-8f1e-7a55-9d1c-2b4e6f8a0c13:2',
  }),
});

const EventListQuerySchema = z.object({
  type: z
    .string()
    .max(64)
    .regex(/^[a-z_]+\.[a-z_]+$/, 'an event type, such as payment.succeeded')
    .optional()
    .meta({ description: 'Only events of this type.', example: 'payment.succeeded' }),
  movement: z
    .string()
    .max(64)
    .refine((id) => kindOfId(id) !== undefined, 'must be a payment, payout, bill or refund id')
    .optional()
    .meta({ description: 'Only the events of this payment, payout, bill or refund (its Kasir id).' }),
  delivery_status: DeliveryStatusSchema.optional(),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(50)
    .default(10)
    .meta({
      description:
        'How many movements (newest first) a page reads the events of: each costs Temporal queries, so a page ' +
        'may hold more or fewer events than this, or none, and still have more. Ignored with `movement`.',
    }),
  page_token: z
    .string()
    .max(4096)
    .optional()
    .meta({ description: 'From `nextPageToken` of the previous page, with the same filters.' }),
});

const FailingEndpointsSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        merchantId: z.string(),
        movements: z
          .array(z.string())
          .meta({ description: 'Workflow ids flagged `KasirWebhookFailing` (at most 20).' }),
        count: z.number().int(),
      })
    ),
  })
  .meta({ id: 'FailingWebhookEndpoints' });

/** Movements scanned for the failing-endpoints list (the search attribute itself has no bound). */
const FAILING_SCAN_LIMIT = 1_000;

const redeliverDescription =
  'Sends the event again now, signed as every webhook is and with the same `Kasir-Event-Id` (plus ' +
  '`Kasir-Redelivery: true`), and answers with the attempt: the HTTP status or error and the latency. The ' +
  "attempt is recorded among the event's attempts. A redelivery never changes the movement, nor stops Kasir's " +
  'own retries of an event still failing: deduplicate on the id.';

export const eventRoutes: AnyRoute[] = [
  defineRoute({
    method: 'get',
    path: '/v1/events',
    operationId: 'listEvents',
    summary: 'List events',
    description:
      'Your webhooks, newest first, with their delivery. Without `movement`, a page holds the events of your most ' +
      'recent movements (`limit` of them); filters apply within it. Each event log keeps the latest 50 events of a movement.',
    tags: ['Events'],
    auth: 'merchant',
    bodyKind: 'none',
    query: EventListQuerySchema,
    responses: answers(200, 'A page of events.', EventListSchema, {
      400: 'Invalid filter or page token (the error names the field).',
    }),
    async handler({ deps, merchant, query, res }) {
      res.json(await listEvents(deps, merchant, query));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/events/:id',
    operationId: 'getEvent',
    summary: 'Retrieve an event',
    description:
      'One event with its delivery attempts: when, the HTTP status your endpoint answered (or the error), latency.',
    tags: ['Events'],
    auth: 'merchant',
    bodyKind: 'none',
    params: EventIdParamsSchema,
    responses: answers(200, 'The event.', EventViewSchema, { 404: 'No such event (or not yours).' }),
    async handler({ deps, merchant, params, res }) {
      res.json((await loadEvent(deps, params.id, merchant)).event);
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/events/:id/redeliver',
    operationId: 'redeliverEvent',
    summary: 'Redeliver an event',
    description: redeliverDescription,
    tags: ['Events'],
    auth: 'merchant',
    bodyKind: 'none',
    params: EventIdParamsSchema,
    responses: answers(200, 'The attempt, whatever your endpoint answered.', RedeliveryResultSchema, {
      404: 'No such event (or not yours).',
      409: 'No webhook URL is configured (`no_webhook_url`).',
    }),
    async handler({ deps, merchant, params, res, log }) {
      const result = await redeliverEvent(deps, params.id, merchant);
      log.info({ eventId: params.id, delivered: result.delivered, status: result.attempt.status }, 'event redelivered');
      res.json(result);
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/operator/events/:id',
    operationId: 'getEventAsOperator',
    summary: 'Retrieve any merchant’s event (operator)',
    description: `Operators only (\`${OPERATOR_KEY_HEADER}\` header). As \`GET /v1/events/{id}\`, for any merchant.`,
    tags: ['Operator'],
    auth: 'operator',
    bodyKind: 'none',
    params: EventIdParamsSchema,
    responses: answers(200, 'The event.', EventViewSchema, { 404: 'No such event.' }),
    async handler({ deps, params, res }) {
      res.json((await loadEvent(deps, params.id, undefined)).event);
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/operator/events/:id/redeliver',
    operationId: 'redeliverEventAsOperator',
    summary: 'Redeliver any merchant’s event (operator)',
    description: `Operators only (\`${OPERATOR_KEY_HEADER}\` header). ${redeliverDescription}`,
    tags: ['Operator'],
    auth: 'operator',
    bodyKind: 'none',
    params: EventIdParamsSchema,
    responses: answers(200, 'The attempt, whatever the endpoint answered.', RedeliveryResultSchema, {
      404: 'No such event.',
      409: 'The merchant has no webhook URL configured (`no_webhook_url`).',
    }),
    async handler({ deps, params, res, log }) {
      const result = await redeliverEvent(deps, params.id, undefined);
      log.warn(
        { eventId: params.id, delivered: result.delivered, status: result.attempt.status },
        'event redelivered by operator'
      );
      res.json(result);
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/operator/webhooks/failing',
    operationId: 'listFailingWebhookEndpoints',
    summary: 'Merchants whose webhook endpoint is failing (operator)',
    description:
      `Operators only (\`${OPERATOR_KEY_HEADER}\` header). Merchants with movements flagged \`KasirWebhookFailing\`: a ` +
      'webhook undelivered longer than `timings.webhook.failingAfterMs` (the flag clears once it is delivered). From ' +
      `the search index (eventually consistent), at most ${FAILING_SCAN_LIMIT} movements scanned; in the Temporal UI: ` +
      '`KasirWebhookFailing = true`.',
    tags: ['Operator'],
    auth: 'operator',
    bodyKind: 'none',
    responses: answers(200, 'Merchants with failing endpoints, most flagged movements first.', FailingEndpointsSchema),
    async handler({ deps, res }) {
      const response = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
        deps.client.workflowService.listWorkflowExecutions({
          namespace: deps.client.options.namespace,
          query: `${KasirWebhookFailing.name} = true`,
          pageSize: FAILING_SCAN_LIMIT,
        })
      );
      const byMerchant = new Map<string, string[]>();
      for (const execution of response.executions ?? []) {
        const attributes = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields);
        const merchantId = attributes.get(KasirMerchant) ?? '(unknown)';
        byMerchant.set(merchantId, [...(byMerchant.get(merchantId) ?? []), execution.execution?.workflowId ?? '']);
      }
      const data = [...byMerchant.entries()]
        .map(([merchantId, movements]) => ({ merchantId, movements: movements.slice(0, 20), count: movements.length }))
        .sort((a, b) => b.count - a.count);
      res.json({ object: 'list', data });
    },
  }),
];
