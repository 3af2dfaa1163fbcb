/**
 * What merchants see of a workflow's state: everything except internals (the request fingerprint).
 * Typed by the same zod schemas the OpenAPI document shows, so a state field the schema does not
 * describe, or describes differently, fails type-checking here.
 */
import type { BillState, PaymentState, PayoutState } from '../../workflows/types';
import type { BillView, PaymentView, PayoutView } from './schemas';

export function paymentView(state: PaymentState): PaymentView {
  const { requestFingerprint: _fingerprint, ...view } = state;
  return view;
}

export function payoutView(state: PayoutState): PayoutView {
  const { requestFingerprint: _fingerprint, ...view } = state;
  return view;
}

export function billView(state: BillState): BillView {
  const { requestFingerprint: _fingerprint, ...view } = state;
  return { ...view, ...(state.inquiry ? { total: billTotalOf(state) } : {}) };
}

/** What the merchant's customer pays for an inquired bill (the workflow checks `expectedTotal` against the same sum). */
export function billTotalOf(state: BillState): number | undefined {
  return state.inquiry ? state.inquiry.amount + state.inquiry.totalAdmin + state.inquiry.processingFee : undefined;
}
