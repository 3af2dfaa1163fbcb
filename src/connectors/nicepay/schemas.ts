/**
 * NICEPAY SNAP BI e-wallet direct debit wire shapes, named after NICEPAY's docs. Lengths and mandatory
 * fields follow docs/providers/nicepay.md §2, §3 and §5.
 * The simulator validates incoming requests with these same schemas.
 */
import { z } from 'zod';
import { JAKARTA_UTC_OFFSET } from '../../domain/jakarta-time';
import { parseSnapTimestamp } from './signing';

/** SNAP service codes, the middle two digits of every `responseCode` (docs/providers/nicepay.md §3.1). */
export const SnapServiceCode = {
  AccessToken: '73',
  DebitPayment: '54',
  DebitStatus: '55',
  DebitNotify: '56',
  DebitRefund: '58',
} as const;
export type SnapServiceCode = (typeof SnapServiceCode)[keyof typeof SnapServiceCode];

/**
 * Paths relative to the `/nicepay` base; the transaction signature signs exactly these
 * (docs/providers/nicepay.md §1.2).
 */
export const NICEPAY_PATHS = {
  accessToken: '/v1.0/access-token/b2b',
  debitPayment: '/api/v1.0/debit/payment-host-to-host',
  debitStatus: '/api/v1.0/debit/status',
  debitRefund: '/api/v1.0/debit/refund',
} as const;

const snapTimestamp = z
  .string()
  .refine((value) => parseSnapTimestamp(value) !== undefined, `expected yyyy-MM-ddTHH:mm:ss${JAKARTA_UTC_OFFSET}`);
/** Mandatory strings: present and non-empty. */
const mandatory = (max: number) => z.string().min(1).max(max);
const optional = (max: number) => z.string().max(max).optional();

/**
 * `{ "value": "12345678.00", "currency": "IDR" }`: value String(12) with two decimals, ISO currency
 * (docs/providers/nicepay.md §7).
 */
export const SnapAmountSchema = z.object({
  value: mandatory(12).regex(/^\d+\.\d{2}$/, 'expected digits with two decimals, e.g. 12345.00'),
  currency: z.literal('IDR'),
});
export type SnapAmount = z.infer<typeof SnapAmountSchema>;

/** Wallet codes (docs/providers/nicepay.md §3.2): OVO `OVOE`, LinkAja `LINK`, DANA `DANA`, ShopeePay `ESHP`. */
export const MitraCdSchema = z.enum(['OVOE', 'DANA', 'LINK', 'ESHP']);
export type MitraCd = z.infer<typeof MitraCdSchema>;

export const UrlParamSchema = z.object({
  url: mandatory(512),
  /** Only `PAY_RETURN` and `PAY_NOTIFY` are accepted (docs/providers/nicepay.md §3.2). */
  type: z.enum(['PAY_RETURN', 'PAY_NOTIFY']),
  /** Only `Y` is accepted (docs/providers/nicepay.md §3.2). */
  isDeeplink: z.literal('Y'),
});
export type UrlParam = z.infer<typeof UrlParamSchema>;

const jsonText = (max: number) =>
  mandatory(max).refine((text) => {
    try {
      JSON.parse(text);
      return true;
    } catch {
      return false;
    }
  }, 'expected a JSON document in a string');

/**
 * NICEPAY marks `additionalInfo` optional but its `mitraCd` ... `cartData` mandatory
 * (docs/providers/nicepay.md §3.2), and without `mitraCd` NICEPAY cannot tell which wallet to debit; so for
 * e-wallet it is required here.
 */
export const DebitPaymentAdditionalInfoSchema = z.object({
  mitraCd: MitraCdSchema,
  goodsNm: mandatory(200),
  billingNm: mandatory(100),
  billingPhone: mandatory(20).regex(/^\+?\d+$/, 'expected a phone number of digits'),
  /** Browser return URL. */
  callBackUrl: mandatory(500),
  /** Server-to-server notification URL (service 56). */
  dbProcessUrl: mandatory(500),
  /** NICEPAY's cart document as a JSON string (docs/providers/nicepay.md §3.2, §7). */
  cartData: jsonText(4000),
  msId: optional(20),
  msFee: optional(7),
  msFeeType: optional(2),
  mbFee: optional(7),
  mbFeeType: optional(2),
});

/** Service 54 request, `POST /api/v1.0/debit/payment-host-to-host` (docs/providers/nicepay.md §3.2). */
export const DebitPaymentRequestSchema = z.object({
  partnerReferenceNo: mandatory(40),
  merchantId: mandatory(10),
  subMerchantId: optional(32),
  externalStoreId: optional(32),
  amount: SnapAmountSchema,
  urlParam: z.array(UrlParamSchema).min(1),
  /** Optional; NICEPAY's SDK tests send `""`. */
  validUpTo: z.union([snapTimestamp, z.literal('')]).optional(),
  pointOfInitiation: optional(20),
  additionalInfo: DebitPaymentAdditionalInfoSchema,
});
export type DebitPaymentRequest = z.infer<typeof DebitPaymentRequestSchema>;

/** Every SNAP answer carries these; errors carry nothing else. */
export const SnapResponseEnvelopeSchema = z.object({
  responseCode: z.string().regex(/^\d{7}$/, 'expected HTTP(3) + service(2) + case(2) digits'),
  responseMessage: z.string().max(150),
});
export type SnapResponseEnvelope = z.infer<typeof SnapResponseEnvelopeSchema>;

/** Service 54 success (docs/providers/nicepay.md §3.2). */
export const DebitPaymentResponseSchema = SnapResponseEnvelopeSchema.extend({
  partnerReferenceNo: mandatory(40),
  referenceNo: mandatory(40),
  appRedirectUrl: z.string().max(2048).optional(),
  webRedirectUrl: z.string().max(2048).optional(),
  redirectToken: z.string().max(255).optional(),
  additionalInfo: z.unknown().optional(),
});
export type DebitPaymentResponse = z.infer<typeof DebitPaymentResponseSchema>;

/**
 * Service 55 request (docs/providers/nicepay.md §3.3). The SNAP BI standard makes `originalReferenceNo` and
 * `originalPartnerReferenceNo` conditional (at least one); Kasir always has the partner reference but may
 * not yet have NICEPAY's `referenceNo` (when the create answer was lost), so the former is required here.
 */
export const DebitStatusRequestSchema = z.object({
  merchantId: mandatory(10),
  subMerchantId: optional(32),
  originalReferenceNo: z.string().max(40),
  originalPartnerReferenceNo: mandatory(40),
  externalStoreId: optional(32),
  /** The original transaction's service code; NICEPAY's SDKs all send `54`. */
  serviceCode: z.literal(SnapServiceCode.DebitPayment),
  transactionDate: snapTimestamp.optional(),
  amount: SnapAmountSchema.optional(),
  additionalInfo: z.record(z.string(), z.unknown()).optional(),
});
export type DebitStatusRequest = z.infer<typeof DebitStatusRequestSchema>;

/** The e-wallet `latestTransactionStatus` codes NICEPAY documents (docs/providers/nicepay.md §4.2). */
export const LatestTransactionStatusSchema = z.enum(['00', '01', '03', '04', '05', '06']);
export type LatestTransactionStatus = z.infer<typeof LatestTransactionStatusSchema>;

/** Service 55 success. Amount may arrive as `amount` or as SNAP's `transAmount` (docs/providers/nicepay.md §3.3). */
export const DebitStatusResponseSchema = SnapResponseEnvelopeSchema.extend({
  originalReferenceNo: z.string().max(40).optional(),
  originalPartnerReferenceNo: z.string().max(40).optional(),
  serviceCode: z.string().optional(),
  /** Kept as a string: a code NICEPAY adds later must map to pending, not fail parsing. */
  latestTransactionStatus: z.string().min(1).max(2),
  transactionStatusDesc: z.string().optional(),
  amount: SnapAmountSchema.optional(),
  transAmount: SnapAmountSchema.optional(),
  /** SNAP standard's paid instant; optional in NICEPAY's answers. */
  paidTime: z.string().optional(),
  additionalInfo: z.record(z.string(), z.unknown()).optional(),
});
export type DebitStatusResponse = z.infer<typeof DebitStatusResponseSchema>;

/** Service 58 request (docs/providers/nicepay.md §3.4). */
export const DebitRefundRequestSchema = z.object({
  merchantId: mandatory(10),
  subMerchantId: optional(32),
  originalPartnerReferenceNo: mandatory(40),
  originalReferenceNo: mandatory(40),
  partnerRefundNo: mandatory(40),
  externalStoreId: optional(32),
  refundAmount: SnapAmountSchema,
  reason: optional(256),
  additionalInfo: z.object({ refundType: z.string().max(1).optional() }).optional(),
});
export type DebitRefundRequest = z.infer<typeof DebitRefundRequestSchema>;

/** Service 58 success (java-sdk `NICEPayResponse` fields, docs/providers/nicepay.md §3.4). */
export const DebitRefundResponseSchema = SnapResponseEnvelopeSchema.extend({
  originalPartnerReferenceNo: z.string().max(40).optional(),
  originalReferenceNo: z.string().max(40).optional(),
  refundNo: z.string().max(40).optional(),
  partnerRefundNo: z.string().max(40).optional(),
  refundAmount: SnapAmountSchema.optional(),
  refundTime: z.string().optional(),
});
export type DebitRefundResponse = z.infer<typeof DebitRefundResponseSchema>;

/**
 * Service 73 request body (docs/providers/nicepay.md §2.1). `additionalInfo` is optional: the docs and the
 * Node, Java and PHP SDKs send `{}`, the Python SDK's builder sends `""` (`setAdditionalInfo("")`); both
 * mean "nothing".
 */
export const AccessTokenRequestSchema = z.object({
  grantType: z.literal('client_credentials'),
  additionalInfo: z.union([z.record(z.string(), z.unknown()), z.literal('')]).optional(),
});
export type AccessTokenRequest = z.infer<typeof AccessTokenRequestSchema>;

/** Service 73 success: `expiresIn` is a string of seconds, `"900"` (docs/providers/nicepay.md §2.1). */
export const AccessTokenResponseSchema = SnapResponseEnvelopeSchema.extend({
  accessToken: mandatory(2048),
  tokenType: z.literal('Bearer'),
  expiresIn: z.string().regex(/^\d+$/),
});
export type AccessTokenResponse = z.infer<typeof AccessTokenResponseSchema>;

/**
 * Service 56 notification body, NICEPAY → merchant (docs/providers/nicepay.md §5). Fields beyond the documented first
 * ones are kept loose; `externalStoreID` is spelled with a capital `ID` in NICEPAY's docs.
 */
export const DebitNotificationSchema = z.looseObject({
  originalReferenceNo: mandatory(40),
  originalPartnerReferenceNo: mandatory(40),
  externalStoreID: z.string().max(32).optional(),
  amount: SnapAmountSchema,
  latestTransactionStatus: z.string().min(1).max(2),
  transactionStatusDesc: z.string().optional(),
  additionalInfo: z.record(z.string(), z.unknown()).optional(),
});
export type DebitNotification = z.infer<typeof DebitNotificationSchema>;

/** Headers NICEPAY sends with a notification (docs/providers/nicepay.md §2.4, §5). */
export const NotificationHeadersSchema = z.object({
  'x-timestamp': snapTimestamp,
  'x-client-key': mandatory(20),
  'x-signature': mandatory(1024),
});
