/**
 * Kasir's vocabulary ↔ NICEPAY SNAP e-wallet wire shapes. Pure functions: no I/O, no clock reads.
 */
import type { ParsedCallback } from '../../domain/callback';
import {
  OperationNotSupportedError,
  OutcomeUnknownError,
  ProviderAuthError,
  ProviderRequestRejectedError,
  ProviderResponseInvalidError,
  ProviderUnavailableError,
} from '../../domain/errors';
import type { KasirError } from '../../domain/errors';
import { fromSnapAmountValue, toSnapAmountValue } from '../../domain/money';
import type { Rupiah } from '../../domain/money';
import type {
  CreatePaymentInput,
  PaymentMethod,
  PaymentOutcome,
  PaymentRef,
  PaymentRegistration,
  ProviderPaymentStatus,
} from '../../domain/payment';
import { LatestTransactionStatusSchema, SnapServiceCode } from './schemas';
import type {
  DebitNotification,
  DebitPaymentRequest,
  DebitPaymentResponse,
  DebitRefundRequest,
  DebitRefundResponse,
  DebitStatusRequest,
  DebitStatusResponse,
  LatestTransactionStatus,
  MitraCd,
  SnapAmount,
  SnapResponseEnvelope,
} from './schemas';
import type { HttpRequest } from '../http';
import { toSnapTimestamp } from './signing';

export const NICEPAY_METHODS = [
  'EWALLET_OVO',
  'EWALLET_DANA',
  'EWALLET_LINKAJA',
  'EWALLET_SHOPEEPAY',
] as const satisfies readonly PaymentMethod[];
export type NicepayMethod = (typeof NICEPAY_METHODS)[number];

const MITRA_CODE_BY_METHOD: Record<NicepayMethod, MitraCd> = {
  EWALLET_OVO: 'OVOE',
  EWALLET_DANA: 'DANA',
  EWALLET_LINKAJA: 'LINK',
  EWALLET_SHOPEEPAY: 'ESHP',
};

export function isNicepayMethod(method: PaymentMethod): method is NicepayMethod {
  return (NICEPAY_METHODS as readonly PaymentMethod[]).includes(method);
}

export function toMitraCd(method: PaymentMethod): MitraCd {
  if (!isNicepayMethod(method)) {
    throw new OperationNotSupportedError(`NICEPAY e-wallet direct debit does not take ${method}`, {
      provider: 'nicepay',
    });
  }
  return MITRA_CODE_BY_METHOD[method];
}

/**
 * Per-debit limits in rupiah (docs/providers/nicepay.md §7). NICEPAY's pages give none for e-wallets; the
 * amount value is at most 12 characters, and (inferred) Bank Indonesia's Rp 20 million cap on a registered
 * e-money balance bounds any single wallet debit. NICEPAY's SDK tests pay `"1.00"`, so one rupiah is accepted.
 */
export const EWALLET_AMOUNT_LIMITS = { min: 1, max: 20_000_000 } as const;

export function toSnapAmount(amount: Rupiah): SnapAmount {
  return { value: toSnapAmountValue(amount), currency: 'IDR' };
}

/** Reads a SNAP amount from a NICEPAY answer; a fraction of a rupiah means the answer is not what we understand. */
export function fromSnapAmount(amount: SnapAmount, what: string): Rupiah {
  try {
    return fromSnapAmountValue(amount.value);
  } catch (cause) {
    throw new ProviderResponseInvalidError(`NICEPAY ${what} carries a non-whole-rupiah amount ${amount.value}`, {
      provider: 'nicepay',
      cause,
    });
  }
}

export interface DebitPaymentContext {
  merchantId: string;
  now: Date;
  /** Where the customer's browser returns when the payment names no return URL. */
  defaultReturnUrl?: string;
}

/**
 * NICEPAY's cart document (`cartData`, mandatory, a JSON string of at most 4000 chars): one line for the
 * whole payment, in NICEPAY's `count`/`item[]` cart format.
 */
export function toCartData(description: string, amount: Rupiah): string {
  return JSON.stringify({
    count: '1',
    item: [
      {
        goods_name: description.slice(0, 100),
        goods_detail: description.slice(0, 500),
        goods_amt: String(amount),
        goods_quantity: '1',
      },
    ],
  });
}

/** Digits with an optional leading `+`; spaces, dashes and brackets people type are dropped. */
export function toBillingPhone(phone: string | undefined): string {
  const compact = (phone ?? '').replace(/[\s\-().]/g, '');
  if (!/^\+?\d{6,19}$/.test(compact)) {
    throw new ProviderRequestRejectedError(
      'NICEPAY e-wallet debit needs the customer phone number (billingPhone, at most 20 digits)',
      {
        provider: 'nicepay',
        field: 'additionalInfo.billingPhone',
      }
    );
  }
  return compact;
}

/** Service 54 body for a Kasir payment. Kasir's reference is the `partnerReferenceNo`, so notifications name it. */
export function toDebitPaymentRequest(input: CreatePaymentInput, context: DebitPaymentContext): DebitPaymentRequest {
  // NICEPAY requires a browser return URL; without one from the merchant, the customer lands on Kasir's host.
  const returnUrl = input.returnUrl ?? context.defaultReturnUrl ?? new URL('/', input.callbackUrl).toString();
  const validUpTo = toSnapTimestamp(new Date(context.now.getTime() + input.expiresInMinutes * 60_000));
  const goodsName = input.description.slice(0, 200);
  return {
    partnerReferenceNo: input.reference,
    merchantId: context.merchantId,
    subMerchantId: '',
    externalStoreId: '',
    validUpTo,
    pointOfInitiation: 'Mobile App',
    amount: toSnapAmount(input.amount),
    // NICEPAY's own Magento plugin sends the notify URL both here and as dbProcessUrl (docs/providers/nicepay.md §3.2).
    urlParam: [
      { url: input.callbackUrl, type: 'PAY_NOTIFY', isDeeplink: 'Y' },
      { url: returnUrl, type: 'PAY_RETURN', isDeeplink: 'Y' },
    ],
    additionalInfo: {
      mitraCd: toMitraCd(input.method),
      goodsNm: goodsName,
      billingNm: input.customer.name.slice(0, 100),
      billingPhone: toBillingPhone(input.customer.phone),
      callBackUrl: returnUrl,
      dbProcessUrl: input.callbackUrl,
      cartData: toCartData(goodsName, input.amount),
      msId: '',
      msFee: '',
      msFeeType: '',
      mbFee: '',
      mbFeeType: '',
    },
  };
}

export function toPaymentRegistration(response: DebitPaymentResponse, validUpTo: Date): PaymentRegistration {
  return {
    result: 'registered',
    providerReference: response.referenceNo,
    instructions: {
      ...(response.webRedirectUrl ? { redirectUrl: response.webRedirectUrl } : {}),
      ...(response.appRedirectUrl ? { deeplink: response.appRedirectUrl } : {}),
      expiresAt: validUpTo.toISOString(),
    },
    // Registration answers carry no transaction status; the debit waits for the customer.
    outcome: { status: 'pending', providerStatus: response.responseCode, providerReference: response.referenceNo },
  };
}

/** Service 55 body. `originalReferenceNo` is empty when Kasir never saw NICEPAY's answer to the create. */
export function toDebitStatusRequest(ref: PaymentRef, merchantId: string): DebitStatusRequest {
  return {
    merchantId,
    subMerchantId: '',
    originalReferenceNo: ref.providerReference ?? '',
    originalPartnerReferenceNo: ref.reference,
    externalStoreId: '',
    serviceCode: SnapServiceCode.DebitPayment,
    transactionDate: toSnapTimestamp(new Date(ref.createdAt)),
    amount: toSnapAmount(ref.amount),
    additionalInfo: {},
  };
}

/**
 * `latestTransactionStatus` for e-wallets (docs/providers/nicepay.md §4.2). Anything NICEPAY adds later is
 * pending: only an explicit success or failure may settle a payment.
 */
export function toProviderPaymentStatus(latestTransactionStatus: string): ProviderPaymentStatus {
  const known = LatestTransactionStatusSchema.safeParse(latestTransactionStatus);
  if (!known.success) return 'pending';
  const status: LatestTransactionStatus = known.data;
  switch (status) {
    case '00':
      return 'succeeded';
    case '01': // Initiated
    case '03': // Pending
      return 'pending';
    case '04':
      return 'refunded';
    case '05': // Canceled: invalid or expired (validUpTo passed)
      return 'cancelled';
    case '06':
      return 'failed';
    default: {
      const unreachable: never = status;
      return unreachable;
    }
  }
}

function toIsoInstant(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? undefined : instant.toISOString();
}

interface StatusReport {
  latestTransactionStatus: string;
  transactionStatusDesc?: string;
  originalReferenceNo?: string;
  amount?: SnapAmount;
  paidTime?: string;
}

function toOutcome(report: StatusReport, what: string): PaymentOutcome {
  const status = toProviderPaymentStatus(report.latestTransactionStatus);
  const outcome: PaymentOutcome = { status, providerStatus: report.latestTransactionStatus };
  if (report.originalReferenceNo) outcome.providerReference = report.originalReferenceNo;
  if ((status === 'succeeded' || status === 'refunded') && report.amount)
    outcome.paidAmount = fromSnapAmount(report.amount, what);
  const paidAt = status === 'succeeded' || status === 'refunded' ? toIsoInstant(report.paidTime) : undefined;
  if (paidAt) outcome.paidAt = paidAt;
  if (status === 'failed') {
    outcome.failure = { code: report.latestTransactionStatus, message: report.transactionStatusDesc ?? 'Failed' };
  }
  return outcome;
}

export function toPaymentOutcome(response: DebitStatusResponse): PaymentOutcome {
  return toOutcome({ ...response, amount: response.amount ?? response.transAmount }, 'status answer');
}

/**
 * A notification proves only that NICEPAY sent it (its signature covers `clientId|timestamp`, not the body),
 * so it is a `hint` the workflow confirms by status inquiry. The event id is stable across NICEPAY's retries.
 */
export function toParsedCallback(notification: DebitNotification): ParsedCallback {
  return {
    kind: 'payment',
    reference: notification.originalPartnerReferenceNo,
    eventId: `${notification.latestTransactionStatus}:${notification.originalReferenceNo}`,
    trust: 'hint',
    outcome: toOutcome(notification, 'notification'),
  };
}

export interface RefundRequestInput {
  refundReference: string;
  amount: Rupiah;
  reason: string;
}

export function toDebitRefundRequest(
  ref: PaymentRef,
  providerReference: string,
  input: RefundRequestInput,
  merchantId: string
): DebitRefundRequest {
  return {
    merchantId,
    subMerchantId: '',
    originalPartnerReferenceNo: ref.reference,
    originalReferenceNo: providerReference,
    partnerRefundNo: input.refundReference,
    externalStoreId: '',
    refundAmount: toSnapAmount(input.amount),
    reason: input.reason.slice(0, 256),
    // Every NICEPAY example sends "1", partial refunds included; the other values are undocumented.
    additionalInfo: { refundType: '1' },
  };
}

/** A refund of the whole amount leaves the payment refunded; a partial one leaves it paid. */
export function toRefundOutcome(
  response: Partial<Pick<DebitRefundResponse, 'responseCode' | 'originalReferenceNo'>>,
  ref: PaymentRef,
  providerReference: string,
  refunded: Rupiah
): PaymentOutcome {
  return {
    status: refunded >= ref.amount ? 'refunded' : 'succeeded',
    providerStatus: response.responseCode ?? 'REFUND_ACCEPTED',
    providerReference: response.originalReferenceNo ?? providerReference,
    paidAmount: ref.amount,
  };
}

/** A SNAP `responseCode` split into its parts: HTTP status (3), service code (2), case code (2). */
export interface SnapResponseCode {
  httpStatus: number;
  serviceCode: string;
  caseCode: string;
}

export function parseResponseCode(responseCode: string): SnapResponseCode {
  return {
    httpStatus: Number(responseCode.slice(0, 3)),
    serviceCode: responseCode.slice(3, 5),
    caseCode: responseCode.slice(5, 7),
  };
}

/** What a SNAP response code means for Kasir, independent of the service it came from. */
export type SnapCodeMeaning =
  | 'success'
  | 'in-progress'
  | 'invalid-field-format'
  | 'invalid-mandatory-field'
  | 'bad-request'
  | 'token-invalid'
  | 'unauthorized'
  | 'declined'
  | 'not-found'
  | 'duplicate-reference'
  | 'conflict'
  | 'provider-error'
  | 'unknown';

/**
 * Classifies a code by NICEPAY's general list (docs/providers/nicepay.md §4.1): `200xx00` success, `202xx00`
 * in progress, `400xx01`/`400xx02` field format/mandatory, `401xx01` token invalid, other `401` unauthorized,
 * `403xx01` feature not allowed (merchant configuration), other `403` and the account cases of `404`
 * declines, `404xx08` invalid merchant, other `404` not found, `409xx01` duplicate reference, other `409`
 * conflicts (a reused X-EXTERNAL-ID), `5xx` provider errors.
 */
export function classifyResponseCode(responseCode: string): SnapCodeMeaning {
  const { httpStatus, caseCode } = parseResponseCode(responseCode);
  switch (httpStatus) {
    case 200:
      return caseCode === '00' ? 'success' : 'unknown';
    case 202:
      return 'in-progress';
    case 400:
      return caseCode === '01' ? 'invalid-field-format' : caseCode === '02' ? 'invalid-mandatory-field' : 'bad-request';
    case 401:
      return caseCode === '01' ? 'token-invalid' : 'unauthorized';
    case 403:
      return caseCode === '01' ? 'unauthorized' : 'declined';
    case 404:
      if (caseCode === '08') return 'unauthorized';
      // Invalid account (11), paid bill (13), account inactive (18), invalid virtual account (19).
      return ['11', '13', '18', '19'].includes(caseCode) ? 'declined' : 'not-found';
    case 409:
      return caseCode === '01' ? 'duplicate-reference' : 'conflict';
    default:
      return httpStatus >= 500 && httpStatus <= 599 ? 'provider-error' : 'unknown';
  }
}

/** The field a `400xx01`/`400xx02` message names: `Invalid Mandatory Field {additionalInfo.mitraCd}` and the like. */
export function fieldFromResponseMessage(message: string): string | undefined {
  const match = /Invalid (?:Mandatory )?Field(?: Format)?\s*[{[]?\s*([\w.\-[\]]+?)\s*[}\]]?\s*$/i.exec(message);
  return match?.[1];
}

/** A SNAP answer that is not a success, with what its code means. */
export type SnapRefusal = SnapResponseEnvelope & { meaning: SnapCodeMeaning };

/**
 * The taxonomy error for a refusal the connector has no business meaning for. `in-progress`, provider errors
 * and unknown codes on a call that moves money leave its outcome unknown; the workflow resolves it by inquiry.
 */
export function toRefusalError(
  request: Pick<HttpRequest, 'path' | 'effect'>,
  httpStatus: number,
  refusal: SnapRefusal
): KasirError {
  const { responseCode, responseMessage } = refusal;
  const details = { provider: 'nicepay', providerCode: responseCode, httpStatus } as const;
  const said = `NICEPAY answered ${responseCode} "${responseMessage}" to POST ${request.path}`;
  switch (refusal.meaning) {
    case 'invalid-field-format':
    case 'invalid-mandatory-field':
    case 'bad-request':
    case 'conflict':
    case 'duplicate-reference':
    case 'not-found':
    case 'declined': {
      const field = fieldFromResponseMessage(responseMessage);
      return new ProviderRequestRejectedError(said, field ? { ...details, field } : details);
    }
    case 'token-invalid':
    case 'unauthorized':
      return new ProviderAuthError(said, details);
    case 'in-progress':
    case 'provider-error':
    case 'unknown':
      if (request.effect === 'mutating') return new OutcomeUnknownError(`${said}; it may have taken effect`, details);
      return refusal.meaning === 'unknown'
        ? new ProviderResponseInvalidError(said, details)
        : new ProviderUnavailableError(said, details);
    case 'success':
      return new ProviderResponseInvalidError(`${said}, yet it was read as a refusal`, details);
  }
}
