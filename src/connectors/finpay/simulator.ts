/**
 * A faithful local Finpay PG: the same endpoints, Basic auth, validation (with the connector's own
 * schemas), 7-digit response codes and HTTP statuses, an order state machine, and HMAC-signed
 * callbacks retried until HTTP 200. What a faithful simulator must do is listed at the end of the
 * reference document; choices where Finpay is silent are marked "[sim]".
 *
 * Callbacks are sent as PHP's default `json_encode` of the signed object, so their bytes are exactly
 * the canonical form their signature covers (reference §1.7 recommendation).
 */
import { randomUUID } from 'node:crypto';
import { constantTimeEqual } from '../../constant-time';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { ZodType } from 'zod';
import { logger } from '../../logger';
import { CallbackDispatcher, FaultInjector, SubmissionCounter, controlRouter } from '../simulator-kit';
import type { ProviderSimulator, SimulatorCommonOptions } from '../simulator-kit';
import { basicAuthorization } from './client';
import type { FinpayCredentials } from './client';
import {
  DEFAULT_ORDER_TIMEOUT_MINUTES,
  fromFinpayAmount,
  instructionKindOf,
  toFinpayFieldWording,
  toWib,
} from './mapping';
import {
  FINPAY_SUCCESS_CODE,
  FinpayPaymentStatus,
  InitiateRequest,
  OpenPaymentRegisterRequest,
  RefundRequest,
  SourceOfFundsType,
  VaSourceOfFundsType,
  VoidRequest,
} from './schemas';
import { encodePhpJson, signFinpayObject, toPhpJsonValue } from './signing';

/**
 * [sim] Finpay does not document its callback retries (reference §1.7): attempt at once, then after
 * 5 s, 30 s, 1 min and 5 min, each scaled by `timeScale`, until an HTTP 200.
 */
export const DEFAULT_CALLBACK_SCHEDULE_MS: readonly number[] = [0, 5_000, 30_000, 60_000, 300_000];

export interface FinpaySimulatorOptions extends SimulatorCommonOptions {
  credentials: FinpayCredentials;
  /** Delays before each callback attempt, in ms of provider time. */
  callbackScheduleMs?: readonly number[];
  /** Per-attempt HTTP timeout for callbacks. */
  callbackTimeoutMs?: number;
  /** Channels not enabled for this merchant: initiate answers HTTP 403 `4030001 Feature Not Allowed`. */
  disabledSourceOfFunds?: readonly SourceOfFundsType[];
}

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
type SimOrder = z.infer<typeof SimOrder>;

const SimOpenPayment = z.object({
  type: VaSourceOfFundsType,
  paymentCode: z.string(),
  customer: JsonRecord,
  callbackUrl: z.string().optional(),
  registeredAt: z.string(),
});
type SimOpenPayment = z.infer<typeof SimOpenPayment>;

const SimState = z.object({
  sequence: z.number().int().nonnegative(),
  orders: z.array(SimOrder),
  openPayments: z.array(SimOpenPayment),
});

/** [sim] Payment-code prefixes: `88` plus the bank's clearing code for VAs; paycode as in seed 001. */
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

const OPEN_STATUSES: readonly string[] = ['REQUEST_INITIATED', 'PENDING'];
const PAID_STATUSES: readonly string[] = ['PAID', 'CAPTURED', 'PARTIALLY_REFUNDED'];
/** Node timers overflow past 2^31-1 ms; longer expiries are re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;

interface FinpayFailure {
  httpStatus: number;
  responseCode: string;
  responseMessage: string;
}

/** HTTP 400 naming the field, worded as the live sandbox words it (reference §1.3). */
function fieldFailure(path: readonly PropertyKey[], present: boolean): FinpayFailure {
  const field = path.length === 0 ? 'request' : toFinpayFieldWording(path);
  return present
    ? {
        httpStatus: 400,
        responseCode: '4000001',
        responseMessage: `Invalid Field Format. The ${field} format is invalid`,
      }
    : { httpStatus: 400, responseCode: '4000002', responseMessage: `Invalid Mandatory Field ${field}` };
}

/** 4000002 when the named field is absent from what was sent, 4000001 when it is there but wrong. */
function issueFailure(path: readonly PropertyKey[], raw: unknown): FinpayFailure {
  let value: unknown = raw;
  for (const segment of path) {
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[segment] : undefined;
  }
  return fieldFailure(path, value !== undefined);
}

function parseRequest<T>(
  schema: ZodType<T>,
  raw: unknown
): { ok: true; data: T } | { ok: false; failure: FinpayFailure } {
  const parsed = schema.safeParse(raw);
  return parsed.success
    ? { ok: true, data: parsed.data }
    : { ok: false, failure: issueFailure(parsed.error.issues[0]?.path ?? [], raw) };
}

/** Channel rules the schemas cannot express (reference §1.3, Buayar live notes). */
function channelFailure(request: InitiateRequest): FinpayFailure | undefined {
  const type = request.sourceOfFunds.type;
  if (type === 'ovo') {
    const accountId = request.sourceOfFunds.accountId;
    if (accountId === undefined) return fieldFailure(['sourceOfFunds', 'accountId'], false);
    if (!/^08\d{7,13}$/.test(accountId)) return fieldFailure(['sourceOfFunds', 'accountId'], true);
  }
  if (type === 'dana' || type === 'linkaja') {
    const items = request.order.item;
    if (items === undefined) return fieldFailure(['order', 'item'], false);
    if (type === 'dana') {
      const index = items.findIndex((item) => item.category === undefined);
      if (index >= 0) return fieldFailure(['order', 'item', index, 'category'], false);
    }
  }
  return undefined;
}

export function createFinpaySimulator(options: FinpaySimulatorOptions): ProviderSimulator {
  const timeScale = options.timeScale ?? 1;
  const publicUrl = (options.publicUrl ?? 'https://devo.finpay.id').replace(/\/$/, '');
  const merchantKey = options.credentials.merchantKey;
  const forgedKey = `${merchantKey}-not-the-merchant-key`;
  const expectedAuthorization = Buffer.from(basicAuthorization(options.credentials));
  const disabled = new Set<string>(options.disabledSourceOfFunds ?? []);
  const log = logger.child({ provider: 'finpay', role: 'simulator' });

  const faults = new FaultInjector();
  const submissions = new SubmissionCounter();
  const callbacks = new CallbackDispatcher({
    provider: 'finpay',
    scheduleMs: options.callbackScheduleMs ?? DEFAULT_CALLBACK_SCHEDULE_MS,
    timeScale,
    timeoutMs: options.callbackTimeoutMs ?? 10_000,
    isAcknowledged: (status) => status === 200,
  });

  let sequence = 0;
  const orders = new Map<string, SimOrder>();
  const openPayments = new Map<string, SimOpenPayment>();
  const expiryTimers = new Map<string, NodeJS.Timeout>();

  const openPaymentKey = (type: string, paymentCode: string) => `${type}/${paymentCode}`;
  // Indexed, because a sandbox holding thousands of open orders would otherwise scan them all per create.
  const codesInUse = new Set<string>();
  const codeInUse = (code: string) => codesInUse.has(code);

  function nextPaymentCode(type: SourceOfFundsType): string {
    const prefix = PAYMENT_CODE_PREFIX[type] ?? '88099';
    let code: string;
    do code = `${prefix}${String(++sequence).padStart(16 - prefix.length, '0')}`;
    while (codeInUse(code));
    return code;
  }

  /** Finpay-style answers are PHP `json_encode` output too: escaped slashes, PHP float formatting. */
  function send(res: Response, httpStatus: number, body: Record<string, unknown>, startedAt: number): void {
    const processingTime = (performance.now() - startedAt) / 1000;
    res
      .status(httpStatus)
      .type('application/json')
      .send(encodePhpJson(toPhpJsonValue({ ...body, processingTime })));
  }

  function sendFailure(res: Response, failure: FinpayFailure, startedAt: number): void {
    send(
      res,
      failure.httpStatus,
      { responseCode: failure.responseCode, responseMessage: failure.responseMessage },
      startedAt
    );
  }

  const notFound: FinpayFailure = {
    httpStatus: 404,
    responseCode: '4040001',
    responseMessage: 'Transaction Not Found',
  };
  const invalidStatus: FinpayFailure = {
    httpStatus: 404,
    responseCode: '4040100',
    responseMessage: 'Invalid Transaction Status',
  };

  function customerId(order: SimOrder): unknown {
    return order.customer.id ?? order.customer.email ?? order.customer.mobilePhone;
  }

  function reportedOrder(order: SimOrder) {
    return {
      customer: { id: customerId(order) },
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

  function dispatchCallback(order: SimOrder): void {
    if (order.callbackUrl === undefined) return;
    const { customer, order: reported, meta, result, sourceOfFunds } = reportedOrder(order);
    // Fixed now, so every retry of this event carries the same body.
    const fields = { order: reported, customer, meta, result, sourceOfFunds };
    callbacks.dispatch({
      url: order.callbackUrl,
      reference: order.id,
      build: (forged) => ({
        headers: { 'Content-Type': 'application/json' },
        body: encodePhpJson(toPhpJsonValue(signFinpayObject(fields, forged ? forgedKey : merchantKey))),
      }),
    });
  }

  function clearExpiry(id: string): void {
    const timer = expiryTimers.get(id);
    if (timer) clearTimeout(timer);
    expiryTimers.delete(id);
  }

  function armExpiry(order: SimOrder): void {
    clearExpiry(order.id);
    if (!OPEN_STATUSES.includes(order.status)) return;
    const delay = Date.parse(order.expiresAt) - Date.now();
    const timer = setTimeout(
      () => {
        expiryTimers.delete(order.id);
        if (Date.parse(order.expiresAt) > Date.now()) return armExpiry(order);
        if (OPEN_STATUSES.includes(order.status)) transition(order, 'EXPIRED', 'Transaction Expired');
      },
      Math.min(Math.max(0, delay), MAX_TIMER_MS)
    );
    timer.unref();
    expiryTimers.set(order.id, timer);
  }

  function transition(order: SimOrder, status: FinpayPaymentStatus, statusDesc: string | null = null): void {
    order.status = status;
    order.statusDesc = statusDesc;
    order.updatedAt = new Date().toISOString();
    if (!OPEN_STATUSES.includes(status)) clearExpiry(order.id);
    log.info({ reference: order.id, status }, 'order status changed');
    dispatchCallback(order);
  }

  function createOrder(fields: {
    id: string;
    type: SourceOfFundsType;
    amount: number;
    currency: string;
    description?: string;
    customer: Record<string, unknown>;
    meta?: Record<string, unknown>;
    callbackUrl?: string;
    paymentCode?: string;
    timeoutMinutes: number;
  }): SimOrder {
    const created = new Date();
    const expiresAtMs = Math.ceil((created.getTime() + fields.timeoutMinutes * 60_000 * timeScale) / 1000) * 1000;
    sequence += 1;
    const order: SimOrder = {
      id: fields.id,
      reference: `${created.getTime()}${String(sequence).padStart(10, '0')}`,
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
      widgetNumber: sequence,
      ...(fields.description === undefined ? {} : { description: fields.description }),
      ...(fields.meta === undefined ? {} : { meta: fields.meta }),
      ...(fields.callbackUrl === undefined ? {} : { callbackUrl: fields.callbackUrl }),
      ...(fields.paymentCode === undefined ? {} : { paymentCode: fields.paymentCode }),
    };
    orders.set(order.id, order);
    if (order.paymentCode !== undefined) codesInUse.add(order.paymentCode);
    return order;
  }

  function requireAuth(req: Request, res: Response, next: NextFunction): void {
    if (constantTimeEqual(req.get('authorization') ?? '', expectedAuthorization)) return next();
    send(res, 401, { responseCode: '4010000', responseMessage: 'Unauthorized' }, performance.now());
  }

  const app = express();
  app.disable('x-powered-by');
  app.use('/_sim', controlRouter({ faults, callbacks, submissions }));

  const controls = express.Router();
  controls.use(express.json());
  const withOrder = (req: Request, res: Response): SimOrder | undefined => {
    const order = orders.get(String(req.params.reference));
    if (!order) res.status(404).json({ error: 'no such order' });
    return order;
  };
  const requireOpen = (order: SimOrder, res: Response): boolean => {
    if (OPEN_STATUSES.includes(order.status)) return true;
    res.status(409).json({ error: `order is ${order.status}` });
    return false;
  };
  controls.get('/orders', (_req, res) => void res.json([...orders.values()]));
  controls.get('/orders/:reference', (req, res) => {
    const order = withOrder(req, res);
    if (order) res.json({ ...order, callbacks: callbacks.attemptsFor(order.id) });
  });
  controls.post('/orders/:reference/pay', (req, res) => {
    const order = withOrder(req, res);
    if (!order || !requireOpen(order, res)) return;
    transition(order, order.type === 'cc' ? 'CAPTURED' : 'PAID');
    res.json(order);
  });
  controls.post('/orders/:reference/expire', (req, res) => {
    const order = withOrder(req, res);
    if (!order || !requireOpen(order, res)) return;
    transition(order, 'EXPIRED', 'Transaction Expired');
    res.json(order);
  });
  controls.post('/orders/:reference/fail', (req, res) => {
    const order = withOrder(req, res);
    if (!order || !requireOpen(order, res)) return;
    const body: unknown = req.body;
    const desc = z.object({ statusDesc: z.string().min(1) }).safeParse(body);
    transition(order, 'FAILURE', desc.success ? desc.data.statusDesc : 'Transaction Failed');
    res.json(order);
  });
  controls.post('/orders/:reference/callback', (req, res) => {
    const order = withOrder(req, res);
    if (!order) return;
    dispatchCallback(order);
    res.status(202).json({ queued: order.callbackUrl !== undefined });
  });
  controls.post('/openpayment/:type/:paymentCode/pay', (req, res) => {
    const registration = openPayments.get(openPaymentKey(String(req.params.type), String(req.params.paymentCode)));
    if (!registration) return void res.status(404).json({ error: 'no such open payment' });
    const body: unknown = req.body;
    const parsed = z.object({ amount: z.number().int().positive() }).safeParse(body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    const order = createOrder({
      id: `OPEN${Date.now()}${sequence + 1}`,
      type: registration.type,
      amount: parsed.data.amount,
      currency: 'IDR',
      customer: registration.customer,
      paymentCode: registration.paymentCode,
      timeoutMinutes: DEFAULT_ORDER_TIMEOUT_MINUTES,
      ...(registration.callbackUrl === undefined ? {} : { callbackUrl: registration.callbackUrl }),
    });
    transition(order, 'PAID');
    res.json(order);
  });
  app.use('/_sim', controls);

  app.use(faults.middleware());
  app.use('/pg', express.json());

  const pg = express.Router();
  pg.use(requireAuth);

  pg.post('/payment/card/initiate', (req, res) => {
    const startedAt = performance.now();
    const raw: unknown = req.body;
    const parsed = parseRequest(InitiateRequest, raw);
    if (!parsed.ok) return sendFailure(res, parsed.failure, startedAt);
    const request = parsed.data;
    submissions.increment(`initiate:${request.order.id}`);
    const channel = channelFailure(request);
    if (channel) return sendFailure(res, channel, startedAt);
    const type = request.sourceOfFunds.type;
    if (disabled.has(type)) {
      return sendFailure(
        res,
        { httpStatus: 403, responseCode: '4030001', responseMessage: 'Feature Not Allowed' },
        startedAt
      );
    }
    if (orders.has(request.order.id)) {
      // [sim] Finpay's answer to a reused order id is undocumented (reference §1.10); the reference
      // recommends SNAP's conflict class.
      return sendFailure(res, { httpStatus: 409, responseCode: '4090000', responseMessage: 'Conflict' }, startedAt);
    }
    const kind = instructionKindOf(type);
    const order = createOrder({
      id: request.order.id,
      type,
      amount: fromFinpayAmount(request.order.amount),
      currency: request.order.currency ?? 'IDR',
      customer: request.customer,
      timeoutMinutes:
        request.order.timeout === undefined ? DEFAULT_ORDER_TIMEOUT_MINUTES : Number(request.order.timeout),
      ...(request.order.description === undefined ? {} : { description: request.order.description }),
      ...(request.meta === undefined ? {} : { meta: request.meta }),
      ...(request.url.callbackUrl === undefined ? {} : { callbackUrl: request.url.callbackUrl }),
      ...(kind === 'payment-code' || kind === 'virtual-account' ? { paymentCode: nextPaymentCode(type) } : {}),
    });
    armExpiry(order);
    send(
      res,
      200,
      {
        responseCode: FINPAY_SUCCESS_CODE,
        responseMessage: 'Success',
        redirecturl: `${publicUrl}/widgetpg/pending/${order.widgetNumber}`,
        expiryLink: toWib(new Date(order.expiresAt)),
        ...(order.paymentCode === undefined ? {} : { paymentCode: order.paymentCode }),
        ...(kind === 'qris' ? { imageurl: `${publicUrl}/widgetpg/qris/${order.widgetNumber}.png` } : {}),
        ...(kind === 'ewallet' ? { appurl: `${publicUrl}/widgetpg/app/${type}/${order.widgetNumber}` } : {}),
      },
      startedAt
    );
  });

  pg.get('/payment/card/check/:orderId', (req, res) => {
    const startedAt = performance.now();
    const order = orders.get(req.params.orderId);
    if (!order) return sendFailure(res, notFound, startedAt);
    // [sim] Signed like a callback; the PG×Billing status variant carries `data.signature` (reference §1.5).
    const data = signFinpayObject(reportedOrder(order), merchantKey);
    send(res, 200, { responseCode: FINPAY_SUCCESS_CODE, responseMessage: 'Success', data }, startedAt);
  });

  pg.get('/payment/card/cancel/:orderId', (req, res) => {
    const startedAt = performance.now();
    const order = orders.get(req.params.orderId);
    if (!order) return sendFailure(res, notFound, startedAt);
    submissions.increment(`cancel:${order.id}`);
    const kind = instructionKindOf(order.type);
    // Live quirk: QRIS and e-wallet orders in their initial state refuse cancel (reference §1.8).
    if (!OPEN_STATUSES.includes(order.status) || kind === 'qris' || kind === 'ewallet') {
      return sendFailure(res, invalidStatus, startedAt);
    }
    transition(order, 'CANCELLED');
    send(
      res,
      200,
      {
        responseCode: FINPAY_SUCCESS_CODE,
        responseMessage: 'Request has been processed successfully',
        traceId: randomUUID(),
      },
      startedAt
    );
  });

  pg.post('/payment/card/refund', (req, res) => {
    const startedAt = performance.now();
    const raw: unknown = req.body;
    const parsed = parseRequest(RefundRequest, raw);
    if (!parsed.ok) return sendFailure(res, parsed.failure, startedAt);
    const order = orders.get(parsed.data.order.id);
    if (!order) return sendFailure(res, notFound, startedAt);
    submissions.increment(`refund:${order.id}`);
    if (!PAID_STATUSES.includes(order.status)) return sendFailure(res, invalidStatus, startedAt);
    const remaining = order.amount - order.refundedAmount;
    const amount = parsed.data.order.amount === undefined ? remaining : fromFinpayAmount(parsed.data.order.amount);
    if (amount <= 0 || amount > remaining) {
      return sendFailure(res, fieldFailure(['order', 'amount'], true), startedAt);
    }
    order.refundedAmount += amount;
    transition(order, order.refundedAmount === order.amount ? 'REFUNDED' : 'PARTIALLY_REFUNDED');
    send(res, 200, { responseCode: FINPAY_SUCCESS_CODE, responseMessage: 'Success', traceId: randomUUID() }, startedAt);
  });

  // Void is documented both as GET with the id in the path and as POST with a body (reference §1.2).
  const voidOrder = (orderId: string, res: Response, startedAt: number) => {
    const order = orders.get(orderId);
    if (!order) return sendFailure(res, notFound, startedAt);
    submissions.increment(`void:${order.id}`);
    if (OPEN_STATUSES.includes(order.status)) {
      return sendFailure(
        res,
        { httpStatus: 403, responseCode: '4030015', responseMessage: 'Transaction Not Permitted' },
        startedAt
      );
    }
    if (order.status !== 'PAID' && order.status !== 'CAPTURED') return sendFailure(res, invalidStatus, startedAt);
    transition(order, 'VOIDED');
    send(res, 200, { responseCode: FINPAY_SUCCESS_CODE, responseMessage: 'Success', traceId: randomUUID() }, startedAt);
  };
  pg.get('/payment/card/void/:orderId', (req, res) => voidOrder(req.params.orderId, res, performance.now()));
  pg.post('/payment/card/void', (req, res) => {
    const startedAt = performance.now();
    const raw: unknown = req.body;
    const parsed = parseRequest(VoidRequest, raw);
    if (!parsed.ok) return sendFailure(res, parsed.failure, startedAt);
    voidOrder(parsed.data.order.id, res, startedAt);
  });

  pg.post('/payment/card/openpayment/register', (req, res) => {
    const startedAt = performance.now();
    const raw: unknown = req.body;
    const parsed = parseRequest(OpenPaymentRegisterRequest, raw);
    if (!parsed.ok) return sendFailure(res, parsed.failure, startedAt);
    const { type, paymentCode: requested } = parsed.data.sourceOfFunds;
    submissions.increment(`register:${type}:${requested}`);
    if (disabled.has(type)) {
      return sendFailure(
        res,
        { httpStatus: 403, responseCode: '4030001', responseMessage: 'Feature Not Allowed' },
        startedAt
      );
    }
    // The docs' sample asks for …312 and is given …313: the number granted may differ. [sim] A taken
    // number moves on to the next free one.
    let paymentCode = requested;
    while (codeInUse(paymentCode)) paymentCode = (BigInt(paymentCode) + 1n).toString().padStart(requested.length, '0');
    const callbackUrl = parsed.data.url?.callbackUrl;
    codesInUse.add(paymentCode);
    openPayments.set(openPaymentKey(type, paymentCode), {
      type,
      paymentCode,
      customer: parsed.data.customer,
      registeredAt: new Date().toISOString(),
      ...(callbackUrl === undefined ? {} : { callbackUrl }),
    });
    send(res, 200, { responseCode: FINPAY_SUCCESS_CODE, responseMessage: 'Success', paymentCode }, startedAt);
  });

  pg.get('/payment/card/openpayment/check/:type/:paymentCode', (req, res) => {
    const startedAt = performance.now();
    const registration = openPayments.get(openPaymentKey(req.params.type, req.params.paymentCode));
    if (!registration) return sendFailure(res, notFound, startedAt);
    send(
      res,
      200,
      {
        responseCode: FINPAY_SUCCESS_CODE,
        responseMessage: 'Success',
        data: {
          customer: registration.customer,
          sourceOfFunds: { type: registration.type, paymentCode: registration.paymentCode },
        },
      },
      startedAt
    );
  });

  app.use('/pg', pg);

  // The hosted "pending" page `redirecturl` points at: enough for a person to see what to pay.
  app.get('/widgetpg/pending/:number', (req, res) => {
    const order = [...orders.values()].find((o) => String(o.widgetNumber) === req.params.number);
    if (!order) return void res.status(404).type('text/plain').send('Not Found');
    const lines = [
      `Order ${order.id}`,
      `Amount IDR ${order.amount}`,
      `Status ${order.status}`,
      `Expires ${toWib(new Date(order.expiresAt))} WIB`,
    ];
    if (order.paymentCode) lines.push(`Payment code ${order.paymentCode}`);
    res.type('text/plain').send(`${lines.join('\n')}\n`);
  });

  app.use((_req: Request, res: Response) => {
    sendFailure(res, { httpStatus: 404, responseCode: '4040000', responseMessage: 'Not Found' }, performance.now());
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const isBadJson =
      err !== null && typeof err === 'object' && (err as { type?: unknown }).type === 'entity.parse.failed';
    if (isBadJson) {
      return sendFailure(
        res,
        { httpStatus: 400, responseCode: '4000001', responseMessage: 'Invalid Field Format' },
        performance.now()
      );
    }
    log.error({ err }, 'simulator error');
    sendFailure(res, { httpStatus: 500, responseCode: '5000000', responseMessage: 'General Error' }, performance.now());
  });

  return {
    provider: 'finpay',
    app,
    faults,
    callbacks,
    submissions,
    exportState() {
      return { sequence, orders: [...orders.values()], openPayments: [...openPayments.values()] };
    },
    importState(state) {
      const parsed = SimState.parse(state);
      for (const id of [...expiryTimers.keys()]) clearExpiry(id);
      sequence = parsed.sequence;
      orders.clear();
      openPayments.clear();
      codesInUse.clear();
      for (const order of parsed.orders) {
        orders.set(order.id, order);
        if (order.paymentCode !== undefined) codesInUse.add(order.paymentCode);
        armExpiry(order);
      }
      for (const registration of parsed.openPayments) {
        openPayments.set(openPaymentKey(registration.type, registration.paymentCode), registration);
        codesInUse.add(registration.paymentCode);
      }
    },
    stop() {
      for (const id of [...expiryTimers.keys()]) clearExpiry(id);
      callbacks.stop();
    },
  };
}
