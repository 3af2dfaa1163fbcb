/**
 * The simulated Finpay's orders: their state machine (open → paid, expired, failed, cancelled, refunded,
 * voided), expiry timers, payment codes, the signed callback each change sends, and export/import of all
 * of it as JSON.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { instructionKindOf, toWib } from '../../connectors/finpay/mapping';
import { FinpayPaymentStatus, SourceOfFundsType } from '../../connectors/finpay/schemas';
import { encodePhpJson, signFinpayObject, toPhpJsonValue } from '../../connectors/finpay/signing';
import { KeyedTimers } from '../simulator-kit';
import type { CallbackDispatcher, SimulatorState } from '../simulator-kit';

const JsonRecord = z.record(z.string(), z.unknown());

const SimOrder = z.object({
  id: z.string(),
  /** Finpay's own reference, as status and callbacks report it (`order.reference`). */
  reference: z.string(),
  type: SourceOfFundsType,
  amount: z.number(),
  currency: z.string(),
  description: z.string().optional(),
  customer: JsonRecord,
  meta: JsonRecord.optional(),
  callbackUrl: z.string().optional(),
  paymentCode: z.string().optional(),
  status: FinpayPaymentStatus,
  statusDesc: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  updatedAt: z.string(),
  refundedAmount: z.number(),
  widgetNumber: z.number(),
});
export type SimOrder = z.infer<typeof SimOrder>;

const SimState = z.object({
  sequence: z.number().int().nonnegative(),
  orders: z.array(SimOrder),
});

/**
 * [sim] Payment-code prefixes: `88` plus the bank's clearing code for VAs; paycode as in
 * docs/providers/finpay.md §3.3.
 */
const PAYMENT_CODE_PREFIX: Partial<Record<SourceOfFundsType, string>> = {
  finpaycode: '88027',
  vabca: '88014',
  vamandiri: '88008',
  vabni: '88009',
  vabri: '88002',
  vapermata: '88013',
  vacimb: '88022',
  vadanamon: '88011',
  vabnc: '88490',
  vamaybank: '88016',
  vabjb: '88110',
  vabsi: '88451',
  vabtn: '88200',
  vadki: '88111',
  vamega: '88426',
  vamuamalat: '88147',
  vanagari: '88118',
  alfamart: '88070',
  idm: '88071',
};

export const OPEN_STATUSES: readonly string[] = ['REQUEST_INITIATED', 'PENDING'];
export const PAID_STATUSES: readonly string[] = ['PAID', 'CAPTURED', 'PARTIALLY_REFUNDED'];

export interface NewOrder {
  id: string;
  type: SourceOfFundsType;
  amount: number;
  currency: string;
  description?: string;
  customer: Record<string, unknown>;
  meta?: Record<string, unknown>;
  callbackUrl?: string;
  timeoutMinutes: number;
}

export class FinpayState implements SimulatorState {
  readonly orders = new Map<string, SimOrder>();
  private sequence = 0;
  private readonly timers = new KeyedTimers();
  // Indexed, because a sandbox holding thousands of open orders would otherwise scan them all per create.
  private readonly codesInUse = new Set<string>();
  private readonly forgedKey: string;

  constructor(
    private readonly deps: {
      callbacks: CallbackDispatcher;
      merchantKey: string;
      timeScale: number;
      log: Logger;
    }
  ) {
    this.forgedKey = `${deps.merchantKey}-not-the-merchant-key`;
  }

  /** The order behind a hosted page's number. */
  byWidgetNumber(number: string): SimOrder | undefined {
    return [...this.orders.values()].find((o) => String(o.widgetNumber) === number);
  }

  createOrder(fields: NewOrder): SimOrder {
    const created = new Date();
    const expiresAtMs =
      Math.ceil((created.getTime() + fields.timeoutMinutes * 60_000 * this.deps.timeScale) / 1000) * 1000;
    this.sequence += 1;
    const kind = instructionKindOf(fields.type);
    const order: SimOrder = {
      id: fields.id,
      reference: `${created.getTime()}${String(this.sequence).padStart(10, '0')}`,
      type: fields.type,
      amount: fields.amount,
      currency: fields.currency,
      customer: fields.customer,
      status: 'REQUEST_INITIATED',
      statusDesc: null,
      createdAt: created.toISOString(),
      expiresAt: new Date(expiresAtMs).toISOString(),
      updatedAt: created.toISOString(),
      refundedAmount: 0,
      widgetNumber: this.sequence,
      ...(fields.description === undefined ? {} : { description: fields.description }),
      ...(fields.meta === undefined ? {} : { meta: fields.meta }),
      ...(fields.callbackUrl === undefined ? {} : { callbackUrl: fields.callbackUrl }),
      ...(kind === 'payment-code' || kind === 'virtual-account'
        ? { paymentCode: this.nextPaymentCode(fields.type) }
        : {}),
    };
    this.orders.set(order.id, order);
    if (order.paymentCode !== undefined) this.codesInUse.add(order.paymentCode);
    this.armExpiry(order);
    return order;
  }

  transition(order: SimOrder, status: FinpayPaymentStatus, statusDesc: string | null = null): void {
    order.status = status;
    order.statusDesc = statusDesc;
    order.updatedAt = new Date().toISOString();
    if (!OPEN_STATUSES.includes(status)) this.timers.cancel(order.id);
    this.deps.log.info({ reference: order.id, status }, 'order status changed');
    this.dispatchCallback(order);
  }

  /**
   * Changes the order as Finpay's books might, without any callback: the differences the daily
   * reconciliation must find by status check alone (a payment that arrived silently, an amount that
   * differs, a status Finpay changed on its side).
   */
  changeSilently(order: SimOrder, change: { status?: FinpayPaymentStatus; amount?: number }): void {
    if (change.status !== undefined) {
      order.status = change.status;
      order.statusDesc = null;
      if (!OPEN_STATUSES.includes(change.status)) this.timers.cancel(order.id);
    }
    if (change.amount !== undefined) order.amount = change.amount;
    order.updatedAt = new Date().toISOString();
    this.deps.log.info({ reference: order.id, status: order.status }, 'order changed silently');
  }

  /** Forgets the order, as if Finpay had never received it: status checks answer "not found". */
  forget(order: SimOrder): void {
    this.timers.cancel(order.id);
    this.orders.delete(order.id);
    if (order.paymentCode !== undefined) this.codesInUse.delete(order.paymentCode);
  }

  /** The order as status checks and callbacks report it, before signing. */
  reportedOrder(order: SimOrder) {
    return {
      customer: { id: order.customer.id ?? order.customer.email ?? order.customer.mobilePhone },
      order: { id: order.id, reference: order.reference, amount: order.amount, currency: order.currency },
      meta: order.meta ?? { data: null },
      result: {
        payment: {
          amount: order.amount,
          status: order.status,
          statusDesc: order.statusDesc,
          datetime: toWib(new Date(order.updatedAt)),
        },
      },
      sourceOfFunds: {
        type: order.type,
        ...(order.paymentCode === undefined ? {} : { paymentCode: order.paymentCode }),
      },
    };
  }

  /** Queues the signed callback for the order as it stands now. */
  dispatchCallback(order: SimOrder): void {
    if (order.callbackUrl === undefined) return;
    const { customer, order: reported, meta, result, sourceOfFunds } = this.reportedOrder(order);
    // Fixed now, so every retry of this event carries the same body.
    const fields = { order: reported, customer, meta, result, sourceOfFunds };
    this.deps.callbacks.dispatch({
      url: order.callbackUrl,
      reference: order.id,
      build: (forged) => ({
        headers: { 'Content-Type': 'application/json' },
        body: encodePhpJson(toPhpJsonValue(signFinpayObject(fields, forged ? this.forgedKey : this.deps.merchantKey))),
      }),
    });
  }

  exportState(): unknown {
    return { sequence: this.sequence, orders: [...this.orders.values()] };
  }

  importState(state: unknown): void {
    const parsed = SimState.parse(state);
    this.timers.stopAll();
    this.sequence = parsed.sequence;
    this.orders.clear();
    this.codesInUse.clear();
    for (const order of parsed.orders) {
      this.orders.set(order.id, order);
      if (order.paymentCode !== undefined) this.codesInUse.add(order.paymentCode);
      this.armExpiry(order);
    }
  }

  stop(): void {
    this.timers.stopAll();
  }

  private nextPaymentCode(type: SourceOfFundsType): string {
    const prefix = PAYMENT_CODE_PREFIX[type] ?? '88099';
    let code: string;
    do code = `${prefix}${String(++this.sequence).padStart(16 - prefix.length, '0')}`;
    while (this.codesInUse.has(code));
    return code;
  }

  private armExpiry(order: SimOrder): void {
    if (!OPEN_STATUSES.includes(order.status)) return;
    this.timers.at(order.id, Date.parse(order.expiresAt), () => {
      if (OPEN_STATUSES.includes(order.status)) this.transition(order, 'EXPIRED', 'Transaction Expired');
    });
  }
}
