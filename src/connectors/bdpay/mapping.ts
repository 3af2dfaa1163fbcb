/**
 * Kasir's domain ⇄ BDPay's wire vocabulary. Requests are built here unsigned (client.ts signs them);
 * answers and callbacks are turned into Kasir outcomes here, with exhaustive status maps where anything
 * unrecognised means "still pending/processing", never success or failure.
 */
import type { ZodType } from 'zod';
import type { ParsedCallback } from '../../domain/callback';
import {
  CallbackPayloadError,
  OperationNotSupportedError,
  OutcomeUnknownError,
  ProviderRequestRejectedError,
  ProviderResponseInvalidError,
  ProviderUnavailableError,
} from '../../domain/errors';
import { toJakartaWallClock } from '../../domain/jakarta-time';
import { fromRupiahString, isRupiah, toRupiahString } from '../../domain/money';
import type {
  CreatePaymentInput,
  PaymentInstructions,
  PaymentMethod,
  PaymentOutcome,
  PaymentRegistration,
  ProviderPaymentStatus,
} from '../../domain/payment';
import type {
  PayoutOutcome,
  PayoutSubmission,
  ProviderBalance,
  ProviderPayoutStatus,
  SubmitPayoutInput,
} from '../../domain/payout';
import {
  BDPAY_METHODS,
  BDPAY_PATHS,
  CashStatusSchema,
  CUSTOMER_NAME_MAX_LENGTH,
  DESCRIPTION_MAX_LENGTH,
  EXPIRY_PERIOD_MAX_MINUTES,
  EXPIRY_PERIOD_MIN_MINUTES,
  OrderStatusSchema,
  OVO_CONFIRMATION_WINDOW_MS,
  PayInCallbackSchema,
  PayoutCallbackSchema,
  PlatRespCodeSchema,
  PRODUCT_DETAIL_MAX_LENGTH,
  type BalanceResponse,
  type BdpayMethod,
  type CashResponse,
  type FeeType,
  type PayInResponse,
  type PlatRespCode,
  type QueryResponse,
  type QueryType,
} from './schemas';

const provider = 'bdpay';

/** A request body before `sign` is added: every value is text, empty ones are left out. */
export type UnsignedFields = Record<string, string>;

export interface RequestContext {
  merchantCode: string;
  now: Date;
}

// ---------- shared ----------

/** BDPay's methods, in Kasir's vocabulary: the literals are identical. */
export const SUPPORTED_METHODS: readonly PaymentMethod[] = BDPAY_METHODS;

export function toBdpayMethod(method: PaymentMethod): BdpayMethod {
  const match = BDPAY_METHODS.find((m) => m === method);
  if (match === undefined) {
    throw new OperationNotSupportedError(`BDPay does not offer ${method}`, { provider, field: 'method' });
  }
  return match;
}

/**
 * DANA is an app redirect, so it goes through the hosted cashier, which answers with a `url`.
 * Every other method has its instructions (VA number, payment code, QRIS string, OVO push) on `/gateway/pay`.
 */
export function payInPathFor(method: BdpayMethod): (typeof BDPAY_PATHS)['pay' | 'prepaidOrder'] {
  return method === 'EWALLET_DANA' ? BDPAY_PATHS.prepaidOrder : BDPAY_PATHS.pay;
}

/** `yyyyMMddHHmmss` in Jakarta time: the platform's local clock. (inferred) */
export function toWireDateTime(now: Date): string {
  return toJakartaWallClock(now).replace(/\D/g, '');
}

function withoutEmpty(fields: Record<string, string | undefined>): UnsignedFields {
  const result: UnsignedFields = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== '') result[key] = value;
  return result;
}

function asciiFold(text: string): string {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
}

/**
 * The VA display name (docs/providers/bdpay.md §7.2): it is only shown to the payer and never verified, but
 * must be letters, digits and spaces, at most 30 characters, so anything else is dropped rather than sent.
 */
export function toDisplayName(name: string): string {
  const cleaned = asciiFold(name)
    .replace(/[^A-Za-z0-9 ]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, CUSTOMER_NAME_MAX_LENGTH)
    .trim();
  return cleaned.length > 0 ? cleaned : 'Customer';
}

/** Free text reduced to printable ASCII (avoid Chinese, emoji and special characters: docs/providers/bdpay.md §7.2). */
export function toPlainText(text: string, maxLength: number): string {
  return asciiFold(text)
    .replace(/[^\x20-\x7e]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, maxLength)
    .trim();
}

/**
 * The phone must be digits only, in the local form of BDPay's OVO example `082113086611`
 * (docs/providers/bdpay.md §7.2).
 */
export function toLocalPhone(phone: string): string {
  const digits = phone.replace(/[\s().-]/g, '');
  const local = digits.startsWith('+62')
    ? `0${digits.slice(3)}`
    : digits.startsWith('62')
      ? `0${digits.slice(2)}`
      : digits;
  if (!/^\d+$/.test(local)) {
    throw new ProviderRequestRejectedError('BDPay takes a phone number of digits only', { provider, field: 'phone' });
  }
  return local;
}

function requireAmount(amount: number, field: string): string {
  if (!isRupiah(amount)) {
    throw new ProviderRequestRejectedError('BDPay takes a positive whole number of rupiah', { provider, field });
  }
  return toRupiahString(amount);
}

function knownCode(code: string): PlatRespCode | undefined {
  const parsed = PlatRespCodeSchema.safeParse(code);
  return parsed.success ? parsed.data : undefined;
}

/** Kasir's code for a FAIL that says the orderNum is already taken: the order exists at BDPay. */
export const DUPLICATE_ORDER_CODE = 'DUPLICATE_ORDER';

/**
 * Whether a FAIL's message says the order already exists (the simulator, like the platform family, says
 * `orderNum already exists`). BDPay has no code for it, so the wording is read: "order" with "exist" or
 * "duplicat", case aside. Reading too much here is the safe side: it only turns a refusal into an
 * unknown outcome resolved by query, whereas reading too little reports a live order as failed.
 */
export function saysOrderExists(message: string | undefined): boolean {
  if (message === undefined) return false;
  const text = message.toLowerCase();
  return text.includes('order') && (text.includes('exist') || text.includes('duplicat'));
}

function assertSameOrder(reference: string, echoed: string | undefined, what: string): void {
  if (echoed !== undefined && echoed !== reference) {
    throw new ProviderResponseInvalidError(`BDPay answered ${what} for order ${echoed}, not ${reference}`, {
      provider,
    });
  }
}

// ---------- pay-in ----------

export function toPayInRequest(input: CreatePaymentInput, ctx: RequestContext): UnsignedFields {
  const method = toBdpayMethod(input.method);
  const minutes = input.expiresInMinutes;
  if (!Number.isInteger(minutes) || minutes < EXPIRY_PERIOD_MIN_MINUTES || minutes > EXPIRY_PERIOD_MAX_MINUTES) {
    throw new ProviderRequestRejectedError(
      `BDPay orders expire ${EXPIRY_PERIOD_MIN_MINUTES} to ${EXPIRY_PERIOD_MAX_MINUTES} minutes after creation`,
      { provider, field: 'expiryPeriod' }
    );
  }
  if (!input.customer.email) {
    throw new ProviderRequestRejectedError('BDPay requires the customer email', { provider, field: 'email' });
  }
  if (!input.customer.phone) {
    // For EWALLET_OVO this is the number OVO pushes the payment to (docs/providers/bdpay.md §7.2).
    throw new ProviderRequestRejectedError('BDPay requires the customer phone number', { provider, field: 'phone' });
  }
  return withoutEmpty({
    merchantCode: ctx.merchantCode,
    orderNum: input.reference,
    payMoney: requireAmount(input.amount, 'payMoney'),
    method,
    productDetail: toPlainText(input.description, PRODUCT_DETAIL_MAX_LENGTH),
    name: toDisplayName(input.customer.name),
    email: input.customer.email.trim(),
    phone: toLocalPhone(input.customer.phone),
    notifyUrl: input.callbackUrl,
    redirectUrl: input.returnUrl,
    expiryPeriod: String(minutes),
    dateTime: toWireDateTime(ctx.now),
  });
}

/**
 * How the customer pays each method, which decides what an order's answer carries: a VA number, an
 * Alfamart payment code (in `vaNumber`), a QRIS string, a DANA redirect, or nothing (OVO pushes the
 * payment to the customer's app; docs/providers/bdpay.md §7.2).
 */
export type InstructionKind = 'virtual-account' | 'payment-code' | 'qris' | 'ewallet-redirect' | 'ewallet-push';

export function instructionKindOf(method: BdpayMethod): InstructionKind {
  switch (method) {
    case 'VA_BCA':
    case 'VA_MANDIRI':
    case 'VA_PERMATA':
    case 'VA_CIMB':
    case 'VA_BNI':
    case 'VA_BRI':
    case 'VA_BNC':
    case 'VA_SAMPOERNA':
    case 'VA_MAYBANK':
    case 'VA_DANAMON':
      return 'virtual-account';
    case 'RETAIL_ALFAMART':
      return 'payment-code';
    case 'QRIS':
      return 'qris';
    case 'EWALLET_DANA':
      return 'ewallet-redirect';
    case 'EWALLET_OVO':
      return 'ewallet-push';
  }
}

function toInstructions(method: BdpayMethod, response: PayInResponse, expiresAt: string): PaymentInstructions {
  const missing = (field: string) =>
    new ProviderResponseInvalidError(`BDPay accepted a ${method} order without its ${field}`, { provider, field });
  switch (instructionKindOf(method)) {
    case 'virtual-account':
      if (response.vaNumber === undefined) throw missing('vaNumber');
      return { vaNumber: response.vaNumber, redirectUrl: response.url, expiresAt };
    case 'payment-code':
      if (response.vaNumber === undefined) throw missing('vaNumber');
      return { paymentCode: response.vaNumber, redirectUrl: response.url, expiresAt };
    case 'qris':
      if (response.qrString === undefined && response.url === undefined) throw missing('qrString');
      return { qrContent: response.qrString, redirectUrl: response.url, expiresAt };
    case 'ewallet-redirect':
      if (response.url === undefined) throw missing('url');
      return { redirectUrl: response.url, expiresAt };
    case 'ewallet-push':
      return { redirectUrl: response.url, expiresAt };
  }
}

/**
 * `FAIL` is a decline (nothing was created), except a FAIL saying the orderNum already exists: that is
 * evidence an earlier attempt of ours (whose answer was lost) created it, so it is an unknown outcome,
 * code DUPLICATE_ORDER. That, and any other answer that is not `SUCCESS`, leaves the order's existence
 * unknown, resolved by ORDER_QUERY, never by creating again.
 */
export function toPaymentRegistration(
  response: PayInResponse,
  input: CreatePaymentInput,
  now: Date
): PaymentRegistration {
  const code = knownCode(response.platRespCode);
  if (code === 'FAIL' && saysOrderExists(response.platRespMessage)) {
    throw new OutcomeUnknownError(
      `BDPay already holds order ${input.reference} ("${response.platRespMessage ?? ''}"); resolve it by ORDER_QUERY`,
      { provider, providerCode: DUPLICATE_ORDER_CODE }
    );
  }
  if (code === 'FAIL') {
    return {
      result: 'declined',
      failure: { code: 'FAIL', message: response.platRespMessage ?? 'BDPay refused the order' },
    };
  }
  if (code !== 'SUCCESS') {
    throw new OutcomeUnknownError(`BDPay answered ${response.platRespCode} to an order; it may exist`, {
      provider,
      providerCode: response.platRespCode,
    });
  }
  assertSameOrder(input.reference, response.orderNum, 'an order');
  const method = toBdpayMethod(input.method);
  const windowMs = method === 'EWALLET_OVO' ? OVO_CONFIRMATION_WINDOW_MS : input.expiresInMinutes * 60_000;
  const expiresAt = new Date(now.getTime() + windowMs).toISOString();
  return {
    result: 'registered',
    providerReference: response.platOrderNum,
    instructions: toInstructions(method, response, expiresAt),
    outcome: { status: 'pending', providerStatus: 'INIT_ORDER', providerReference: response.platOrderNum },
  };
}

export function toPaymentStatus(status: string | undefined): ProviderPaymentStatus {
  const known = OrderStatusSchema.safeParse(status);
  if (!known.success) return 'pending';
  switch (known.data) {
    case 'INIT_ORDER':
    case 'NO_PAY':
    case 'OPEN_PAY_URL':
      return 'pending';
    case 'SUCCESS':
      return 'succeeded';
    case 'PAY_CANCEL':
      // BDPay has no cancel API and refunds happen offline (docs/providers/bdpay.md §4.2), so the platform
      // cancels an order only when its expiryPeriod lapses. A PAY_CANCEL after SUCCESS (an offline refund)
      // cannot move a succeeded payment back: Kasir ranks succeeded above expired.
      return 'expired';
    case 'PAY_ERROR':
      return 'failed';
  }
}

export function toQueryRequest(queryType: QueryType, reference: string, ctx: RequestContext): UnsignedFields {
  return withoutEmpty({
    merchantCode: ctx.merchantCode,
    queryType,
    orderNum: reference,
    dateTime: toWireDateTime(ctx.now),
  });
}

/**
 * Reads a query answer's `platRespCode`: `found` for SUCCESS, `not-found` for NOTEXIST. FAIL means the
 * query itself was refused; UNKNOWN, ERROR and anything unrecognised are worth asking again.
 */
function toQueryResult(response: QueryResponse, reference: string): 'found' | 'not-found' {
  const code = knownCode(response.platRespCode);
  switch (code) {
    case 'SUCCESS':
      assertSameOrder(reference, response.orderNum, 'a query');
      return 'found';
    case 'NOTEXIST':
      return 'not-found';
    case 'FAIL':
      throw new ProviderRequestRejectedError(`BDPay refused the query: ${response.platRespMessage ?? 'FAIL'}`, {
        provider,
        providerCode: 'FAIL',
      });
    case 'UNKNOWN':
    case 'ERROR':
    case undefined:
      throw new ProviderUnavailableError(`BDPay could not answer the query (${response.platRespCode})`, {
        provider,
        providerCode: response.platRespCode,
      });
  }
}

/**
 * An order BDPay does not know is reported `not_found` with provider status NOTEXIST: evidence, never
 * grounds to fail, since the order may simply not have reached BDPay (yet).
 */
export function toPaymentOutcome(response: QueryResponse, reference: string): PaymentOutcome {
  if (toQueryResult(response, reference) === 'not-found') return { status: 'not_found', providerStatus: 'NOTEXIST' };
  const status = toPaymentStatus(response.status);
  return {
    status,
    providerStatus: response.status ?? response.platRespCode,
    providerReference: response.platOrderNum,
    paidAmount: status === 'succeeded' ? response.amount : undefined,
    failure:
      status === 'failed'
        ? { code: response.status ?? 'PAY_ERROR', message: response.msg ?? 'payment failed' }
        : undefined,
  };
}

// ---------- payouts ----------

const FEE_TYPES: Record<SubmitPayoutInput['feeMode'], FeeType> = { deducted: '0', merchant: '1' };

export function toCashRequest(input: SubmitPayoutInput, ctx: RequestContext): UnsignedFields {
  const description = toPlainText(input.description, DESCRIPTION_MAX_LENGTH);
  return withoutEmpty({
    merchantCode: ctx.merchantCode,
    orderNum: input.reference,
    money: requireAmount(input.amount, 'money'),
    feeType: FEE_TYPES[input.feeMode],
    bankCode: input.beneficiary.bankCode.trim(),
    number: input.beneficiary.accountNumber.replace(/[\s-]/g, ''),
    // Bank, number and name must match the account, case aside (docs/providers/bdpay.md §7.3): the name goes as given.
    name: input.beneficiary.accountName.trim(),
    description: description.length > 0 ? description : `Payout ${input.reference}`,
    notifyUrl: input.callbackUrl,
    dateTime: toWireDateTime(ctx.now),
  });
}

/**
 * BDPay's rule for payout answers (docs/providers/bdpay.md §4.1): SUCCESS means accepted, FAIL means it was not
 * created, UNKNOWN means nobody knows. Every other answer is treated like UNKNOWN: only FAIL proves nothing moved.
 * A FAIL saying the orderNum already exists proves the opposite: this payout was submitted before (an
 * answer lost, a re-run activity) and exists, so it is `unknown` with code DUPLICATE_ORDER, for
 * CASH_QUERY to resolve.
 */
export function toPayoutSubmission(response: CashResponse, reference: string): PayoutSubmission {
  assertSameOrder(reference, response.orderNum, 'a payout');
  const code = knownCode(response.platRespCode);
  const common = { providerCode: response.platRespCode, message: response.platRespMessage };
  switch (code) {
    case 'SUCCESS':
      return { result: 'accepted', providerReference: response.platOrderNum, fee: response.fee, ...common };
    case 'FAIL':
      if (saysOrderExists(response.platRespMessage)) {
        return { result: 'unknown', providerCode: DUPLICATE_ORDER_CODE, message: response.platRespMessage };
      }
      return { result: 'failed', ...common };
    case 'UNKNOWN':
    case 'ERROR':
    case 'NOTEXIST':
    case undefined:
      return { result: 'unknown', providerReference: response.platOrderNum, ...common };
  }
}

/** Status 2 is success, 3 and 4 are failure, anything else is still processing (docs/providers/bdpay.md §4.3). */
export function toPayoutStatus(status: string | undefined): Exclude<ProviderPayoutStatus, 'not_found'> {
  const known = CashStatusSchema.safeParse(status);
  if (!known.success) return 'processing';
  switch (known.data) {
    case '0':
    case '1':
    case '5':
      return 'processing';
    case '2':
      return 'succeeded';
    case '3':
    case '4':
      return 'failed';
  }
}

export function toPayoutOutcome(response: QueryResponse, reference: string): PayoutOutcome {
  if (toQueryResult(response, reference) === 'not-found') return { status: 'not_found', providerStatus: 'NOTEXIST' };
  const status = toPayoutStatus(response.status);
  return {
    status,
    providerStatus: response.status ?? response.platRespCode,
    providerReference: response.platOrderNum,
    amount: response.amount,
    fee: response.fee,
    failure:
      status === 'failed' ? { code: response.status ?? 'FAIL', message: response.msg ?? 'payout failed' } : undefined,
  };
}

export function toBalanceRequest(ctx: RequestContext): UnsignedFields {
  return { merchantCode: ctx.merchantCode, dateTime: toWireDateTime(ctx.now) };
}

export function toProviderBalance(response: BalanceResponse): ProviderBalance {
  if (knownCode(response.platRespCode) !== 'SUCCESS' || response.balance === undefined) {
    throw new ProviderUnavailableError(`BDPay could not report the balance (${response.platRespCode})`, {
      provider,
      providerCode: response.platRespCode,
    });
  }
  return { available: response.balance, frozen: response.freeze };
}

// ---------- callbacks ----------

function parseOrThrow<T>(schema: ZodType<T>, fields: Record<string, string>, what: string): T {
  const parsed = schema.safeParse(fields);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
  throw new CallbackPayloadError(`BDPay ${what} callback does not parse: ${detail}`, { provider });
}

/**
 * Maps a callback whose `platSign` has already been verified. A payout callback carries `status` and
 * `money`; a pay-in callback carries `code` and `payMoney` (docs/providers/bdpay.md §5). Every field must match its
 * documented format (schemas.ts), or the callback is refused with CallbackPayloadError.
 *
 * Both are `hint`s, not `verified`, although signed: platSign covers the field values joined with no
 * separator (signing.ts), so digits can move between neighbouring fields without breaking it. A
 * genuine pay-in callback for fee 4000 and amount 150000 verifies as fee 40001 and amount 50000; a
 * payout's `fee`, `feeType` and `money` (2500, 0, 150000) verify as 25000, 1, 50000. The strict formats
 * refuse most reslicings, but not these, where every value stays well-formed. So the workflow confirms
 * status and amount by ORDER_QUERY / CASH_QUERY, whose answers carry the amount, before acting, and the
 * outcome here is only what the callback claims.
 */
export function toParsedCallback(fields: Record<string, string>): ParsedCallback {
  if ('status' in fields && 'money' in fields) {
    const body = parseOrThrow(PayoutCallbackSchema, fields, 'payout');
    const status = toPayoutStatus(body.status);
    return {
      kind: 'payout',
      reference: body.orderNum,
      eventId: `payout:${body.platOrderNum}:${body.status}`,
      trust: 'hint',
      outcome: {
        status,
        providerStatus: body.status,
        providerReference: body.platOrderNum,
        amount: fromRupiahString(body.money),
        fee: body.fee === undefined ? undefined : fromRupiahString(body.fee),
        failure: status === 'failed' ? { code: body.status, message: body.statusMsg ?? 'payout failed' } : undefined,
      },
    };
  }
  if ('code' in fields) {
    // BDPay calls back only when an order succeeds, with code 00 (docs/providers/bdpay.md §5); the schema takes
    // no other code.
    const body = parseOrThrow(PayInCallbackSchema, fields, 'pay-in');
    return {
      kind: 'payment',
      reference: body.orderNum,
      eventId: `payin:${body.platOrderNum}:${body.code}`,
      trust: 'hint',
      outcome: {
        status: 'succeeded',
        providerStatus: 'SUCCESS',
        providerReference: body.platOrderNum,
        paidAmount: fromRupiahString(body.payMoney),
      },
    };
  }
  throw new CallbackPayloadError('BDPay callback is neither a pay-in (code) nor a payout (status, money) callback', {
    provider,
  });
}
