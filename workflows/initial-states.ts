/**
 * The state each kind of movement starts from. Written once, for the frozen workflows in `legacy/` and
 * the current ones alike: both start a new execution from exactly this shape. Each state's fields keep
 * their order (id first, metadata last), the order merchants read in JSON.
 */
import type { BillState, BillWorkflowInput, PaymentState, PaymentWorkflowInput } from './movement-state';
import type { PayoutState, PayoutWorkflowInput, RefundState, RefundWorkflowInput } from './movement-state';
import type { TimelineEntry } from './movement-state';
import { nowIso } from './status-and-timeline';

/** All but the last four digits hidden; an account number of four digits or fewer is hidden whole. */
export function maskAccount(accountNumber: string): string {
  return accountNumber.length <= 4 ? '****' : `${'*'.repeat(accountNumber.length - 4)}${accountNumber.slice(-4)}`;
}

/** The fields every movement's state opens with: which movement it is, whose, and with which provider. */
function opening<K extends string, P extends string>(
  id: string,
  kind: K,
  input: { merchantId: string; merchantReference: string; provider: P }
): { id: string; kind: K; merchantId: string; merchantReference: string; provider: P } {
  const { merchantId, merchantReference, provider } = input;
  return { id, kind, merchantId, merchantReference, provider };
}

/**
 * The fields every movement's state closes with: its first status, the request's fingerprint and the
 * request that started it (`request`), the kind's own flags (`flags`), not flagged for attention,
 * created and updated now, no timeline yet.
 */
function closing<S extends string, F extends object>(
  status: S,
  request: { requestFingerprint: string; createdByRequest?: string },
  flags: F
) {
  const at = nowIso();
  const timeline: TimelineEntry[] = [];
  const { requestFingerprint, createdByRequest } = request;
  // Absent for executions started before the field existed: the key stays out of their state.
  const startedBy = createdByRequest === undefined ? {} : { createdByRequest };
  return {
    status,
    requestFingerprint,
    ...startedBy,
    ...flags,
    needsAttention: false,
    createdAt: at,
    updatedAt: at,
    timeline,
  };
}

export function initialPaymentState(input: PaymentWorkflowInput): PaymentState {
  return {
    ...opening(input.paymentId, 'payment', input),
    method: input.method,
    amount: input.amount,
    ...closing('REGISTERING', input, {}),
    metadata: input.metadata,
  };
}

export function initialPayoutState(input: PayoutWorkflowInput): PayoutState {
  return {
    ...opening(input.payoutId, 'payout', input),
    amount: input.amount,
    feeMode: input.feeMode,
    beneficiary: {
      bankCode: input.beneficiary.bankCode,
      accountNumberMasked: maskAccount(input.beneficiary.accountNumber),
    },
    ...closing('SUBMITTING', input, { submitted: false }),
    metadata: input.metadata,
  };
}

export function initialBillState(input: BillWorkflowInput): BillState {
  return {
    ...opening(input.billId, 'bill', input),
    productCode: input.productCode,
    ...closing('INQUIRED', input, { paymentSubmitted: false }),
  };
}

export function initialRefundState(input: RefundWorkflowInput): RefundState {
  return {
    ...opening(input.refundId, 'refund', input),
    paymentId: input.payment.reference,
    amount: input.amount,
    reason: input.reason,
    ...closing('REQUESTED', input, { submitted: false }),
    metadata: input.metadata,
  };
}
