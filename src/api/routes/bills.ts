/**
 * Bills (PPOB): an inquiry by update-with-start of `billWorkflow`, then the merchant's confirmation by
 * update (the workflow pays exactly once), then reads by query.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { z } from 'zod';
import type { ProviderId } from '../../domain/provider';
import { BILL_STATUSES, billTotalOf } from '../../domain/bill';
import { MAX_RUPIAH } from '../../domain/money';
import { confirmBillPaymentUpdate, resolveBillUpdate } from '../../../workflows/messages';
import type { BillState, BillWorkflowInput } from '../../../workflows/movement-state';
import { BILLS } from '../movement-kinds';
import { loadOwned, updateMovement } from '../movements';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import { OPERATOR_KEY_HEADER } from '../middleware/auth';
import { BillProviderSchema, BillViewSchema, IdParamsSchema, MerchantReferenceSchema, RupiahSchema } from '../schemas';
import { PayoutResolveSchema, resolveByOperator } from './payouts';
import { movementRoutes } from './movement-pipeline';
import { commonErrors, errorResponse, providerWith } from './route-commons';

export const DEFAULT_BILL_PROVIDER: ProviderId = 'ayopop';

/** The update id every confirmation of a bill for its inquired total (or none named) shares. */
const SAME_CONFIRMATION_UPDATE_ID = 'confirm-bill-payment';

/** A biller's code or number: 1 to 64 characters matching `pattern`. */
function billerCode(pattern: RegExp, message: string) {
  return z.string().min(1).max(64).regex(pattern, message);
}

export const BillInquiryCreateSchema = z
  .strictObject({
    reference: MerchantReferenceSchema,
    productCode: billerCode(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').meta({ example: 'PLNPRE' }),
    accountNumber: billerCode(/^[A-Za-z0-9-]+$/, 'letters, digits and - only').meta({
      description: 'Customer number at the biller (meter, phone, policy).',
    }),
    amount: RupiahSchema.optional().meta({
      description:
        'For open-amount products (prepaid tokens, top-ups), and the price of a fixed-price product the biller quotes ' +
        'no price for at inquiry (vouchers such as Google Play): the bill is then paid for it, and the biller refuses a ' +
        'wrong one. Without it such an inquiry fails with `PRICE_NOT_QUOTED`.',
    }),
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
  ...movementRoutes(BILLS, {
    create: {
      path: '/v1/bills/inquiries',
      operationId: 'createBillInquiry',
      summary: 'Inquire a bill',
      description:
        'Asks the biller what is due (customer name, amount, fees). Nothing is paid until you confirm with POST /v1/bills/payments. ' +
        'Idempotent like payments: `reference` identifies the bill, whatever the `Idempotency-Key` header.',
      body: BillInquiryCreateSchema,
      created: 'Inquired (status INQUIRED) or refused by the biller (status INQUIRY_FAILED).',
      pending:
        'Accepted, but the biller has not answered the inquiry yet (status INQUIRED without `inquiry`): GET it shortly.',
      input({ deps, body, id, base }): BillWorkflowInput {
        const { reference: _reference, provider: requested, ...bill } = body;
        const provider = providerWith(deps.connectors, 'bills', requested ?? DEFAULT_BILL_PROVIDER);
        return { ...base(provider), billId: id, ...bill };
      },
    },
    get: 'The bill, from inquiry to payment result, by the `id` returned by the inquiry.',
    list: {
      filters: { status: z.enum(BILL_STATUSES), provider: BillProviderSchema },
      description: 'Every bill from its inquiry on, paid or not.',
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
      400: errorResponse('Invalid request.'),
      404: errorResponse('No such bill for this merchant.'),
      409: errorResponse('The bill cannot be paid (expired, inquiry failed, total mismatch).'),
      ...commonErrors,
    },
    async handler({ deps, merchant, body, res, requestId }) {
      const { state, handle } = await loadOwned(deps, BILLS, body.billId, merchant);
      // The same confirmation again (for the total it paid, or none named) returns the bill. Anything
      // else is the workflow's to judge: its validator refuses a bill that cannot be paid, with why.
      const sameConfirmation = body.expectedTotal === undefined || body.expectedTotal === billTotalOf(state);
      const replay = (bill: BillState) => void res.set('Idempotent-Replayed', 'true').json(BILLS.view(bill));
      if (state.paymentSubmitted && sameConfirmation) return replay(state);
      let paid: BillState;
      try {
        // Identical confirmations share one update id, so the ones sent together are one update: Temporal
        // runs it once and answers each with the one payment's answer (the validator would refuse all but
        // the first while it pays, although each is the same confirmation).
        paid = await updateMovement(
          deps,
          BILLS,
          handle,
          confirmBillPaymentUpdate,
          [{ expectedTotal: body.expectedTotal, requestId }],
          sameConfirmation ? { updateId: SAME_CONFIRMATION_UPDATE_ID } : {}
        );
      } catch (err) {
        // A confirmation that reached a run the bill continued into after paying: it has paid.
        if (!(err instanceof WorkflowUpdateFailedError) || !sameConfirmation) throw err;
        const now = await loadOwned(deps, BILLS, body.billId, merchant);
        if (!now.state.paymentSubmitted) throw err;
        return replay(now.state);
      }
      // A state without `confirmedByRequest` comes from a worker of an earlier release: answered as before.
      if (paid.confirmedByRequest !== undefined && paid.confirmedByRequest !== requestId) return replay(paid);
      res.json(BILLS.view(paid));
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/operator/bills/payments/:id/resolve',
    operationId: 'resolveBill',
    summary: 'Resolve a stuck bill payment (operator)',
    description:
      `Operators only (\`${OPERATOR_KEY_HEADER}\` header; merchant keys are refused). Settles a paid bill that needs ` +
      'attention (its payment unresolved at the provider, e.g. Ayopop answering "processing" for a payment it never received) ' +
      "as SUCCEEDED or FAILED, with evidence that is recorded in its history. If the provider's own status contradicts " +
      'the outcome (a bill it still shows processing contradicts FAILED), the resolution is refused ' +
      '(409 `resolution_contradicted`) unless `force` is true.',
    tags: ['Operator'],
    auth: 'operator',
    bodyKind: 'json',
    params: IdParamsSchema,
    body: PayoutResolveSchema,
    responses: {
      200: { description: 'The bill, now final.', schema: BillViewSchema },
      400: errorResponse('Invalid request.'),
      404: errorResponse('No such bill.'),
      409: errorResponse(
        'The bill workflow refused the resolution, with its reason: already final, not paid, or not needing ' +
          "attention (`invalid_state`), or the provider's own status contradicts the outcome " +
          '(`resolution_contradicted`; resend with `force: true` to apply it anyway).'
      ),
      ...commonErrors,
    },
    async handler({ deps, params, body, res, log }) {
      const { handle } = await loadOwned(deps, BILLS, params.id, undefined);
      const state = await resolveByOperator(deps, BILLS, handle, resolveBillUpdate, body);
      log.warn(
        { billId: params.id, operator: body.operator, outcome: body.outcome, force: body.force },
        'bill resolved by operator'
      );
      res.json(BILLS.view(state));
    },
  }),
];
