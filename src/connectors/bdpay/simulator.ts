/**
 * A faithful BDPay simulator (reference Part 2, "What a faithful simulator must do"): the same endpoints,
 * RSA `sign` checks and `platSign` on every answer, the seed's field rules (validated with the connector's
 * own schemas), pay-in and payout state machines with balance, fee and freeze accounting, form callbacks
 * on the seed's retry schedule until the answer is exactly `SUCCESS`, and the faults issue 5 lists.
 *
 * Where BDPay itself is undocumented (error wording, the HTTP status of a refused request) it answers
 * HTTP 200 with `platRespCode: FAIL` and a message naming the field, as the family's samples do.
 */
import { generateKeyPairSync, randomInt, type KeyObject } from 'node:crypto';
import express from 'express';
import type { Request, Response } from 'express';
import { z, type ZodType } from 'zod';
import { logger } from '../../logger';
import {
  CallbackDispatcher,
  FaultInjector,
  SubmissionCounter,
  controlRouter,
  rawBody,
  type ProviderSimulator,
  type SimulatorCommonOptions,
} from '../simulator-kit';
import { BDPAY_PATHS, toWireDateTime } from './mapping';
import {
  BalanceRequestSchema,
  BdpayMethodSchema,
  CALLBACK_ACKNOWLEDGEMENT,
  CashRequestSchema,
  CashStatusSchema,
  EXPIRY_PERIOD_DEFAULT_MINUTES,
  FeeTypeSchema,
  OrderStatusSchema,
  OVO_CONFIRMATION_WINDOW_MS,
  PayRequestSchema,
  PrepaidOrderRequestSchema,
  QueryRequestSchema,
  type BdpayMethod,
  type CashRequest,
  type OrderStatus,
  type PayRequest,
  type PrepaidOrderRequest,
} from './schemas';
import { signFields, toPrivateKey, toPublicKey, verifyFieldSignature } from './signing';

/** Seed "Whether to retry the callback notification": 6 notifications, 1 s, 30 s, 60 s, 90 s, 1 h, 2 h apart. */
export const BDPAY_CALLBACK_SCHEDULE_MS: readonly number[] = [1_000, 30_000, 60_000, 90_000, 3_600_000, 7_200_000];

// ---------- credentials ----------

/** Both key pairs, as PEM. The merchant's private key goes to Kasir; the platform's stays in the simulator. */
export const BdpayCredentialsSchema = z.object({
  merchantCode: z.string().min(1),
  merchantPrivateKeyPem: z.string().min(1),
  merchantPublicKeyPem: z.string().min(1),
  platformPrivateKeyPem: z.string().min(1),
  platformPublicKeyPem: z.string().min(1),
});
export type BdpayCredentials = z.infer<typeof BdpayCredentialsSchema>;

function generateRsaPemPair(): { privateKeyPem: string; publicKeyPem: string } {
  // 1024-bit, like every key the family hands out (reference 2.5), so chunking is exercised as in production.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 1024,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** Fresh TEST-ONLY credentials: a merchant code shaped like the docs' `S820190712000002` and two key pairs. */
export function generateBdpayCredentials(): BdpayCredentials {
  const merchant = generateRsaPemPair();
  const platform = generateRsaPemPair();
  const digits = Array.from({ length: 14 }, () => randomInt(10)).join('');
  return {
    merchantCode: `S8${digits}`,
    merchantPrivateKeyPem: merchant.privateKeyPem,
    merchantPublicKeyPem: merchant.publicKeyPem,
    platformPrivateKeyPem: platform.privateKeyPem,
    platformPublicKeyPem: platform.publicKeyPem,
  };
}

// ---------- state ----------

const SimOrderSchema = z.object({
  orderNum: z.string(),
  platOrderNum: z.string(),
  path: z.enum([BDPAY_PATHS.pay, BDPAY_PATHS.prepaidOrder]),
  method: BdpayMethodSchema.optional(),
  payMoney: z.number(),
  payFee: z.number(),
  name: z.string(),
  email: z.string(),
  phone: z.string(),
  productDetail: z.string().optional(),
  notifyUrl: z.string(),
  redirectUrl: z.string().optional(),
  expiryPeriod: z.number(),
  status: OrderStatusSchema,
  vaNumber: z.string().optional(),
  qrString: z.string().optional(),
  url: z.string().optional(),
  createdAt: z.string(),
  /** Wall-clock instant (ms) the simulator cancels the order: expiryPeriod scaled by timeScale. */
  expiresAtMs: z.number(),
  paidAt: z.string().optional(),
});
export type SimOrder = z.infer<typeof SimOrderSchema>;

const SimPayoutSchema = z.object({
  orderNum: z.string(),
  platOrderNum: z.string(),
  money: z.number(),
  fee: z.number(),
  feeType: FeeTypeSchema,
  bankCode: z.string(),
  number: z.string(),
  name: z.string(),
  description: z.string(),
  notifyUrl: z.string(),
  status: CashStatusSchema,
  statusMsg: z.string(),
  /** What left the merchant balance (held in `freeze` until the payout ends). */
  debit: z.number(),
  /** What reaches the beneficiary on success. */
  credit: z.number(),
  /** Whether the synchronous answer said UNKNOWN (the payout exists all the same). */
  answeredUnknown: z.boolean(),
  createdAt: z.string(),
  finishedAt: z.string().optional(),
});
export type SimPayout = z.infer<typeof SimPayoutSchema>;

const AccountSchema = z.object({ balance: z.number(), freeze: z.number(), pendMoney: z.number() });
export type SimAccount = z.infer<typeof AccountSchema>;

const SimStateSchema = z.object({
  orders: z.array(SimOrderSchema),
  payouts: z.array(SimPayoutSchema),
  account: AccountSchema,
  /** Total received per beneficiary `bankCode:number`, so a double payout is visible. */
  beneficiaryCredits: z.record(z.string(), z.number()),
  sequence: z.number().int().nonnegative(),
});
export type BdpaySimulatorState = z.infer<typeof SimStateSchema>;

// ---------- faults on answers ----------

/**
 * Faults on the synchronous answer, applied after the request was handled (state changed):
 * - `unknown`: answer `platRespCode: UNKNOWN`; a payout or order created by the request really exists;
 * - `forge-sign`: answer normally but sign with a wrong key, so the client must not trust it.
 */
export const ResponseFaultSchema = z.object({
  kind: z.enum(['unknown', 'forge-sign']),
  /** A path prefix, e.g. `/gateway/cash`; every gateway path when absent. */
  path: z.string().optional(),
  count: z.number().int().min(1).default(1),
});
export type ResponseFault = z.infer<typeof ResponseFaultSchema>;

// ---------- options ----------

export interface BdpaySimulatorOptions extends SimulatorCommonOptions {
  credentials: BdpayCredentials;
  /** Merchant balance at start, in rupiah. Default Rp 100,000,000. */
  initialBalance?: number;
  /** Flat fee per payout, in rupiah. Default Rp 2,500. (inferred; BDPay's price list is per merchant) */
  payoutFee?: number;
  /** Flat fee per paid pay-in order, in rupiah. Default Rp 4,000. (inferred) */
  payInFee?: number;
  /**
   * Provider time after which an accepted payout succeeds by itself (scaled by `timeScale`); `null`, the
   * default, leaves payouts processing until `/_sim/payouts/:reference/settle` or `/fail`.
   */
  autoSettlePayoutsAfterMs?: number | null;
  /** The reference asks for `SUCCESS` exactly; `case-insensitive` also takes `success`. Default `exact`. */
  acknowledgement?: 'exact' | 'case-insensitive';
  /** Override of the seed retry schedule. */
  callbackScheduleMs?: readonly number[];
  /** Per-attempt callback HTTP timeout. Default 10 s. */
  callbackTimeoutMs?: number;
}

export interface BdpaySimulator extends ProviderSimulator {
  readonly credentials: BdpayCredentials;
  order(reference: string): SimOrder | undefined;
  payout(reference: string): SimPayout | undefined;
  account(): SimAccount;
  /** Rupiah credited so far to one beneficiary account. */
  beneficiaryCredit(bankCode: string, number: string): number;
  addResponseFault(fault: z.input<typeof ResponseFaultSchema>): void;
}

/** Keys of the submission counter: the orderNum itself, and the beneficiary of a payout. */
export function beneficiaryKey(bankCode: string, number: string): string {
  return `beneficiary:${bankCode}:${number}`;
}

// ---------- timers ----------

/** setTimeout caps delays at ~24.8 days; a 97,200-minute expiry is 67.5, so long waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

class KeyedTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  at(key: string, dueAtMs: number, fire: () => void): void {
    this.cancel(key);
    const remaining = dueAtMs - Date.now();
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        if (Date.now() >= dueAtMs) fire();
        else this.at(key, dueAtMs, fire);
      },
      Math.max(0, Math.min(remaining, MAX_TIMER_MS))
    );
    timer.unref();
    this.timers.set(key, timer);
  }

  cancel(key: string): void {
    const timer = this.timers.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(key);
  }

  stopAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

// ---------- the simulator ----------

type Answer = Record<string, string>;
type Fields = Record<string, unknown>;

const OPEN_ORDER_STATUSES: readonly OrderStatus[] = ['INIT_ORDER', 'NO_PAY', 'OPEN_PAY_URL'];
const OPEN_CASH_STATUSES: readonly string[] = ['0', '1', '5'];

function fail(message: string, orderNum?: unknown): Answer {
  const answer: Answer = { platRespCode: 'FAIL', platRespMessage: message };
  if (typeof orderNum === 'string' && orderNum !== '') answer.orderNum = orderNum;
  return answer;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid request';
  const field = issue.path.map(String).join('.');
  return field === '' ? issue.message : `${field}: ${issue.message}`;
}

function withoutEmpty(fields: Record<string, string | undefined>): Answer {
  const result: Answer = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== '') result[key] = value;
  return result;
}

const JsonObjectSchema = z.record(z.string(), z.unknown());

function readJsonObject(body: unknown): Fields | undefined {
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const object = JsonObjectSchema.safeParse(parsed);
  return object.success ? object.data : undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function createBdpaySimulator(options: BdpaySimulatorOptions): BdpaySimulator {
  const credentials = BdpayCredentialsSchema.parse(options.credentials);
  const merchantPublicKey = toPublicKey(credentials.merchantPublicKeyPem);
  const platformPrivateKey = toPrivateKey(credentials.platformPrivateKeyPem);
  // A key the merchant has never seen, for forged platSign on answers and callbacks.
  const forgeryKey: KeyObject = toPrivateKey(generateRsaPemPair().privateKeyPem);
  const timeScale = options.timeScale ?? 1;
  const publicUrl = (options.publicUrl ?? 'http://127.0.0.1').replace(/\/$/, '');
  const payoutFee = options.payoutFee ?? 2_500;
  const payInFee = options.payInFee ?? 4_000;
  let autoSettleAfterMs = options.autoSettlePayoutsAfterMs ?? null;
  const log = logger.child({ provider: 'bdpay', component: 'simulator' });

  const faults = new FaultInjector();
  const submissions = new SubmissionCounter();
  const callbacks = new CallbackDispatcher({
    provider: 'bdpay',
    scheduleMs: options.callbackScheduleMs ?? BDPAY_CALLBACK_SCHEDULE_MS,
    timeScale,
    timeoutMs: options.callbackTimeoutMs,
    // The seed asks for the string SUCCESS and says nothing of the HTTP status, so only the body counts.
    isAcknowledged: (_status, body) =>
      options.acknowledgement === 'case-insensitive'
        ? body.toUpperCase() === CALLBACK_ACKNOWLEDGEMENT
        : body === CALLBACK_ACKNOWLEDGEMENT,
  });
  const timers = new KeyedTimers();

  const orders = new Map<string, SimOrder>();
  const payouts = new Map<string, SimPayout>();
  let account: SimAccount = { balance: options.initialBalance ?? 100_000_000, freeze: 0, pendMoney: 0 };
  let beneficiaryCredits: Record<string, number> = {};
  let sequence = 0;
  let responseFaults: ResponseFault[] = [];

  function nextPlatOrderNum(prefix: string): string {
    sequence += 1;
    return `${prefix}${toWireDateTime(new Date())}${String(sequence).padStart(6, '0')}`;
  }

  function takeResponseFault(path: string): ResponseFault | undefined {
    const index = responseFaults.findIndex((f) => f.path === undefined || path.startsWith(f.path));
    if (index < 0) return undefined;
    const fault = responseFaults[index]!;
    fault.count -= 1;
    if (fault.count <= 0) responseFaults.splice(index, 1);
    return fault;
  }

  function send(res: Response, path: string, answer: Answer): void {
    const fault = takeResponseFault(path);
    if (fault?.kind === 'unknown' && path === BDPAY_PATHS.cash && answer.platRespCode === 'SUCCESS') {
      const payout = payouts.get(answer.orderNum ?? '');
      if (payout !== undefined) payout.answeredUnknown = true;
    }
    const body =
      fault?.kind === 'unknown'
        ? withoutEmpty({
            platRespCode: 'UNKNOWN',
            platRespMessage: 'System busy, result unknown; please query the order',
            orderNum: answer.orderNum,
          })
        : answer;
    const key = fault?.kind === 'forge-sign' ? forgeryKey : platformPrivateKey;
    res.status(200).json({ ...body, platSign: signFields(body, key) });
  }

  /** Common front of every gateway endpoint: JSON body, known merchant, valid `sign` (reference 2.5). */
  function gateway(path: string, handle: (fields: Fields) => Answer, beforeAuth?: (fields: Fields) => void) {
    return (req: Request, res: Response): void => {
      const body: unknown = req.body;
      const fields = readJsonObject(body);
      if (fields === undefined) return send(res, path, fail('request body must be a JSON object'));
      beforeAuth?.(fields);
      if (fields.merchantCode !== credentials.merchantCode) {
        return send(res, path, fail('merchant does not exist', fields.orderNum));
      }
      if (!verifyFieldSignature(fields, 'sign', merchantPublicKey)) {
        return send(res, path, fail('sign error', fields.orderNum));
      }
      send(res, path, handle(fields));
    };
  }

  function validated<T>(schema: ZodType<T>, fields: Fields, then: (body: T) => Answer): Answer {
    const parsed = schema.safeParse(fields);
    return parsed.success ? then(parsed.data) : fail(firstIssue(parsed.error), fields.orderNum);
  }

  // ---------- pay-in ----------

  function armExpiry(order: SimOrder): void {
    timers.at(`order:${order.orderNum}`, order.expiresAtMs, () => {
      if (OPEN_ORDER_STATUSES.includes(order.status)) {
        order.status = 'PAY_CANCEL';
        log.info({ orderNum: order.orderNum }, 'order expired');
      }
    });
  }

  function instructionsFor(
    path: SimOrder['path'],
    method: BdpayMethod | undefined,
    platOrderNum: string,
    payMoney: string
  ) {
    const url = `${publicUrl}/cashier/${platOrderNum}`;
    if (path === BDPAY_PATHS.prepaidOrder || method === undefined) return { url };
    const serial = String(sequence).padStart(12, '0');
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
        return { vaNumber: `8808${serial}` };
      case 'RETAIL_ALFAMART':
        return { vaNumber: `7720${serial}` };
      case 'QRIS':
        return {
          qrString: `00020101021226610016ID.CO.BDPAY.SIM0118${platOrderNum}5303360540${payMoney.length}${payMoney}5802ID6304SIM0`,
        };
      case 'EWALLET_DANA':
        return { url };
      case 'EWALLET_OVO':
        return {};
    }
  }

  function createOrder(path: SimOrder['path'], body: PrepaidOrderRequest | PayRequest): Answer {
    if (orders.has(body.orderNum)) return fail('orderNum already exists', body.orderNum);
    const platOrderNum = nextPlatOrderNum('PRE');
    const expiryPeriod = Number(body.expiryPeriod ?? EXPIRY_PERIOD_DEFAULT_MINUTES);
    const windowMs = body.method === 'EWALLET_OVO' ? OVO_CONFIRMATION_WINDOW_MS : expiryPeriod * 60_000;
    const order: SimOrder = {
      orderNum: body.orderNum,
      platOrderNum,
      path,
      method: body.method,
      payMoney: Number(body.payMoney),
      payFee: payInFee,
      name: body.name,
      email: body.email,
      phone: body.phone,
      productDetail: body.productDetail,
      notifyUrl: body.notifyUrl,
      redirectUrl: body.redirectUrl,
      expiryPeriod,
      status: path === BDPAY_PATHS.prepaidOrder ? 'INIT_ORDER' : 'NO_PAY',
      ...instructionsFor(path, body.method, platOrderNum, body.payMoney),
      createdAt: new Date().toISOString(),
      expiresAtMs: Date.now() + Math.round(windowMs * timeScale),
    };
    orders.set(order.orderNum, order);
    armExpiry(order);
    return withoutEmpty({
      platRespCode: 'SUCCESS',
      platRespMessage: 'Request Transaction Success',
      platOrderNum,
      orderNum: order.orderNum,
      method: order.method,
      name: order.name,
      email: order.email,
      payMoney: String(order.payMoney),
      payFee: String(order.payFee),
      productDetail: order.productDetail,
      url: order.url,
      vaNumber: order.vaNumber,
      qrString: order.qrString,
    });
  }

  function payOrder(order: SimOrder): void {
    timers.cancel(`order:${order.orderNum}`);
    order.status = 'SUCCESS';
    order.paidAt = new Date().toISOString();
    account.balance += Math.max(0, order.payMoney - order.payFee);
    dispatchCallback(
      order.notifyUrl,
      order.orderNum,
      withoutEmpty({
        code: '00',
        email: order.email,
        method: order.method,
        msg: 'SUCCESS',
        name: order.name,
        orderNum: order.orderNum,
        payFee: String(order.payFee),
        payMoney: String(order.payMoney),
        platOrderNum: order.platOrderNum,
        vaNumber: order.vaNumber,
      })
    );
  }

  // ---------- payouts ----------

  function armAutoSettle(payout: SimPayout): void {
    if (autoSettleAfterMs === null) return;
    timers.at(`payout:${payout.orderNum}`, Date.now() + Math.round(autoSettleAfterMs * timeScale), () => {
      if (OPEN_CASH_STATUSES.includes(payout.status)) finishPayout(payout, '2', 'Payment success');
    });
  }

  function createPayout(body: CashRequest): Answer {
    if (payouts.has(body.orderNum)) return fail('orderNum already exists', body.orderNum);
    const money = Number(body.money);
    // Seed "Pay on behalf" 2: feeType 0 takes the fee out of the amount sent, 1 takes it from the balance on top.
    const debit = body.feeType === '0' ? money : money + payoutFee;
    const credit = body.feeType === '0' ? money - payoutFee : money;
    if (credit <= 0) return fail(`money must exceed the fee of ${payoutFee}`, body.orderNum);
    if (account.balance < debit) return fail('insufficient balance', body.orderNum);
    account.balance -= debit;
    account.freeze += debit;
    const payout: SimPayout = {
      orderNum: body.orderNum,
      platOrderNum: nextPlatOrderNum('CASH'),
      money,
      fee: payoutFee,
      feeType: body.feeType,
      bankCode: body.bankCode,
      number: body.number,
      name: body.name,
      description: body.description,
      notifyUrl: body.notifyUrl,
      status: '1',
      statusMsg: 'Processing',
      debit,
      credit,
      answeredUnknown: false,
      createdAt: new Date().toISOString(),
    };
    payouts.set(payout.orderNum, payout);
    armAutoSettle(payout);
    return payoutAnswer(payout);
  }

  function payoutAnswer(payout: SimPayout): Answer {
    return {
      platRespCode: 'SUCCESS',
      platRespMessage: 'Request success',
      platOrderNum: payout.platOrderNum,
      orderNum: payout.orderNum,
      money: String(payout.money),
      fee: String(payout.fee),
      feeType: payout.feeType,
      name: payout.name,
      number: payout.number,
      bankCode: payout.bankCode,
      description: payout.description,
      status: payout.status,
      statusMsg: payout.statusMsg,
    };
  }

  function finishPayout(payout: SimPayout, status: '2' | '4', statusMsg: string): void {
    timers.cancel(`payout:${payout.orderNum}`);
    payout.status = status;
    payout.statusMsg = statusMsg;
    payout.finishedAt = new Date().toISOString();
    account.freeze -= payout.debit;
    if (status === '2') {
      const key = `${payout.bankCode}:${payout.number}`;
      beneficiaryCredits[key] = (beneficiaryCredits[key] ?? 0) + payout.credit;
    } else {
      account.balance += payout.debit;
    }
    // Reference 2.6: payout callbacks are sent on the final statuses 2 and 4.
    dispatchCallback(payout.notifyUrl, payout.orderNum, {
      bankCode: payout.bankCode,
      description: payout.description,
      fee: String(payout.fee),
      feeType: payout.feeType,
      money: String(payout.money),
      name: payout.name,
      number: payout.number,
      orderNum: payout.orderNum,
      platOrderNum: payout.platOrderNum,
      status,
      statusMsg,
    });
  }

  // ---------- callbacks ----------

  function dispatchCallback(url: string, reference: string, fields: Answer): void {
    callbacks.dispatch({
      url,
      reference,
      build: (forged) => {
        const platSign = signFields(fields, forged ? forgeryKey : platformPrivateKey);
        return {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ ...fields, platSign }).toString(),
        };
      },
    });
  }

  // ---------- query and balance ----------

  function findOrder(orderNum: string | undefined, platOrderNum: string | undefined): SimOrder | undefined {
    if (orderNum !== undefined) return orders.get(orderNum);
    return [...orders.values()].find((o) => o.platOrderNum === platOrderNum);
  }

  function findPayout(orderNum: string | undefined, platOrderNum: string | undefined): SimPayout | undefined {
    if (orderNum !== undefined) return payouts.get(orderNum);
    return [...payouts.values()].find((p) => p.platOrderNum === platOrderNum);
  }

  function answerQuery(fields: Fields): Answer {
    return validated(QueryRequestSchema, fields, (q) => {
      const notExist = withoutEmpty({
        platRespCode: 'NOTEXIST',
        platRespMessage: 'Order does not exist',
        orderNum: q.orderNum,
      });
      switch (q.queryType) {
        case 'ORDER_QUERY': {
          const order = findOrder(q.orderNum, q.platOrderNum);
          if (order === undefined) return notExist;
          return {
            platRespCode: 'SUCCESS',
            platRespMessage: 'Request success',
            platOrderNum: order.platOrderNum,
            orderNum: order.orderNum,
            amount: String(order.payMoney),
            fee: String(order.payFee),
            status: order.status,
            msg: order.status,
          };
        }
        case 'CASH_QUERY': {
          const payout = findPayout(q.orderNum, q.platOrderNum);
          if (payout === undefined) return notExist;
          return {
            platRespCode: 'SUCCESS',
            platRespMessage: 'Request success',
            platOrderNum: payout.platOrderNum,
            orderNum: payout.orderNum,
            amount: String(payout.money),
            fee: String(payout.fee),
            status: payout.status,
            msg: payout.statusMsg,
          };
        }
        case 'REFUND_QUERY':
          // Seed tip: the platform does not support refunds, so no refund ever exists.
          return notExist;
      }
    });
  }

  // ---------- app ----------

  const app = express();
  app.use('/_sim', controlRouter({ faults, callbacks, submissions }));

  const controls = express.Router();
  controls.use(express.json());
  const withOrder =
    (handler: (order: SimOrder, req: Request, res: Response) => void) => (req: Request, res: Response) => {
      const order = orders.get(String(req.params.reference));
      if (order === undefined) return void res.status(404).json({ error: 'no such order' });
      handler(order, req, res);
    };
  const withPayout =
    (handler: (payout: SimPayout, req: Request, res: Response) => void) => (req: Request, res: Response) => {
      const payout = payouts.get(String(req.params.reference));
      if (payout === undefined) return void res.status(404).json({ error: 'no such payout' });
      handler(payout, req, res);
    };
  const openOrder = (next: OrderStatus, act: (order: SimOrder, req: Request) => void) =>
    withOrder((order, req, res) => {
      if (!OPEN_ORDER_STATUSES.includes(order.status)) {
        return void res.status(409).json({ error: `order is ${order.status}`, order });
      }
      act(order, req);
      order.status = next;
      res.json(order);
    });

  controls.get(
    '/orders/:reference',
    withOrder((order, _req, res) => void res.json(order))
  );
  controls.post(
    '/orders/:reference/pay',
    openOrder('SUCCESS', (order, req) => {
      // On the hosted cashier the customer picks the method; the control may say which (default QRIS).
      const body: unknown = req.body;
      const chosen = z.object({ method: BdpayMethodSchema.optional() }).safeParse(body ?? {});
      if (order.method === undefined) order.method = (chosen.success ? chosen.data.method : undefined) ?? 'QRIS';
      payOrder(order);
    })
  );
  controls.post(
    '/orders/:reference/expire',
    openOrder('PAY_CANCEL', (order) => timers.cancel(`order:${order.orderNum}`))
  );
  controls.post(
    '/orders/:reference/fail',
    openOrder('PAY_ERROR', (order) => timers.cancel(`order:${order.orderNum}`))
  );
  controls.get(
    '/payouts/:reference',
    withPayout((payout, _req, res) => void res.json(payout))
  );
  const finishing = (status: '2' | '4', defaultMessage: string) =>
    withPayout((payout, req, res) => {
      if (!OPEN_CASH_STATUSES.includes(payout.status)) {
        return void res.status(409).json({ error: `payout status is ${payout.status}`, payout });
      }
      const body: unknown = req.body;
      const parsed = z.object({ message: z.string().min(1).optional() }).safeParse(body ?? {});
      finishPayout(payout, status, (parsed.success ? parsed.data.message : undefined) ?? defaultMessage);
      res.json(payout);
    });
  controls.post('/payouts/:reference/settle', finishing('2', 'Payment success'));
  controls.post('/payouts/:reference/fail', finishing('4', 'Payment failed'));
  controls.get('/account', (_req, res) => void res.json(account));
  controls.post('/account', (req, res) => {
    const parsed = AccountSchema.partial().safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    account = { ...account, ...parsed.data };
    res.json(account);
  });
  controls.get('/beneficiaries', (_req, res) => void res.json(beneficiaryCredits));
  controls.post('/response-faults', (req, res) => {
    const parsed = ResponseFaultSchema.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    responseFaults.push(parsed.data);
    res.status(201).json({ pending: responseFaults });
  });
  controls.delete('/response-faults', (_req, res) => {
    responseFaults = [];
    res.status(204).end();
  });
  controls.post('/settings', (req, res) => {
    const parsed = z.object({ autoSettlePayoutsAfterMs: z.number().int().min(0).nullable() }).safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    autoSettleAfterMs = parsed.data.autoSettlePayoutsAfterMs;
    for (const payout of payouts.values()) if (OPEN_CASH_STATUSES.includes(payout.status)) armAutoSettle(payout);
    res.json(parsed.data);
  });
  app.use('/_sim', controls);

  app.use(faults.middleware());
  app.use('/gateway', rawBody());

  /** Counted on arrival, before any check: the point is to prove how often Kasir sent an order or payout. */
  const countSubmission = (fields: Fields): void => {
    if (typeof fields.orderNum === 'string') submissions.increment(fields.orderNum);
  };

  app.post(
    BDPAY_PATHS.prepaidOrder,
    gateway(
      BDPAY_PATHS.prepaidOrder,
      (fields) => validated(PrepaidOrderRequestSchema, fields, (body) => createOrder(BDPAY_PATHS.prepaidOrder, body)),
      countSubmission
    )
  );
  app.post(
    BDPAY_PATHS.pay,
    gateway(
      BDPAY_PATHS.pay,
      (fields) => validated(PayRequestSchema, fields, (body) => createOrder(BDPAY_PATHS.pay, body)),
      countSubmission
    )
  );
  app.post(
    BDPAY_PATHS.cash,
    gateway(
      BDPAY_PATHS.cash,
      (fields) => validated(CashRequestSchema, fields, createPayout),
      (fields) => {
        countSubmission(fields);
        if (typeof fields.bankCode === 'string' && typeof fields.number === 'string') {
          submissions.increment(beneficiaryKey(fields.bankCode, fields.number));
        }
      }
    )
  );
  app.post(BDPAY_PATHS.query, gateway(BDPAY_PATHS.query, answerQuery));
  app.post(
    BDPAY_PATHS.balance,
    gateway(BDPAY_PATHS.balance, (fields) =>
      validated(BalanceRequestSchema, fields, () => ({
        platRespCode: 'SUCCESS',
        platRespMessage: 'Request success',
        balance: String(account.balance),
        freeze: String(account.freeze),
        pendMoney: String(account.pendMoney),
      }))
    )
  );

  // The hosted cashier behind `url`: opening it moves an order to OPEN_PAY_URL, and its button pays it.
  app.get('/cashier/:platOrderNum', (req, res) => {
    const order = findOrder(undefined, String(req.params.platOrderNum));
    if (order === undefined) return void res.status(404).type('text/plain').send('Order does not exist');
    if (order.status === 'INIT_ORDER') order.status = 'OPEN_PAY_URL';
    const payable = OPEN_ORDER_STATUSES.includes(order.status);
    res
      .type('html')
      .send(
        `<!doctype html><title>BDPay simulator</title><h1>Order ${escapeHtml(order.orderNum)}</h1>` +
          `<p>Rp ${order.payMoney} · ${escapeHtml(order.method ?? 'any method')} · ${order.status}</p>` +
          (payable
            ? `<form method="post" action="/_sim/orders/${encodeURIComponent(order.orderNum)}/pay"><button>Pay</button></form>`
            : '')
      );
  });

  return {
    provider: 'bdpay',
    app,
    faults,
    callbacks,
    submissions,
    credentials,
    order: (reference) => orders.get(reference),
    payout: (reference) => payouts.get(reference),
    account: () => ({ ...account }),
    beneficiaryCredit: (bankCode, number) => beneficiaryCredits[`${bankCode}:${number}`] ?? 0,
    addResponseFault: (fault) => void responseFaults.push(ResponseFaultSchema.parse(fault)),
    exportState(): BdpaySimulatorState {
      return structuredClone({
        orders: [...orders.values()],
        payouts: [...payouts.values()],
        account,
        beneficiaryCredits,
        sequence,
      });
    },
    importState(state: unknown): void {
      const parsed = SimStateSchema.parse(state);
      timers.stopAll();
      orders.clear();
      payouts.clear();
      for (const order of parsed.orders) {
        orders.set(order.orderNum, order);
        if (OPEN_ORDER_STATUSES.includes(order.status)) armExpiry(order);
      }
      for (const payout of parsed.payouts) {
        payouts.set(payout.orderNum, payout);
        if (OPEN_CASH_STATUSES.includes(payout.status)) armAutoSettle(payout);
      }
      account = parsed.account;
      beneficiaryCredits = parsed.beneficiaryCredits;
      sequence = parsed.sequence;
    },
    stop(): void {
      timers.stopAll();
      callbacks.stop();
    },
  };
}
