/**
 * Payments (money in): create by update-with-start of `paymentWorkflow`, read by query, cancel by
 * update, list through the visibility index, always scoped to the calling merchant.
 */
import { ApplicationFailure } from '@temporalio/client';
import type { WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import type { Connectors } from '../../connectors/registry';
import type { PaymentsCapability } from '../../connectors/connector';
import type { CreatePaymentInput, PaymentMethod } from '../../domain/payment';
import { PAYMENT_STATUSES } from '../../domain/payment';
import type { ProviderId } from '../../domain/provider';
import { cancelPaymentUpdate } from '../../../workflows/messages';
import type { PaymentWorkflowInput } from '../../../workflows/movement-state';
import { ApiError, updateFailureMessage } from '../http-errors';
import { ListQueryFields } from '../listing';
import { PAYMENTS } from '../movement-kinds';
import { loadOwned, updateMovement } from '../movements';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import {
  ErrorResponseSchema,
  IdParamsSchema,
  MerchantReferenceSchema,
  MetadataSchema,
  PaymentListSchema,
  PaymentMethodSchema,
  PaymentProviderSchema,
  PaymentViewSchema,
  RupiahSchema,
} from '../schemas';
import { createMovementRoute, getMovementRoute, listMovementsRoute } from './movement-pipeline';
import { commonErrors } from './route-commons';

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

export const PaymentListQuerySchema = z.strictObject({
  status: z.enum(PAYMENT_STATUSES).optional(),
  provider: PaymentProviderSchema.optional(),
  method: PaymentMethodSchema.optional(),
  ...ListQueryFields,
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

/**
 * A cancel the workflow refused (its validator: the payment is not PENDING) or failed: 409 with its
 * reason, or 502 when the provider could not cancel (the payment is still PENDING).
 */
function cancelRefused(err: WorkflowUpdateFailedError): ApiError {
  if (err.cause instanceof ApplicationFailure && err.cause.type === 'CancelFailed') {
    return new ApiError(502, 'provider_error', 'cancel_failed', err.cause.message);
  }
  return new ApiError(409, 'state_error', 'invalid_state', updateFailureMessage(err));
}

export const paymentRoutes: AnyRoute[] = [
  createMovementRoute(PAYMENTS, {
    path: '/v1/payments',
    operationId: 'createPayment',
    summary: 'Create a payment',
    description:
      'Registers the payment with the provider and answers with payment instructions (VA number, QR, redirect). ' +
      'Idempotent: `reference` identifies the payment; one reference is one payment. Repeating the same body with the same ' +
      '`reference` returns the same payment (200, `Idempotent-Replayed: true`), whatever the `Idempotency-Key` header; ' +
      'the same `reference` with a different body is a 409 naming `reference`.',
    body: PaymentCreateSchema,
    created: 'Created; instructions included unless registration failed (status FAILED).',
    pending: 'Accepted, but the provider has not answered yet (status REGISTERING): GET it shortly.',
    input({ deps, body, id, base }): PaymentWorkflowInput {
      const { provider, payments } = resolvePaymentProvider(deps.connectors, body.method, body.provider);
      const limits = payments.amountLimits(body.method);
      if (body.amount < limits.min || body.amount > limits.max) {
        throw ApiError.field(
          'amount',
          'amount_out_of_range',
          `must be between ${limits.min} and ${limits.max} rupiah for ${body.method} at ${provider}`
        );
      }
      const { callbackUrl, ...common } = base(provider);
      // What the provider will be asked to register, exactly as the workflow will send it.
      const registration: CreatePaymentInput = {
        reference: id,
        amount: body.amount,
        method: body.method,
        customer: body.customer,
        description: body.description ?? `Payment ${body.reference}`,
        expiresInMinutes: body.expiresInMinutes,
        callbackUrl,
        returnUrl: body.returnUrl,
      };
      // The provider's own rules (a phone Finpay insists on, BDPay's expiry range), checked before any
      // workflow starts, so a payment the provider would refuse costs the merchant a 400, not a key.
      const issues = payments.validate(registration);
      if (issues.length > 0) {
        throw ApiError.validation(
          issues.map((issue) => ({ param: issue.field, code: 'rejected_by_provider', message: issue.message }))
        );
      }
      const { reference: paymentId, ...registrationFields } = registration;
      return { ...common, ...registrationFields, paymentId, metadata: body.metadata };
    },
  }),

  getMovementRoute(PAYMENTS, 'The payment as its workflow holds it right now (strongly consistent).'),

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
      const { state, handle } = await loadOwned(deps, PAYMENTS, params.id, merchant);
      // Whether a payment can be cancelled is the workflow's to say (its validator). Only a cancel it
      // would take, of a PENDING payment, is refused here first where the provider has no cancel API:
      // Kasir cannot withdraw the order, so "CANCELLED" would be untrue.
      if (state.status === 'PENDING' && !deps.connectors[state.provider].payments?.cancel) {
        const expiry = state.instructions?.expiresAt;
        throw new ApiError(
          409,
          'state_error',
          'cancel_not_supported',
          `${state.provider} offers no cancel API, so payment ${state.id} stays payable at ${state.provider} ` +
            `until it expires${expiry !== undefined ? ` at ${expiry}` : ''}; a payment arriving before then will still be recorded.`
        );
      }
      const updated = await updateMovement(
        deps,
        PAYMENTS,
        handle,
        cancelPaymentUpdate,
        [{ reason: body.reason }],
        cancelRefused
      );
      res.json(PAYMENTS.view(updated));
    },
  }),

  listMovementsRoute(PAYMENTS, {
    path: '/v1/payments',
    operationId: 'listPayments',
    summary: 'List payments',
    description:
      "Your payments, newest first, from Kasir's search index (updated within seconds of each change). " +
      'Filters combine with AND. Page with `limit` and `page_token`.',
    query: PaymentListQuerySchema,
    page: PaymentListSchema,
  }),
];
