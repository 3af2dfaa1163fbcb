/** Provider callbacks after verification and parsing at the API edge, as signalled to workflows. */
import type { BillPaymentOutcome } from './bill';
import type { PaymentOutcome } from './payment';
import type { PayoutOutcome } from './payout';
import type { ProviderId } from './provider';

/**
 * How far a callback can be trusted.
 * - `verified`: its body is covered by a signature we checked (Finpay HMAC);
 * - `hint`: it proves only who sent it, or nothing: NICEPAY signs headers, not the body; Ayopop signs
 *   nothing; BDPay's `platSign` is checked but read as a hint (docs/providers/bdpay.md §2.4: the signature
 *   does not protect everything the callback says). The workflow confirms a hint by status inquiry
 *   before acting.
 */
export type CallbackTrust = 'verified' | 'hint';

interface CallbackBase {
  provider: ProviderId;
  /** Kasir's reference as sent to the provider (order id, partner reference, refNumber). */
  reference: string;
  /** Stable per provider event, so repeated deliveries are recognised: e.g. `PAID:<providerRef>`. */
  eventId: string;
  trust: CallbackTrust;
  /** ISO-8601 instant Kasir received it. */
  receivedAt: string;
}

export type ProviderCallbackEvent =
  | (CallbackBase & { kind: 'payment'; outcome: PaymentOutcome })
  | (CallbackBase & { kind: 'payout'; outcome: PayoutOutcome })
  | (CallbackBase & { kind: 'bill'; outcome: BillPaymentOutcome });

/** A callback without the fields the API edge stamps on it. */
export type ParsedCallback =
  | { kind: 'payment'; reference: string; eventId: string; trust: CallbackTrust; outcome: PaymentOutcome }
  | { kind: 'payout'; reference: string; eventId: string; trust: CallbackTrust; outcome: PayoutOutcome }
  | { kind: 'bill'; reference: string; eventId: string; trust: CallbackTrust; outcome: BillPaymentOutcome };
