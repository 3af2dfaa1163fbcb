/**
 * Ayopop (Ayoconnect PPOB) partner API v2 wire shapes, named as Ayopop names them.
 *
 * Requests: the parameters travel as the claims of the `TOKEN` JWT (reference Part 2.2/2.3); the
 * simulator parses those claims with the request schemas below. Responses share one envelope
 * `{responseCode, success, message:{ID,EN}, data}` (seed 004, reference 2.4).
 */
import { z } from 'zod';

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
  /** Per-payment callback targets; without them Ayopop uses the dashboard URL (reference 2.6). */
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

/** `POST /api/v2/partner/products` and `/api/v2/partner/balance` take only the partner id. */
export const PartnerRequest = z.object({
  partnerId: z.string().min(1),
});
export type PartnerRequest = z.infer<typeof PartnerRequest>;

// ---------------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------------

/** Every answer carries its message in Indonesian (`ID`) and English (`EN`). */
export const AyopopMessage = z.object({ ID: z.string(), EN: z.string() });
export type AyopopMessage = z.infer<typeof AyopopMessage>;

/** `{key, value}` rows: strings in `customerDetails`, numbers in `billDetails` (seed 004). */
export const KeyValue = z.object({ key: z.string(), value: z.union([z.string(), z.number()]) });
export type KeyValue = z.infer<typeof KeyValue>;

export const BillDetail = z.object({
  billId: z.string(),
  billInfo: z.array(KeyValue),
  /** Present on inquiry, absent on the seed's status sample. */
  isMandatory: z.boolean().optional(),
  key: z.string(),
  value: z.union([z.number(), z.string()]),
});
export type BillDetail = z.infer<typeof BillDetail>;

/** Inquiry `data` on `responseCode: 300` (seed 004 "Inquiry"). */
export const InquiryData = z.object({
  inquiryId: z.number().int(),
  accountNumber: z.string(),
  customerName: z.string(),
  productName: z.string(),
  productCode: z.string(),
  category: z.string(),
  amount: z.number().int().nonnegative(),
  totalAdmin: z.number().int().nonnegative(),
  processingFee: z.number().int().nonnegative(),
  denom: z.string(),
  validity: z.string(),
  customerDetails: z.array(KeyValue),
  billDetails: z.array(BillDetail),
  productDetails: z.array(KeyValue),
  extraFields: z.array(KeyValue),
});
export type InquiryData = z.infer<typeof InquiryData>;

/** Payment, status and callback `data` (seed 004 "Payment" and "Status"; reference 2.4, 2.6). */
export const TransactionData = z.object({
  refNumber: z.string(),
  transactionId: z.number().int(),
  accountNumber: z.string(),
  amount: z.number().int().nonnegative(),
  totalAdmin: z.number().int().nonnegative(),
  processingFee: z.number().int().nonnegative(),
  denom: z.string(),
  productCode: z.string(),
  productName: z.string(),
  category: z.string(),
  /** PLN token, serial number or voucher code; empty while processing, `N/A` on some failures. */
  token: z.string(),
  customerName: z.string(),
  validity: z.string(),
  customerDetails: z.array(KeyValue),
  billDetails: z.array(BillDetail),
  productDetails: z.array(KeyValue),
  extraFields: z.array(KeyValue),
});
export type TransactionData = z.infer<typeof TransactionData>;

/**
 * Failures carry `data: {}` or a partial object (reference 2.4, from third-party mocks). An absent,
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

/** The callback body is status-shaped (reference 2.6); it must name the `refNumber` to be routable. */
export const CallbackBody = z.object({
  ...envelopeFields,
  data: z.preprocess(emptyDataAsObject, TransactionData.partial().required({ refNumber: true })),
});
export type CallbackBody = z.infer<typeof CallbackBody>;

/**
 * One catalogue entry of `/partner/products`. The docs page shows no body; the field names follow
 * a public partner client (reference 2.2: fuse-integ-ayopop `ProductlistData`), so most are optional.
 */
export const ProductItem = z.object({
  code: z.string(),
  name: z.string(),
  description: z.string().nullish(),
  logo: z.string().nullish(),
  amount: z.number().int().nullish(),
  adminFee: z.number().int().nullish(),
  biller: z.string().nullish(),
  category: z.string().nullish(),
  active: z.boolean().nullish(),
  type: z.string().nullish(),
});
export type ProductItem = z.infer<typeof ProductItem>;

const failedPartnerCall = z.object({ ...envelopeFields, success: z.literal(false), data: z.unknown().optional() });

export const ProductListResponse = z.discriminatedUnion('success', [
  z.object({ ...envelopeFields, success: z.literal(true), data: z.array(ProductItem) }),
  failedPartnerCall,
]);
export type ProductListResponse = z.infer<typeof ProductListResponse>;

/** `/partner/balance` data (reference 2.2: `data{balance, currency, partnerId}`). */
export const BalanceData = z.object({
  balance: z.number().int(),
  currency: z.string(),
  partnerId: z.string(),
});
export type BalanceData = z.infer<typeof BalanceData>;

export const BalanceResponse = z.discriminatedUnion('success', [
  z.object({ ...envelopeFields, success: z.literal(true), data: BalanceData }),
  failedPartnerCall,
]);
export type BalanceResponse = z.infer<typeof BalanceResponse>;

/** Any answer's code and message, read from error answers (HTTP 4xx) whose data we do not need. */
export const AnyEnvelope = z.object({ ...envelopeFields, data: z.unknown().optional() });
export type AnyEnvelope = z.infer<typeof AnyEnvelope>;
