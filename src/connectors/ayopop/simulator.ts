/**
 * A faithful local Ayopop (Ayoconnect PPOB) partner API v2, for tests and `npm start`.
 *
 * What it reproduces (reference Part 2, "Ayopop simulator"; issue 6):
 * - Auth: `KEY`, `TOKEN` (HS256 JWT with the API secret, claims = parameters) and `VERSION` matching
 *   `/api/vN/`; `KEY` must equal the `partnerId` claim and the partner. Anything else is HTTP 401
 *   `responseCode 401`. Parameters are read from the verified claims; a non-empty body must agree
 *   with them (the docs send no body; Kasir mirrors the claims).
 * - Inquiry by a scripted catalogue of account numbers ({@link AYOPOP_SIM_ACCOUNTS}); an inquiry id is
 *   bound to one account, product and amount, expires after `inquiryTtlMs` (scaled by `timeScale`) and
 *   pays at most one payment.
 * - Payment: the partner deposit is debited on acceptance (`299`) and refunded on failure (`1xx`);
 *   a reused `refNumber` answers `102` and leaves the original untouched. `299` moves to `0` (with a
 *   token) or `1xx` on a timer (`settleAfterMs`, scaled) or by a control.
 * - Status by `refNumber`; an unknown one answers `188` "transaction is not available".
 * - Callbacks: the status-shaped body, unsigned, POSTed to each `callbackUrls` entry when a `299`
 *   transaction becomes final, retried until HTTP 200.
 *
 * Choices where Ayopop's behaviour is not public (reference "Biggest uncertainties"), all [inferred]:
 * - insufficient deposit answers {@link AYOPOP_SIM_INSUFFICIENT_DEPOSIT_CODE} (199, "general error");
 * - payments refused before any debit (185, 312, 313, 114, insufficient deposit) are still recorded
 *   under their `refNumber`, so status confirms the refusal and the `refNumber` counts as used;
 * - the deposit is debited `amount + totalAdmin + processingFee`;
 * - invalid parameters answer HTTP 400 with `321` "bad request"; products/balance answer `0`;
 * - the callback retry schedule is `AYOPOP_SIM_DEFAULTS.callbackScheduleMs` (PPOB documents none);
 * - the callback carries no signature, so the `forge` callback fault changes nothing but the
 *   dispatcher's bookkeeping: there is nothing to forge.
 *
 * Controls (besides the shared `/_sim` ones): `GET /_sim/orders/:refNumber`,
 * `POST /_sim/orders/:refNumber/succeed` (alias `/pay`, body `{token?}`), `POST /_sim/orders/:refNumber/fail`
 * (body `{code?}` in 100–199), `POST /_sim/orders/:refNumber/callback` (send the final callback again),
 * `GET /_sim/inquiries/:inquiryId`, `POST /_sim/inquiries/:inquiryId/expire`, `GET|POST /_sim/deposit`.
 * Faults through the shared routes: `POST /_sim/faults` (`slow` past the client timeout, `http-5xx`
 * with 502/504, `accept-then-drop`) and `POST /_sim/callback-faults` (`duplicate`, `suppress`, `delay`).
 * `GET /_sim/submissions` counts every authenticated, well-formed payment per `refNumber`, duplicates
 * included, so a test can prove a timed-out payment was sent exactly once.
 */
import { createHash } from 'node:crypto';
import express from 'express';
import type { Request, Response, NextFunction } from 'express';
import { z } from 'zod';
import type { Rupiah } from '../../domain/money';
import { logger } from '../../logger';
import { CallbackDispatcher, FaultInjector, SubmissionCounter, controlRouter, rawBody } from '../simulator-kit';
import type { ProviderSimulator, SimulatorCommonOptions } from '../simulator-kit';
import { DUPLICATE_REFERENCE_CODES, PROCESSING_OR_UNKNOWN_REFERENCE_CODE } from './mapping';
import { AYOPOP_PATHS } from './client';
import { InquiryRequest, PartnerRequest, PaymentRequest, StatusRequest } from './schemas';
import type { AyopopMessage, BalanceData, InquiryData, KeyValue, ProductItem, TransactionData } from './schemas';
import { constantTimeEqual } from '../../constant-time';
import { verifyAyopopToken, versionForPath } from './signing';

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

/** What a reused `refNumber` answers (reference 2.5 lists 102 and 108 as duplicates; 102 is used). */
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
  biller: string;
  type: 'postpaid' | 'prepaid' | 'voucher' | 'emoney';
  pricing: { kind: 'bill' } | { kind: 'fixed'; price: Rupiah } | { kind: 'open' };
  adminFee: Rupiah;
  /** How the customer's token looks once paid. */
  token: 'pln' | 'voucher' | 'reference';
}

const PRODUCTS: readonly SimProduct[] = [
  {
    code: AYOPOP_SIM_PRODUCTS.plnPostpaid,
    name: 'PLN Pascabayar',
    category: 'PLN Postpaid',
    biller: 'PLN',
    type: 'postpaid',
    pricing: { kind: 'bill' },
    adminFee: 2_500,
    token: 'reference',
  },
  {
    code: AYOPOP_SIM_PRODUCTS.plnToken20k,
    name: 'Token PLN 20.000',
    category: 'PLN Prepaid',
    biller: 'PLN',
    type: 'prepaid',
    pricing: { kind: 'fixed', price: 20_000 },
    adminFee: 1_500,
    token: 'pln',
  },
  {
    code: AYOPOP_SIM_PRODUCTS.googlePlay20k,
    name: 'Google Play Rp 20.000',
    category: 'Google Play',
    biller: 'Google',
    type: 'voucher',
    pricing: { kind: 'fixed', price: 20_000 },
    adminFee: 0,
    token: 'voucher',
  },
  {
    code: AYOPOP_SIM_PRODUCTS.danaTopUp,
    name: 'DANA Top Up',
    category: 'E-Money',
    biller: 'DANA',
    type: 'emoney',
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
  [A.billTooOld, { inquiry: 'fails', code: 301 }],
  [A.alreadyPaid, { inquiry: 'fails', code: 302 }],
  [A.billNotAvailable, { inquiry: 'fails', code: 303 }],
  [A.wrongAccount, { inquiry: 'fails', code: 304 }],
  [A.billerProblem, { inquiry: 'fails', code: 305 }],
  [A.cutOff, { inquiry: 'fails', code: 310 }],
  [A.productUnavailable, { inquiry: 'fails', code: 311 }],
  [A.mandatoryBillFirst, { inquiry: 'fails', code: 314 }],
  [A.overLimit, { inquiry: 'fails', code: 315 }],
  [A.payAtCounter, { inquiry: 'fails', code: 320 }],
  [A.blockedAccount, { inquiry: 'fails', code: 112 }],
  [A.productOffline, { inquiry: 'fails', code: 184 }],
]);

function digestDigits(seed: string, length: number): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  let digits = '';
  for (let i = 0; digits.length < length; i += 2) digits += String(parseInt(hex.slice(i % 60, (i % 60) + 2), 16) % 10);
  return digits;
}

function scriptFor(accountNumber: string): AccountScript {
  const scripted = ACCOUNT_SCRIPTS.get(accountNumber);
  if (scripted) return scripted;
  const digits = digestDigits(accountNumber, 3);
  return {
    inquiry: 'ok',
    customerName: `PELANGGAN ${accountNumber.slice(-4).toUpperCase()}`,
    billAmount: 50_000 + (Number(digits) % 200) * 1_000,
    payment: 'settles-succeeded',
  };
}

/**
 * Messages the simulator answers with. 0, 188, 299 and 300 are Ayopop's own (seed 004, reference 2.5);
 * the rest are the simulator's wording of the reference's per-code meanings.
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

/** `success` as Ayopop sets it: true for success, processing and inquiry-ok codes (seed 004). */
function isSuccessFlag(code: number): boolean {
  return (code >= 0 && code <= 99) || (code >= 200 && code <= 300);
}

// ---------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------

const SimInquiry = z.object({
  inquiryId: z.number().int(),
  accountNumber: z.string(),
  productCode: z.string(),
  productName: z.string(),
  category: z.string(),
  customerName: z.string(),
  amount: z.number().int(),
  totalAdmin: z.number().int(),
  processingFee: z.number().int(),
  /** Epoch ms after which payment answers 312. */
  expiresAt: z.number(),
  /** The refNumber that consumed it. */
  usedBy: z.string().optional(),
});
type SimInquiry = z.infer<typeof SimInquiry>;

const SimOrder = z.object({
  refNumber: z.string(),
  transactionId: z.number().int(),
  accountNumber: z.string(),
  productCode: z.string(),
  productName: z.string(),
  category: z.string(),
  customerName: z.string(),
  amount: z.number().int(),
  totalAdmin: z.number().int(),
  processingFee: z.number().int(),
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
type SimOrder = z.infer<typeof SimOrder>;

const SimState = z.object({
  deposit: z.number().int(),
  nextInquiryId: z.number().int(),
  nextTransactionId: z.number().int(),
  inquiries: z.array(SimInquiry),
  orders: z.array(SimOrder),
});
type SimState = z.infer<typeof SimState>;

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

export interface AyopopSimulatorOptions extends SimulatorCommonOptions {
  /** The partner's API key, also its `partnerId`. */
  partnerId: string;
  apiSecret: string;
  initialDeposit?: Rupiah;
  inquiryTtlMs?: number;
  settleAfterMs?: number;
  callbackScheduleMs?: readonly number[];
}

export interface AyopopSimulator extends ProviderSimulator {
  /** Current partner deposit, in rupiah. */
  deposit(): Rupiah;
  order(refNumber: string): Readonly<SimOrder> | undefined;
  /** Settles a 299 order as if the biller answered; false when the order is missing or already final. */
  succeed(refNumber: string, token?: string): boolean;
  fail(refNumber: string, code?: number): boolean;
}

const JAKARTA_OFFSET_MS = 7 * 60 * 60 * 1000;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `23 Jan 2023 | 15:32` in Jakarta time, as the seed's "Tanggal & Waktu Pembayaran" row. */
function toAyopopDisplayTime(iso: string): string {
  const t = new Date(new Date(iso).getTime() + JAKARTA_OFFSET_MS);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(t.getUTCDate())} ${MONTHS[t.getUTCMonth()]} ${t.getUTCFullYear()} | ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`;
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

// ---------------------------------------------------------------------------------------------------
// The simulator
// ---------------------------------------------------------------------------------------------------

export function createAyopopSimulator(options: AyopopSimulatorOptions): AyopopSimulator {
  const timeScale = options.timeScale ?? 1;
  const inquiryTtlMs = options.inquiryTtlMs ?? AYOPOP_SIM_DEFAULTS.inquiryTtlMs;
  const settleAfterMs = options.settleAfterMs ?? AYOPOP_SIM_DEFAULTS.settleAfterMs;
  const log = logger.child({ simulator: 'ayopop' });

  const faults = new FaultInjector();
  const submissions = new SubmissionCounter();
  const callbacks = new CallbackDispatcher({
    provider: 'ayopop',
    scheduleMs: options.callbackScheduleMs ?? AYOPOP_SIM_DEFAULTS.callbackScheduleMs,
    timeScale,
    // Reference 2.6: anything but HTTP 200 is "not delivered".
    isAcknowledged: (status) => status === 200,
  });

  let deposit: Rupiah = options.initialDeposit ?? AYOPOP_SIM_DEFAULTS.initialDeposit;
  let nextInquiryId = 5_070_835;
  let nextTransactionId = 251_075;
  const inquiries = new Map<number, SimInquiry>();
  const orders = new Map<string, SimOrder>();
  const settleTimers = new Map<string, NodeJS.Timeout>();
  const productsByCode = new Map(PRODUCTS.map((p) => [p.code, p]));

  // --- wire shapes --------------------------------------------------------------------------------

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

  function envelope(code: number, data: unknown, message: AyopopMessage = messageFor(code)) {
    return { responseCode: code, success: isSuccessFlag(code), message, data };
  }

  function orderEnvelope(order: SimOrder) {
    return envelope(order.responseCode, transactionData(order), order.message ?? messageFor(order.responseCode));
  }

  function reply(res: Response, code: number, data: unknown = {}, httpStatus = 200, message?: AyopopMessage): void {
    res.status(httpStatus).json(envelope(code, data, message));
  }

  // --- state machine ------------------------------------------------------------------------------

  function dispatchCallbacks(order: SimOrder): void {
    for (const url of order.callbackUrls) {
      callbacks.dispatch({
        url,
        reference: order.refNumber,
        // Ayopop signs nothing (reference 2.6), so a "forged" callback is the same request.
        build: () => ({
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(orderEnvelope(order)),
        }),
      });
    }
  }

  function clearSettleTimer(refNumber: string): void {
    const timer = settleTimers.get(refNumber);
    if (timer) clearTimeout(timer);
    settleTimers.delete(refNumber);
  }

  function armSettleTimer(order: SimOrder): void {
    if (order.responseCode !== 299 || order.plan === 'manual' || order.settleAt === undefined) return;
    clearSettleTimer(order.refNumber);
    const timer = setTimeout(
      () => {
        settleTimers.delete(order.refNumber);
        if (order.plan === 'auto-succeed') succeed(order.refNumber);
        else fail(order.refNumber, AYOPOP_SIM_SETTLE_FAILURE_CODE);
      },
      Math.max(0, order.settleAt - Date.now())
    );
    timer.unref();
    settleTimers.set(order.refNumber, timer);
  }

  function succeed(refNumber: string, token?: string): boolean {
    const order = orders.get(refNumber);
    if (!order || order.responseCode !== 299) return false;
    clearSettleTimer(refNumber);
    const now = new Date().toISOString();
    order.responseCode = 0;
    order.token = token ?? makeToken(order.tokenKind, `${order.refNumber}:${order.transactionId}`);
    order.paidAt = now;
    order.updatedAt = now;
    delete order.settleAt;
    log.info({ refNumber }, 'payment succeeded');
    dispatchCallbacks(order);
    return true;
  }

  function fail(refNumber: string, code: number = AYOPOP_SIM_SETTLE_FAILURE_CODE): boolean {
    const order = orders.get(refNumber);
    if (!order || order.responseCode !== 299) return false;
    clearSettleTimer(refNumber);
    order.responseCode = code;
    order.token = 'N/A';
    // 100–199: "payment failed, partner balance refunded" (reference 2.5).
    deposit += order.debited;
    order.refunded = true;
    order.updatedAt = new Date().toISOString();
    delete order.settleAt;
    log.info({ refNumber, code }, 'payment failed, deposit refunded');
    dispatchCallbacks(order);
    return true;
  }

  // --- auth ---------------------------------------------------------------------------------------

  function unauthorized(res: Response, reason: string): void {
    log.info({ reason }, 'request refused');
    reply(res, 401, {}, 401);
  }

  function bodyAgreesWithClaims(body: unknown, claims: Record<string, unknown>): boolean {
    if (!Buffer.isBuffer(body) || body.toString('utf8').trim() === '') return true;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return false;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return false;
    return Object.entries(parsed).every(([key, value]) => JSON.stringify(value) === JSON.stringify(claims[key]));
  }

  async function authenticate(req: Request, res: Response, next: NextFunction): Promise<void> {
    const expectedVersion = versionForPath(req.path);
    if (expectedVersion === undefined || req.get('VERSION') !== expectedVersion) return unauthorized(res, 'VERSION');
    const key = req.get('KEY');
    const token = req.get('TOKEN');
    if (!key || !token || !constantTimeEqual(key, options.partnerId)) return unauthorized(res, 'KEY');
    const claims = await verifyAyopopToken(token, options.apiSecret);
    if (!claims) return unauthorized(res, 'TOKEN');
    if (typeof claims.partnerId !== 'string' || !constantTimeEqual(claims.partnerId, key)) {
      return unauthorized(res, 'partnerId');
    }
    if (!bodyAgreesWithClaims(req.body, claims)) return unauthorized(res, 'body differs from TOKEN');
    res.locals.claims = claims;
    next();
  }

  function claimsOf<T>(res: Response, schema: z.ZodType<T>): T | undefined {
    const parsed = schema.safeParse(res.locals.claims);
    if (parsed.success) return parsed.data;
    reply(res, 321, {}, 400);
    return undefined;
  }

  // --- endpoints ----------------------------------------------------------------------------------

  function inquire(req: Request, res: Response): void {
    const request = claimsOf(res, InquiryRequest);
    if (!request) return;
    const product = productsByCode.get(request.productCode);
    if (!product) return reply(res, 341);
    const script = scriptFor(request.accountNumber);
    if (script.inquiry === 'fails') return reply(res, script.code);

    let amount: Rupiah;
    switch (product.pricing.kind) {
      case 'fixed':
        amount = product.pricing.price;
        break;
      case 'bill':
        amount = script.billAmount;
        break;
      case 'open':
        if (request.amount === undefined || request.amount <= 0) return reply(res, 321);
        amount = request.amount;
        break;
    }
    const issuedAt = Date.now();
    const ttl = script.payment === 'inquiry-born-expired' ? 0 : Math.round(inquiryTtlMs * timeScale);
    const inquiry: SimInquiry = {
      inquiryId: nextInquiryId++,
      accountNumber: request.accountNumber,
      productCode: product.code,
      productName: product.name,
      category: product.category,
      customerName: script.customerName,
      amount,
      totalAdmin: product.adminFee,
      processingFee: 0,
      expiresAt: issuedAt + ttl,
    };
    inquiries.set(inquiry.inquiryId, inquiry);
    const data: InquiryData = {
      inquiryId: inquiry.inquiryId,
      accountNumber: inquiry.accountNumber,
      customerName: inquiry.customerName,
      productName: inquiry.productName,
      productCode: inquiry.productCode,
      category: inquiry.category,
      amount,
      totalAdmin: inquiry.totalAdmin,
      processingFee: inquiry.processingFee,
      denom: product.pricing.kind === 'fixed' ? String(product.pricing.price) : '',
      validity: '',
      customerDetails: [
        { key: 'Nama Pelanggan', value: inquiry.customerName },
        { key: 'Nomor Pelanggan', value: inquiry.accountNumber },
      ],
      billDetails: [
        { billId: '1', billInfo: [], isMandatory: true, key: 'Harga Produk', value: amount },
        { billId: '0', billInfo: [], isMandatory: true, key: 'Biaya Administrasi', value: inquiry.totalAdmin },
      ],
      productDetails: [{ key: 'Nama Produk', value: inquiry.productName }],
      extraFields: [],
    };
    reply(res, 300, data);
  }

  function pay(req: Request, res: Response): void {
    const request = claimsOf(res, PaymentRequest);
    if (!request) return;
    submissions.increment(request.refNumber);

    if (orders.has(request.refNumber)) {
      // The original is neither changed nor revealed: 102 only says the refNumber is taken.
      log.info({ refNumber: request.refNumber }, 'duplicate refNumber refused');
      return reply(res, AYOPOP_SIM_DUPLICATE_REFERENCE_CODE);
    }

    const product = productsByCode.get(request.productCode);
    const inquiry = inquiries.get(request.inquiryId);
    const now = new Date().toISOString();
    const order: SimOrder = {
      refNumber: request.refNumber,
      transactionId: nextTransactionId++,
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
    orders.set(order.refNumber, order);

    const refuse = (code: number, message?: AyopopMessage): void => {
      order.responseCode = code;
      order.token = 'N/A';
      if (message) order.message = message;
      log.info({ refNumber: order.refNumber, code }, 'payment refused');
      res.json(orderEnvelope(order));
    };

    if (!inquiry || inquiry.usedBy !== undefined) return refuse(185);
    if (inquiry.accountNumber !== request.accountNumber || inquiry.productCode !== request.productCode)
      return refuse(313);
    if (inquiry.amount !== request.amount) return refuse(114);
    if (Date.now() >= inquiry.expiresAt) return refuse(312);
    const script = scriptFor(request.accountNumber);
    if (script.inquiry === 'ok' && script.payment === 'payment-mismatch') return refuse(313);
    const charge = inquiry.amount + inquiry.totalAdmin + inquiry.processingFee;
    if (deposit < charge) return refuse(AYOPOP_SIM_INSUFFICIENT_DEPOSIT_CODE, INSUFFICIENT_DEPOSIT_MESSAGE);

    deposit -= charge;
    order.debited = charge;
    inquiry.usedBy = order.refNumber;
    log.info({ refNumber: order.refNumber, charge }, 'payment accepted, deposit debited');

    const payment = script.inquiry === 'ok' ? script.payment : 'settles-succeeded';
    if (payment === 'succeeds-immediately') {
      order.responseCode = 0;
      order.token = makeToken(order.tokenKind, `${order.refNumber}:${order.transactionId}`);
      order.paidAt = now;
      return void res.json(orderEnvelope(order));
    }
    if (payment === 'settles-succeeded' || payment === 'settles-failed') {
      order.plan = payment === 'settles-succeeded' ? 'auto-succeed' : 'auto-fail';
      order.settleAt = Date.now() + Math.round(settleAfterMs * timeScale);
    }
    res.json(orderEnvelope(order));
    armSettleTimer(order);
  }

  function status(req: Request, res: Response): void {
    const request = claimsOf(res, StatusRequest);
    if (!request) return;
    const order = orders.get(request.refNumber);
    if (!order) return reply(res, PROCESSING_OR_UNKNOWN_REFERENCE_CODE);
    res.json(orderEnvelope(order));
  }

  function productList(req: Request, res: Response): void {
    if (!claimsOf(res, PartnerRequest)) return;
    const items: ProductItem[] = PRODUCTS.map((p) => ({
      code: p.code,
      name: p.name,
      description: p.name,
      logo: null,
      amount: p.pricing.kind === 'fixed' ? p.pricing.price : 0,
      adminFee: p.adminFee,
      biller: p.biller,
      category: p.category,
      active: true,
      type: p.type,
    }));
    reply(res, 0, items, 200, { ID: 'Berhasil', EN: 'Success' });
  }

  function balance(req: Request, res: Response): void {
    const request = claimsOf(res, PartnerRequest);
    if (!request) return;
    const data: BalanceData = { balance: deposit, currency: 'IDR', partnerId: request.partnerId };
    reply(res, 0, data, 200, { ID: 'Berhasil', EN: 'Success' });
  }

  // --- controls -----------------------------------------------------------------------------------

  const controls = express.Router();
  controls.use(express.json());
  controls.get('/orders/:refNumber', (req, res) => {
    const order = orders.get(req.params.refNumber);
    if (!order) return void res.status(404).json({ error: 'unknown refNumber' });
    res.json(order);
  });
  const succeedControl = (req: Request<{ refNumber: string }>, res: Response) => {
    const token = z.object({ token: z.string().min(1).optional() }).safeParse(req.body ?? {});
    if (!token.success) return void res.status(400).json({ error: token.error.issues });
    if (!succeed(req.params.refNumber, token.data.token)) {
      return void res.status(409).json({ error: 'no processing (299) payment with this refNumber' });
    }
    res.json(orders.get(req.params.refNumber));
  };
  controls.post('/orders/:refNumber/succeed', succeedControl);
  controls.post('/orders/:refNumber/pay', succeedControl);
  controls.post('/orders/:refNumber/fail', (req, res) => {
    const FailBody = z.object({
      code: z
        .number()
        .int()
        .min(100)
        .max(199)
        .refine(
          (c) => !DUPLICATE_REFERENCE_CODES.includes(c) && c !== PROCESSING_OR_UNKNOWN_REFERENCE_CODE,
          'not a failure code'
        )
        .optional(),
    });
    const body = FailBody.safeParse(req.body ?? {});
    if (!body.success) return void res.status(400).json({ error: body.error.issues });
    if (!fail(req.params.refNumber, body.data.code)) {
      return void res.status(409).json({ error: 'no processing (299) payment with this refNumber' });
    }
    res.json(orders.get(req.params.refNumber));
  });
  controls.post('/orders/:refNumber/callback', (req, res) => {
    const order = orders.get(req.params.refNumber);
    if (!order) return void res.status(404).json({ error: 'unknown refNumber' });
    dispatchCallbacks(order);
    res.status(202).json({ callbackUrls: order.callbackUrls });
  });
  controls.get('/inquiries/:inquiryId', (req, res) => {
    const inquiry = inquiries.get(Number(req.params.inquiryId));
    if (!inquiry) return void res.status(404).json({ error: 'unknown inquiryId' });
    res.json(inquiry);
  });
  controls.post('/inquiries/:inquiryId/expire', (req, res) => {
    const inquiry = inquiries.get(Number(req.params.inquiryId));
    if (!inquiry) return void res.status(404).json({ error: 'unknown inquiryId' });
    inquiry.expiresAt = Date.now();
    res.json(inquiry);
  });
  controls.get('/deposit', (_req, res) => void res.json({ balance: deposit }));
  controls.post('/deposit', (req, res) => {
    const body = z.object({ balance: z.number().int().nonnegative() }).safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: body.error.issues });
    deposit = body.data.balance;
    res.json({ balance: deposit });
  });

  // --- app ----------------------------------------------------------------------------------------

  const app = express();
  app.disable('x-powered-by');
  app.use('/_sim', controlRouter({ faults, callbacks, submissions }));
  app.use('/_sim', controls);
  app.use(faults.middleware());
  app.use('/api', rawBody(), authenticate);
  app.post(AYOPOP_PATHS.inquiry, inquire);
  app.post(AYOPOP_PATHS.payment, pay);
  app.post(AYOPOP_PATHS.status, status);
  app.post(AYOPOP_PATHS.products, productList);
  app.post(AYOPOP_PATHS.balance, balance);

  return {
    provider: 'ayopop',
    app,
    faults,
    callbacks,
    submissions,
    deposit: () => deposit,
    order: (refNumber) => orders.get(refNumber),
    succeed,
    fail,
    exportState(): SimState {
      return structuredClone({
        deposit,
        nextInquiryId,
        nextTransactionId,
        inquiries: [...inquiries.values()],
        orders: [...orders.values()],
      });
    },
    importState(state: unknown): void {
      const parsed = SimState.parse(state);
      for (const refNumber of [...settleTimers.keys()]) clearSettleTimer(refNumber);
      deposit = parsed.deposit;
      nextInquiryId = parsed.nextInquiryId;
      nextTransactionId = parsed.nextTransactionId;
      inquiries.clear();
      for (const inquiry of parsed.inquiries) inquiries.set(inquiry.inquiryId, inquiry);
      orders.clear();
      for (const order of parsed.orders) {
        orders.set(order.refNumber, order);
        armSettleTimer(order);
      }
    },
    stop(): void {
      for (const refNumber of [...settleTimers.keys()]) clearSettleTimer(refNumber);
      callbacks.stop();
    },
  };
}
