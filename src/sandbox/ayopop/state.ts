/**
 * The simulated Ayopop's world and state: a scripted catalogue of biller accounts and products, the
 * partner deposit, inquiries and payments (`refNumber`) with their state machine (299 processing, then 0
 * with a token or 1xx with the deposit refunded), the status-shaped callbacks each final code sends, and
 * export/import of the state as JSON.
 *
 * Choices where Ayopop's behaviour is not public (docs/providers/ayopop.md §8), all [inferred]:
 * - insufficient deposit answers {@link AYOPOP_SIM_INSUFFICIENT_DEPOSIT_CODE} (199, "general error");
 * - payments refused before any debit (185, 312, 313, 114, insufficient deposit) are still recorded
 *   under their `refNumber`, so status confirms the refusal and the `refNumber` counts as used;
 * - the deposit is debited `amount + totalAdmin + processingFee`;
 * - the callback retry schedule is `AYOPOP_SIM_DEFAULTS.callbackScheduleMs` (PPOB documents none);
 * - the callback carries no signature, so the `forge` callback fault changes nothing but the
 *   dispatcher's bookkeeping: there is nothing to forge.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { toJakartaWallClock } from '../../domain/jakarta-time';
import type { Rupiah } from '../../domain/money';
import type {
  AyopopMessage,
  InquiryData,
  InquiryRequest,
  KeyValue,
  PaymentRequest,
  TransactionData,
} from '../../connectors/ayopop/schemas';
import { KeyedTimers } from '../simulator-kit';
import type { CallbackDispatcher, SimulatorState } from '../simulator-kit';

// ---------------------------------------------------------------------------------------------------
// The scripted catalogue
// ---------------------------------------------------------------------------------------------------

/**
 * Account numbers with scripted behaviour. Any other account number inquires fine, with a bill amount
 * derived from its digits, and pays like `succeeds`.
 */
export const AYOPOP_SIM_ACCOUNTS = {
  /** Inquiry 300; payment 299, then 0 with a token after `settleAfterMs`, callback sent. */
  succeeds: '530000000001',
  /** Inquiry 300; payment answers 0 with a token at once (no 299, so no callback). */
  succeedsImmediately: '530000000002',
  /** Inquiry 300; payment 299, then {@link AYOPOP_SIM_SETTLE_FAILURE_CODE} after `settleAfterMs`; deposit refunded. */
  failsAfterProcessing: '530000000003',
  /** Inquiry 300; payment 299 until `POST /_sim/orders/:refNumber/succeed` or `/fail`. */
  staysProcessing: '530000000004',
  /** Inquiry 300, but the inquiry id is already expired when issued: payment answers 312. */
  inquiryExpires: '530000000312',
  /** Inquiry 300; payment answers 313 (the biller reports inquiry and payment details differ). */
  paymentMismatch: '530000000313',
  /** Inquiry 301: bill older than 3 months. */
  billTooOld: '530000000301',
  /** Inquiry 302: bill already paid. */
  alreadyPaid: '530000000302',
  /** Inquiry 303: bill not available. */
  billNotAvailable: '530000000303',
  /** Inquiry 304: wrong account number (IDPEL). */
  wrongAccount: '530000000304',
  /** Inquiry 305: problem at the biller. */
  billerProblem: '530000000305',
  /** Inquiry 310: biller cut-off time. */
  cutOff: '530000000310',
  /** Inquiry 311: product unavailable. */
  productUnavailable: '530000000311',
  /** Inquiry 314: a mandatory bill must be paid first. */
  mandatoryBillFirst: '530000000314',
  /** Inquiry 315: bill or fine exceeds the limit. */
  overLimit: '530000000315',
  /** Inquiry 320: pay at the biller's counter. */
  payAtCounter: '530000000320',
  /** Inquiry 112: account blocked by the biller. */
  blockedAccount: '530000000112',
  /** Inquiry 184: product offline. */
  productOffline: '530000000184',
} as const;

/** What a reused `refNumber` answers (docs/providers/ayopop.md §6 lists 102 and 108 as duplicates; 102 is used). */
export const AYOPOP_SIM_DUPLICATE_REFERENCE_CODE = 102;
/** The code `failsAfterProcessing` (and `/fail` without a code) ends with: 100, operator issue. */
export const AYOPOP_SIM_SETTLE_FAILURE_CODE = 100;
/** Ayopop's code for an insufficient partner deposit is not public; the simulator answers 199. */
export const AYOPOP_SIM_INSUFFICIENT_DEPOSIT_CODE = 199;

/** Products the simulator sells. `bill` products take the amount from the account, `open` from the request. */
export const AYOPOP_SIM_PRODUCTS = {
  plnPostpaid: 'PLNPOST',
  plnToken20k: 'PLNPRE20',
  googlePlay20k: 'PGPLGL20',
  danaTopUp: 'DANATOPUP',
} as const;

interface SimProduct {
  code: string;
  name: string;
  category: string;
  /**
   * `unquoted`: a fixed price the inquiry does not state (`amount: 0`, "Harga Produk" 0, as seed 004's
   * Google Play inquiry); the payment must carry the price.
   */
  pricing: { kind: 'bill' } | { kind: 'fixed'; price: Rupiah } | { kind: 'unquoted'; price: Rupiah } | { kind: 'open' };
  adminFee: Rupiah;
  /** How the customer's token looks once paid. */
  token: 'pln' | 'voucher' | 'reference';
}

const PRODUCTS: readonly SimProduct[] = [
  {
    code: AYOPOP_SIM_PRODUCTS.plnPostpaid,
    name: 'PLN Pascabayar',
    category: 'PLN Postpaid',
    pricing: { kind: 'bill' },
    adminFee: 2_500,
    token: 'reference',
  },
  {
    code: AYOPOP_SIM_PRODUCTS.plnToken20k,
    name: 'Token PLN 20.000',
    category: 'PLN Prepaid',
    pricing: { kind: 'fixed', price: 20_000 },
    adminFee: 1_500,
    token: 'pln',
  },
  {
    code: AYOPOP_SIM_PRODUCTS.googlePlay20k,
    name: 'Google Play Rp 20.000',
    category: 'Google Play',
    pricing: { kind: 'unquoted', price: 20_000 },
    adminFee: 0,
    token: 'voucher',
  },
  {
    code: AYOPOP_SIM_PRODUCTS.danaTopUp,
    name: 'DANA Top Up',
    category: 'E-Money',
    pricing: { kind: 'open' },
    adminFee: 1_000,
    token: 'reference',
  },
];

type PaymentScript =
  | 'settles-succeeded'
  | 'succeeds-immediately'
  | 'settles-failed'
  | 'stays-processing'
  | 'inquiry-born-expired'
  | 'payment-mismatch';

type AccountScript =
  | { inquiry: 'fails'; code: number }
  | { inquiry: 'ok'; customerName: string; billAmount: Rupiah; payment: PaymentScript };

const A = AYOPOP_SIM_ACCOUNTS;
const ACCOUNT_SCRIPTS: ReadonlyMap<string, AccountScript> = new Map<string, AccountScript>([
  [A.succeeds, { inquiry: 'ok', customerName: 'BUDI SANTOSO', billAmount: 150_000, payment: 'settles-succeeded' }],
  [
    A.succeedsImmediately,
    { inquiry: 'ok', customerName: 'SITI RAHAYU', billAmount: 85_000, payment: 'succeeds-immediately' },
  ],
  [
    A.failsAfterProcessing,
    { inquiry: 'ok', customerName: 'AGUS PRATAMA', billAmount: 120_000, payment: 'settles-failed' },
  ],
  [A.staysProcessing, { inquiry: 'ok', customerName: 'DEWI LESTARI', billAmount: 99_000, payment: 'stays-processing' }],
  [
    A.inquiryExpires,
    { inquiry: 'ok', customerName: 'RUDI HARTONO', billAmount: 64_000, payment: 'inquiry-born-expired' },
  ],
  [
    A.paymentMismatch,
    { inquiry: 'ok', customerName: 'INDAH PERMATA', billAmount: 72_000, payment: 'payment-mismatch' },
  ],
]);

/** Every other catalogued account's inquiry fails, with the code its last three digits spell. */
const CATALOGUED: ReadonlySet<string> = new Set(Object.values(A));

function digestDigits(seed: string, length: number): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  let digits = '';
  for (let i = 0; digits.length < length; i += 2) digits += String(parseInt(hex.slice(i % 60, (i % 60) + 2), 16) % 10);
  return digits;
}

function scriptFor(accountNumber: string): AccountScript {
  const scripted = ACCOUNT_SCRIPTS.get(accountNumber);
  if (scripted) return scripted;
  if (CATALOGUED.has(accountNumber)) return { inquiry: 'fails', code: Number(accountNumber.slice(-3)) };
  const digits = digestDigits(accountNumber, 3);
  return {
    inquiry: 'ok',
    customerName: `PELANGGAN ${accountNumber.slice(-4).toUpperCase()}`,
    billAmount: 50_000 + (Number(digits) % 200) * 1_000,
    payment: 'settles-succeeded',
  };
}

/**
 * Messages the simulator answers with. 0, 188, 299 and 300 are Ayopop's own (docs/providers/ayopop.md §4.2);
 * the rest are the simulator's wording of the per-code meanings listed there.
 */
const MESSAGES: Readonly<Record<number, AyopopMessage>> = {
  0: { ID: 'Transaksi Anda Telah Berhasil', EN: 'Your transaction was successful' },
  100: { ID: 'Transaksi gagal karena gangguan operator', EN: 'Transaction failed due to an operator issue' },
  101: { ID: 'Transaksi gagal karena gangguan koneksi', EN: 'Transaction failed due to a connectivity issue' },
  102: { ID: 'Transaksi duplikat', EN: 'Duplicate transaction' },
  103: { ID: 'Nomor pelanggan salah', EN: 'Wrong customer number' },
  110: { ID: 'Stok produk habis', EN: 'Product is out of stock' },
  112: { ID: 'Nomor pelanggan diblokir', EN: 'Customer number is blocked' },
  114: { ID: 'Jumlah pembayaran tidak sesuai', EN: 'Payment amount does not match' },
  180: { ID: 'Terjadi kesalahan sistem', EN: 'System error' },
  184: { ID: 'Produk sedang tidak aktif', EN: 'Product is offline' },
  185: { ID: 'Inkuiri tidak tersedia', EN: 'Inquiry is not available' },
  188: { ID: 'Transaksi tidak tersedia', EN: 'Transaction is not available' },
  198: { ID: 'Transaksi digagalkan secara manual', EN: 'Transaction failed manually' },
  199: { ID: 'Terjadi kesalahan umum', EN: 'General error' },
  299: { ID: 'Transaksi sedang dalam proses', EN: 'Your transaction is processing' },
  300: { ID: 'Inkuiri berhasil', EN: 'Inquiry is successful' },
  301: { ID: 'Tagihan lebih dari 3 bulan', EN: 'Bill is older than 3 months' },
  302: { ID: 'Tagihan sudah dibayar', EN: 'Bill has already been paid' },
  303: { ID: 'Tagihan tidak tersedia', EN: 'Bill is not available' },
  304: { ID: 'Nomor pelanggan salah', EN: 'Wrong customer number' },
  305: { ID: 'Terjadi masalah pada sistem biller', EN: 'The biller has a system problem' },
  310: { ID: 'Sedang dalam waktu cut-off', EN: 'Biller is in its cut-off time' },
  311: { ID: 'Produk tidak tersedia', EN: 'Product is not available' },
  312: { ID: 'Inkuiri sudah kedaluwarsa', EN: 'Inquiry has expired' },
  313: { ID: 'Data inkuiri dan pembayaran tidak sesuai', EN: 'Inquiry and payment details do not match' },
  314: { ID: 'Tagihan wajib harus dibayar terlebih dahulu', EN: 'The mandatory bill must be paid first' },
  315: { ID: 'Tagihan atau denda melebihi batas', EN: 'Bill or fine exceeds the limit' },
  320: { ID: 'Silakan bayar di loket penyedia', EN: 'Please pay at the provider counter' },
  321: { ID: 'Permintaan tidak valid', EN: 'Bad request' },
  341: { ID: 'Produk tidak ditemukan', EN: 'Product not found' },
  401: { ID: 'Tidak terotorisasi', EN: 'Unauthorized' },
};

function messageFor(code: number): AyopopMessage {
  return MESSAGES[code] ?? { ID: `Transaksi gagal (kode ${code})`, EN: `Transaction failed (code ${code})` };
}

const INSUFFICIENT_DEPOSIT_MESSAGE: AyopopMessage = {
  ID: 'Saldo deposit tidak mencukupi',
  EN: 'Insufficient deposit balance',
};

/** `success` as Ayopop sets it: true for success, processing and inquiry-ok codes (docs/providers/ayopop.md §3.6). */
function isSuccessFlag(code: number): boolean {
  return (code >= 0 && code <= 99) || (code >= 200 && code <= 300);
}

// ---------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------

/** The bill an inquiry quotes and a payment order pays, as both keep it. */
const simBillFields = {
  accountNumber: z.string(),
  productCode: z.string(),
  productName: z.string(),
  category: z.string(),
  customerName: z.string(),
  amount: z.number().int(),
  totalAdmin: z.number().int(),
  processingFee: z.number().int(),
};

const SimInquiry = z.object({
  inquiryId: z.number().int(),
  ...simBillFields,
  /** Epoch ms after which payment answers 312. */
  expiresAt: z.number(),
  /** The refNumber that consumed it. */
  usedBy: z.string().optional(),
});
export type SimInquiry = z.infer<typeof SimInquiry>;

export const SimOrder = z.object({
  refNumber: z.string(),
  transactionId: z.number().int(),
  ...simBillFields,
  responseCode: z.number().int(),
  /** A message other than the code's usual one (insufficient deposit). */
  message: z.object({ ID: z.string(), EN: z.string() }).optional(),
  token: z.string(),
  tokenKind: z.enum(['pln', 'voucher', 'reference']),
  /** What was taken from the deposit (0 when refused before any debit). */
  debited: z.number().int(),
  refunded: z.boolean(),
  callbackUrls: z.array(z.string()),
  /** How a 299 ends by itself: on the settle timer, or only by a control. */
  plan: z.enum(['auto-succeed', 'auto-fail', 'manual']),
  /** Epoch ms of the settle timer, so an imported state re-arms it. */
  settleAt: z.number().optional(),
  createdAt: z.string(),
  paidAt: z.string().optional(),
  updatedAt: z.string(),
});
export type SimOrder = z.infer<typeof SimOrder>;

const SimState = z.object({
  deposit: z.number().int(),
  nextInquiryId: z.number().int(),
  nextTransactionId: z.number().int(),
  inquiries: z.array(SimInquiry),
  orders: z.array(SimOrder),
});
export type SimState = z.infer<typeof SimState>;

export const AYOPOP_SIM_DEFAULTS = {
  /** Partner deposit at start, in rupiah. */
  initialDeposit: 100_000_000,
  /**
   * How long an inquiry id can be paid, in provider ms (scaled by `timeScale`). Ayopop publishes no
   * validity; a biller's business day is assumed, which also leaves a test stack at timeScale 0.001
   * 86 s to confirm. Expiry tests use `inquiryExpires`, `/_sim/inquiries/:id/expire` or a short TTL.
   */
  inquiryTtlMs: 24 * 60 * 60_000,
  /** How long a 299 takes to become final by itself, in provider ms (scaled by `timeScale`). */
  settleAfterMs: 5_000,
  /** Callback attempts: first after 1 s, then retries until HTTP 200 (scaled by `timeScale`). */
  callbackScheduleMs: [1_000, 5_000, 30_000, 60_000, 300_000, 900_000, 3_600_000] as readonly number[],
} as const;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * `23 Jan 2023 | 15:32` in Jakarta time, like Ayopop's "Tanggal & Waktu Pembayaran" row
 * (docs/providers/ayopop.md §7).
 */
function toAyopopDisplayTime(iso: string): string {
  const [year, month, day, hour, minute] = toJakartaWallClock(new Date(iso)).split(/[-T:]/);
  return `${day} ${MONTHS[Number(month) - 1]} ${year} | ${hour}:${minute}`;
}

function makeToken(kind: SimOrder['tokenKind'], seed: string): string {
  switch (kind) {
    case 'pln':
      return (digestDigits(seed, 20).match(/.{4}/g) ?? []).join('-');
    case 'voucher':
      return `V${digestDigits(seed, 15)}`;
    case 'reference':
      return `SN${digestDigits(seed, 16)}`;
  }
}

/** Ayopop's envelope `{responseCode, success, message:{ID,EN}, data}` (docs/providers/ayopop.md §3.6). */
export function envelope(code: number, data: unknown, message: AyopopMessage = messageFor(code)) {
  return { responseCode: code, success: isSuccessFlag(code), message, data };
}

function transactionData(order: SimOrder): TransactionData {
  const customerDetails: KeyValue[] = [{ key: 'Nama Pelanggan', value: order.customerName }];
  if (order.paidAt)
    customerDetails.push({ key: 'Tanggal & Waktu Pembayaran', value: toAyopopDisplayTime(order.paidAt) });
  customerDetails.push({ key: 'Nomor Pelanggan', value: order.accountNumber });
  const productDetails: KeyValue[] = [{ key: 'Nama Produk', value: order.productName }];
  if (order.responseCode >= 0 && order.responseCode <= 99) {
    productDetails.push({ key: 'ID Unik Transaksi', value: `AYO${order.transactionId}` });
    productDetails.push({ key: order.tokenKind === 'voucher' ? 'Kode Voucher' : 'Nomor Serial', value: order.token });
  }
  return {
    refNumber: order.refNumber,
    transactionId: order.transactionId,
    accountNumber: order.accountNumber,
    amount: order.amount,
    totalAdmin: order.totalAdmin,
    processingFee: order.processingFee,
    denom: '',
    productCode: order.productCode,
    productName: order.productName,
    category: order.category,
    token: order.token,
    customerName: order.customerName,
    validity: '',
    customerDetails,
    billDetails: [
      { billId: '1', billInfo: [], key: 'Harga Produk', value: order.amount },
      { billId: '0', billInfo: [], key: 'Biaya Administrasi', value: order.totalAdmin },
    ],
    productDetails,
    extraFields: [],
  };
}

/** A payment as the payment, status and callback answers report it. */
export function orderEnvelope(order: SimOrder) {
  return envelope(order.responseCode, transactionData(order), order.message ?? messageFor(order.responseCode));
}

/** An inquiry's answer: its code, and the bill when the code is 300. */
export type InquiryResult = { code: number; data?: InquiryData };

export interface AyopopStateOptions {
  callbacks: CallbackDispatcher;
  timeScale: number;
  initialDeposit: Rupiah;
  inquiryTtlMs: number;
  settleAfterMs: number;
  log: Logger;
}

export class AyopopState implements SimulatorState {
  deposit: Rupiah;
  readonly inquiries = new Map<number, SimInquiry>();
  readonly orders = new Map<string, SimOrder>();
  private nextInquiryId = 5_070_835;
  private nextTransactionId = 251_075;
  private readonly timers = new KeyedTimers();
  private readonly productsByCode = new Map(PRODUCTS.map((p) => [p.code, p]));

  constructor(private readonly options: AyopopStateOptions) {
    this.deposit = options.initialDeposit;
  }

  inquire(request: InquiryRequest): InquiryResult {
    const product = this.productsByCode.get(request.productCode);
    if (!product) return { code: 341 };
    const script = scriptFor(request.accountNumber);
    if (script.inquiry === 'fails') return { code: script.code };

    let amount: Rupiah;
    switch (product.pricing.kind) {
      case 'fixed':
      case 'unquoted':
        amount = product.pricing.price;
        break;
      case 'bill':
        amount = script.billAmount;
        break;
      case 'open':
        if (request.amount === undefined || request.amount <= 0) return { code: 321 };
        amount = request.amount;
        break;
    }
    const ttl =
      script.payment === 'inquiry-born-expired' ? 0 : Math.round(this.options.inquiryTtlMs * this.options.timeScale);
    const inquiry: SimInquiry = {
      inquiryId: this.nextInquiryId++,
      accountNumber: request.accountNumber,
      productCode: product.code,
      productName: product.name,
      category: product.category,
      customerName: script.customerName,
      amount,
      totalAdmin: product.adminFee,
      processingFee: 0,
      expiresAt: Date.now() + ttl,
    };
    this.inquiries.set(inquiry.inquiryId, inquiry);
    const quoted = product.pricing.kind === 'unquoted' ? 0 : amount;
    return {
      code: 300,
      data: {
        inquiryId: inquiry.inquiryId,
        accountNumber: inquiry.accountNumber,
        customerName: inquiry.customerName,
        productName: inquiry.productName,
        productCode: inquiry.productCode,
        category: inquiry.category,
        amount: quoted,
        totalAdmin: inquiry.totalAdmin,
        processingFee: inquiry.processingFee,
        denom: product.pricing.kind === 'fixed' ? String(product.pricing.price) : '',
        validity: '',
        customerDetails: [
          { key: 'Nama Pelanggan', value: inquiry.customerName },
          { key: 'Nomor Pelanggan', value: inquiry.accountNumber },
        ],
        billDetails: [
          { billId: '1', billInfo: [], isMandatory: true, key: 'Harga Produk', value: quoted },
          { billId: '0', billInfo: [], isMandatory: true, key: 'Biaya Administrasi', value: inquiry.totalAdmin },
        ],
        productDetails: [{ key: 'Nama Produk', value: inquiry.productName }],
        extraFields: [],
      },
    };
  }

  /**
   * Records a payment under its `refNumber` and decides its first answer: a refusal (nothing debited),
   * 0 at once, or 299 with a settle timer. `undefined` when the `refNumber` is already taken: the
   * original is neither changed nor revealed.
   */
  pay(request: PaymentRequest): SimOrder | undefined {
    if (this.orders.has(request.refNumber)) {
      this.options.log.info({ refNumber: request.refNumber }, 'duplicate refNumber refused');
      return undefined;
    }
    const product = this.productsByCode.get(request.productCode);
    const inquiry = this.inquiries.get(request.inquiryId);
    const now = new Date().toISOString();
    const order: SimOrder = {
      refNumber: request.refNumber,
      transactionId: this.nextTransactionId++,
      accountNumber: request.accountNumber,
      productCode: request.productCode,
      productName: product?.name ?? '',
      category: product?.category ?? '',
      customerName: inquiry?.customerName ?? '',
      amount: request.amount,
      totalAdmin: inquiry?.totalAdmin ?? 0,
      processingFee: inquiry?.processingFee ?? 0,
      responseCode: 299,
      token: '',
      tokenKind: product?.token ?? 'reference',
      debited: 0,
      refunded: false,
      callbackUrls: request.callbackUrls ?? [],
      plan: 'manual',
      createdAt: now,
      updatedAt: now,
    };
    this.orders.set(order.refNumber, order);

    const refuse = (code: number, message?: AyopopMessage): SimOrder => {
      order.responseCode = code;
      order.token = 'N/A';
      if (message) order.message = message;
      this.options.log.info({ refNumber: order.refNumber, code }, 'payment refused');
      return order;
    };

    if (!inquiry || inquiry.usedBy !== undefined) return refuse(185);
    if (inquiry.accountNumber !== request.accountNumber || inquiry.productCode !== request.productCode)
      return refuse(313);
    if (inquiry.amount !== request.amount) return refuse(114);
    if (Date.now() >= inquiry.expiresAt) return refuse(312);
    const script = scriptFor(request.accountNumber);
    if (script.inquiry === 'ok' && script.payment === 'payment-mismatch') return refuse(313);
    const charge = inquiry.amount + inquiry.totalAdmin + inquiry.processingFee;
    if (this.deposit < charge) return refuse(AYOPOP_SIM_INSUFFICIENT_DEPOSIT_CODE, INSUFFICIENT_DEPOSIT_MESSAGE);

    this.deposit -= charge;
    order.debited = charge;
    inquiry.usedBy = order.refNumber;
    this.options.log.info({ refNumber: order.refNumber, charge }, 'payment accepted, deposit debited');

    const payment = script.inquiry === 'ok' ? script.payment : 'settles-succeeded';
    if (payment === 'succeeds-immediately') {
      order.responseCode = 0;
      order.token = makeToken(order.tokenKind, `${order.refNumber}:${order.transactionId}`);
      order.paidAt = now;
      return order;
    }
    if (payment === 'settles-succeeded' || payment === 'settles-failed') {
      order.plan = payment === 'settles-succeeded' ? 'auto-succeed' : 'auto-fail';
      order.settleAt = Date.now() + Math.round(this.options.settleAfterMs * this.options.timeScale);
      this.armSettleTimer(order);
    }
    return order;
  }

  /**
   * Settles a 299 order as if the biller answered; false when the order is missing or already final.
   * `amount`: the biller charged another amount than the order's (status and callback then report it).
   */
  succeed(refNumber: string, token?: string, amount?: number): boolean {
    const order = this.orders.get(refNumber);
    if (!order || order.responseCode !== 299) return false;
    this.timers.cancel(refNumber);
    const now = new Date().toISOString();
    order.responseCode = 0;
    if (amount !== undefined) order.amount = amount;
    order.token = token ?? makeToken(order.tokenKind, `${order.refNumber}:${order.transactionId}`);
    order.paidAt = now;
    order.updatedAt = now;
    delete order.settleAt;
    this.options.log.info({ refNumber }, 'payment succeeded');
    this.dispatchCallbacks(order);
    return true;
  }

  fail(refNumber: string, code: number = AYOPOP_SIM_SETTLE_FAILURE_CODE): boolean {
    const order = this.orders.get(refNumber);
    if (!order || order.responseCode !== 299) return false;
    this.timers.cancel(refNumber);
    order.responseCode = code;
    order.token = 'N/A';
    // 100–199: "payment failed, partner balance refunded" (docs/providers/ayopop.md §4.1).
    this.deposit += order.debited;
    order.refunded = true;
    order.updatedAt = new Date().toISOString();
    delete order.settleAt;
    this.options.log.info({ refNumber, code }, 'payment failed, deposit refunded');
    this.dispatchCallbacks(order);
    return true;
  }

  /** POSTs the order's status-shaped body, unsigned, to each of its `callbackUrls`. */
  dispatchCallbacks(order: SimOrder): void {
    for (const url of order.callbackUrls) {
      this.options.callbacks.dispatch({
        url,
        reference: order.refNumber,
        // Ayopop signs nothing (docs/providers/ayopop.md §5), so a "forged" callback is the same request.
        build: () => ({
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(orderEnvelope(order)),
        }),
      });
    }
  }

  exportState(): SimState {
    return structuredClone({
      deposit: this.deposit,
      nextInquiryId: this.nextInquiryId,
      nextTransactionId: this.nextTransactionId,
      inquiries: [...this.inquiries.values()],
      orders: [...this.orders.values()],
    });
  }

  importState(state: unknown): void {
    const parsed = SimState.parse(state);
    this.timers.stopAll();
    this.deposit = parsed.deposit;
    this.nextInquiryId = parsed.nextInquiryId;
    this.nextTransactionId = parsed.nextTransactionId;
    this.inquiries.clear();
    for (const inquiry of parsed.inquiries) this.inquiries.set(inquiry.inquiryId, inquiry);
    this.orders.clear();
    for (const order of parsed.orders) {
      this.orders.set(order.refNumber, order);
      this.armSettleTimer(order);
    }
  }

  stop(): void {
    this.timers.stopAll();
  }

  private armSettleTimer(order: SimOrder): void {
    if (order.responseCode !== 299 || order.plan === 'manual' || order.settleAt === undefined) return;
    this.timers.at(order.refNumber, order.settleAt, () => {
      if (order.plan === 'auto-succeed') this.succeed(order.refNumber);
      else this.fail(order.refNumber, AYOPOP_SIM_SETTLE_FAILURE_CODE);
    });
  }
}
