/**
 * Money in: the canonical vocabulary every pay-in connector maps to and every workflow reasons in.
 * Pure types and helpers, safe to import from workflows.
 */
import type { Rupiah } from './money';

/** Every way a customer can pay, across providers. A connector lists the subset it supports. */
export const PAYMENT_METHODS = [
  'FINPAY_CODE',
  'VA_BCA',
  'VA_MANDIRI',
  'VA_BNI',
  'VA_BRI',
  'VA_PERMATA',
  'VA_CIMB',
  'VA_BNC',
  'VA_SAMPOERNA',
  'VA_MAYBANK',
  'VA_DANAMON',
  'QRIS',
  'RETAIL_ALFAMART',
  'RETAIL_INDOMARET',
  'EWALLET_OVO',
  'EWALLET_DANA',
  'EWALLET_LINKAJA',
  'EWALLET_SHOPEEPAY',
] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

/**
 * What a provider says about a payment, mapped. Only an explicit success or failure from the provider
 * maps to `succeeded`/`failed`; anything unrecognised is `pending`.
 * - `not_found`: the provider does not know this order (yet): evidence, never grounds to fail. A
 *   registration whose answer was lost may not have reached the provider, or not been stored yet.
 */
export type ProviderPaymentStatus =
  'pending' | 'succeeded' | 'failed' | 'expired' | 'cancelled' | 'refunded' | 'not_found';

/** The payment's lifecycle as Kasir reports it to merchants. */
export const PAYMENT_STATUSES = [
  'REGISTERING',
  'PENDING',
  'SUCCEEDED',
  'EXPIRED',
  'CANCELLED',
  'FAILED',
  'REFUNDED',
  'AMOUNT_MISMATCH',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export interface PaymentCustomer {
  name: string;
  email?: string;
  /** Digits, optionally with a leading `+`, e.g. `+6281286288844` or `081286288844`. */
  phone?: string;
}

/** What a connector needs to register a payment with its provider. */
export interface CreatePaymentInput {
  /**
   * Kasir's payment id, derived from merchant and merchant reference; sent to the provider as its
   * order id / partner reference so every callback names it. Alphanumeric, at most 24 characters.
   */
  reference: string;
  amount: Rupiah;
  method: PaymentMethod;
  customer: PaymentCustomer;
  description: string;
  /** Minutes until the provider should stop accepting payment. */
  expiresInMinutes: number;
  /** Where the provider should send its callback for this payment (Kasir's `/callbacks/<provider>`). */
  callbackUrl: string;
  /** Where the customer's browser returns after a hosted or redirect flow. */
  returnUrl?: string;
}

/** What the customer needs in order to pay. Fields appear as the method has them. */
export interface PaymentInstructions {
  vaNumber?: string;
  paymentCode?: string;
  redirectUrl?: string;
  /** App deeplink (e-wallets). */
  deeplink?: string;
  /** QRIS payload to render as a QR code. */
  qrContent?: string;
  qrImageUrl?: string;
  /**
   * Kasir's hosted checkout page for this payment (signed, unguessable, valid until the payment closes
   * plus a grace period); present when `checkout` is configured.
   */
  checkoutUrl?: string;
  /** ISO-8601 instant after which the provider no longer accepts payment. */
  expiresAt: string;
}

/** Identifies a payment at its provider, for inquiry, cancel and refund. */
export interface PaymentRef {
  reference: string;
  /** The provider's own id (NICEPAY `referenceNo`, BDPay `platOrderNum`), once known. */
  providerReference?: string;
  amount: Rupiah;
  method: PaymentMethod;
  /** ISO-8601 instant the payment was registered; some status calls require the transaction date. */
  createdAt: string;
}

export interface ProviderFailure {
  code: string;
  message: string;
}

/** The provider's view of a payment, mapped: returned by inquiries and carried by callbacks. */
export interface PaymentOutcome {
  status: ProviderPaymentStatus;
  /** The provider's raw status word or code, kept for operators. */
  providerStatus: string;
  providerReference?: string;
  paidAmount?: Rupiah;
  /** ISO-8601. */
  paidAt?: string;
  failure?: ProviderFailure;
}

/** Registration either yields instructions, or the provider declined (an outcome, not an error). */
export type PaymentRegistration =
  | { result: 'registered'; providerReference?: string; instructions: PaymentInstructions; outcome: PaymentOutcome }
  | { result: 'declined'; failure: ProviderFailure };

/**
 * The ladder a payment's status only climbs, so a late or repeated report can never move it backwards.
 * Equal ranks never replace each other: the first terminal state wins.
 */
export function paymentStatusRank(status: PaymentStatus): number {
  switch (status) {
    case 'REGISTERING':
    case 'PENDING':
      return 0;
    case 'FAILED':
    case 'EXPIRED':
    case 'CANCELLED':
      return 1;
    // AMOUNT_MISMATCH: money arrived, but not the amount that was due; as final as a success, never mistaken for one.
    case 'SUCCEEDED':
    case 'AMOUNT_MISMATCH':
      return 2;
    case 'REFUNDED':
      return 3;
  }
}

/** FAILED, EXPIRED or CANCELLED: closed without the money arriving (a late payment may still come). */
export function closedWithoutPayment(status: PaymentStatus): boolean {
  return paymentStatusRank(status) === 1;
}
