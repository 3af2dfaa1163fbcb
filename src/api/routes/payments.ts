/**
 * Payments (money in): create by update-with-start of `paymentWorkflow`, read by query, cancel by
 * update, list through the visibility index, always scoped to the calling merchant.
 */
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { z } from 'zod';
import type { Connectors } from '../../connectors/registry';
import type { PaymentsCapability } from '../../connectors/connector';
import type { CreatePaymentInput, PaymentMethod } from '../../domain/payment';
import { PAYMENT_STATUSES } from '../../domain/payment';
import type { ProviderId } from '../../domain/provider';
import { deriveId, requestFingerprint } from '../../ids';
import type { paymentWorkflow } from '../../../workflows/payment';
import { cancelPaymentUpdate, paymentRegisteredUpdate, paymentStateQuery } from '../../../workflows/messages';
import {
  KasirAmount,
  KasirKind,
  KasirMerchant,
  KasirMerchantReference,
  KasirMethod,
  KasirNeedsAttention,
  KasirProvider,
  KasirStatus,
} from '../../../workflows/search-attributes';
import type { PaymentState, PaymentWorkflowInput } from '../../../workflows/types';
import { ApiError, updateFailureMessage } from '../http-errors';
import { createMovement, loadOwned } from '../movements';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import {
  ErrorResponseSchema,
  IdParamsSchema,
  IdempotencyHeadersSchema,
  MerchantReferenceSchema,
  MetadataSchema,
  PaymentListSchema,
  PaymentMethodSchema,
  PaymentProviderSchema,
  PaymentViewSchema,
  RupiahSchema,
} from '../schemas';
import type { PaymentSummary } from '../schemas';
import { paymentView } from '../views';
import { callbackUrlOf, commonErrors, sendCreated } from './shared';

export const DEFAULT_EXPIRY_MINUTES = 1440;

export const PaymentCreateSchema = z
  .strictObject({
    reference: MerchantReferenceSchema,
    amount: RupiahSchema,
    method: PaymentMethodSchema,
    provider: PaymentProviderSchema.optional().meta({
      description: 'Omit to use the first provider (in registry order) that takes the method.',
    }),
    customer: z
      .strictObject({
        name: z.string().min(1).max(100),
        email: z.email().max(254).optional(),
        phone: z
          .string()
          .regex(/^\+?[0-9]{8,15}$/, 'digits with an optional leading +, 8 to 15 digits')
          .optional()
          .meta({ example: '+6281286288844' }),
      })
      .meta({ description: 'Who pays. Sent to the provider; never stored in search attributes.' }),
    description: z.string().min(1).max(255).optional(),
    expiresInMinutes: z
      .number()
      .int()
      .min(5)
      .max(60 * 24 * 30)
      .default(DEFAULT_EXPIRY_MINUTES)
      .meta({
        description:
          'Minutes the customer has to pay. Some e-wallet providers cap it lower; `instructions.expiresAt` is authoritative.',
      }),
    returnUrl: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .optional()
      .meta({ description: 'Where redirect and e-wallet flows send the customer back.' }),
    metadata: MetadataSchema.optional(),
  })
  .meta({ id: 'PaymentCreateRequest' });
export type PaymentCreateRequest = z.infer<typeof PaymentCreateSchema>;

export const PaymentCancelSchema = z
  .strictObject({ reason: z.string().max(255).optional() })
  .meta({ id: 'PaymentCancelRequest' });

const BooleanQuery = z.enum(['true', 'false']).transform((value) => value === 'true');

export const PaymentListQuerySchema = z.strictObject({
  status: z.enum(PAYMENT_STATUSES).optional(),
  provider: PaymentProviderSchema.optional(),
  method: PaymentMethodSchema.optional(),
  reference: MerchantReferenceSchema.optional().meta({ description: 'Exact merchant reference.' }),
  needs_attention: BooleanQuery.optional().meta({ description: '`true` or `false`.' }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  page_token: z
    .string()
    .max(4096)
    .optional()
    .meta({ description: 'From `nextPageToken` of the previous page, with the same filters.' }),
});

/** The provider a payment goes to: the one named (if it takes the method), else the first in the registry that does. */
export function resolvePaymentProvider(
  connectors: Connectors,
  method: PaymentMethod,
  requested: ProviderId | undefined
): { provider: ProviderId; payments: PaymentsCapability } {
  if (requested !== undefined) {
    const payments = connectors[requested].payments;
    if (!payments) throw ApiError.field('provider', 'provider_not_supported', `${requested} does not take payments`);
    if (!payments.methods.includes(method)) {
      throw ApiError.field(
        'method',
        'method_not_supported',
        `${requested} does not support ${method}; it supports ${payments.methods.join(', ')}`
      );
    }
    return { provider: requested, payments };
  }
  for (const provider of Object.keys(connectors) as ProviderId[]) {
    const payments = connectors[provider].payments;
    if (payments?.methods.includes(method)) return { provider, payments };
  }
  throw ApiError.field('method', 'method_not_supported', `no configured provider supports ${method}`);
}

/** Visibility string literal: the value is validated upstream; quotes and backslashes are escaped anyway. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function toSummary(execution: temporal.api.workflow.v1.IWorkflowExecutionInfo): {
  merchant?: string;
  summary: PaymentSummary;
} {
  const attributes = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields);
  const workflowId = execution.execution?.workflowId ?? '';
  const started = optionalTsToMs(execution.startTime);
  const closed = optionalTsToMs(execution.closeTime);
  return {
    merchant: attributes.get(KasirMerchant),
    summary: {
      id: workflowId.replace(/^payment:/, ''),
      kind: 'payment',
      merchantReference: attributes.get(KasirMerchantReference),
      provider: attributes.get(KasirProvider),
      method: attributes.get(KasirMethod),
      amount: attributes.get(KasirAmount),
      status: attributes.get(KasirStatus),
      needsAttention: attributes.get(KasirNeedsAttention),
      ...(started !== undefined ? { createdAt: new Date(started).toISOString() } : {}),
      ...(closed !== undefined ? { closedAt: new Date(closed).toISOString() } : {}),
    },
  };
}

const paymentResponses = {
  400: { description: 'Invalid request: every bad field is listed in `errors`.', schema: ErrorResponseSchema },
  409: { description: 'The `reference` was already used with a different body.', schema: ErrorResponseSchema },
};

export const paymentRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/v1/payments',
    operationId: 'createPayment',
    summary: 'Create a payment',
    description:
      'Registers the payment with the provider and answers with payment instructions (VA number, QR, redirect). ' +
      'Idempotent: `reference` identifies the payment; one reference is one payment. Repeating the same body with the same ' +
      '`reference` returns the same payment (200, `Idempotent-Replayed: true`), whatever the `Idempotency-Key` header; ' +
      'the same `reference` with a different body is a 409 naming `reference`.',
    tags: ['Payments'],
    auth: 'merchant',
    bodyKind: 'json',
    body: PaymentCreateSchema,
    headers: IdempotencyHeadersSchema,
    responses: {
      201: {
        description: 'Created; instructions included unless registration failed (status FAILED).',
        schema: PaymentViewSchema,
      },
      200: {
        description: 'The same request was made before: the existing payment.',
        schema: PaymentViewSchema,
        headers: { 'Idempotent-Replayed': '`true`: this answer replays an earlier request.' },
      },
      202: {
        description: 'Accepted, but the provider has not answered yet (status REGISTERING): GET it shortly.',
        schema: PaymentViewSchema,
      },
      ...paymentResponses,
      ...commonErrors,
    },
    async handler({ deps, merchant, body, headers, requestId, res }) {
      const { provider, payments } = resolvePaymentProvider(deps.connectors, body.method, body.provider);
      const limits = payments.amountLimits(body.method);
      if (body.amount < limits.min || body.amount > limits.max) {
        throw ApiError.field(
          'amount',
          'amount_out_of_range',
          `must be between ${limits.min} and ${limits.max} rupiah for ${body.method} at ${provider}`
        );
      }
      // The reference is the business key: one reference, one payment, whatever the Idempotency-Key.
      const id = deriveId('payment', merchant.id, body.reference);
      // What the provider will be asked to register, exactly as the workflow will send it.
      const registration: CreatePaymentInput = {
        reference: id,
        amount: body.amount,
        method: body.method,
        customer: body.customer,
        description: body.description ?? `Payment ${body.reference}`,
        expiresInMinutes: body.expiresInMinutes,
        callbackUrl: callbackUrlOf(deps.config, provider),
        returnUrl: body.returnUrl,
      };
      // The provider's own rules (a phone Finpay insists on, BDPay's expiry range), checked before any
      // workflow starts, so a payment the provider would refuse costs the merchant a 400, not a key.
      const issues = payments.validate(registration);
      if (issues.length > 0) {
        throw ApiError.validation(issues.map((issue) => ({ param: issue.field, code: 'rejected_by_provider', message: issue.message })));
      }
      const fingerprint = requestFingerprint(body);
      const { reference: paymentId, ...registrationFields } = registration;
      const input: PaymentWorkflowInput = {
        ...registrationFields,
        paymentId,
        merchantId: merchant.id,
        merchantReference: body.reference,
        provider,
        requestFingerprint: fingerprint,
        metadata: body.metadata,
        timings: deps.config.timings,
      };
      const { state, outcome } = await createMovement<typeof paymentWorkflow, PaymentState>(deps, {
        kind: 'payment',
        id,
        merchant,
        reference: body.reference,
        idempotencyKey: headers['Idempotency-Key'],
        fingerprint,
        requestId,
        workflowType: 'paymentWorkflow',
        args: [input],
        searchAttributes: [
          { key: KasirKind, value: 'payment' },
          { key: KasirStatus, value: 'REGISTERING' },
          { key: KasirProvider, value: provider },
          { key: KasirMethod, value: body.method },
          { key: KasirMerchant, value: merchant.id },
          { key: KasirMerchantReference, value: body.reference },
          { key: KasirAmount, value: body.amount },
          { key: KasirNeedsAttention, value: false },
        ],
        staticSummary: `Payment ${body.amount} IDR by ${body.method} via ${provider} for ${merchant.id}/${body.reference}`,
        staticDetails: [
          `merchant: ${merchant.id}`,
          `reference: ${body.reference}`,
          `amount: ${body.amount} IDR`,
          `method: ${body.method}`,
          `provider: ${provider}`,
          `expires in: ${body.expiresInMinutes} min`,
          `created by request: ${requestId}`,
        ].join('\n'),
        firstAnswer: paymentRegisteredUpdate,
        stateQuery: paymentStateQuery,
        isPending: (state) => state.status === 'REGISTERING',
      });
      sendCreated(res, outcome, `/v1/payments/${state.id}`, paymentView(state));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/payments/:id',
    operationId: 'getPayment',
    summary: 'Retrieve a payment',
    description: 'The payment as its workflow holds it right now (strongly consistent).',
    tags: ['Payments'],
    auth: 'merchant',
    bodyKind: 'none',
    params: IdParamsSchema,
    responses: {
      200: { description: 'The payment.', schema: PaymentViewSchema },
      404: { description: 'No such payment for this merchant.', schema: ErrorResponseSchema },
      ...commonErrors,
    },
    async handler({ deps, merchant, params, res }) {
      const { state } = await loadOwned(deps, 'payment', params.id, merchant, paymentStateQuery);
      res.json(paymentView(state));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/payments/:id/cancel',
    operationId: 'cancelPayment',
    summary: 'Cancel a pending payment',
    description:
      'Asks the provider to stop accepting payment. Only a PENDING payment can be cancelled; otherwise 409. ' +
      'If the customer paid in the meantime, the answer shows SUCCEEDED. ' +
      'Only providers with a cancel API can withdraw an order: for the others (BDPay, NICEPAY) the cancel is refused ' +
      'with 409 `cancel_not_supported`, since the order stays payable at the provider until `instructions.expiresAt`.',
    tags: ['Payments'],
    auth: 'merchant',
    bodyKind: 'json',
    bodyOptional: true,
    params: IdParamsSchema,
    body: PaymentCancelSchema,
    responses: {
      200: { description: 'The payment after the cancel request.', schema: PaymentViewSchema },
      404: { description: 'No such payment for this merchant.', schema: ErrorResponseSchema },
      409: {
        description:
          'The payment is not PENDING, or the workflow refused the cancel (`state_error`, `invalid_state`, with its reason); ' +
          "or the payment's provider offers no cancel API (`state_error`, `cancel_not_supported`): the order stays payable at " +
          'the provider until it expires at `instructions.expiresAt`, and a payment arriving before then is still recorded.',
        schema: ErrorResponseSchema,
      },
      502: {
        description: 'The provider could not cancel the payment; it is still PENDING.',
        schema: ErrorResponseSchema,
      },
      ...commonErrors,
    },
    async handler({ deps, merchant, params, body, res }) {
      const { state, handle } = await loadOwned(deps, 'payment', params.id, merchant, paymentStateQuery);
      if (state.status !== 'PENDING') {
        throw new ApiError(
          409,
          'state_error',
          'invalid_state',
          `payment ${state.id} is ${state.status}; only a PENDING payment can be cancelled`
        );
      }
      if (!deps.connectors[state.provider].payments?.cancel) {
        // Refused before the workflow is asked: Kasir cannot withdraw the order, so "CANCELLED" would be untrue.
        const expiry = state.instructions?.expiresAt;
        throw new ApiError(
          409,
          'state_error',
          'cancel_not_supported',
          `${state.provider} offers no cancel API, so payment ${state.id} stays payable at ${state.provider} ` +
            `until it expires${expiry !== undefined ? ` at ${expiry}` : ''}; a payment arriving before then will still be recorded.`
        );
      }
      try {
        const updated = await deps.client.withDeadline(Date.now() + deps.timeouts.updateMs, () =>
          handle.executeUpdate(cancelPaymentUpdate, { args: [{ reason: body.reason }] })
        );
        res.json(paymentView(updated));
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          if (err.cause instanceof ApplicationFailure && err.cause.type === 'CancelFailed') {
            throw new ApiError(502, 'provider_error', 'cancel_failed', err.cause.message);
          }
          // The validator refused it (the payment moved on meanwhile) or the handler failed it: say why.
          throw new ApiError(409, 'state_error', 'invalid_state', updateFailureMessage(err));
        }
        if (err instanceof WorkflowNotFoundError) {
          // The workflow closed between the check and the update.
          const { state: closed } = await loadOwned(deps, 'payment', params.id, merchant, paymentStateQuery);
          throw new ApiError(
            409,
            'state_error',
            'invalid_state',
            `payment ${closed.id} is ${closed.status}; only a PENDING payment can be cancelled`
          );
        }
        throw err;
      }
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/payments',
    operationId: 'listPayments',
    summary: 'List payments',
    description:
      "Your payments, newest first, from Kasir's search index (updated within seconds of each change). " +
      'Filters combine with AND. Page with `limit` and `page_token`.',
    tags: ['Payments'],
    auth: 'merchant',
    bodyKind: 'none',
    query: PaymentListQuerySchema,
    responses: {
      200: { description: 'A page of payment summaries.', schema: PaymentListSchema },
      400: { description: 'Invalid filter or page token.', schema: ErrorResponseSchema },
      ...commonErrors,
    },
    async handler({ deps, merchant, query, res }) {
      const clauses = [`KasirKind = 'payment'`, `KasirMerchant = ${literal(merchant.id)}`];
      if (query.status) clauses.push(`KasirStatus = ${literal(query.status)}`);
      if (query.provider) clauses.push(`KasirProvider = ${literal(query.provider)}`);
      if (query.method) clauses.push(`KasirMethod = ${literal(query.method)}`);
      if (query.reference) clauses.push(`KasirMerchantReference = ${literal(query.reference)}`);
      if (query.needs_attention !== undefined) clauses.push(`KasirNeedsAttention = ${query.needs_attention}`);
      const visibilityQuery = clauses.join(' AND ');
      const nextPageToken = query.page_token ? deps.pageTokens.decode(visibilityQuery, query.page_token) : undefined;
      const response = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
        deps.client.workflowService.listWorkflowExecutions({
          namespace: deps.client.options.namespace,
          query: visibilityQuery,
          pageSize: query.limit,
          nextPageToken,
        })
      );
      // The query is scoped to the merchant; checking each row again costs nothing and guards the guard.
      const data = (response.executions ?? [])
        .map(toSummary)
        .filter((row) => row.merchant === merchant.id)
        .map((row) => row.summary);
      const token =
        response.nextPageToken && response.nextPageToken.length > 0
          ? deps.pageTokens.encode(visibilityQuery, response.nextPageToken)
          : null;
      res.json({ object: 'list', data, hasMore: token !== null, nextPageToken: token });
    },
  }),
];
