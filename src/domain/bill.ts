/** Bills and digital products (PPOB): inquiry, payment, status. Pure types, safe to import from workflows. */
import type { Rupiah } from './money';
import { statusLadder } from './status-ladder';

export interface BillInquiryInput {
  productCode: string;
  accountNumber: string;
  amount?: Rupiah;
  zoneId?: string;
  month?: number;
}

/** The parts of an answered inquiry that add up to what the customer pays. */
export interface BillInquiryAmounts {
  /** Bill amount before fees. */
  amount: Rupiah;
  totalAdmin: Rupiah;
  processingFee: Rupiah;
}

/**
 * What the merchant's customer pays for an inquired bill: `amount + totalAdmin + processingFee`, or
 * undefined while the inquiry has not answered. The one definition of a bill's total: the bill
 * workflow checks a confirmation's `expectedTotal` against it, and the merchant view (API answers and
 * webhooks alike, see `merchant-view.ts`) shows it as `total`.
 */
export function billTotalOf(bill: { inquiry?: BillInquiryAmounts }): Rupiah | undefined {
  return bill.inquiry ? bill.inquiry.amount + bill.inquiry.totalAdmin + bill.inquiry.processingFee : undefined;
}

/** Kasir's code for an inquiry the biller answered without a price, when the merchant named none either. */
export const PRICE_NOT_QUOTED = 'PRICE_NOT_QUOTED';

/**
 * An answered inquiry with the price it will be paid for. A biller may answer a fixed-price product's
 * inquiry without its price (Ayopop quotes `amount: 0` for a Google Play voucher and takes the price
 * with the payment: seed 004): the merchant's `amount` from the inquiry request is then the price, and
 * the payment carries it (a wrong one is refused by the biller, paying nothing). With neither, the
 * inquiry fails: a bill is never shown, confirmed or paid for 0.
 */
export function withQuotedPrice(outcome: BillInquiryOutcome, requested: BillInquiryInput): BillInquiryOutcome {
  if (outcome.result !== 'ok' || outcome.amount > 0) return outcome;
  if (requested.amount !== undefined && requested.amount > 0) return { ...outcome, amount: requested.amount };
  return {
    result: 'failed',
    providerCode: PRICE_NOT_QUOTED,
    reason: {
      id: `Biller tidak menyebut harga ${requested.productCode}: kirim harganya sebagai amount pada inkuiri`,
      en: `the biller quoted no price for ${requested.productCode}: send its price as amount with the inquiry`,
    },
  };
}

export interface BillDetailLine {
  key: string;
  value: string;
}

export type BillInquiryOutcome =
  | {
      result: 'ok';
      inquiryId: string;
      customerName: string;
      productCode: string;
      productName?: string;
      /** Bill amount before fees. */
      amount: Rupiah;
      totalAdmin: Rupiah;
      processingFee: Rupiah;
      /** ISO-8601 instant after which the inquiry can no longer be paid, when the provider says. */
      expiresAt?: string;
      details: BillDetailLine[];
      providerCode: string;
    }
  | { result: 'failed'; providerCode: string; reason: { id: string; en: string } };

export interface BillPaymentInput {
  reference: string;
  inquiryId: string;
  productCode: string;
  accountNumber: string;
  amount: Rupiah;
  callbackUrl?: string;
}

/**
 * A bill payment as the provider reports it. `processing` covers 2xx codes, 188, duplicate reference,
 * timeouts and any code outside the documented ranges: it is resolved by status, never by paying again.
 */
export type ProviderBillStatus = 'processing' | 'succeeded' | 'failed';

export interface BillPaymentOutcome {
  status: ProviderBillStatus;
  providerCode: string;
  message?: string;
  transactionId?: string;
  /** Token, serial number or voucher the customer needs (PLN token, pulsa serial...). */
  token?: string;
  amount?: Rupiah;
  /** True when the failure refunded the partner deposit (codes 100-199). */
  depositRefunded?: boolean;
}

export const BILL_STATUSES = [
  'INQUIRED',
  'INQUIRY_FAILED',
  'PAYING',
  'PROCESSING',
  'SUCCEEDED',
  'FAILED',
  'EXPIRED',
  'CANCELLED',
  'AMOUNT_MISMATCH',
] as const;
export type BillStatus = (typeof BILL_STATUSES)[number];

/** The ladder a bill's status only climbs; a success after a failure report still reaches the merchant. */
const BILL_LADDER = statusLadder(
  BILL_STATUSES,
  [
    ['INQUIRED'],
    ['PAYING'],
    ['PROCESSING'],
    ['INQUIRY_FAILED', 'EXPIRED', 'CANCELLED', 'FAILED'],
    ['SUCCEEDED', 'AMOUNT_MISMATCH'],
  ],
  3
);

/** Where `status` stands on the bill ladder: a report may only replace a lower rank. */
export function billStatusRank(status: BillStatus): number {
  return BILL_LADDER.rank(status);
}

/** A bill whose payment has its last word (or that can no longer be paid). */
export function billIsFinal(status: BillStatus): boolean {
  return BILL_LADDER.isFinal(status);
}
