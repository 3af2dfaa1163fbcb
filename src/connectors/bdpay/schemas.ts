/**
 * BDPay wire shapes, in BDPay's own vocabulary (contract in docs/providers/bdpay.md). Request schemas carry
 * every field rule BDPay states (docs/providers/bdpay.md §7), because the
 * simulator validates incoming requests with them; response schemas are lenient about values BDPay's
 * brands send as either strings or numbers. Callback schemas are strict (see "callbacks" below).
 */
import { z } from 'zod';
import { isRupiah, MAX_RUPIAH } from '../../domain/money';
import { kindOfId } from '../../ids';

/** The gateway paths Kasir calls; every one is a `POST` of signed JSON (docs/providers/bdpay.md §3.1). */
export const BDPAY_PATHS = {
  prepaidOrder: '/gateway/prepaidOrder',
  pay: '/gateway/pay',
  cash: '/gateway/cash',
  query: '/gateway/query',
  /** TopPay's path; BDPay's page shows the fields but not the path (docs/providers/bdpay.md §3.1, inferred). */
  balance: '/gateway/interface/getBalance',
} as const;

/** BDPay's payment method table, in its order (docs/providers/bdpay.md §1.1). Same literals as Kasir's: 1:1. */
export const BDPAY_METHODS = [
  'VA_BCA',
  'VA_MANDIRI',
  'VA_PERMATA',
  'VA_CIMB',
  'VA_BNI',
  'VA_BRI',
  'VA_BNC',
  'VA_SAMPOERNA',
  'VA_MAYBANK',
  'VA_DANAMON',
  'RETAIL_ALFAMART',
  'QRIS',
  'EWALLET_DANA',
  'EWALLET_OVO',
] as const;
export const BdpayMethodSchema = z.enum(BDPAY_METHODS);
export type BdpayMethod = z.infer<typeof BdpayMethodSchema>;

/** `platRespCode` on every synchronous answer (docs/providers/bdpay.md §4.1). */
export const PlatRespCodeSchema = z.enum(['SUCCESS', 'FAIL', 'UNKNOWN', 'NOTEXIST', 'ERROR']);
export type PlatRespCode = z.infer<typeof PlatRespCodeSchema>;

/** ORDER_QUERY statuses (docs/providers/bdpay.md §4.2; PAY_ERROR comes from BDPay's public pages). */
export const OrderStatusSchema = z.enum(['INIT_ORDER', 'NO_PAY', 'OPEN_PAY_URL', 'SUCCESS', 'PAY_CANCEL', 'PAY_ERROR']);
export type OrderStatus = z.infer<typeof OrderStatusSchema>;

/** CASH_QUERY statuses: 0 new, 1 and 5 processing, 2 success, 3 cancelled, 4 failed (docs/providers/bdpay.md §4.3). */
export const CashStatusSchema = z.enum(['0', '1', '2', '3', '4', '5']);
export type CashStatus = z.infer<typeof CashStatusSchema>;

export const QueryTypeSchema = z.enum(['ORDER_QUERY', 'CASH_QUERY', 'REFUND_QUERY']);
export type QueryType = z.infer<typeof QueryTypeSchema>;

/**
 * `0`: the fee comes out of the amount sent; `1`: the merchant balance pays it on top
 * (docs/providers/bdpay.md §7.3).
 */
export const FeeTypeSchema = z.enum(['0', '1']);
export type FeeType = z.infer<typeof FeeTypeSchema>;

/** Pay-in `expiryPeriod` bounds and default, in minutes (docs/providers/bdpay.md §7.2; BDPay's public docs differ). */
export const EXPIRY_PERIOD_MIN_MINUTES = 15;
export const EXPIRY_PERIOD_MAX_MINUTES = 97_200;
export const EXPIRY_PERIOD_DEFAULT_MINUTES = 4_320;
/** An OVO push must be confirmed within 30 seconds, or the order expires (docs/providers/bdpay.md §7.2). */
export const OVO_CONFIRMATION_WINDOW_MS = 30_000;
/** The VA display name is letters, digits and spaces, at most 30 characters (docs/providers/bdpay.md §7.2). */
export const CUSTOMER_NAME_MAX_LENGTH = 30;
/** `productDetail` is at most 32 characters (docs/providers/bdpay.md §7.2). */
export const PRODUCT_DETAIL_MAX_LENGTH = 32;
/** Not documented; a bound so free text stays within what bank transfer remarks take. (inferred) */
export const DESCRIPTION_MAX_LENGTH = 100;

// ---------- field rules ----------

const positiveRupiah = z
  .string()
  .regex(/^[1-9]\d*$/, 'must be a positive integer of rupiah')
  .refine((v) => Number.isSafeInteger(Number(v)), 'is too large');
const merchantCode = z.string().min(1, 'is required').max(64);
/** Kasir sends its alphanumeric reference; BDPay documents no format, so only a sane bound. (inferred) */
const orderNum = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, - or _');
const customerName = z
  .string()
  .regex(/^[A-Za-z0-9 ]+$/, 'must be letters, digits and spaces')
  .max(CUSTOMER_NAME_MAX_LENGTH, `must be at most ${CUSTOMER_NAME_MAX_LENGTH} characters`);
/** The email must be shaped `xxx@xx.xx` (docs/providers/bdpay.md §7.2). */
const email = z.string().regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be a well-formed email address');
/** The mobile phone number must be digits only (docs/providers/bdpay.md §7.2). */
const phone = z.string().regex(/^\d{1,20}$/, 'must be digits only');
/**
 * BDPay's OVO example `082113086611` (docs/providers/bdpay.md §7.2): local Indonesian mobile numbers.
 * (inferred bounds)
 */
const OVO_PHONE = /^08\d{8,11}$/;
const httpUrl = z
  .string()
  .max(512)
  .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL');
const expiryPeriod = z
  .string()
  .regex(/^\d+$/, 'must be a whole number of minutes')
  .refine(
    (v) => Number(v) >= EXPIRY_PERIOD_MIN_MINUTES && Number(v) <= EXPIRY_PERIOD_MAX_MINUTES,
    `must be between ${EXPIRY_PERIOD_MIN_MINUTES} and ${EXPIRY_PERIOD_MAX_MINUTES} minutes`
  );
/** `yyyyMMddHHmmss` (docs/providers/bdpay.md §7.4). */
const dateTime = z.string().regex(/^\d{14}$/, 'must be yyyyMMddHHmmss');
const sign = z.string().min(1, 'is required');
/**
 * Avoid Chinese and special characters (docs/providers/bdpay.md §7.2); printable ASCII keeps every upstream
 * bank happy.
 */
const plainText = (max: number) =>
  z
    .string()
    .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII')
    .max(max, `must be at most ${max} characters`);
/** Not documented as a list (docs/providers/bdpay.md §7.3: bank codes are a static appendix); `014` or `BCA` style. */
const bankCode = z.string().regex(/^[A-Za-z0-9]{2,20}$/, 'must be a bank code of 2-20 letters or digits');
const accountNumber = z.string().regex(/^\d{4,34}$/, 'must be 4-34 digits');
const accountName = z
  .string()
  .regex(/^[A-Za-z0-9 .,'-]+$/, "must be letters, digits, spaces and . , ' -")
  .max(100, 'must be at most 100 characters');

// ---------- requests ----------

const payInFields = {
  merchantCode,
  orderNum,
  payMoney: positiveRupiah,
  /** Optional on the hosted cashier (the customer picks there); required on `/gateway/pay`. */
  method: BdpayMethodSchema.optional(),
  productDetail: plainText(PRODUCT_DETAIL_MAX_LENGTH).optional(),
  name: customerName,
  email,
  phone,
  notifyUrl: httpUrl,
  redirectUrl: httpUrl.optional(),
  /** Minutes; absent means {@link EXPIRY_PERIOD_DEFAULT_MINUTES}. */
  expiryPeriod: expiryPeriod.optional(),
  dateTime,
  sign,
};

function requireOvoPhone(value: { method?: BdpayMethod; phone: string }, ctx: z.RefinementCtx): void {
  if (value.method === 'EWALLET_OVO' && !OVO_PHONE.test(value.phone)) {
    ctx.addIssue({
      code: 'custom',
      path: ['phone'],
      message: "must be the customer's OVO mobile number (08...) for EWALLET_OVO",
    });
  }
}

/** `POST /gateway/prepaidOrder`: a hosted payment link (docs/providers/bdpay.md §3.2). */
export const PrepaidOrderRequestSchema = z.object(payInFields).superRefine(requireOvoPhone);
export type PrepaidOrderRequest = z.infer<typeof PrepaidOrderRequestSchema>;

/** `POST /gateway/pay`: a direct VA, payment code, QRIS or e-wallet order (docs/providers/bdpay.md §3.2). */
export const PayRequestSchema = z.object({ ...payInFields, method: BdpayMethodSchema }).superRefine(requireOvoPhone);
export type PayRequest = z.infer<typeof PayRequestSchema>;

/** `POST /gateway/cash`: pay on behalf (docs/providers/bdpay.md §3.3). */
export const CashRequestSchema = z.object({
  merchantCode,
  orderNum,
  money: positiveRupiah,
  feeType: FeeTypeSchema,
  bankCode,
  number: accountNumber,
  name: accountName,
  description: plainText(DESCRIPTION_MAX_LENGTH),
  notifyUrl: httpUrl,
  dateTime,
  sign,
});
export type CashRequest = z.infer<typeof CashRequestSchema>;

/** `POST /gateway/query`, by `orderNum` (or `platOrderNum`, which TopPay also accepts). */
export const QueryRequestSchema = z
  .object({
    merchantCode,
    queryType: QueryTypeSchema,
    orderNum: orderNum.optional(),
    platOrderNum: z.string().min(1).max(64).optional(),
    dateTime,
    sign,
  })
  .refine((q) => q.orderNum !== undefined || q.platOrderNum !== undefined, {
    path: ['orderNum'],
    message: 'orderNum or platOrderNum is required',
  });
export type QueryRequest = z.infer<typeof QueryRequestSchema>;

/** Merchant balance query (docs/providers/bdpay.md §3.5: `balance`, `freeze`, `pendMoney`). */
export const BalanceRequestSchema = z.object({
  merchantCode,
  currency: z.literal('IDR').optional(),
  dateTime,
  sign,
});
export type BalanceRequest = z.infer<typeof BalanceRequestSchema>;

// ---------- responses ----------

/** A text value some brands send as a JSON number. */
const wireText = z.union([z.string(), z.number()]).transform((v) => String(v));
const optionalText = wireText.nullish().transform((v) => (v === null || v === '' ? undefined : v));
/** Whole rupiah, as a string or a number; a zero fraction (`"1000.00"`) is tolerated, any other is not. */
const wireRupiah = z
  .union([z.string().regex(/^\d+(\.0+)?$/), z.number().int().nonnegative()])
  .transform((v) => Math.trunc(Number(v)));
const optionalRupiah = z
  .union([wireRupiah, z.literal(''), z.null()])
  .optional()
  .transform((v) => (v === '' || v === null ? undefined : v));

const responseBase = {
  /** Kept as text: a code outside {@link PlatRespCodeSchema} must still parse, and then means "unknown". */
  platRespCode: z.string().min(1),
  platRespMessage: optionalText,
  platSign: z.string().min(1),
};

/** Every answer about one order or payout echoes both its numbers: BDPay's and the merchant's. */
const orderResponseBase = {
  ...responseBase,
  platOrderNum: optionalText,
  orderNum: optionalText,
};

/** Answer to `/gateway/prepaidOrder` and `/gateway/pay` (docs/providers/bdpay.md §3.2). */
export const PayInResponseSchema = z.object({
  ...orderResponseBase,
  method: optionalText,
  name: optionalText,
  email: optionalText,
  payMoney: optionalRupiah,
  payFee: optionalRupiah,
  /** Hosted cashier link. */
  url: optionalText,
  /** VA number, or the payment code for retail methods. */
  vaNumber: optionalText,
  /** QRIS payload. The field name is read from a PrestaShop module (docs/providers/bdpay.md §3.2, unverified). */
  qrString: optionalText,
  productDetail: optionalText,
});
export type PayInResponse = z.infer<typeof PayInResponseSchema>;

/** Answer to `/gateway/cash` (docs/providers/bdpay.md §3.3, the fields a vnpay sample prints). */
export const CashResponseSchema = z.object({
  ...orderResponseBase,
  money: optionalRupiah,
  fee: optionalRupiah,
  feeType: optionalText,
  name: optionalText,
  number: optionalText,
  bankCode: optionalText,
  description: optionalText,
  status: optionalText,
  statusMsg: optionalText,
});
export type CashResponse = z.infer<typeof CashResponseSchema>;

/** Answer to `/gateway/query` for every `queryType`. */
export const QueryResponseSchema = z.object({
  ...orderResponseBase,
  amount: optionalRupiah,
  fee: optionalRupiah,
  status: optionalText,
  msg: optionalText,
});
export type QueryResponse = z.infer<typeof QueryResponseSchema>;

export const BalanceResponseSchema = z.object({
  ...responseBase,
  balance: optionalRupiah,
  freeze: optionalRupiah,
  pendMoney: optionalRupiah,
});
export type BalanceResponse = z.infer<typeof BalanceResponseSchema>;

// ---------- callbacks (form-encoded, so every value is text) ----------

/*
 * Callback field rules (issue 13). platSign covers the field values joined with no separator
 * (signing.ts), so it binds their concatenation, not where one value ends and the next begins: a
 * signature for `payFee=4000&payMoney=150000` verifies just as well for `payFee=40001&payMoney=50000`.
 * Every field is therefore held to its exact documented form (canonical numbers, enumerations, Kasir's
 * own ids), which leaves a forger few ways to reslice a genuine callback, and a field no callback
 * documents is refused, since it could take digits off its neighbour. Two well-formed values can still
 * trade digits, so mapping.ts takes callbacks that carry money only as hints (see `toParsedCallback`).
 */

/**
 * An optional callback field: sent empty, it is absent (empty values are not signed either,
 * docs/providers/bdpay.md §2.1).
 */
function optionalField<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.optional());
}

/**
 * Whole rupiah as BDPay writes it (a positive integer, docs/providers/bdpay.md §7.1): digits, no sign, no leading
 * zero, no fraction.
 */
const callbackRupiah = z
  .string()
  .regex(/^[1-9]\d*$/, 'must be a positive whole number of rupiah without leading zeros')
  .refine((v) => isRupiah(Number(v)), `must be at most ${MAX_RUPIAH} rupiah`);
/** A fee: as {@link callbackRupiah}, or exactly `0`. */
const callbackFee = z
  .string()
  .regex(/^(0|[1-9]\d*)$/, 'must be a whole number of rupiah without leading zeros')
  .refine((v) => Number(v) <= MAX_RUPIAH, `must be at most ${MAX_RUPIAH} rupiah`);
/** What Kasir sends as orderNum is its own id (src/ids.ts), so that is all a callback for Kasir can name. */
const callbackOrderNum = z.string().refine((v) => kindOfId(v) !== undefined, 'must be a Kasir id');
/**
 * BDPay's own order number. No format is documented; every one the family shows starts with letters
 * (`PRE1628…`, `CASH1628…`, TopPay's `BK_1563278763273`), which also keeps an amount's digits from
 * running into it. (inferred)
 */
const platOrderNum = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a letter, then up to 63 letters, digits or _');
/**
 * Pay-in callback `code`: BDPay documents `00` (success) and calls back on success only
 * (docs/providers/bdpay.md §5).
 */
export const PayInCallbackCodeSchema = z.enum(['00']);
/** A VA number or payment code: letters and digits. (inferred bound) */
const vaNumber = z.string().regex(/^[A-Za-z0-9]{1,64}$/, 'must be 1-64 letters or digits');
/** BDPay's free-text messages (`msg`, `statusMsg`): undocumented, so one line of at most 256 characters. (inferred) */
const providerMessage = z
  .string()
  .max(256, 'must be at most 256 characters')
  .regex(/^\P{Cc}*$/u, 'must be one line without control characters');

/** Pay-in callback (docs/providers/bdpay.md §5): sent when the order succeeds, `code` 00. */
export const PayInCallbackSchema = z.strictObject({
  code: PayInCallbackCodeSchema,
  /** Echoes of what Kasir sent, held to the same rules. */
  email: optionalField(email),
  method: optionalField(BdpayMethodSchema),
  msg: optionalField(providerMessage),
  name: optionalField(customerName),
  orderNum: callbackOrderNum,
  payFee: optionalField(callbackFee),
  payMoney: callbackRupiah,
  platOrderNum,
  vaNumber: optionalField(vaNumber),
  platSign: z.string().min(1),
});
export type PayInCallback = z.infer<typeof PayInCallbackSchema>;

/** Payout callback (docs/providers/bdpay.md §5): `status` 2 success, 4 failure, from the CASH_QUERY enumeration. */
export const PayoutCallbackSchema = z.strictObject({
  /** Echoes of what Kasir sent, held to the same rules. */
  bankCode: optionalField(bankCode),
  description: optionalField(plainText(DESCRIPTION_MAX_LENGTH)),
  fee: optionalField(callbackFee),
  feeType: optionalField(FeeTypeSchema),
  money: callbackRupiah,
  name: optionalField(accountName),
  number: optionalField(accountNumber),
  orderNum: callbackOrderNum,
  platOrderNum,
  status: CashStatusSchema,
  statusMsg: optionalField(providerMessage),
  platSign: z.string().min(1),
});
export type PayoutCallback = z.infer<typeof PayoutCallbackSchema>;

/** The body Kasir must answer, exactly, or BDPay notifies again (docs/providers/bdpay.md §5). */
export const CALLBACK_ACKNOWLEDGEMENT = 'SUCCESS';
