/**
 * Finpay PG wire shapes, named as Finpay's docs name them.
 *
 * Request objects follow Finpay's request tables (docs/providers/finpay.md §3.2): mandatory and optional
 * objects, and each object's member count (the tables' "Min Length"/"Max Length" for an Object). Field
 * rules come from docs/providers/finpay.md §7. Objects are loose:
 * members Finpay adds later pass through, and they count towards the member limits, as they would at
 * Finpay. The simulator validates incoming requests with these same schemas.
 */
import { z } from 'zod';

/**
 * The PG paths Kasir calls (docs/providers/finpay.md §3.1). Status check, cancel and the GET form of void
 * take the order id as a last segment.
 */
export const FINPAY_PATHS = {
  initiate: '/pg/payment/card/initiate',
  check: '/pg/payment/card/check',
  cancel: '/pg/payment/card/cancel',
  refund: '/pg/payment/card/refund',
  void: '/pg/payment/card/void',
} as const;

/** `responseCode` for success on every endpoint (docs/providers/finpay.md §4.1). */
export const FINPAY_SUCCESS_CODE = '2000000';

/** Known `sourceOfFunds.type` values (docs/providers/finpay.md §3.2: the PHP SDK's list, Buayar's and the docs'). */
export const SOURCE_OF_FUNDS_TYPES = [
  'alfamart',
  'cc',
  'dana',
  'finpaybpd',
  'finpaycode',
  'finpaymoney',
  'idm',
  'indodana',
  'jeniuspay',
  'kredivo',
  'linkaja',
  'linkajawco',
  'octoclicks',
  'ovo',
  'permatanet',
  'pospay',
  'qris',
  'shopeepay',
  'vabca',
  'vabjb',
  'vabnc',
  'vabni',
  'vabri',
  'vabsi',
  'vabtn',
  'vacimb',
  'vadanamon',
  'vadki',
  'vamandiri',
  'vamaybank',
  'vamega',
  'vamuamalat',
  'vanagari',
  'vapermata',
  'virgo',
  'bcaklikpay',
  'debitatmbersama',
  'ddisaku',
] as const;
export const SourceOfFundsType = z.enum(SOURCE_OF_FUNDS_TYPES);
export type SourceOfFundsType = z.infer<typeof SourceOfFundsType>;

/**
 * `result.payment.status` values. The docs' status list (docs/providers/finpay.md §4.2) was cut off after 13 rows;
 * `EXPIRED` is used by third-party status maps and `VOIDED` follows from the void endpoint.
 */
export const FINPAY_PAYMENT_STATUSES = [
  'PAID',
  'AUTHENTICATED',
  'AUTHORIZED',
  'PARTIALLY_CAPTURED',
  'CAPTURED',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
  'CANCELLED',
  'INITIATED',
  'AUTHENTICATION_INITIATED',
  'REQUEST_INITIATED',
  'FAILURE',
  'PENDING',
  'EXPIRED',
  'VOIDED',
] as const;
export const FinpayPaymentStatus = z.enum(FINPAY_PAYMENT_STATUSES);
export type FinpayPaymentStatus = z.infer<typeof FinpayPaymentStatus>;

/**
 * An object with a member count between `min` and `max`, as Finpay's request tables give for each Object
 * (docs/providers/finpay.md §3.2).
 */
function objectWithMembers<Shape extends z.ZodRawShape>(shape: Shape, min: number, max: number) {
  return z.looseObject(shape).refine((value) => Object.keys(value).length >= min && Object.keys(value).length <= max, {
    message: `must have between ${min} and ${max} members`,
  });
}

/** `order.id`: alpha-dash, 1–30 (order object appendix). */
export const FinpayOrderId = z.string().regex(/^[A-Za-z0-9_-]{1,30}$/);

/** Numeric, 1–14 digits. Requests send a string (`"1000"`); callbacks and status send a number. */
export const FinpayAmount = z.union([
  z.string().regex(/^\d{1,14}$/),
  z.number().int().nonnegative().max(99_999_999_999_999),
]);

/** `YYYY-MM-DD HH:MM:SS`, no zone; Finpay means WIB, Jakarta time (see `src/domain/jakarta-time.ts`). */
export const FinpayDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

/** E.164 (`+62…`): Finpay's sandbox rejects local `08…` numbers (docs/providers/finpay.md §7.3, Buayar live notes). */
export const E164Phone = z
  .string()
  .max(20)
  .regex(/^\+[1-9]\d{7,18}$/);

const HttpUrl = z.url({ protocol: /^https?$/ }).max(320);

export const OrderItem = z.looseObject({
  name: z.string().min(1).max(127),
  quantity: z.union([z.number().int().positive(), z.string().regex(/^\d{1,8}$/)]),
  unitPrice: FinpayAmount,
  category: z.string().min(1).max(50).optional(),
  brand: z.string().max(127).optional(),
  description: z.string().max(127).optional(),
  sku: z.string().max(127).optional(),
});

/** Order object: up to 12 members (docs/providers/finpay.md §3.2). `amount` is required for every direct channel. */
export const OrderObject = objectWithMembers(
  {
    id: FinpayOrderId,
    amount: FinpayAmount,
    currency: z.string().length(3).optional(),
    description: z.string().min(1).max(127).optional(),
    /** Order lifetime in minutes, default 1440 (order object appendix). */
    timeout: z.union([z.number().int().min(1).max(99_999_999), z.string().regex(/^\d{1,8}$/)]).optional(),
    itemAmount: FinpayAmount.optional(),
    localTaxRegistrationId: z.string().max(25).optional(),
    merchantCategoryCode: z.string().length(4).optional(),
    surchargeAmount: FinpayAmount.optional(),
    item: z.array(OrderItem).min(1).max(100).optional(),
    transactionFiltering: z.looseObject({}).optional(),
  },
  1,
  12
);

/**
 * Customer object: up to 8 members. The appendix marks every field conditional, but the live sandbox
 * rejects a request without `mobilePhone` ("Invalid Mandatory Field customer.mobile phone").
 */
export const CustomerObject = objectWithMembers(
  {
    id: z.string().min(1).max(320).optional(),
    email: z.email().max(320).optional(),
    firstName: z.string().min(1).max(50).optional(),
    lastName: z.string().min(1).max(50).optional(),
    mobilePhone: E164Phone,
    phone: z.string().max(15).optional(),
    taxRegistrationId: z.string().max(30).optional(),
    account: z.looseObject({ id: z.string().min(1) }).optional(),
  },
  1,
  8
);

/** Url object: up to 4 members; `callbackUrl` is where Finpay posts its notifications. */
export const UrlObject = objectWithMembers(
  {
    callbackUrl: HttpUrl.optional(),
    successUrl: HttpUrl.optional(),
    failUrl: HttpUrl.optional(),
    backUrl: HttpUrl.optional(),
  },
  1,
  4
);

export const BillingObject = objectWithMembers({}, 1, 1);
export const ShippingObject = objectWithMembers({}, 1, 4);
export const MetaObject = objectWithMembers({}, 1, 1);
export const CardObject = objectWithMembers({}, 1, 7);
export const RecurringObject = objectWithMembers({}, 1, 11);
export const DeviceObject = objectWithMembers({}, 1, 7);

/** SourceOfFunds object: up to 11 members. OVO also needs `accountId` in local `08…` form. */
export const SourceOfFundsObject = objectWithMembers(
  {
    type: SourceOfFundsType,
    paymentCode: z.string().min(1).max(30).optional(),
    accountId: z.string().min(1).max(30).optional(),
  },
  1,
  11
);

/** `POST /pg/payment/card/initiate` (docs/providers/finpay.md §3.2): order, customer, url, sourceOfFunds mandatory. */
export const InitiateRequest = z.looseObject({
  order: OrderObject,
  customer: CustomerObject,
  url: UrlObject,
  billing: BillingObject.optional(),
  shipping: ShippingObject.optional(),
  meta: MetaObject.optional(),
  card: CardObject.optional(),
  recurring: RecurringObject.optional(),
  sourceOfFunds: SourceOfFundsObject,
  device: DeviceObject.optional(),
});
export type InitiateRequest = z.infer<typeof InitiateRequest>;

/**
 * `POST /pg/payment/card/refund`: `{ order: { id, amount } }` (docs/providers/finpay.md §3.5; shape from
 * client code).
 */
export const RefundRequest = z.looseObject({
  order: z.looseObject({ id: FinpayOrderId, amount: FinpayAmount.optional() }),
});
export type RefundRequest = z.infer<typeof RefundRequest>;

/** `POST /pg/payment/card/void`: `{ order: { id } }`. */
export const VoidRequest = z.looseObject({ order: z.looseObject({ id: FinpayOrderId }) });

const ResponseCode = z.string().regex(/^\d{7}$/);
const ResponseMessage = z.string().min(1).max(500);
/** Seconds Finpay spent, as a float (`0.9721949100494385`). */
const ProcessingTime = z.number().nonnegative();
const ResponseUrl = z.string().min(1).max(320);

/** Any Finpay answer carries at least these; errors carry nothing else. */
export const FinpayEnvelope = z.looseObject({
  responseCode: ResponseCode,
  responseMessage: z.string().max(500),
  processingTime: ProcessingTime.optional(),
  traceId: z.string().optional(),
});
export type FinpayEnvelope = z.infer<typeof FinpayEnvelope>;

/**
 * Initiate answer for any channel (docs/providers/finpay.md §3.3): `paymentCode` for VA, paycode and retail;
 * `appurl` for e-wallets; `imageurl` for QRIS. Note the lowercase `redirecturl`.
 */
export const InitiateResponse = z.looseObject({
  responseCode: ResponseCode,
  responseMessage: ResponseMessage,
  paymentCode: z.string().min(1).max(30).optional(),
  redirecturl: ResponseUrl.optional(),
  expiryLink: FinpayDateTime,
  processingTime: ProcessingTime,
  appurl: ResponseUrl.optional(),
  imageurl: ResponseUrl.optional(),
  accountList: z.array(z.unknown()).min(1).max(4).optional(),
  traceId: z.string().optional(),
});
export type InitiateResponse = z.infer<typeof InitiateResponse>;

/** Finpay Payment Code answer (docs/providers/finpay.md §3.3): paymentCode, redirecturl, expiryLink mandatory. */
export const FinpayCodeInitiateResponse = InitiateResponse.extend({
  paymentCode: z.string().min(1).max(30),
  redirecturl: ResponseUrl,
});

/** VA and retail answers: the number to pay into is mandatory. */
export const PaymentCodeInitiateResponse = InitiateResponse.extend({
  paymentCode: z.string().min(1).max(30),
});

/**
 * `result.payment`: `status` is read as any string so an unknown one reaches the status map (and maps
 * to pending) instead of failing the parse.
 */
export const PaymentResultObject = z.looseObject({
  payment: z.looseObject({
    amount: FinpayAmount.optional(),
    status: z.string().min(1),
    statusDesc: z.string().nullable().optional(),
    datetime: FinpayDateTime.nullable().optional(),
    reference: z.string().nullable().optional(),
    channel: z.string().nullable().optional(),
  }),
});

const ReportedOrder = z.looseObject({
  id: FinpayOrderId,
  reference: z.string().nullable().optional(),
  amount: FinpayAmount,
  currency: z.string().optional(),
});

const ReportedSourceOfFunds = z.looseObject({
  type: z.string().min(1),
  channel: z.string().nullable().optional(),
  paymentCode: z.string().nullable().optional(),
});

/** `GET /pg/payment/card/check/{orderId}` (docs/providers/finpay.md §3.4). */
export const StatusCheckResponse = z.looseObject({
  responseCode: ResponseCode,
  responseMessage: ResponseMessage,
  data: z.looseObject({
    customer: z.looseObject({}).optional(),
    order: ReportedOrder,
    card: z.looseObject({}).nullable().optional(),
    meta: z.looseObject({}).nullable().optional(),
    result: PaymentResultObject,
    sourceOfFunds: ReportedSourceOfFunds.optional(),
    signature: z.string().optional(),
  }),
  processingTime: ProcessingTime,
});
export type StatusCheckResponse = z.infer<typeof StatusCheckResponse>;

/** Cancel, refund and void answers: the envelope only (docs/providers/finpay.md §3.5). */
export const AfterPaymentResponse = z.looseObject({
  responseCode: ResponseCode,
  responseMessage: ResponseMessage,
  processingTime: ProcessingTime.optional(),
  traceId: z.string().optional(),
});
export type AfterPaymentResponse = z.infer<typeof AfterPaymentResponse>;

/**
 * Notification callback (docs/providers/finpay.md §5): order and customer mandatory, result optional, signature
 * mandatory (128 hex characters).
 */
export const FinpayCallback = z.looseObject({
  order: ReportedOrder,
  customer: z.looseObject({}),
  meta: z.looseObject({}).nullable().optional(),
  card: z.looseObject({}).nullable().optional(),
  result: PaymentResultObject.optional(),
  sourceOfFunds: ReportedSourceOfFunds.optional(),
  merchant: z.looseObject({}).optional(),
  signature: z.string().regex(/^[0-9a-fA-F]{128}$/),
});
export type FinpayCallback = z.infer<typeof FinpayCallback>;

/** What the merchant answers to a callback (docs/providers/finpay.md §5). */
export const CallbackAcknowledgement = z.object({
  responseCode: ResponseCode,
  responseMessage: ResponseMessage,
  processingTime: ProcessingTime.optional(),
});
