/**
 * The state each kind of movement starts from. Written once, for the frozen workflows in `legacy/` and
 * the current ones alike: both start a new execution from exactly this shape.
 */
import type { BillState, BillWorkflowInput, PaymentState, PaymentWorkflowInput } from './movement-state';
import type { PayoutState, PayoutWorkflowInput } from './movement-state';
import { nowIso } from './status-and-timeline';

/** All but the last four digits hidden; an account number of four digits or fewer is hidden whole. */
export function maskAccount(accountNumber: string): string {
  return accountNumber.length <= 4 ? '****' : `${'*'.repeat(accountNumber.length - 4)}${accountNumber.slice(-4)}`;
}

export function initialPaymentState(input: PaymentWorkflowInput): PaymentState {
  const at = nowIso();
  return {
    id: input.paymentId,
    kind: 'payment',
    merchantId: input.merchantId,
    merchantReference: input.merchantReference,
    provider: input.provider,
    method: input.method,
    amount: input.amount,
    status: 'REGISTERING',
    requestFingerprint: input.requestFingerprint,
    needsAttention: false,
    createdAt: at,
    updatedAt: at,
    timeline: [],
    metadata: input.metadata,
  };
}

export function initialPayoutState(input: PayoutWorkflowInput): PayoutState {
  const at = nowIso();
  return {
    id: input.payoutId,
    kind: 'payout',
    merchantId: input.merchantId,
    merchantReference: input.merchantReference,
    provider: input.provider,
    amount: input.amount,
    feeMode: input.feeMode,
    beneficiary: {
      bankCode: input.beneficiary.bankCode,
      accountNumberMasked: maskAccount(input.beneficiary.accountNumber),
    },
    status: 'SUBMITTING',
    requestFingerprint: input.requestFingerprint,
    submitted: false,
    needsAttention: false,
    createdAt: at,
    updatedAt: at,
    timeline: [],
    metadata: input.metadata,
  };
}

export function initialBillState(input: BillWorkflowInput): BillState {
  const at = nowIso();
  return {
    id: input.billId,
    kind: 'bill',
    merchantId: input.merchantId,
    merchantReference: input.merchantReference,
    provider: input.provider,
    productCode: input.productCode,
    status: 'INQUIRED',
    requestFingerprint: input.requestFingerprint,
    paymentSubmitted: false,
    needsAttention: false,
    createdAt: at,
    updatedAt: at,
    timeline: [],
  };
}
