/**
 * Bills (PPOB): an inquiry by update-with-start of `billWorkflow`, then the merchant's confirmation by
 * update (the workflow pays exactly once), then reads by query.
 */
import { z } from 'zod';
import type { ProviderId } from '../../domain/provider';
import { MAX_RUPIAH } from '../../domain/money';
import { deriveId, requestFingerprint } from '../../ids';
import type { billWorkflow } from '../../../workflows/bill';
import { billInquiredUpdate, billStateQuery, confirmBillPaymentUpdate } from '../../../workflows/messages';
import {
  KasirAmount,
  KasirKind,
  KasirMerchant,
  KasirMerchantReference,
  KasirNeedsAttention,
  KasirProvider,
  KasirStatus,
} from '../../../workflows/search-attributes';
import type { BillState, BillWorkflowInput } from '../../../workflows/types';
import { ApiError } from '../http-errors';
import { createMovement, loadOwned } from '../movements';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import {
  BillProviderSchema,
  BillViewSchema,
  ErrorResponseSchema,
  IdParamsSchema,
  IdempotencyHeadersSchema,
  MerchantReferenceSchema,
  RupiahSchema,
} from '../schemas';
import { billTotalOf, billView } from '../views';
import { callbackUrlOf, commonErrors, sendCreated } from './shared';

export const DEFAULT_BILL_PROVIDER: ProviderId = 'ayopop';

export const BillInquiryCreateSchema = z
  .strictObject({
    reference: MerchantReferenceSchema,
    productCode: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
      .meta({ example: 'PLNPRE' }),
    accountNumber: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9-]+$/, 'letters, digits and - only')
      .meta({ description: 'Customer number at the biller (meter, phone, policy).' }),
    amount: RupiahSchema.optional().meta({ description: 'For open-amount products (prepaid tokens, top-ups).' }),
    zoneId: z.string().min(1).max(32).optional(),
    month: z.number().int().min(1).max(12).optional(),
    provider: BillProviderSchema.optional().meta({ description: `Defaults to ${DEFAULT_BILL_PROVIDER}.` }),
  })
  .meta({ id: 'BillInquiryRequest' });

export const BillPaymentCreateSchema = z
  .strictObject({
    billId: z.string().min(1).max(64).meta({ description: 'The `id` of an inquiry.' }),
    expectedTotal: z.number().int().min(0).max(MAX_RUPIAH).optional().meta({
      description: 'The total you showed your customer; the payment is refused unless it equals the inquiry total.',
    }),
  })
  .meta({ id: 'BillPaymentRequest' });

export const billRoutes: AnyRoute[] = [
  defineRoute({
    method: 'post',
    path: '/v1/bills/inquiries',
    operationId: 'createBillInquiry',
    summary: 'Inquire a bill',
    description:
      'Asks the biller what is due (customer name, amount, fees). Nothing is paid until you confirm with POST /v1/bills/payments. ' +
      'Idempotent like payments: `reference` identifies the bill, whatever the `Idempotency-Key` header.',
    tags: ['Bills'],
    auth: 'merchant',
    bodyKind: 'json',
    body: BillInquiryCreateSchema,
    headers: IdempotencyHeadersSchema,
    responses: {
      201: {
        description: 'Inquired (status INQUIRED) or refused by the biller (status INQUIRY_FAILED).',
        schema: BillViewSchema,
      },
      200: { description: 'The same request was made before: the existing bill.', schema: BillViewSchema },
      202: {
        description:
          'Accepted, but the biller has not answered the inquiry yet (status INQUIRED without `inquiry`): GET it shortly.',
        schema: BillViewSchema,
      },
      400: { description: 'Invalid request.', schema: ErrorResponseSchema },
      409: { description: 'The `reference` was already used with a different body.', schema: ErrorResponseSchema },
      ...commonErrors,
    },
    async handler({ deps, merchant, body, headers, requestId, res }) {
      const provider = body.provider ?? DEFAULT_BILL_PROVIDER;
      if (!deps.connectors[provider].bills)
        throw ApiError.field('provider', 'provider_not_supported', `${provider} does not pay bills`);
      // The reference is the business key: one reference, one bill, whatever the Idempotency-Key.
      const id = deriveId('bill', merchant.id, body.reference);
      const fingerprint = requestFingerprint(body);
      const input: BillWorkflowInput = {
        billId: id,
        merchantId: merchant.id,
        merchantReference: body.reference,
        provider,
        productCode: body.productCode,
        accountNumber: body.accountNumber,
        amount: body.amount,
        zoneId: body.zoneId,
        month: body.month,
        callbackUrl: callbackUrlOf(deps.config, provider),
        requestFingerprint: fingerprint,
        timings: deps.config.timings,
      };
      const { state, outcome } = await createMovement<typeof billWorkflow, BillState>(deps, {
        kind: 'bill',
        id,
        merchant,
        reference: body.reference,
        idempotencyKey: headers['Idempotency-Key'],
        fingerprint,
        requestId,
        workflowType: 'billWorkflow',
        args: [input],
        searchAttributes: [
          { key: KasirKind, value: 'bill' },
          { key: KasirStatus, value: 'INQUIRED' },
          { key: KasirProvider, value: provider },
          { key: KasirMerchant, value: merchant.id },
          { key: KasirMerchantReference, value: body.reference },
          ...(body.amount !== undefined ? [{ key: KasirAmount, value: body.amount }] : []),
          { key: KasirNeedsAttention, value: false },
        ],
        staticSummary: `Bill ${body.productCode} via ${provider} for ${merchant.id}/${body.reference}`,
        staticDetails: [
          `merchant: ${merchant.id}`,
          `reference: ${body.reference}`,
          `product: ${body.productCode}`,
          `provider: ${provider}`,
          `created by request: ${requestId}`,
        ].join('\n'),
        firstAnswer: billInquiredUpdate,
        stateQuery: billStateQuery,
        // A bill starts INQUIRED before the inquiry answers: pending shows as INQUIRED without `inquiry`.
        isPending: (state) => state.status === 'INQUIRED' && state.inquiry === undefined,
      });
      sendCreated(res, outcome, `/v1/bills/payments/${state.id}`, billView(state));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/bills/payments',
    operationId: 'payBill',
    summary: 'Pay an inquired bill',
    description:
      'Confirms the inquiry: Kasir pays it once and answers with the first result (SUCCEEDED, FAILED or PROCESSING). ' +
      'Repeating the confirmation of a bill already being paid returns it (200, `Idempotent-Replayed: true`); ' +
      'an expired, failed or mismatched bill is a 409.',
    tags: ['Bills'],
    auth: 'merchant',
    bodyKind: 'json',
    body: BillPaymentCreateSchema,
    responses: {
      200: { description: 'The bill after payment (or the repeat of a confirmation).', schema: BillViewSchema },
      400: { description: 'Invalid request.', schema: ErrorResponseSchema },
      404: { description: 'No such bill for this merchant.', schema: ErrorResponseSchema },
      409: {
        description: 'The bill cannot be paid (expired, inquiry failed, total mismatch).',
        schema: ErrorResponseSchema,
      },
      ...commonErrors,
    },
    async handler({ deps, merchant, body, res }) {
      const { state, handle } = await loadOwned(deps, 'bill', body.billId, merchant, billStateQuery);
      const total = billTotalOf(state);
      if (state.paymentSubmitted) {
        if (body.expectedTotal !== undefined && body.expectedTotal !== total) {
          throw new ApiError(
            409,
            'state_error',
            'invalid_state',
            `expectedTotal ${body.expectedTotal} does not match the inquiry total ${total}`,
            {
              param: 'expectedTotal',
            }
          );
        }
        res.set('Idempotent-Replayed', 'true').json(billView(state));
        return;
      }
      if (state.status !== 'INQUIRED') {
        // Closed bills (expired, inquiry failed) take no updates; say why rather than "not found".
        throw new ApiError(
          409,
          'state_error',
          'invalid_state',
          `bill ${state.id} is ${state.status}; only an INQUIRED bill can be paid`
        );
      }
      const paid = await deps.client.withDeadline(Date.now() + deps.timeouts.updateMs, () =>
        handle.executeUpdate(confirmBillPaymentUpdate, { args: [{ expectedTotal: body.expectedTotal }] })
      );
      res.json(billView(paid));
    },
  }),

  defineRoute({
    method: 'get',
    path: '/v1/bills/payments/:id',
    operationId: 'getBill',
    summary: 'Retrieve a bill',
    description: 'The bill, from inquiry to payment result, by the `id` returned by the inquiry.',
    tags: ['Bills'],
    auth: 'merchant',
    bodyKind: 'none',
    params: IdParamsSchema,
    responses: {
      200: { description: 'The bill.', schema: BillViewSchema },
      404: { description: 'No such bill for this merchant.', schema: ErrorResponseSchema },
      ...commonErrors,
    },
    async handler({ deps, merchant, params, res }) {
      const { state } = await loadOwned(deps, 'bill', params.id, merchant, billStateQuery);
      res.json(billView(state));
    },
  }),
];
