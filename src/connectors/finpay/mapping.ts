/**
 * Kasir ↔ Finpay: domain input to Finpay requests, Finpay answers and callbacks to domain outcomes.
 * Amounts and times are converted here and nowhere else.
 */
import type { ParsedCallback } from '../../domain/callback';
import { ProviderAuthError, ProviderRequestRejectedError, ProviderResponseInvalidError } from '../../domain/errors';
import type { KasirError } from '../../domain/errors';
import { fromJakartaWallClock, toJakartaWallClock } from '../../domain/jakarta-time';
import { fromRupiahString, toRupiahString } from '../../domain/money';
import type { Rupiah } from '../../domain/money';
import type {
  CreatePaymentInput,
  PaymentInstructions,
  PaymentMethod,
  PaymentOutcome,
  ProviderPaymentStatus,
} from '../../domain/payment';
import { FinpayPaymentStatus } from './schemas';
import type {
  FinpayCallback,
  FinpayEnvelope,
  InitiateRequest,
  InitiateResponse,
  SourceOfFundsType,
  StatusCheckResponse,
} from './schemas';

/** Kasir methods Finpay takes, and the `sourceOfFunds.type` each one is (docs/providers/finpay.md §3.2). */
export const SOURCE_OF_FUNDS_BY_METHOD = {
  FINPAY_CODE: 'finpaycode',
  VA_BCA: 'vabca',
  VA_MANDIRI: 'vamandiri',
  VA_BNI: 'vabni',
  VA_BRI: 'vabri',
  VA_PERMATA: 'vapermata',
  VA_CIMB: 'vacimb',
  VA_BNC: 'vabnc',
  VA_MAYBANK: 'vamaybank',
  VA_DANAMON: 'vadanamon',
  QRIS: 'qris',
  RETAIL_ALFAMART: 'alfamart',
  RETAIL_INDOMARET: 'idm',
  EWALLET_OVO: 'ovo',
  EWALLET_DANA: 'dana',
  EWALLET_LINKAJA: 'linkaja',
  EWALLET_SHOPEEPAY: 'shopeepay',
} as const satisfies Partial<Record<PaymentMethod, SourceOfFundsType>>;

export type FinpayMethod = keyof typeof SOURCE_OF_FUNDS_BY_METHOD;
export const FINPAY_METHODS = Object.keys(SOURCE_OF_FUNDS_BY_METHOD) as FinpayMethod[];

export function isFinpayMethod(method: PaymentMethod): method is FinpayMethod {
  return Object.hasOwn(SOURCE_OF_FUNDS_BY_METHOD, method);
}

/** Default order lifetime when the caller gives none (order object appendix: 1440 minutes). */
export const DEFAULT_ORDER_TIMEOUT_MINUTES = 1440;

/** How the customer pays each method, which decides the fields the initiate answer must carry. */
export type InstructionKind = 'payment-code' | 'virtual-account' | 'qris' | 'ewallet';

export function instructionKindOf(type: SourceOfFundsType): InstructionKind {
  if (type === 'qris') return 'qris';
  if (type.startsWith('va')) return 'virtual-account';
  if (type === 'ovo' || type === 'dana' || type === 'linkaja' || type === 'shopeepay') return 'ewallet';
  return 'payment-code';
}

/**
 * Finpay's `YYYY-MM-DD HH:MM:SS` (WIB, no zone on the wire) to an ISO-8601 instant.
 *
 * @throws ProviderResponseInvalidError when it is not such a time.
 */
export function wibToIso(value: string): string {
  const instant = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)
    ? fromJakartaWallClock(value.replace(' ', 'T'))
    : undefined;
  if (!instant) throw new ProviderResponseInvalidError(`not a Finpay datetime: ${value}`, { provider: 'finpay' });
  return instant.toISOString();
}

/** An instant as Finpay writes it: `YYYY-MM-DD HH:MM:SS` in WIB. */
export function toWib(instant: Date): string {
  return toJakartaWallClock(instant).replace('T', ' ');
}

/** `+62…` from `08…`, `62…` or `+62…` (Finpay wants E.164, docs/providers/finpay.md §7.3). */
export function toE164Phone(phone: string): string {
  const digits = phone.replace(/[\s().-]/g, '');
  if (digits.startsWith('+')) return digits;
  if (digits.startsWith('0')) return `+62${digits.slice(1)}`;
  return `+${digits}`;
}

/** `08…` from any of the forms above: OVO's `sourceOfFunds.accountId` is local (docs/providers/finpay.md §7.3). */
export function toLocalPhone(phone: string): string {
  const e164 = toE164Phone(phone);
  return e164.startsWith('+62') ? `0${e164.slice(3)}` : e164.replace(/^\+/, '');
}

function splitName(name: string): { firstName?: string; lastName?: string } {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return {};
  const firstName = words[0]!.slice(0, 50);
  const lastName = words.slice(1).join(' ').slice(0, 50);
  return lastName ? { firstName, lastName } : { firstName };
}

/** Builds the initiate request: Kasir's reference is `order.id`, so every callback names it. */
export function toInitiateRequest(input: CreatePaymentInput & { method: FinpayMethod }): InitiateRequest {
  const type = SOURCE_OF_FUNDS_BY_METHOD[input.method];
  if (input.customer.phone === undefined) {
    // The live sandbox refuses orders without it (docs/providers/finpay.md §7.3), so don't send one.
    throw new ProviderRequestRejectedError("Finpay requires the customer's mobile phone (customer.mobilePhone)", {
      provider: 'finpay',
      field: 'customer.mobilePhone',
    });
  }
  const phone = toE164Phone(input.customer.phone);
  const description = input.description.trim().slice(0, 127);
  const amount = toRupiahString(input.amount);
  // DANA and LinkAja refuse orders without items, and DANA wants each item's category (docs/providers/finpay.md §7.3).
  const needsItems = type === 'dana' || type === 'linkaja';
  const url: InitiateRequest['url'] = { callbackUrl: input.callbackUrl };
  if (input.returnUrl !== undefined) {
    url.successUrl = input.returnUrl;
    url.failUrl = input.returnUrl;
    url.backUrl = input.returnUrl;
  }
  return {
    order: {
      id: input.reference,
      amount,
      currency: 'IDR',
      ...(description ? { description } : {}),
      timeout: input.expiresInMinutes > 0 ? Math.ceil(input.expiresInMinutes) : DEFAULT_ORDER_TIMEOUT_MINUTES,
      ...(needsItems
        ? { item: [{ name: description || input.reference, quantity: 1, unitPrice: amount, category: 'general' }] }
        : {}),
    },
    customer: {
      ...(input.customer.email === undefined ? {} : { email: input.customer.email }),
      ...splitName(input.customer.name),
      mobilePhone: phone,
    },
    url,
    sourceOfFunds: { type, ...(type === 'ovo' ? { accountId: toLocalPhone(phone) } : {}) },
  };
}

/** For each kind of method, the initiate answer field that carries what the customer needs, and where it goes. */
const INSTRUCTION_FIELDS: Record<
  InstructionKind,
  readonly ['paymentCode' | 'imageurl' | 'appurl', 'vaNumber' | 'paymentCode' | 'qrImageUrl' | 'deeplink']
> = {
  'virtual-account': ['paymentCode', 'vaNumber'],
  'payment-code': ['paymentCode', 'paymentCode'],
  qris: ['imageurl', 'qrImageUrl'],
  ewallet: ['appurl', 'deeplink'],
};

/** What the customer needs, from an initiate answer already parsed for its channel. */
export function toPaymentInstructions(type: SourceOfFundsType, response: InitiateResponse): PaymentInstructions {
  const instructions: PaymentInstructions = { expiresAt: wibToIso(response.expiryLink) };
  if (response.redirecturl !== undefined) instructions.redirectUrl = response.redirecturl;
  const [answerField, instructionField] = INSTRUCTION_FIELDS[instructionKindOf(type)];
  const value = response[answerField];
  if (value !== undefined) instructions[instructionField] = value;
  return instructions;
}

/**
 * Finpay status to Kasir's provider status. Only an explicit success or failure counts as one; an
 * unknown word is pending (docs/providers/finpay.md §4.2 lists the known ones).
 */
export function toProviderPaymentStatus(status: string): ProviderPaymentStatus {
  const known = FinpayPaymentStatus.safeParse(status);
  if (!known.success) return 'pending';
  const finpayStatus = known.data;
  switch (finpayStatus) {
    // PAID for VA, QRIS, e-wallet, retail and paycode; CAPTURED for cards (docs/providers/finpay.md §4.2).
    case 'PAID':
    case 'CAPTURED':
      return 'succeeded';
    // Part of the money stays with the merchant, so the payment as such still succeeded.
    case 'PARTIALLY_REFUNDED':
      return 'succeeded';
    case 'REFUNDED':
      return 'refunded';
    // A void returns an authorised or paid amount before settlement: for Kasir the money went back.
    case 'VOIDED':
      return 'refunded';
    case 'CANCELLED':
      return 'cancelled';
    case 'EXPIRED':
      return 'expired';
    case 'FAILURE':
      return 'failed';
    // PARTIALLY_CAPTURED is card-only and ambiguous for a full payment: wait for CAPTURED or a failure.
    case 'PARTIALLY_CAPTURED':
    case 'REQUEST_INITIATED':
    case 'PENDING':
    case 'INITIATED':
    case 'AUTHENTICATION_INITIATED':
    case 'AUTHENTICATED':
    case 'AUTHORIZED':
      return 'pending';
    default: {
      const exhaustive: never = finpayStatus;
      return exhaustive;
    }
  }
}

/** Whole rupiah from Finpay's amount (a string of digits or an integer). */
export function fromFinpayAmount(amount: string | number): Rupiah {
  return typeof amount === 'number' ? amount : fromRupiahString(amount);
}

type ReportedPayment = Pick<StatusCheckResponse['data'], 'order' | 'sourceOfFunds'> & {
  result?: StatusCheckResponse['data']['result'];
};

/** The provider's view of a payment, from a status check's `data` or a callback. */
export function toPaymentOutcome(report: ReportedPayment): PaymentOutcome {
  const payment = report.result?.payment;
  // A callback may omit `result` (optional in the callback table): without a status it is pending.
  const providerStatus = payment?.status ?? 'UNKNOWN';
  const status = toProviderPaymentStatus(providerStatus);
  const outcome: PaymentOutcome = { status, providerStatus };
  if (report.order.reference != null) outcome.providerReference = report.order.reference;
  if (status === 'succeeded' || status === 'refunded') {
    outcome.paidAmount = fromFinpayAmount(payment?.amount ?? report.order.amount);
    if (payment?.datetime != null) outcome.paidAt = wibToIso(payment.datetime);
  }
  if (status === 'failed') {
    outcome.failure = { code: providerStatus, message: payment?.statusDesc ?? 'Finpay reported the payment as failed' };
  }
  return outcome;
}

/** A verified callback as Kasir's canonical event. */
export function toParsedCallback(callback: FinpayCallback): ParsedCallback {
  const payment = callback.result?.payment;
  const status = payment?.status ?? 'UNKNOWN';
  // Retries resend the same body; distinct events on one order differ in status or time.
  const eventId = [callback.order.id, status, payment?.datetime ?? ''].join(':');
  return {
    kind: 'payment',
    reference: callback.order.id,
    eventId,
    trust: 'verified',
    outcome: toPaymentOutcome(callback),
  };
}

/** Codes with a meaning the connector acts on (docs/providers/finpay.md §4.1). */
export const FinpayCode = {
  featureNotAllowed: '4030001',
  transactionNotPermitted: '4030015',
  invalidTransactionStatus: '4040100',
} as const;

/** SNAP `404xx01` (Finpay `4040001`): the transaction does not exist at Finpay. */
export function isTransactionNotFound(responseCode: string): boolean {
  return /^404\d{2}01$/.test(responseCode);
}

/** The taxonomy error for a refusal the connector has no business meaning for. */
export function toRefusalError(what: string, httpStatus: number, refusal: FinpayEnvelope): KasirError {
  const { responseCode, responseMessage } = refusal;
  const message = `finpay rejected ${what}: ${responseCode} ${responseMessage}`;
  const details = { provider: 'finpay' as const, providerCode: responseCode, httpStatus };
  // 401: credentials; 403: the merchant's setup (channel not enabled, address not allowed), except
  // "Transaction Not Permitted", which is about the order's state.
  if (
    responseCode.startsWith('401') ||
    (responseCode.startsWith('403') && responseCode !== FinpayCode.transactionNotPermitted)
  ) {
    return new ProviderAuthError(message, details);
  }
  if (httpStatus >= 400 && httpStatus < 500) {
    const field = fieldFromFinpayMessage(responseMessage);
    return new ProviderRequestRejectedError(message, { ...details, ...(field ? { field } : {}) });
  }
  // A 2xx with a failure code is outside the SNAP convention (code prefix = HTTP status) Finpay follows.
  return new ProviderResponseInvalidError(message, details);
}

/**
 * The field a 4000001/4000002 message names, as a request path. Finpay words it Laravel-style
 * ("Invalid Mandatory Field customer.mobile phone", "The customer.mobile phone format is invalid"),
 * so the words are joined back into camelCase.
 */
export function fieldFromFinpayMessage(message: string): string | undefined {
  const match =
    /Invalid Mandatory Field\.?\s+(.+?)\.?$/i.exec(message) ?? /The\s+(.+?)\s+format is invalid/i.exec(message);
  if (!match) return undefined;
  return match[1]!
    .split('.')
    .map((segment) =>
      segment
        .trim()
        .split(/\s+/)
        .map((word, i) => (i === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1)))
        .join('')
    )
    .join('.');
}

/** A request path as Finpay words it in messages: `customer.mobilePhone` → `customer.mobile phone`. */
export function toFinpayFieldWording(path: readonly PropertyKey[]): string {
  return path
    .map((segment) =>
      String(segment)
        .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
        .toLowerCase()
    )
    .join('.');
}
