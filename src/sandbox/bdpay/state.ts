/**
 * The simulated BDPay's state: pay-in orders and payouts with their state machines, the merchant
 * account (balance, freeze, fees), what each beneficiary received, scripted answer faults, the form
 * callbacks each final status sends, and export/import of all of it as JSON.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { instructionKindOf, toWireDateTime } from '../../connectors/bdpay/mapping';
import {
  BDPAY_PATHS,
  BdpayMethodSchema,
  CashStatusSchema,
  EXPIRY_PERIOD_DEFAULT_MINUTES,
  FeeTypeSchema,
  OVO_CONFIRMATION_WINDOW_MS,
  OrderStatusSchema,
} from '../../connectors/bdpay/schemas';
import type {
  BdpayMethod,
  CashRequest,
  OrderStatus,
  PayRequest,
  PrepaidOrderRequest,
} from '../../connectors/bdpay/schemas';
import { signFields } from '../../connectors/bdpay/signing';
import { buildQris } from '../../checkout/qris';
import { KeyedTimers, takeFault } from '../simulator-kit';
import type { CallbackDispatcher, SimulatorState } from '../simulator-kit';

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

export const AccountSchema = z.object({ balance: z.number(), freeze: z.number(), pendMoney: z.number() });
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

/** An answer's fields, before `platSign`: every value is text, empty ones are left out. */
export type Answer = Record<string, string>;

export const OPEN_ORDER_STATUSES: readonly OrderStatus[] = ['INIT_ORDER', 'NO_PAY', 'OPEN_PAY_URL'];
export const OPEN_CASH_STATUSES: readonly string[] = ['0', '1', '5'];

export function fail(message: string, orderNum?: unknown): Answer {
  const answer: Answer = { platRespCode: 'FAIL', platRespMessage: message };
  if (typeof orderNum === 'string' && orderNum !== '') answer.orderNum = orderNum;
  return answer;
}

export function withoutEmpty(fields: Record<string, string | undefined>): Answer {
  const result: Answer = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined && value !== '') result[key] = value;
  return result;
}

export interface BdpayStateOptions {
  callbacks: CallbackDispatcher;
  platformPrivateKey: KeyObject;
  /** A key the merchant has never seen, for forged platSign on answers and callbacks. */
  forgeryKey: KeyObject;
  publicUrl: string;
  timeScale: number;
  initialBalance: number;
  payoutFee: number;
  payInFee: number;
  autoSettlePayoutsAfterMs: number | null;
  log: Logger;
}

export class BdpayState implements SimulatorState {
  readonly orders = new Map<string, SimOrder>();
  readonly payouts = new Map<string, SimPayout>();
  account: SimAccount;
  beneficiaryCredits: Record<string, number> = {};
  responseFaults: ResponseFault[] = [];
  autoSettleAfterMs: number | null;
  private sequence = 0;
  private readonly timers = new KeyedTimers();

  constructor(private readonly options: BdpayStateOptions) {
    this.account = { balance: options.initialBalance, freeze: 0, pendMoney: 0 };
    this.autoSettleAfterMs = options.autoSettlePayoutsAfterMs;
  }

  takeResponseFault(path: string): ResponseFault | undefined {
    return takeFault(this.responseFaults, (f) => f.path === undefined || path.startsWith(f.path));
  }

  findOrder(orderNum: string | undefined, platOrderNum: string | undefined): SimOrder | undefined {
    if (orderNum !== undefined) return this.orders.get(orderNum);
    return [...this.orders.values()].find((o) => o.platOrderNum === platOrderNum);
  }

  findPayout(orderNum: string | undefined, platOrderNum: string | undefined): SimPayout | undefined {
    if (orderNum !== undefined) return this.payouts.get(orderNum);
    return [...this.payouts.values()].find((p) => p.platOrderNum === platOrderNum);
  }

  beneficiaryCredit(bankCode: string, number: string): number {
    return this.beneficiaryCredits[`${bankCode}:${number}`] ?? 0;
  }

  // ---------- pay-in ----------

  createOrder(path: SimOrder['path'], body: PrepaidOrderRequest | PayRequest): Answer {
    if (this.orders.has(body.orderNum)) return fail('orderNum already exists', body.orderNum);
    const platOrderNum = this.nextPlatOrderNum('PRE');
    const expiryPeriod = Number(body.expiryPeriod ?? EXPIRY_PERIOD_DEFAULT_MINUTES);
    const windowMs = body.method === 'EWALLET_OVO' ? OVO_CONFIRMATION_WINDOW_MS : expiryPeriod * 60_000;
    const order: SimOrder = {
      orderNum: body.orderNum,
      platOrderNum,
      path,
      method: body.method,
      payMoney: Number(body.payMoney),
      payFee: this.options.payInFee,
      name: body.name,
      email: body.email,
      phone: body.phone,
      productDetail: body.productDetail,
      notifyUrl: body.notifyUrl,
      redirectUrl: body.redirectUrl,
      expiryPeriod,
      status: path === BDPAY_PATHS.prepaidOrder ? 'INIT_ORDER' : 'NO_PAY',
      ...this.instructionsFor(path, body.method, platOrderNum, body.payMoney),
      createdAt: new Date().toISOString(),
      expiresAtMs: Date.now() + Math.round(windowMs * this.options.timeScale),
    };
    this.orders.set(order.orderNum, order);
    this.armExpiry(order);
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

  payOrder(order: SimOrder): void {
    this.timers.cancel(`order:${order.orderNum}`);
    order.status = 'SUCCESS';
    order.paidAt = new Date().toISOString();
    this.account.balance += Math.max(0, order.payMoney - order.payFee);
    this.dispatchCallback(
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

  /** Ends an open order without payment (PAY_CANCEL, PAY_ERROR): BDPay sends no callback for these. */
  closeOrder(order: SimOrder, status: OrderStatus): void {
    this.timers.cancel(`order:${order.orderNum}`);
    order.status = status;
  }

  // ---------- payouts ----------

  createPayout(body: CashRequest): Answer {
    if (this.payouts.has(body.orderNum)) return fail('orderNum already exists', body.orderNum);
    const { payoutFee } = this.options;
    const money = Number(body.money);
    // feeType 0 takes the fee out of the amount sent, 1 takes it from the balance on top
    // (docs/providers/bdpay.md §7.3).
    const debit = body.feeType === '0' ? money : money + payoutFee;
    const credit = body.feeType === '0' ? money - payoutFee : money;
    if (credit <= 0) return fail(`money must exceed the fee of ${payoutFee}`, body.orderNum);
    if (this.account.balance < debit) return fail('insufficient balance', body.orderNum);
    this.account.balance -= debit;
    this.account.freeze += debit;
    const payout: SimPayout = {
      orderNum: body.orderNum,
      platOrderNum: this.nextPlatOrderNum('CASH'),
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
    this.payouts.set(payout.orderNum, payout);
    this.armAutoSettle(payout);
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

  finishPayout(payout: SimPayout, status: '2' | '4', statusMsg: string): void {
    this.timers.cancel(`payout:${payout.orderNum}`);
    payout.status = status;
    payout.statusMsg = statusMsg;
    payout.finishedAt = new Date().toISOString();
    this.account.freeze -= payout.debit;
    if (status === '2') {
      const key = `${payout.bankCode}:${payout.number}`;
      this.beneficiaryCredits[key] = (this.beneficiaryCredits[key] ?? 0) + payout.credit;
    } else {
      this.account.balance += payout.debit;
    }
    // Payout callbacks are sent on the final statuses 2 and 4 (docs/providers/bdpay.md §5).
    this.dispatchCallback(payout.notifyUrl, payout.orderNum, {
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

  /**
   * Changes a payout as BDPay's books might, without a callback (payout callbacks come only on final
   * statuses, docs/providers/bdpay.md §5): what the daily reconciliation must find by query alone.
   */
  changePayoutSilently(payout: SimPayout, change: { status?: SimPayout['status']; money?: number }): void {
    if (change.status !== undefined) {
      payout.status = change.status;
      if (!OPEN_CASH_STATUSES.includes(change.status)) this.timers.cancel(`payout:${payout.orderNum}`);
    }
    if (change.money !== undefined) payout.money = change.money;
  }

  /** Forgets a payout, as if BDPay had never received it: queries answer NOTEXIST. */
  forgetPayout(payout: SimPayout): void {
    this.timers.cancel(`payout:${payout.orderNum}`);
    this.payouts.delete(payout.orderNum);
  }

  setAutoSettle(afterMs: number | null): void {
    this.autoSettleAfterMs = afterMs;
    for (const payout of this.payouts.values())
      if (OPEN_CASH_STATUSES.includes(payout.status)) this.armAutoSettle(payout);
  }

  exportState(): BdpaySimulatorState {
    return structuredClone({
      orders: [...this.orders.values()],
      payouts: [...this.payouts.values()],
      account: this.account,
      beneficiaryCredits: this.beneficiaryCredits,
      sequence: this.sequence,
    });
  }

  importState(state: unknown): void {
    const parsed = SimStateSchema.parse(state);
    this.timers.stopAll();
    this.orders.clear();
    this.payouts.clear();
    for (const order of parsed.orders) {
      this.orders.set(order.orderNum, order);
      this.armExpiry(order);
    }
    for (const payout of parsed.payouts) {
      this.payouts.set(payout.orderNum, payout);
      if (OPEN_CASH_STATUSES.includes(payout.status)) this.armAutoSettle(payout);
    }
    this.account = parsed.account;
    this.beneficiaryCredits = parsed.beneficiaryCredits;
    this.sequence = parsed.sequence;
  }

  stop(): void {
    this.timers.stopAll();
  }

  private nextPlatOrderNum(prefix: string): string {
    this.sequence += 1;
    return `${prefix}${toWireDateTime(new Date())}${String(this.sequence).padStart(6, '0')}`;
  }

  private instructionsFor(
    path: SimOrder['path'],
    method: BdpayMethod | undefined,
    platOrderNum: string,
    payMoney: string
  ): Pick<SimOrder, 'vaNumber' | 'qrString' | 'url'> {
    const url = `${this.options.publicUrl}/cashier/${platOrderNum}`;
    if (path === BDPAY_PATHS.prepaidOrder || method === undefined) return { url };
    const serial = String(this.sequence).padStart(12, '0');
    switch (instructionKindOf(method)) {
      case 'virtual-account':
        return { vaNumber: `8808${serial}` };
      case 'payment-code':
        return { vaNumber: `7720${serial}` };
      case 'qris':
        // A dynamic QRIS payload (EMVCo MPM, correct CRC) that a banking app could scan; the merchant is fictional.
        return {
          qrString: buildQris({
            acquirer: 'ID.CO.BDPAY.WWW',
            merchantPan: `93600${serial}`,
            merchantId: 'BDPAYSIM01',
            nmid: 'ID1020000000001',
            merchantName: 'KASIR SANDBOX',
            merchantCity: 'JAKARTA',
            amount: Number(payMoney),
            reference: platOrderNum,
          }),
        };
      case 'ewallet-redirect':
        return { url };
      case 'ewallet-push':
        return {};
    }
  }

  private armExpiry(order: SimOrder): void {
    if (!OPEN_ORDER_STATUSES.includes(order.status)) return;
    this.timers.at(`order:${order.orderNum}`, order.expiresAtMs, () => {
      if (OPEN_ORDER_STATUSES.includes(order.status)) {
        order.status = 'PAY_CANCEL';
        this.options.log.info({ orderNum: order.orderNum }, 'order expired');
      }
    });
  }

  private armAutoSettle(payout: SimPayout): void {
    if (this.autoSettleAfterMs === null) return;
    const dueAt = Date.now() + Math.round(this.autoSettleAfterMs * this.options.timeScale);
    this.timers.at(`payout:${payout.orderNum}`, dueAt, () => {
      if (OPEN_CASH_STATUSES.includes(payout.status)) this.finishPayout(payout, '2', 'Payment success');
    });
  }

  private dispatchCallback(url: string, reference: string, fields: Answer): void {
    this.options.callbacks.dispatch({
      url,
      reference,
      build: (forged) => {
        const platSign = signFields(fields, forged ? this.options.forgeryKey : this.options.platformPrivateKey);
        return {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ ...fields, platSign }).toString(),
        };
      },
    });
  }
}
