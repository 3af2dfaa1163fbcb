/**
 * A bill's inquiry, asked and recorded the same way by the frozen workflow in `legacy/` and the
 * current one: what is asked of the provider, and what of its answer the bill keeps.
 */
import type { BillInquiryInput, BillInquiryOutcome } from '../src/domain/bill';
import type { BillState, BillWorkflowInput } from './movement-state';

/** What the inquiry asks the provider. */
export function billInquiryInputOf(input: BillWorkflowInput): BillInquiryInput {
  return {
    productCode: input.productCode,
    accountNumber: input.accountNumber,
    amount: input.amount,
    zoneId: input.zoneId,
    month: input.month,
  };
}

/**
 * What the bill keeps of an answered inquiry. A provider that names no expiry gets the confirm window
 * from now.
 */
export function answeredInquiryOf(
  outcome: Extract<BillInquiryOutcome, { result: 'ok' }>,
  confirmWindowMs: number
): NonNullable<BillState['inquiry']> {
  return {
    inquiryId: outcome.inquiryId,
    customerName: outcome.customerName,
    productName: outcome.productName,
    amount: outcome.amount,
    totalAdmin: outcome.totalAdmin,
    processingFee: outcome.processingFee,
    expiresAt: outcome.expiresAt ?? new Date(Date.now() + confirmWindowMs).toISOString(),
    details: outcome.details,
  };
}
