/** How a movement reads once a provider's late report of money is confirmed: one shape for the API and the record. */
import type { Rupiah } from './money';

/** What a confirmed late callback establishes about a movement that closed without money. */
export interface LateCorrection {
  kind: 'payment' | 'payout' | 'bill';
  correctedStatus: 'SUCCEEDED' | 'AMOUNT_MISMATCH';
  attentionReason?: string;
  paidAmount?: Rupiah;
  receivedAt: string;
}

/**
 * The movement with the corrected status, flagged for attention with the reason; a payment also gets
 * the amount paid and when the report came.
 */
export function lateCorrected<M extends object>(movement: M, correction: LateCorrection) {
  return {
    ...movement,
    status: correction.correctedStatus,
    needsAttention: true,
    attentionReason: correction.attentionReason,
    ...(correction.kind === 'payment' ? { paidAmount: correction.paidAmount, paidAt: correction.receivedAt } : {}),
  };
}
