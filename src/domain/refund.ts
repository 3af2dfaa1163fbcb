/** Refunds: money back to the customer of a paid payment. Pure types and rules, safe to import from workflows. */
import type { Rupiah } from './money';
import type { PaymentOutcome, PaymentRef, ProviderFailure } from './payment';
import type { ProviderId } from './provider';
import { statusLadder } from './status-ladder';

export const REFUND_STATUSES = ['REQUESTED', 'UNKNOWN', 'PROCESSING', 'FAILED', 'SUCCEEDED'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/**
 * The ladder a refund's status only climbs. As for payouts, FAILED ranks below SUCCEEDED: money the
 * provider returned after a failure must still reach the merchant as returned.
 */
const REFUND_LADDER = statusLadder(
  REFUND_STATUSES,
  [['REQUESTED'], ['UNKNOWN'], ['PROCESSING'], ['FAILED'], ['SUCCEEDED']],
  3
);

/** Where `status` stands on the refund ladder: a report may only replace a lower rank. */
export function refundStatusRank(status: RefundStatus): number {
  return REFUND_LADDER.rank(status);
}

/** FAILED or SUCCEEDED: the provider's (or an operator's) last word. */
export function refundIsFinal(status: RefundStatus): boolean {
  return REFUND_LADDER.isFinal(status);
}

/** What a refund asks of the provider: the payment it refunds and how much of it. */
export interface SubmitRefundInput {
  payment: PaymentRef;
  /** Kasir's refund id: NICEPAY's `partnerRefundNo`; Finpay takes none (docs/providers/finpay.md §6). */
  refundReference: string;
  amount: Rupiah;
  reason: string;
}

/**
 * How the provider answered a refund: `accepted` (the provider took it; its payment status after it is
 * in `payment`), or `refused` (it definitely refunded nothing: not paid, above what remains, not
 * permitted). Anything else is an unknown outcome, thrown, and resolved by query, never by resubmitting.
 */
export type RefundSubmission =
  { result: 'accepted'; payment: PaymentOutcome } | { result: 'refused'; failure: ProviderFailure };

/**
 * What a status inquiry of the payment proves about a refund whose answer was lost. Providers report
 * the payment, not the refund: a payment now `refunded` in full proves a refund of all that remained of
 * it, that is of the whole paid amount less what earlier refunds had already returned (`refundedBefore`,
 * the payment's SUCCEEDED refunds when this one was requested); anything else proves nothing either way
 * (a partial refund leaves the payment paid). Refunds still in flight when this one was requested are
 * not counted: with one of them this refund may or may not be what emptied the payment.
 */
export function refundProvenBy(payment: PaymentOutcome, refund: RefundToProve): boolean {
  return payment.status === 'refunded' && refundProvableByStatus(refund);
}

/** A refund as its proof needs it: whose payment, how much, and what earlier refunds had returned. */
export interface RefundToProve {
  provider: ProviderId;
  amount: Rupiah;
  paidAmount: Rupiah;
  refundedBefore?: Rupiah;
}

/**
 * Whether a payment's status could prove this refund at all: it must return all that remained of the
 * payment, and after earlier partial refunds only a provider whose status tells a partly refunded
 * payment from a fully refunded one proves the remainder: Finpay (`PARTIALLY_REFUNDED`,
 * docs/providers/finpay.md §4). NICEPAY's status codes have no partial-refund state
 * (docs/providers/nicepay.md §4): after a partial refund its status may already read refunded.
 */
export function refundProvableByStatus(refund: RefundToProve): boolean {
  const refundedBefore = refund.refundedBefore ?? 0;
  if (refundedBefore > 0 && !STATUS_TELLS_PARTIAL_REFUNDS.has(refund.provider)) return false;
  return refund.amount + refundedBefore === refund.paidAmount;
}

const STATUS_TELLS_PARTIAL_REFUNDS: ReadonlySet<ProviderId> = new Set<ProviderId>(['finpay']);
