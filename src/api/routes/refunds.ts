/**
 * Refunds: `POST /v1/payments/{id}/refunds` asks for one (full or partial, idempotent by its
 * `reference`), `GET /v1/refunds/{id}` and `GET /v1/refunds` read them. A payment's refunds are held
 * together by its ledger workflow (workflows/refund-ledger.ts), whose update validator refuses a refund
 * above what remains, so concurrent requests cannot return more than was paid; each refund is its own
 * workflow (workflows/refund.ts) with a payout's guarantees. Providers without a refund API (BDPay,
 * docs/providers/bdpay.md) and bills answer 422 `refund_not_supported`.
 */
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { z } from 'zod';
import type { ProviderId } from '../../domain/provider';
import { REFUND_STATUSES } from '../../domain/refund';
import { deriveId, requestFingerprint, workflowIdOf } from '../../ids';
import { refundLedgerQuery, requestRefundUpdate, resolveRefundUpdate } from '../../../workflows/messages';
import type { ResolveRefundRequest } from '../../../workflows/messages';
import type { RefundState, RefundWorkflowInput } from '../../../workflows/movement-state';
import { REFUND_REFUSED } from '../../../workflows/refund-ledger';
import type { RefundRefusalReason } from '../../../workflows/refund-ledger';
import type { RefundLedgerInput, RefundLedgerState, RefundRequest } from '../../../workflows/refund-ledger';
import type { ApiDeps } from '../deps';
import { ApiError, updateFailureMessage } from '../http-errors';
import { PAYMENTS, REFUNDS, searchAttributesOf } from '../movement-kinds';
import { loadOwned, updateMovement } from '../movements';
import { OPERATOR_KEY_HEADER } from '../middleware/auth';
import { PayoutResolveSchema } from './payouts';
import { REFUND_PROVIDER_IDS } from '../providers';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import {
  IdempotencyHeadersSchema,
  IdParamsSchema,
  MerchantReferenceSchema,
  MetadataSchema,
  RefundViewSchema,
  RupiahSchema,
} from '../schemas';
import type { PaymentView } from '../schemas';
import { getMovementRoute, listMovementsRoute } from './movement-pipeline';
import { callbackUrlOf, commonErrors, errorResponse } from './route-commons';

export const RefundCreateSchema = z
  .strictObject({
    reference: MerchantReferenceSchema,
    amount: RupiahSchema.optional().meta({
      description: 'How much to return; defaults to all that remains refundable of the payment.',
    }),
    reason: z.string().trim().min(1).max(256).optional().meta({ description: 'Why; sent to the provider.' }),
    metadata: MetadataSchema.optional(),
  })
  .meta({ id: 'RefundCreate' });

/** A payment's statuses whose money can go back: it was paid (the amount that arrived is what may return). */
const REFUNDABLE = new Set(['SUCCEEDED', 'AMOUNT_MISMATCH']);

function ledgerIdOf(paymentId: string): string {
  return `${workflowIdOf('payment', paymentId)}:refunds`;
}

function refundsSupported(provider: ProviderId): boolean {
  return (REFUND_PROVIDER_IDS as readonly ProviderId[]).includes(provider);
}

/** The payment's ledger as it stands, or undefined before its first refund request. */
export async function ledgerOf(deps: ApiDeps, paymentId: string): Promise<RefundLedgerState | undefined> {
  const handle = deps.client.workflow.getHandle(ledgerIdOf(paymentId));
  try {
    return await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
      handle.query(refundLedgerQuery)
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** A payment's view with what its refunds returned, once one was asked for (`GET /v1/payments/{id}`). */
export async function withRefunds(deps: ApiDeps, view: PaymentView): Promise<PaymentView> {
  const ledger = await ledgerOf(deps, view.id);
  if (!ledger) return view;
  return {
    ...view,
    refundedAmount: ledger.refundedAmount,
    refunds: ledger.refunds.map(({ refundId, amount, status, requestedAt }) => ({
      id: refundId,
      amount,
      status,
      requestedAt,
    })),
  };
}

/** An existing refund under this id, or undefined. */
async function existingRefund(deps: ApiDeps, refundId: string): Promise<RefundState | undefined> {
  const handle = deps.client.workflow.getHandle(workflowIdOf('refund', refundId));
  try {
    return await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
      handle.query(REFUNDS.stateQuery)
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

const createRefundRoute = defineRoute({
  method: 'post',
  path: '/v1/payments/:id/refunds',
  operationId: 'createRefund',
  summary: 'Refund a payment',
  description:
    'Returns money of a paid payment to its customer, in full or in part; several partial refunds may follow ' +
    'one another up to the amount paid, and refunds still in flight count against it. Idempotent by `reference`: ' +
    'the same request answers 200 with the same refund. The refund is sent to the provider at most once; an answer ' +
    'that was lost is resolved by asking the provider (status `UNKNOWN` meanwhile), never by refunding again.',
  tags: [REFUNDS.tag],
  auth: 'merchant',
  bodyKind: 'json',
  params: IdParamsSchema,
  headers: IdempotencyHeadersSchema,
  body: RefundCreateSchema,
  responses: {
    201: { description: 'The refund, with the provider’s first answer.', schema: RefundViewSchema },
    200: {
      description: 'The same request was made before: the existing refund.',
      schema: RefundViewSchema,
      headers: { 'Idempotent-Replayed': '`true`: this answer replays an earlier request.' },
    },
    202: { description: 'Accepted; the provider has not answered yet (status `REQUESTED`).', schema: RefundViewSchema },
    400: errorResponse('Invalid request: every bad field is listed in `errors`.'),
    404: errorResponse('No such payment for this merchant.'),
    409: errorResponse(
      '`payment_not_refundable` (not paid), `refund_exceeds_refundable` (more than remains), `refund_window_over`, or the `reference` was used for another refund of this payment.'
    ),
    422: errorResponse('`refund_not_supported`: the payment’s provider offers no refunds.'),
    ...commonErrors,
  },
  async handler({ deps, merchant, params, body, requestId, res }) {
    const { state: payment } = await loadOwned(deps, PAYMENTS, params.id, merchant);
    // One refund per payment and reference: a replay is answered before anything about the payment is
    // checked again (it may have changed since, e.g. to refunded).
    const refundId = deriveId('refund', merchant.id, `${payment.id}\u0000${body.reference}`);
    const fingerprint = requestFingerprint({ ...body, paymentId: payment.id });
    const before = await existingRefund(deps, refundId);
    if (before) return answer(res, 'replayed', refuseOther(before, fingerprint));
    if (!refundsSupported(payment.provider)) {
      throw new ApiError(
        422,
        'invalid_request_error',
        'refund_not_supported',
        `${payment.provider} offers no refunds: return the money another way (a payout)`
      );
    }
    if (!REFUNDABLE.has(payment.status) || payment.paidAmount === undefined) {
      throw new ApiError(
        409,
        'state_error',
        'payment_not_refundable',
        `payment ${payment.id} is ${payment.status}, not paid`
      );
    }
    const amount = body.amount ?? remainingOf(payment.paidAmount, await ledgerOf(deps, payment.id));
    if (amount <= 0) {
      throw new ApiError(
        409,
        'state_error',
        'refund_exceeds_refundable',
        `nothing of payment ${payment.id} remains to refund`
      );
    }
    const input: Omit<RefundWorkflowInput, 'ledgerWorkflowId' | 'resume'> = {
      refundId,
      merchantId: merchant.id,
      merchantReference: body.reference,
      provider: payment.provider,
      amount,
      callbackUrl: callbackUrlOf(deps.config, payment.provider),
      requestFingerprint: fingerprint,
      createdByRequest: requestId,
      timings: deps.config.timings,
      payment: {
        reference: payment.id,
        providerReference: payment.providerReference,
        amount: payment.amount,
        method: payment.method,
        createdAt: payment.createdAt,
      },
      paidAmount: payment.paidAmount,
      reason: body.reason ?? 'refund requested by the merchant',
      ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    };
    const request: RefundRequest = {
      refund: input,
      searchAttributes: searchAttributesOf({
        kind: 'refund',
        status: REFUNDS.initialStatus,
        provider: payment.provider,
        merchantId: merchant.id,
        reference: body.reference,
        amount,
      }),
      summary: `${REFUNDS.summary({ ...input, ledgerWorkflowId: '' })} via ${payment.provider} for ${merchant.id}/${body.reference}`,
      details: [`merchant: ${merchant.id}`, `reference: ${body.reference}`, `created by request: ${requestId}`].join(
        '\n'
      ),
    };
    const ledgerInput: RefundLedgerInput = {
      paymentId: payment.id,
      merchantId: merchant.id,
      provider: payment.provider,
      payment: input.payment,
      paidAmount: payment.paidAmount,
      timings: deps.config.timings,
    };
    await reserve(deps, ledgerInput, request);
    const state = refuseOther(await firstAnswerOf(deps, refundId), fingerprint);
    // Identical requests sent together all reserve; the ledger starts the refund once, for the first,
    // whose request its state names (a state without it comes from a worker of an earlier release).
    const startedByOther = state.createdByRequest !== undefined && state.createdByRequest !== requestId;
    answer(res, REFUNDS.isPending(state) ? 'pending' : startedByOther ? 'replayed' : 'created', state);
  },
});

function remainingOf(paidAmount: number, ledger: RefundLedgerState | undefined): number {
  return paidAmount - (ledger?.reservedAmount ?? 0);
}

/**
 * The refund's first answer (the provider's, or its state after 10 s). A refund that closed before the
 * update arrived takes no update: its state is read instead.
 */
async function firstAnswerOf(deps: ApiDeps, refundId: string): Promise<RefundState> {
  const handle = deps.client.workflow.getHandle(workflowIdOf('refund', refundId));
  try {
    return await deps.client.withDeadline(Date.now() + deps.timeouts.createMs, () =>
      handle.executeUpdate(REFUNDS.firstAnswer)
    );
  } catch (err) {
    const state = await existingRefund(deps, refundId).catch(() => undefined);
    if (state) return state;
    throw err;
  }
}

/** The refund under this payment and reference is this very request (a replay), or a 409. */
function refuseOther(existing: RefundState, fingerprint: string): RefundState {
  if (existing.requestFingerprint !== fingerprint) {
    throw new ApiError(
      409,
      'idempotency_error',
      'idempotency_conflict',
      `reference ${existing.merchantReference} was already used for another refund of this payment`,
      { param: 'reference' }
    );
  }
  return existing;
}

/** Reserves the refund on the payment's ledger (started by the first request), which starts the refund. */
async function reserve(deps: ApiDeps, ledger: RefundLedgerInput, request: RefundRequest): Promise<void> {
  const operation = new WithStartWorkflowOperation<Workflow>('refundLedgerWorkflow', {
    workflowId: ledgerIdOf(ledger.paymentId),
    taskQueue: deps.config.temporal.taskQueue,
    args: [ledger],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    staticSummary: `Refunds of payment ${ledger.paymentId} (${ledger.paidAmount} IDR paid)`,
  });
  try {
    await deps.client.withDeadline(Date.now() + deps.timeouts.createMs, () =>
      deps.client.workflow.executeUpdateWithStart(requestRefundUpdate, {
        startWorkflowOperation: operation,
        args: [request],
      })
    );
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      // The ledger has closed (REJECT_DUPLICATE keeps it closed): the payment's refund window is over.
      throw new ApiError(
        409,
        'state_error',
        'refund_window_over',
        `the refund window of payment ${ledger.paymentId} is over`
      );
    }
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      if (err.cause.type === REFUND_REFUSED) throw refusalError(err.cause.details?.[0], updateFailureMessage(err));
    }
    throw err;
  }
}

/**
 * The answer to a refund the ledger refused, by the reason it gave (workflows/refund-ledger.ts). A ledger
 * on a worker from before the reasons gives none: its two refusals a merchant can act on are read from
 * the start of its message, which is Kasir's own text (the merchant's reference comes later in it).
 */
export function refusalError(given: unknown, message: string): ApiError {
  const reason =
    given ??
    (message.startsWith('the refund window')
      ? 'window_over'
      : /^amount \d+ is more than/.test(message)
        ? 'exceeds_refundable'
        : undefined);
  switch (reason as RefundRefusalReason | undefined) {
    case 'reference_reused':
      return new ApiError(409, 'idempotency_error', 'idempotency_conflict', message, { param: 'reference' });
    case 'window_over':
      return new ApiError(409, 'state_error', 'refund_window_over', message);
    case 'exceeds_refundable':
      return new ApiError(409, 'state_error', 'refund_exceeds_refundable', message, { param: 'amount' });
    case 'invalid_amount':
      return new ApiError(400, 'invalid_request_error', 'validation_failed', message, { param: 'amount' });
    case 'other_merchant':
    case undefined:
    default:
      // A reason this API does not know (a later worker's) is refused as it is worded.
      return new ApiError(409, 'idempotency_error', 'refund_refused', message);
  }
}

function answer(
  res: {
    status(code: number): unknown;
    set(name: string, value: string): unknown;
    location(url: string): unknown;
    json(body: unknown): unknown;
  },
  outcome: 'created' | 'replayed' | 'pending',
  state: RefundState
): void {
  res.status(outcome === 'created' ? 201 : outcome === 'replayed' ? 200 : 202);
  res.location(REFUNDS.path.replace(':id', state.id));
  if (outcome === 'replayed') res.set('Idempotent-Replayed', 'true');
  res.json(REFUNDS.view(state));
}

/** Bills have no refunds at Ayopop (docs/providers/ayopop.md): said plainly rather than a 404. */
const billRefundRoute = defineRoute({
  method: 'post',
  path: '/v1/bills/payments/:id/refunds',
  operationId: 'createBillRefund',
  summary: 'Refund a bill payment (not supported)',
  description: 'Ayopop offers no refunds of bill payments: always 422 `refund_not_supported`.',
  tags: [REFUNDS.tag],
  auth: 'merchant',
  bodyKind: 'none',
  params: IdParamsSchema,
  responses: { 422: errorResponse('`refund_not_supported`.'), ...commonErrors },
  handler() {
    throw new ApiError(
      422,
      'invalid_request_error',
      'refund_not_supported',
      'bill payments cannot be refunded: the biller does not return money through Ayopop'
    );
  },
});

const RefundResolveSchema = PayoutResolveSchema.omit({ force: true }).meta({ id: 'RefundResolve' });

/** An operator settles a refund the provider's status could not prove (a partial refund whose answer was lost). */
const resolveRefundRoute = defineRoute({
  method: 'post',
  path: '/v1/operator/refunds/:id/resolve',
  operationId: 'resolveRefund',
  summary: 'Resolve a refund whose outcome is unknown (operator)',
  description:
    `Operators only (\`${OPERATOR_KEY_HEADER}\` header). Settles an UNKNOWN refund as SUCCEEDED or FAILED, with evidence ` +
    "recorded in its history. Providers report a payment's status, not a refund's, so a partial refund whose answer " +
    'was lost can only be settled this way; a FAILED frees its amount for new refunds of the payment. A FAILED for a ' +
    'full refund is first checked with the provider: a payment it shows refunded proves the refund, which stands (409); ' +
    'while the provider cannot be asked the FAILED is refused too (409, try again later).',
  tags: ['Operator'],
  auth: 'operator',
  bodyKind: 'json',
  params: IdParamsSchema,
  body: RefundResolveSchema,
  responses: {
    200: { description: 'The refund, now final.', schema: RefundViewSchema },
    400: errorResponse('Invalid request.'),
    404: errorResponse('No such refund.'),
    409: errorResponse(
      'The refund workflow refused the resolution, with its reason (not UNKNOWN, already final, or proven by the provider).'
    ),
    ...commonErrors,
  },
  async handler({ deps, params, body, res, log }) {
    const { handle } = await loadOwned(deps, REFUNDS, params.id, undefined);
    const request: ResolveRefundRequest = { outcome: body.outcome, evidence: body.evidence, operator: body.operator };
    const state = await updateMovement(deps, REFUNDS, handle, resolveRefundUpdate, [request]);
    log.warn({ refundId: params.id, operator: body.operator, outcome: body.outcome }, 'refund resolved by operator');
    res.json(REFUNDS.view(state));
  },
});

export const refundRoutes: AnyRoute[] = [
  createRefundRoute,
  billRefundRoute,
  resolveRefundRoute,
  getMovementRoute(REFUNDS),
  listMovementsRoute(REFUNDS, {
    filters: { status: z.enum(REFUND_STATUSES), provider: z.enum(REFUND_PROVIDER_IDS) },
  }),
];
