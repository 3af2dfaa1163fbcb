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
import type { PaymentRoutingInput, PaymentWorkflowInput } from '../../../workflows/movement-state';
import type { ObservedPayment } from '../../routing/health';
import { ProviderHealth } from '../../routing/health';
import { chooseRoute, ruleOf } from '../../routing/rules';
import type { ApiDeps } from '../deps';
import { ApiError, updateFailureMessage } from '../http-errors';
import { PAYMENTS } from '../movement-kinds';
import { loadOwned, updateMovement } from '../movements';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import {
  IdParamsSchema,
  MerchantReferenceSchema,
  MetadataSchema,
  PaymentMethodSchema,
  PaymentProviderSchema,
  PaymentViewSchema,
  RupiahSchema,
} from '../schemas';
import { movementRoutes } from './movement-pipeline';
import type { MovementInputBase } from './movement-pipeline';
import { withRefunds } from './refunds';
import { commonErrors, errorResponse } from './route-commons';

export const DEFAULT_EXPIRY_MINUTES = 1440;

export const PaymentCreateSchema = z
  .strictObject({
    reference: MerchantReferenceSchema,
    amount: RupiahSchema,
    method: PaymentMethodSchema,
    provider: PaymentProviderSchema.optional().meta({
      description:
        "Pins the payment to this provider: it is never moved to another one. Omit to let the merchant's routing rule " +
        'for the method choose (with failover to the next provider of the rule), or, without a rule, the first provider ' +
        '(in registry order) that takes the method.',
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

/** Per API process (see src/routing/health.ts): one health record per config, so tests' stacks never share one. */
const HEALTH = new WeakMap<object, ProviderHealth>();

export function providerHealthOf(deps: Pick<ApiDeps, 'config'>): ProviderHealth {
  let health = HEALTH.get(deps.config);
  if (health === undefined) {
    health = new ProviderHealth(deps.config.routing?.health);
    HEALTH.set(deps.config, health);
  }
  return health;
}

/**
 * The provider of a payment under the merchant's routing rule for its method, and the providers that
 * may take it over, or undefined when the merchant has no rule for it, named a provider, or no entry
 * of the rule can take this payment: it is then routed as without a rule. An entry is usable when its
 * provider takes the method, the amount is within the entry's bounds and the provider's limits, and
 * the provider's own request rules accept the payment (`validate`).
 */
function routeByRule(
  deps: ApiDeps,
  body: PaymentCreateRequest,
  paymentId: string,
  base: (provider: ProviderId) => MovementInputBase,
  registrationAt: (provider: ProviderId) => CreatePaymentInput
): { provider: ProviderId; routing: PaymentRoutingInput } | undefined {
  const merchantId = base('finpay').merchantId;
  const rule = ruleOf(deps.config.routing, merchantId, body.method);
  if (rule === undefined) return undefined;
  if (body.provider !== undefined) {
    return {
      provider: body.provider,
      routing: { pinned: true, fallbacks: [], decision: `${body.provider} pinned by the merchant` },
    };
  }
  const health = providerHealthOf(deps);
  const choice = chooseRoute({
    rule,
    method: body.method,
    amount: body.amount,
    paymentId,
    isHealthy: (provider) => health.isHealthy(provider),
    refusal(provider) {
      const payments = deps.connectors[provider].payments;
      if (!payments) return 'takes no payments';
      if (!payments.methods.includes(body.method)) return `does not offer ${body.method}`;
      const limits = payments.amountLimits(body.method);
      if (body.amount < limits.min || body.amount > limits.max) return `takes ${limits.min} to ${limits.max} rupiah`;
      const issues = payments.validate(registrationAt(provider));
      return issues.length > 0 ? `would refuse ${issues.map((i) => i.field).join(', ')}` : undefined;
    },
  });
  if (choice === undefined) return undefined;
  const fallbacks = choice.fallbacks.map((provider) => ({ provider, callbackUrl: base(provider).callbackUrl }));
  return { provider: choice.provider, routing: { fallbacks, decision: choice.decision } };
}

/**
 * The create route, reading each first answer it gives (201, 202; not a replay) into this process's
 * provider health: which providers the payment left for lack of service, and whether its provider answered.
 */
function observingProviderHealth(route: AnyRoute): AnyRoute {
  return {
    ...route,
    async handler(ctx) {
      const json = ctx.res.json.bind(ctx.res);
      ctx.res.json = (view: unknown) => {
        const status = ctx.res.statusCode;
        if (ctx.deps.config.routing !== undefined && (status === 201 || status === 202)) {
          providerHealthOf(ctx.deps).observe(view as ObservedPayment);
        }
        return json(view);
      };
      await route.handler(ctx);
    },
  };
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

const [createPaymentRoute, ...readPaymentRoutes] = movementRoutes(PAYMENTS, {
  augment: withRefunds,
  create: {
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
      // What a provider will be asked to register, exactly as the workflow will send it.
      const registrationAt = (at: ProviderId): CreatePaymentInput => ({
        reference: id,
        amount: body.amount,
        method: body.method,
        customer: body.customer,
        description: body.description ?? `Payment ${body.reference}`,
        expiresInMinutes: body.expiresInMinutes,
        callbackUrl: base(at).callbackUrl,
        returnUrl: body.returnUrl,
      });
      const routed = routeByRule(deps, body, id, base, registrationAt);
      const { provider, payments } = resolvePaymentProvider(
        deps.connectors,
        body.method,
        routed?.provider ?? body.provider
      );
      const limits = payments.amountLimits(body.method);
      if (body.amount < limits.min || body.amount > limits.max) {
        throw ApiError.field(
          'amount',
          'amount_out_of_range',
          `must be between ${limits.min} and ${limits.max} rupiah for ${body.method} at ${provider}`
        );
      }
      const { callbackUrl: _callbackUrl, ...common } = base(provider);
      const registration = registrationAt(provider);
      // The provider's own rules (a phone Finpay insists on, BDPay's expiry range), checked before any
      // workflow starts, so a payment the provider would refuse costs the merchant a 400, not a key.
      const issues = payments.validate(registration);
      if (issues.length > 0) {
        throw ApiError.validation(
          issues.map((issue) => ({ param: issue.field, code: 'rejected_by_provider', message: issue.message }))
        );
      }
      const { reference: paymentId, ...registrationFields } = registration;
      return {
        ...common,
        ...registrationFields,
        paymentId,
        metadata: body.metadata,
        ...(routed ? { routing: routed.routing } : {}),
      };
    },
  },
  get: 'The payment as its workflow holds it right now (strongly consistent).',
  list: {
    filters: { status: z.enum(PAYMENT_STATUSES), provider: PaymentProviderSchema, method: PaymentMethodSchema },
  },
});

export const paymentRoutes: AnyRoute[] = [
  observingProviderHealth(createPaymentRoute!),
  ...readPaymentRoutes,

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
      404: errorResponse('No such payment for this merchant.'),
      409: errorResponse(
        'The payment is not PENDING, or the workflow refused the cancel (`state_error`, `invalid_state`, with its reason); ' +
          "or the payment's provider offers no cancel API (`state_error`, `cancel_not_supported`): the order stays payable at " +
          'the provider until it expires at `instructions.expiresAt`, and a payment arriving before then is still recorded.'
      ),
      502: errorResponse('The provider could not cancel the payment; it is still PENDING.'),
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
      const updated = await updateMovement(deps, PAYMENTS, handle, cancelPaymentUpdate, [{ reason: body.reason }], {
        refused: cancelRefused,
      });
      res.json(PAYMENTS.view(updated));
    },
  }),
];
