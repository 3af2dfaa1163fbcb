/**
 * The simulated NICEPAY's state: debits per `partnerReferenceNo` and their state machine (Initiated →
 * Pending → Success, Failed, Canceled at `validUpTo`, Refunded), refunds, issued access tokens, the
 * X-EXTERNAL-IDs seen today, scripted answers, the RSA-signed notification, and export/import as JSON.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { jakartaDay } from '../../domain/jakarta-time';
import { toSnapAmount } from '../../connectors/nicepay/mapping';
import { LatestTransactionStatusSchema, MitraCdSchema } from '../../connectors/nicepay/schemas';
import type { LatestTransactionStatus } from '../../connectors/nicepay/schemas';
import { signClientTimestamp, toSnapTimestamp } from '../../connectors/nicepay/signing';
import { KeyedTimers, generateTestRsaKeyPair, takeFault } from '../simulator-kit';
import type { CallbackDispatcher, SimulatorState } from '../simulator-kit';
import type { NicepayTestCredentials } from './credentials';

const SimOrderSchema = z.object({
  partnerReferenceNo: z.string(),
  referenceNo: z.string(),
  merchantId: z.string(),
  mitraCd: MitraCdSchema,
  amount: z.number(),
  status: LatestTransactionStatusSchema,
  createdAt: z.string(),
  validUpTo: z.string(),
  /** When the simulator expires it: `validUpTo` brought closer by `timeScale`. Epoch ms. */
  expiresAtMs: z.number(),
  paidAt: z.string().optional(),
  notifyUrl: z.string(),
  returnUrl: z.string(),
  goodsNm: z.string(),
  billingNm: z.string(),
  refunds: z.array(z.object({ partnerRefundNo: z.string(), refundNo: z.string(), amount: z.number(), at: z.string() })),
});
export type SimOrder = z.infer<typeof SimOrderSchema>;

const SimStateSchema = z.object({
  orders: z.array(SimOrderSchema),
  tokens: z.array(z.object({ token: z.string(), clientId: z.string(), expiresAtMs: z.number() })).default([]),
});

/** A scripted SNAP answer for the next matching request, after auth and validation passed. */
export const ForcedResponseSchema = z.object({
  service: z.enum(['payment', 'status', 'refund']),
  responseCode: z.string().regex(/^\d{7}$/),
  responseMessage: z.string().optional(),
  count: z.number().int().min(1).default(1),
});
export type ForcedResponse = z.infer<typeof ForcedResponseSchema>;
export type TransactionalService = ForcedResponse['service'];

export const STATUS_DESCRIPTION: Record<LatestTransactionStatus, string> = {
  '00': 'Success',
  '01': 'Initiated',
  '03': 'Pending',
  '04': 'Refunded',
  '05': 'Canceled',
  '06': 'Failed',
};

export function isOpen(order: SimOrder): boolean {
  return order.status === '01' || order.status === '03';
}

export function refundedAmount(order: SimOrder): number {
  return order.refunds.reduce((sum, r) => sum + r.amount, 0);
}

export class NicepayState implements SimulatorState {
  readonly orders = new Map<string, SimOrder>();
  readonly refundNos = new Set<string>();
  private readonly tokens = new Map<string, { clientId: string; expiresAtMs: number }>();
  private readonly externalIds = new Map<string, Set<string>>();
  private readonly timers = new KeyedTimers();
  forced: ForcedResponse[] = [];
  private tokensIssued = 0;
  private forgeryKey: string | undefined;

  constructor(
    private readonly deps: {
      credentials: NicepayTestCredentials;
      callbacks: CallbackDispatcher;
      log: Logger;
    }
  ) {}

  /** The debit, after applying an expiry that is due: checked lazily as well as by timer. */
  order(partnerReferenceNo: string): SimOrder | undefined {
    const order = this.orders.get(partnerReferenceNo);
    if (order) this.expireIfDue(order);
    return order;
  }

  /** A debit by its partner reference and, when given, NICEPAY's own `referenceNo`. */
  lookup(partnerReferenceNo: string, referenceNo: string): SimOrder | undefined {
    const order = this.order(partnerReferenceNo);
    return order && (referenceNo === '' || referenceNo === order.referenceNo) ? order : undefined;
  }

  register(order: SimOrder): void {
    this.orders.set(order.partnerReferenceNo, order);
    this.armExpiry(order);
  }

  settle(order: SimOrder, status: LatestTransactionStatus): void {
    order.status = status;
    if (status === '00') order.paidAt = new Date().toISOString();
    this.timers.cancel(order.partnerReferenceNo);
    this.deps.log.info({ reference: order.partnerReferenceNo, status }, 'debit settled');
    // The notification is sent on success only (docs/providers/nicepay.md §5).
    if (status === '00') this.notify(order);
  }

  recordRefund(order: SimOrder, partnerRefundNo: string, amount: number, now: Date): string {
    const refundNo = this.newReferenceNo(now);
    order.refunds.push({ partnerRefundNo, refundNo, amount, at: now.toISOString() });
    this.refundNos.add(partnerRefundNo);
    if (refundedAmount(order) >= order.amount) this.settle(order, '04');
    return refundNo;
  }

  /**
   * `<clientId>05<yyyyMMddHHmmss><4 digits>`, like NICEPAY's `IONPAYTEST05202408221416277395`
   * (docs/providers/nicepay.md §3.2).
   */
  newReferenceNo(now: Date): string {
    const stamp = toSnapTimestamp(now).slice(0, 19).replace(/\D/g, '');
    return `${this.deps.credentials.clientId}05${stamp}${String(randomInt(0, 10_000)).padStart(4, '0')}`;
  }

  issueToken(clientId: string, lifetimeSeconds: number): string {
    const accessToken = randomBytes(36).toString('base64url');
    this.tokens.set(accessToken, { clientId, expiresAtMs: Date.now() + lifetimeSeconds * 1000 });
    this.tokensIssued += 1;
    return accessToken;
  }

  /** The client a live token was issued to; `undefined` for an unknown or expired one. */
  tokenClient(accessToken: string): string | undefined {
    const token = this.tokens.get(accessToken);
    return token && token.expiresAtMs > Date.now() ? token.clientId : undefined;
  }

  tokenStats(): { issued: number; active: number } {
    const now = Date.now();
    return { issued: this.tokensIssued, active: [...this.tokens.values()].filter((t) => t.expiresAtMs > now).length };
  }

  /** Makes every issued token unknown, as if NICEPAY expired them early. */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** SNAP: X-EXTERNAL-ID is unique per (Jakarta) day. False when it was already used today. */
  useExternalId(externalId: string): boolean {
    const day = jakartaDay(new Date());
    for (const past of this.externalIds.keys()) if (past < day) this.externalIds.delete(past);
    const seen = this.externalIds.get(day) ?? new Set<string>();
    this.externalIds.set(day, seen);
    if (seen.has(externalId)) return false;
    seen.add(externalId);
    return true;
  }

  takeForced(service: TransactionalService): ForcedResponse | undefined {
    return takeFault(this.forced, (f) => f.service === service);
  }

  exportState(): unknown {
    return {
      orders: [...this.orders.values()].map((o) => structuredClone(o)),
      tokens: [...this.tokens.entries()].map(([token, t]) => ({ token, ...t })),
    };
  }

  importState(state: unknown): void {
    const parsed = SimStateSchema.parse(state);
    this.timers.stopAll();
    this.orders.clear();
    this.refundNos.clear();
    this.tokens.clear();
    for (const order of parsed.orders) {
      for (const r of order.refunds) this.refundNos.add(r.partnerRefundNo);
      this.register(order);
    }
    for (const { token, ...rest } of parsed.tokens) this.tokens.set(token, rest);
  }

  stop(): void {
    this.timers.stopAll();
  }

  private armExpiry(order: SimOrder): void {
    if (!isOpen(order)) return;
    this.timers.at(order.partnerReferenceNo, order.expiresAtMs, () => this.expireIfDue(order));
  }

  /** `validUpTo` passed without payment: NICEPAY cancels the debit (`05`). */
  private expireIfDue(order: SimOrder): void {
    if (isOpen(order) && Date.now() >= order.expiresAtMs) this.settle(order, '05');
  }

  private notify(order: SimOrder): void {
    const { credentials } = this.deps;
    const body = JSON.stringify({
      originalReferenceNo: order.referenceNo,
      originalPartnerReferenceNo: order.partnerReferenceNo,
      externalStoreID: '',
      amount: toSnapAmount(order.amount),
      latestTransactionStatus: order.status,
      transactionStatusDesc: STATUS_DESCRIPTION[order.status],
      additionalInfo: { mitraCd: order.mitraCd, paidTime: order.paidAt },
    });
    this.deps.callbacks.dispatch({
      url: order.notifyUrl,
      reference: order.partnerReferenceNo,
      build: (forged) => {
        const timestamp = toSnapTimestamp(new Date());
        const key = forged
          ? (this.forgeryKey ??= generateTestRsaKeyPair(2048).privateKeyPem)
          : credentials.nicepayPrivateKeyPem;
        return {
          headers: {
            'Content-Type': 'application/json',
            'X-TIMESTAMP': timestamp,
            'X-CLIENT-KEY': credentials.clientId,
            'X-SIGNATURE': signClientTimestamp(key, credentials.clientId, timestamp),
          },
          body,
        };
      },
    });
  }
}
