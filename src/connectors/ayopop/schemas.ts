/**
 * Ayopop (Ayoconnect PPOB) partner API v2 wire shapes, named as Ayopop names them.
 *
 * Requests: the parameters travel as the claims of the `TOKEN` JWT (docs/providers/ayopop.md §2.2, §2.3); the
 * simulator parses those claims with the request schemas below. Responses share one envelope
 * `{responseCode, success, message:{ID,EN}, data}` (docs/providers/ayopop.md §3.6).
 */
import { z } from 'zod';

/** The partner API v2 paths Kasir calls; every one is a `POST` (docs/providers/ayopop.md §1.2, §3.1). */
export const AYOPOP_PATHS = {
  inquiry: '/api/v2/bill/check',
  payment: '/api/v2/bill/payment',
  status: '/api/v2/bill/status',
} as const;

// ---------------------------------------------------------------------------------------------------
// Requests (JWT claims)
// ---------------------------------------------------------------------------------------------------

/** `POST /api/v2/bill/check`. `amount`, `zoneId` (game vouchers) and `month` (BPJS) depend on the category. */
export const InquiryRequest = z.object({
  partnerId: z.string().min(1),
  productCode: z.string().min(1),
  accountNumber: z.string().min(1),
  amount: z.number().int().nonnegative().optional(),
  zoneId: z.string().min(1).optional(),
  month: z.number().int().min(1).optional(),
});
export type InquiryRequest = z.infer<typeof InquiryRequest>;

export const BuyerDetails = z.object({
  buyerEmail: z.string().optional(),
  publicBuyerId: z.string().optional(),
});

/** `POST /api/v2/bill/payment`. `refNumber` is the partner's reference and its idempotency key. */
export const PaymentRequest = z.object({
  partnerId: z.string().min(1),
  refNumber: z.string().min(1),
  accountNumber: z.string().min(1),
  productCode: z.string().min(1),
  amount: z.number().int().nonnegative(),
  inquiryId: z.number().int().positive(),
  buyerDetails: BuyerDetails.optional(),
  /** Per-payment callback targets; without them Ayopop uses the dashboard URL (docs/providers/ayopop.md §5). */
  callbackUrls: z.array(z.url()).optional(),
  month: z.number().int().min(1).optional(),
});
export type PaymentRequest = z.infer<typeof PaymentRequest>;

/** `POST /api/v2/bill/status`. */
export const StatusRequest = z.object({
  partnerId: z.string().min(1),
  refNumber: z.string().min(1),
});
export type StatusRequest = z.infer<typeof StatusRequest>;

// ---------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------

/** Every answer carries its message in Indonesian (`ID`) and English (`EN`). */
export const AyopopMessage = z.object({ ID: z.string(), EN: z.string() });
export type AyopopMessage = z.infer<typeof AyopopMessage>;

/** `{key, value}` rows: strings in `customerDetails`, numbers in `billDetails` (docs/providers/ayopop.md §3.6). */
export const KeyValue = z.object({ key: z.string(), value: z.union([z.string(), z.number()]) });
export type KeyValue = z.infer<typeof KeyValue>;

export const BillDetail = z.object({
  billId: z.string(),
  billInfo: z.array(KeyValue),
  /** Present on inquiry, absent on Ayopop's status sample (docs/providers/ayopop.md §3.4). */
  isMandatory: z.boolean().optional(),
  key: z.string(),
  value: z.union([z.number(), z.string()]),
});
export type BillDetail = z.infer<typeof BillDetail>;

/** What the bill costs, as inquiry and transaction `data` both give it (docs/providers/ayopop.md §3.6). */
const billCharges = {
  amount: z.number().int().nonnegative(),
  totalAdmin: z.number().int().nonnegative(),
  processingFee: z.number().int().nonnegative(),
  denom: z.string(),
};

/** How the bill is described, as inquiry and transaction `data` both end (docs/providers/ayopop.md §3.6). */
const billDescription = {
  validity: z.string(),
  customerDetails: z.array(KeyValue),
  billDetails: z.array(BillDetail),
  productDetails: z.array(KeyValue),
  extraFields: z.array(KeyValue),
};

/** Inquiry `data` on `responseCode: 300` (docs/providers/ayopop.md §3.2). */
export const InquiryData = z.object({
  inquiryId: z.number().int(),
  accountNumber: z.string(),
  customerName: z.string(),
  productName: z.string(),
  productCode: z.string(),
  category: z.string(),
  ...billCharges,
  ...billDescription,
});
export type InquiryData = z.infer<typeof InquiryData>;

/** Payment, status and callback `data` (docs/providers/ayopop.md §3.3, §3.4, §5). */
export const TransactionData = z.object({
  refNumber: z.string(),
  transactionId: z.number().int(),
  accountNumber: z.string(),
  ...billCharges,
  productCode: z.string(),
  productName: z.string(),
  category: z.string(),
  /** PLN token, serial number or voucher code; empty while processing, `N/A` on some failures. */
  token: z.string(),
  customerName: z.string(),
  ...billDescription,
});
export type TransactionData = z.infer<typeof TransactionData>;

/**
 * Failures carry `data: {}` or a partial object (docs/providers/ayopop.md §3.6, from third-party mocks). An absent,
 * null or empty-array `data` is read as `{}` so the code and message still reach the mapping.
 */
function emptyDataAsObject(value: unknown): unknown {
  return value == null || (Array.isArray(value) && value.length === 0) ? {} : value;
}

const envelopeFields = {
  responseCode: z.number().int(),
  success: z.boolean(),
  message: AyopopMessage,
};

export const InquirySuccessResponse = z.object({
  ...envelopeFields,
  responseCode: z.literal(300),
  data: InquiryData,
});
export type InquirySuccessResponse = z.infer<typeof InquirySuccessResponse>;

/** Any code but 300; failures carry no usable data. */
export const InquiryFailureResponse = z.object({
  ...envelopeFields,
  responseCode: z
    .number()
    .int()
    .refine((code) => code !== 300, 'an inquiry answered 300 must carry inquiry data'),
  data: z.unknown().optional(),
});
export type InquiryFailureResponse = z.infer<typeof InquiryFailureResponse>;

/** A 300 without valid inquiry data matches neither branch, so it is a `ProviderResponseInvalidError`. */
export const InquiryResponse = z.union([InquirySuccessResponse, InquiryFailureResponse]);
export type InquiryResponse = z.infer<typeof InquiryResponse>;

/** Payment and status answers: the code decides; `data` is whatever part of the transaction was sent. */
export const TransactionResponse = z.object({
  ...envelopeFields,
  data: z.preprocess(emptyDataAsObject, TransactionData.partial()),
});
export type TransactionResponse = z.infer<typeof TransactionResponse>;

/** The callback body is status-shaped (docs/providers/ayopop.md §5); it must name the `refNumber` to be routable. */
export const CallbackBody = z.object({
  ...envelopeFields,
  data: z.preprocess(emptyDataAsObject, TransactionData.partial().required({ refNumber: true })),
});
export type CallbackBody = z.infer<typeof CallbackBody>;

/** Any answer's code and message, read from error answers (HTTP 4xx) whose data we do not need. */
export const AnyEnvelope = z.object({ ...envelopeFields, data: z.unknown().optional() });
export type AnyEnvelope = z.infer<typeof AnyEnvelope>;
