/**
 * Ayopop ↔ Kasir: request claims from domain inputs, and response codes to domain outcomes.
 *
 * Code ranges (docs/providers/ayopop.md §4; issue 6):
 * - 0–99 payment succeeded (the `token`, serial or voucher goes to the merchant);
 * - 100–199 payment failed, partner deposit refunded;
 * - 188 and 200–299 processing;
 * - 300 inquiry succeeded; 301–399 inquiry failed, with a message the merchant can show;
 * - 102/108 duplicate `refNumber`: processing, never failed, because rejecting a second attempt says
 *   nothing about the first one's fate (docs/providers/ayopop.md §6, third-party client);
 * - anything else (and timeouts, 502, 504): processing, resolved by status after 150 s (docs/providers/ayopop.md §4.3).
 */
import { z } from 'zod';
import type {
  BillDetailLine,
  BillInquiryInput,
  BillInquiryOutcome,
  BillPaymentInput,
  BillPaymentOutcome,
  ProviderBillStatus,
} from '../../domain/bill';
import type { ParsedCallback } from '../../domain/callback';
import { ProviderAuthError, ProviderRequestRejectedError, ProviderUnavailableError } from '../../domain/errors';
import type { Rupiah } from '../../domain/money';
import type {
  AyopopMessage,
  CallbackBody,
  InquiryRequest,
  InquiryResponse,
  InquirySuccessResponse,
  KeyValue,
  PaymentRequest,
  StatusRequest,
  TransactionResponse,
} from './schemas';

/** What an Ayopop `responseCode` means, range by range. */
export const AYOPOP_CODE_CLASSES = [
  'payment-succeeded',
  'payment-failed',
  'duplicate-reference',
  'processing',
  'inquiry-succeeded',
  'inquiry-failed',
  'undocumented',
] as const;
export const AyopopCodeClass = z.enum(AYOPOP_CODE_CLASSES);
export type AyopopCodeClass = z.infer<typeof AyopopCodeClass>;

/**
 * Duplicate transaction / refNumber (docs/providers/ayopop.md §6). Ayopop refuses a payment whose `refNumber`
 * it already holds with 102 or 108, although both sit in the 100–199 "failed" range; they are mapped to
 * `processing` (see `classifyAyopopCode`, which checks them before the ranges), never to `failed`. That refusal
 * is evidence the first payment exists, and says nothing of its fate, which only status can tell. This is what
 * makes re-sending a payment under the same refNumber safe (after a lost answer or a re-run activity):
 * Ayopop pays at most once, and Kasir never reads the refusal of the copy as the failure of the original.
 */
export const DUPLICATE_REFERENCE_CODES: readonly number[] = [102, 108];
/** Listed apart from 100–199 as "transaction is processing"; also the answer to an unknown refNumber. */
export const PROCESSING_OR_UNKNOWN_REFERENCE_CODE = 188;
export const INQUIRY_SUCCEEDED_CODE = 300;
/** The one code outside 300–399 that the response-code table lists as an inquiry failure and that we act on. */
export const UNAUTHORISED_CODE = 401;

export function classifyAyopopCode(code: number): AyopopCodeClass {
  if (!Number.isInteger(code)) return 'undocumented';
  if (DUPLICATE_REFERENCE_CODES.includes(code)) return 'duplicate-reference';
  if (code === PROCESSING_OR_UNKNOWN_REFERENCE_CODE) return 'processing';
  if (code >= 0 && code <= 99) return 'payment-succeeded';
  if (code >= 100 && code <= 199) return 'payment-failed';
  if (code >= 200 && code <= 299) return 'processing';
  if (code === INQUIRY_SUCCEEDED_CODE) return 'inquiry-succeeded';
  if (code >= 301 && code <= 399) return 'inquiry-failed';
  return 'undocumented';
}

/**
 * A code's meaning for a payment (payment answer, status answer or callback). Only the explicit
 * success and failure ranges are final; everything else stays `processing` until status says more.
 */
export function toBillPaymentStatus(codeClass: AyopopCodeClass): ProviderBillStatus {
  switch (codeClass) {
    case 'payment-succeeded':
      return 'succeeded';
    case 'payment-failed':
      return 'failed';
    // A payment refused because its inquiry is expired (312), mismatched (313) or otherwise unusable
    // never reached the biller and debited nothing: it is final, and polling would never change it.
    case 'inquiry-failed':
      return 'failed';
    // 300 answers an inquiry, not a payment: nothing final can be read from it.
    case 'inquiry-succeeded':
    case 'duplicate-reference':
    case 'processing':
    case 'undocumented':
      return 'processing';
    default: {
      const unreachable: never = codeClass;
      return unreachable;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------------

/**
 * Inquiry claims in the docs' order (docs/providers/ayopop.md §3.2): `partnerId`, `productCode`,
 * `accountNumber`, then extras.
 */
export function toInquiryClaims(partnerId: string, input: BillInquiryInput): InquiryRequest {
  return {
    partnerId,
    productCode: input.productCode,
    accountNumber: input.accountNumber,
    ...(input.amount === undefined ? {} : { amount: input.amount }),
    ...(input.zoneId === undefined ? {} : { zoneId: input.zoneId }),
    ...(input.month === undefined ? {} : { month: input.month }),
  };
}

/**
 * Payment claims in the order of Ayopop's sample (docs/providers/ayopop.md §3.3). Kasir's reference is the
 * `refNumber`, so status and callbacks name it. Without a callback URL the claim is left out and Ayopop uses
 * the dashboard URL.
 */
export function toPaymentClaims(partnerId: string, input: BillPaymentInput, callbackUrl?: string): PaymentRequest {
  if (!/^\d+$/.test(input.inquiryId)) {
    throw new ProviderRequestRejectedError(`Ayopop inquiry ids are integers; got "${input.inquiryId}"`, {
      provider: 'ayopop',
      field: 'inquiryId',
    });
  }
  return {
    partnerId,
    refNumber: input.reference,
    accountNumber: input.accountNumber,
    productCode: input.productCode,
    amount: input.amount,
    inquiryId: Number(input.inquiryId),
    ...(callbackUrl === undefined ? {} : { callbackUrls: [callbackUrl] }),
  };
}

export function toStatusClaims(partnerId: string, reference: string): StatusRequest {
  return { partnerId, refNumber: reference };
}

// ---------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------

function toDetailLines(rows: readonly KeyValue[]): BillDetailLine[] {
  return rows.map((row) => ({ key: row.key, value: String(row.value) }));
}

function isInquirySuccess(response: InquiryResponse): response is InquirySuccessResponse {
  // The failure branch of `InquiryResponse` refuses 300, so a parsed 300 is always the success branch.
  return response.responseCode === INQUIRY_SUCCEEDED_CODE;
}

function toReason(message: AyopopMessage, code: number): { id: string; en: string } {
  return {
    id: message.ID.trim() || `Inkuiri gagal (kode ${code})`,
    en: message.EN.trim() || `Inquiry failed (code ${code})`,
  };
}

/**
 * An inquiry answer as Kasir's outcome. 300 is ok; 301–399 and the 1xx inquiry refusals (blocked
 * account 112, service down 181, product offline 184) are failures with Ayopop's bilingual message.
 * `expiresAt` is passed in because Ayopop does not return the inquiry's validity (docs/providers/ayopop.md §3.2).
 *
 * @throws ProviderAuthError on 401; ProviderUnavailableError on any other code, which no inquiry
 *   should answer (an inquiry moves no money, so asking again is safe).
 */
export function toBillInquiryOutcome(response: InquiryResponse, expiresAt?: Date): BillInquiryOutcome {
  const providerCode = String(response.responseCode);
  if (isInquirySuccess(response)) {
    const data = response.data;
    return {
      result: 'ok',
      inquiryId: String(data.inquiryId),
      customerName: data.customerName,
      productCode: data.productCode,
      productName: data.productName,
      amount: data.amount,
      totalAdmin: data.totalAdmin,
      processingFee: data.processingFee,
      ...(expiresAt === undefined ? {} : { expiresAt: expiresAt.toISOString() }),
      details: [
        ...toDetailLines(data.customerDetails),
        ...data.billDetails.map((line) => ({ key: line.key, value: String(line.value) })),
        ...toDetailLines(data.productDetails),
        ...toDetailLines(data.extraFields),
      ],
      providerCode,
    };
  }
  const codeClass = classifyAyopopCode(response.responseCode);
  if (codeClass === 'inquiry-failed' || codeClass === 'payment-failed' || codeClass === 'duplicate-reference') {
    return { result: 'failed', providerCode, reason: toReason(response.message, response.responseCode) };
  }
  if (response.responseCode === UNAUTHORISED_CODE) {
    throw new ProviderAuthError(`Ayopop refused our credentials for an inquiry: ${response.message.EN}`, {
      provider: 'ayopop',
      providerCode,
    });
  }
  throw new ProviderUnavailableError(`Ayopop answered an inquiry with code ${providerCode}: ${response.message.EN}`, {
    provider: 'ayopop',
    providerCode,
  });
}

const TOKEN_DETAIL_KEYS = ['Token', 'Kode Voucher', 'Nomor Serial', 'Serial Number', 'Voucher Code'];

/**
 * What the customer receives: `token` when filled (PLN token, serial, voucher), else the voucher or serial
 * row of `productDetails` (Ayopop's status sample carries both "Kode Voucher" and "Nomor Serial";
 * docs/providers/ayopop.md §3.4).
 */
export function toCustomerToken(data: TransactionResponse['data']): string | undefined {
  const token = data.token?.trim();
  if (token && token.toUpperCase() !== 'N/A') return token;
  for (const key of TOKEN_DETAIL_KEYS) {
    const row = data.productDetails?.find((detail) => detail.key === key);
    const value = row === undefined ? '' : String(row.value).trim();
    if (value) return value;
  }
  return undefined;
}

/** A payment, status or callback answer as Kasir's outcome. */
export function toBillPaymentOutcome(response: TransactionResponse | CallbackBody): BillPaymentOutcome {
  const codeClass = classifyAyopopCode(response.responseCode);
  const status = toBillPaymentStatus(codeClass);
  const data = response.data;
  const token = status === 'succeeded' ? toCustomerToken(data) : undefined;
  const amount: Rupiah | undefined = data.amount;
  return {
    status,
    providerCode: String(response.responseCode),
    message: response.message.EN || response.message.ID,
    ...(data.transactionId === undefined ? {} : { transactionId: String(data.transactionId) }),
    ...(token === undefined ? {} : { token }),
    ...(amount === undefined ? {} : { amount }),
    ...(status === 'failed' ? { depositRefunded: codeClass === 'payment-failed' } : {}),
  };
}

/**
 * Ayopop callbacks carry no signature (docs/providers/ayopop.md §5), so they are hints the workflow confirms by
 * status. The event id is the reference and the code, so a repeated delivery of the same outcome is
 * recognised and a later, different code is not mistaken for it.
 */
export function toParsedCallback(body: CallbackBody): ParsedCallback {
  return {
    kind: 'bill',
    reference: body.data.refNumber,
    eventId: `${body.data.refNumber}:${body.responseCode}`,
    trust: 'hint',
    outcome: toBillPaymentOutcome(body),
  };
}
