/**
 * The simulated Finpay PG endpoints: Basic auth, request validation with the connector's own schemas,
 * Finpay's 7-digit response codes with their HTTP statuses, and answers written like PHP's `json_encode`.
 * Choices where Finpay is silent are marked "[sim]"; how it differs from Finpay: docs/providers/finpay.md §9.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import QRCode from 'qrcode';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import { constantTimeEqual } from '../../constant-time';
import { fromFinpayAmount, instructionKindOf, toFinpayFieldWording, toWib } from '../../connectors/finpay/mapping';
import { DEFAULT_ORDER_TIMEOUT_MINUTES } from '../../connectors/finpay/mapping';
import {
  FINPAY_PATHS,
  FINPAY_SUCCESS_CODE,
  InitiateRequest,
  RefundRequest,
  VoidRequest,
} from '../../connectors/finpay/schemas';
import { basicAuthorization, encodePhpJson, signFinpayObject, toPhpJsonValue } from '../../connectors/finpay/signing';
import { buildQris } from '../../checkout/qris';
import type { SubmissionCounter } from '../simulator-kit';
import type { FinpayTestCredentials } from './credentials';
import { OPEN_STATUSES, PAID_STATUSES } from './state';
import type { FinpayState } from './state';

interface FinpayFailure {
  httpStatus: number;
  responseCode: string;
  responseMessage: string;
}

const notFound: FinpayFailure = { httpStatus: 404, responseCode: '4040001', responseMessage: 'Transaction Not Found' };
const invalidStatus: FinpayFailure = {
  httpStatus: 404,
  responseCode: '4040100',
  responseMessage: 'Invalid Transaction Status',
};
const featureNotAllowed: FinpayFailure = {
  httpStatus: 403,
  responseCode: '4030001',
  responseMessage: 'Feature Not Allowed',
};

/** HTTP 400 naming the field, worded as the live sandbox words it (docs/providers/finpay.md §7.3). */
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

/** Channel rules the schemas cannot express (docs/providers/finpay.md §7.3, Buayar live notes). */
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

function sendSuccess(res: Response, startedAt: number, body: Record<string, unknown> = {}): void {
  send(res, 200, { responseCode: FINPAY_SUCCESS_CODE, responseMessage: 'Success', ...body }, startedAt);
}

export interface FinpayRouteOptions {
  credentials: FinpayTestCredentials;
  publicUrl: string;
  /** Channels not enabled for this merchant: initiate answers HTTP 403 `4030001 Feature Not Allowed`. */
  disabledSourceOfFunds: ReadonlySet<string>;
  submissions: SubmissionCounter;
  log: Logger;
}

export function finpayRoutes(state: FinpayState, options: FinpayRouteOptions): express.Router {
  const { publicUrl, submissions } = options;
  const expectedAuthorization = Buffer.from(basicAuthorization(options.credentials));

  function requireAuth(req: Request, res: Response, next: NextFunction): void {
    if (constantTimeEqual(req.get('authorization') ?? '', expectedAuthorization)) return next();
    send(res, 401, { responseCode: '4010000', responseMessage: 'Unauthorized' }, performance.now());
  }

  const routes = express.Router();
  routes.use('/pg', express.json(), requireAuth);

  routes.post(FINPAY_PATHS.initiate, (req, res) => {
    const startedAt = performance.now();
    const parsed = parseRequest(InitiateRequest, req.body);
    if (!parsed.ok) return sendFailure(res, parsed.failure, startedAt);
    const request = parsed.data;
    submissions.increment(`initiate:${request.order.id}`);
    const channel = channelFailure(request);
    if (channel) return sendFailure(res, channel, startedAt);
    const type = request.sourceOfFunds.type;
    if (options.disabledSourceOfFunds.has(type)) return sendFailure(res, featureNotAllowed, startedAt);
    if (state.orders.has(request.order.id)) {
      // [sim] Finpay's answer to a reused order id is undocumented; SNAP's conflict class is assumed
      // (docs/providers/finpay.md §6).
      return sendFailure(res, { httpStatus: 409, responseCode: '4090000', responseMessage: 'Conflict' }, startedAt);
    }
    const kind = instructionKindOf(type);
    const order = state.createOrder({
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
    });
    sendSuccess(res, startedAt, {
      redirecturl: `${publicUrl}/widgetpg/pending/${order.widgetNumber}`,
      expiryLink: toWib(new Date(order.expiresAt)),
      ...(order.paymentCode === undefined ? {} : { paymentCode: order.paymentCode }),
      ...(kind === 'qris' ? { imageurl: `${publicUrl}/widgetpg/qris/${order.widgetNumber}.png` } : {}),
      ...(kind === 'ewallet' ? { appurl: `${publicUrl}/widgetpg/app/${type}/${order.widgetNumber}` } : {}),
    });
  });

  routes.get(`${FINPAY_PATHS.check}/:orderId`, (req, res) => {
    const startedAt = performance.now();
    const order = state.orders.get(req.params.orderId);
    if (!order) return sendFailure(res, notFound, startedAt);
    // [sim] Signed like a callback; the PG×Billing status variant carries `data.signature`
    // (docs/providers/finpay.md §3.4).
    sendSuccess(res, startedAt, {
      data: signFinpayObject(state.reportedOrder(order), options.credentials.merchantKey),
    });
  });

  routes.get(`${FINPAY_PATHS.cancel}/:orderId`, (req, res) => {
    const startedAt = performance.now();
    const order = state.orders.get(req.params.orderId);
    if (!order) return sendFailure(res, notFound, startedAt);
    submissions.increment(`cancel:${order.id}`);
    const kind = instructionKindOf(order.type);
    // Live quirk: QRIS and e-wallet orders in their initial state refuse cancel (docs/providers/finpay.md §3.5).
    if (!OPEN_STATUSES.includes(order.status) || kind === 'qris' || kind === 'ewallet') {
      return sendFailure(res, invalidStatus, startedAt);
    }
    state.transition(order, 'CANCELLED');
    sendSuccess(res, startedAt, { responseMessage: 'Request has been processed successfully', traceId: randomUUID() });
  });

  routes.post(FINPAY_PATHS.refund, (req, res) => {
    const startedAt = performance.now();
    const parsed = parseRequest(RefundRequest, req.body);
    if (!parsed.ok) return sendFailure(res, parsed.failure, startedAt);
    const order = state.orders.get(parsed.data.order.id);
    if (!order) return sendFailure(res, notFound, startedAt);
    submissions.increment(`refund:${order.id}`);
    if (!PAID_STATUSES.includes(order.status)) return sendFailure(res, invalidStatus, startedAt);
    const remaining = order.amount - order.refundedAmount;
    const amount = parsed.data.order.amount === undefined ? remaining : fromFinpayAmount(parsed.data.order.amount);
    if (amount <= 0 || amount > remaining) {
      return sendFailure(res, fieldFailure(['order', 'amount'], true), startedAt);
    }
    order.refundedAmount += amount;
    state.transition(order, order.refundedAmount === order.amount ? 'REFUNDED' : 'PARTIALLY_REFUNDED');
    sendSuccess(res, startedAt, { traceId: randomUUID() });
  });

  // Void is documented both as GET with the id in the path and as POST with a body (docs/providers/finpay.md §3.5).
  const voidOrder = (orderId: string, res: Response, startedAt: number) => {
    const order = state.orders.get(orderId);
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
    state.transition(order, 'VOIDED');
    sendSuccess(res, startedAt, { traceId: randomUUID() });
  };
  routes.get(`${FINPAY_PATHS.void}/:orderId`, (req, res) => voidOrder(req.params.orderId, res, performance.now()));
  routes.post(FINPAY_PATHS.void, (req, res) => {
    const startedAt = performance.now();
    const parsed = parseRequest(VoidRequest, req.body);
    if (!parsed.ok) return sendFailure(res, parsed.failure, startedAt);
    voidOrder(parsed.data.order.id, res, startedAt);
  });

  // The QRIS image `imageurl` points at: a scannable dynamic QRIS (EMVCo, correct CRC) for the order's
  // amount, drawn as Finpay's own widget serves it; the merchant is fictional.
  routes.get('/widgetpg/qris/:file', (req, res, next) => {
    const order = state.byWidgetNumber(String(req.params.file).replace(/\.png$/, ''));
    if (!order) return void res.status(404).type('text/plain').send('Not Found');
    const payload = buildQris({
      acquirer: 'ID.CO.FINNET.WWW',
      merchantPan: `93600${String(order.widgetNumber).padStart(10, '0')}`,
      merchantId: 'FINPAYSIM01',
      nmid: 'ID1020000000002',
      merchantName: 'KASIR SANDBOX',
      merchantCity: 'JAKARTA',
      amount: order.amount,
      reference: order.id,
    });
    QRCode.toBuffer(payload, { type: 'png', margin: 2, width: 320 }).then(
      (png) => void res.type('image/png').send(png),
      next
    );
  });

  // The hosted "pending" page `redirecturl` points at: enough for a person to see what to pay.
  routes.get('/widgetpg/pending/:number', (req, res) => {
    const order = state.byWidgetNumber(req.params.number);
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

  routes.use((_req: Request, res: Response) => {
    sendFailure(res, { httpStatus: 404, responseCode: '4040000', responseMessage: 'Not Found' }, performance.now());
  });
  routes.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const isBadJson =
      err !== null && typeof err === 'object' && (err as { type?: unknown }).type === 'entity.parse.failed';
    if (isBadJson) {
      return sendFailure(
        res,
        { httpStatus: 400, responseCode: '4000001', responseMessage: 'Invalid Field Format' },
        performance.now()
      );
    }
    options.log.error({ err }, 'simulator error');
    sendFailure(res, { httpStatus: 500, responseCode: '5000000', responseMessage: 'General Error' }, performance.now());
  });
  return routes;
}
