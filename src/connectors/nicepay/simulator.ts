/**
 * A faithful local NICEPAY SNAP e-wallet direct debit (reference Part 1, "What a faithful simulator must do").
 *
 * Same paths under `/nicepay`, same token and HMAC checks, the same SNAP response codes with HTTP status =
 * first three digits of `responseCode`, a state machine per `partnerReferenceNo`, and RSA-signed
 * notifications retried until answered `2005600`. Requests are validated with the connector's own schemas.
 */
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { ZodType } from 'zod';
import { fromSnapAmountValue } from '../../domain/money';
import { logger } from '../../logger';
import { CallbackDispatcher, FaultInjector, SubmissionCounter, controlRouter, rawBody } from '../simulator-kit';
import type { ProviderSimulator, SimulatorCommonOptions } from '../simulator-kit';
import { EWALLET_AMOUNT_LIMITS, toSnapAmount } from './mapping';
import {
  AccessTokenRequestSchema,
  DebitPaymentRequestSchema,
  DebitRefundRequestSchema,
  DebitStatusRequestSchema,
  LatestTransactionStatusSchema,
  MitraCdSchema,
  NicepayPath,
  SnapServiceCode,
} from './schemas';
import type { DebitPaymentRequest, DebitRefundRequest, DebitStatusRequest, LatestTransactionStatus } from './schemas';
import {
  jakartaDay,
  parseSnapTimestamp,
  signClientTimestamp,
  toSnapTimestamp,
  verifyClientTimestamp,
  verifyTransactionSignature,
} from './signing';

/** Both sides' TEST-ONLY credentials, as plain JSON so `npm start` can persist them. */
export const NicepaySimulatorCredentialsSchema = z.object({
  clientId: z.string().min(1).max(10),
  clientSecret: z.string().min(1),
  merchantPrivateKeyPem: z.string(),
  merchantPublicKeyPem: z.string(),
  nicepayPrivateKeyPem: z.string(),
  nicepayPublicKeyPem: z.string(),
});
export type NicepaySimulatorCredentials = z.infer<typeof NicepaySimulatorCredentialsSchema>;

/**
 * NICEPAY does not publish its SNAP notification retry schedule (reference §1.7); this default is ours:
 * first try after 1 s, then 10 s, 1 min, 5 min, 15 min, 1 h, 2 h.
 */
export const DEFAULT_NOTIFICATION_SCHEDULE_MS: readonly number[] = [
  1_000, 10_000, 60_000, 300_000, 900_000, 3_600_000, 7_200_000,
];

export interface NicepaySimulatorOptions extends SimulatorCommonOptions {
  credentials: NicepaySimulatorCredentials;
  /** Delays before each notification attempt (provider time, scaled by `timeScale`). */
  notificationScheduleMs?: readonly number[];
  /** Access-token lifetime announced as `expiresIn` (reference §1.2: 900). Not scaled. */
  tokenLifetimeSeconds?: number;
  /** Expiry of a debit sent without `validUpTo` (undocumented; ours), in provider minutes. */
  defaultValidityMinutes?: number;
}

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
const ForcedResponseSchema = z.object({
  service: z.enum(['payment', 'status', 'refund']),
  responseCode: z.string().regex(/^\d{7}$/),
  responseMessage: z.string().optional(),
  count: z.number().int().min(1).default(1),
});
type ForcedResponse = z.infer<typeof ForcedResponseSchema>;
type TransactionalService = ForcedResponse['service'];

export interface NicepaySimulator extends ProviderSimulator {
  order(partnerReferenceNo: string): SimOrder | undefined;
  /** Access tokens issued so far, and how many are still valid. */
  tokenStats(): { issued: number; active: number };
  /** Makes every issued token unknown, as if NICEPAY expired them early. */
  expireTokens(): void;
}

const STATUS_DESCRIPTION: Record<LatestTransactionStatus, string> = {
  '00': 'Success',
  '01': 'Initiated',
  '03': 'Pending',
  '04': 'Refunded',
  '05': 'Canceled',
  '06': 'Failed',
};

class SnapReply {
  constructor(
    readonly responseCode: string,
    readonly responseMessage: string
  ) {}
}

function reply(service: string, httpStatus: number, caseCode: string, message: string): SnapReply {
  return new SnapReply(`${httpStatus}${service}${caseCode}`, message);
}

function send(res: Response, body: { responseCode: string; responseMessage: string } & Record<string, unknown>): void {
  res.setHeader('X-TIMESTAMP', toSnapTimestamp(new Date()));
  res.status(Number(body.responseCode.slice(0, 3))).json(body);
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function bodyText(req: Request): string {
  return Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
}

/** Reads a SNAP body and sorts schema failures into missing (`xx02`) and malformed (`xx01`) fields. */
function parseBody<T>(service: string, raw: string, schema: ZodType<T>): T | SnapReply {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return reply(service, 400, '01', 'Invalid Field Format {body}');
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.map(String).join('.') || 'body';
  let value: unknown = json;
  for (const key of issue.path)
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value === undefined || value === null || value === ''
    ? reply(service, 400, '02', `Invalid Mandatory Field {${field}}`)
    : reply(service, 400, '01', `Invalid Field Format {${field}}`);
}

function wholeRupiah(value: string): number | undefined {
  try {
    return fromSnapAmountValue(value);
  } catch {
    return undefined;
  }
}

export function createNicepaySimulator(options: NicepaySimulatorOptions): NicepaySimulator {
  const { credentials } = options;
  const timeScale = options.timeScale ?? 1;
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 900;
  const defaultValidityMinutes = options.defaultValidityMinutes ?? 30;
  const publicUrl = (options.publicUrl ?? 'http://localhost').replace(/\/$/, '');
  const log = logger.child({ provider: 'nicepay', simulator: true });

  const faults = new FaultInjector();
  const submissions = new SubmissionCounter();
  const callbacks = new CallbackDispatcher({
    provider: 'nicepay',
    scheduleMs: options.notificationScheduleMs ?? DEFAULT_NOTIFICATION_SCHEDULE_MS,
    timeScale,
    isAcknowledged: (_status, answer) => {
      try {
        const json: unknown = JSON.parse(answer);
        return z.object({ responseCode: z.literal('2005600') }).safeParse(json).success;
      } catch {
        return false;
      }
    },
  });

  const orders = new Map<string, SimOrder>();
  const refundNos = new Set<string>();
  const tokens = new Map<string, { clientId: string; expiresAtMs: number }>();
  const externalIds = new Map<string, Set<string>>();
  const expiryTimers = new Map<string, NodeJS.Timeout>();
  let forced: ForcedResponse[] = [];
  let tokensIssued = 0;
  let forgeryKey: string | undefined;

  // ---- state machine ------------------------------------------------------------------------------------

  function isOpen(order: SimOrder): boolean {
    return order.status === '01' || order.status === '03';
  }

  function armExpiry(order: SimOrder): void {
    clearTimeout(expiryTimers.get(order.partnerReferenceNo));
    if (!isOpen(order)) return;
    const timer = setTimeout(() => expireIfDue(order), Math.max(0, order.expiresAtMs - Date.now()));
    timer.unref();
    expiryTimers.set(order.partnerReferenceNo, timer);
  }

  /** `validUpTo` passed without payment: NICEPAY cancels the debit (`05`). Checked lazily as well as by timer. */
  function expireIfDue(order: SimOrder): void {
    if (isOpen(order) && Date.now() >= order.expiresAtMs) settle(order, '05');
  }

  function settle(order: SimOrder, status: LatestTransactionStatus): void {
    order.status = status;
    clearTimeout(expiryTimers.get(order.partnerReferenceNo));
    expiryTimers.delete(order.partnerReferenceNo);
    log.info({ reference: order.partnerReferenceNo, status }, 'debit settled');
    // Reference §1.7: the notification is sent on success only.
    if (status === '00') notify(order);
  }

  function notify(order: SimOrder): void {
    const body = JSON.stringify({
      originalReferenceNo: order.referenceNo,
      originalPartnerReferenceNo: order.partnerReferenceNo,
      externalStoreID: '',
      amount: toSnapAmount(order.amount),
      latestTransactionStatus: order.status,
      transactionStatusDesc: STATUS_DESCRIPTION[order.status],
      additionalInfo: { mitraCd: order.mitraCd, paidTime: order.paidAt },
    });
    callbacks.dispatch({
      url: order.notifyUrl,
      reference: order.partnerReferenceNo,
      build(forged) {
        const timestamp = toSnapTimestamp(new Date());
        const key = forged ? (forgeryKey ??= newRsaPrivateKey()) : credentials.nicepayPrivateKeyPem;
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

  function lookup(partnerReferenceNo: string, referenceNo: string): SimOrder | undefined {
    const order = orders.get(partnerReferenceNo);
    if (!order || (referenceNo !== '' && referenceNo !== order.referenceNo)) return undefined;
    expireIfDue(order);
    return order;
  }

  /** `<clientId>05<yyyyMMddHHmmss><4 digits>`, like NICEPAY's `IONPAYTEST05202408221416277395` (reference §1.4). */
  function newReferenceNo(now: Date): string {
    const stamp = toSnapTimestamp(now).slice(0, 19).replace(/\D/g, '');
    return `${credentials.clientId}05${stamp}${String(randomInt(0, 10_000)).padStart(4, '0')}`;
  }

  // ---- access token (service 73) ------------------------------------------------------------------------

  function handleAccessToken(req: Request): SnapReply | Record<string, string> {
    const svc = SnapServiceCode.AccessToken;
    for (const name of ['x-client-key', 'x-timestamp', 'x-signature']) {
      if (!header(req, name)) return reply(svc, 400, '02', `Invalid Mandatory Field {${name.toUpperCase()}}`);
    }
    const clientKey = header(req, 'x-client-key')!;
    const timestamp = header(req, 'x-timestamp')!;
    if (!parseSnapTimestamp(timestamp)) return reply(svc, 400, '01', 'Invalid Field Format {X-TIMESTAMP}');
    if (clientKey !== credentials.clientId) return reply(svc, 401, '00', 'Unauthorized. Unknown client');
    if (!verifyClientTimestamp(credentials.merchantPublicKeyPem, clientKey, timestamp, header(req, 'x-signature')!)) {
      return reply(svc, 401, '00', 'Unauthorized. Signature');
    }
    const body = parseBody(svc, bodyText(req), AccessTokenRequestSchema);
    if (body instanceof SnapReply) return body;
    const accessToken = randomBytes(36).toString('base64url');
    tokens.set(accessToken, { clientId: clientKey, expiresAtMs: Date.now() + tokenLifetimeSeconds * 1000 });
    tokensIssued += 1;
    return {
      responseCode: `200${svc}00`,
      responseMessage: 'Successful',
      accessToken,
      tokenType: 'Bearer',
      expiresIn: String(tokenLifetimeSeconds),
    };
  }

  // ---- transactional auth (services 54, 55, 58) ---------------------------------------------------------

  /**
   * Reference "faithful simulator" §2: headers, token, partner and channel, HMAC, X-EXTERNAL-ID once a day.
   *
   * As lenient as NICEPAY is with its own SDKs, no more: `CHANNEL-ID` may be the client id + `01` (seed,
   * java-sdk, php-sdk) or the client id itself (node-sdk test); `X-EXTERNAL-ID` may be letters and digits
   * (python-sdk `OrdNo` + yyyyMMddHHmmss), though the seed says "Numeric String", up to the seed's 40.
   */
  function authenticate(req: Request, svc: string, raw: string): SnapReply | undefined {
    for (const name of ['authorization', 'x-timestamp', 'x-signature', 'x-partner-id', 'x-external-id', 'channel-id']) {
      if (!header(req, name)) return reply(svc, 400, '02', `Invalid Mandatory Field {${name.toUpperCase()}}`);
    }
    const timestamp = header(req, 'x-timestamp')!;
    const externalId = header(req, 'x-external-id')!;
    if (!parseSnapTimestamp(timestamp)) return reply(svc, 400, '01', 'Invalid Field Format {X-TIMESTAMP}');
    if (!/^[A-Za-z0-9]{1,40}$/.test(externalId)) return reply(svc, 400, '01', 'Invalid Field Format {X-EXTERNAL-ID}');

    const bearer = /^Bearer (\S+)$/.exec(header(req, 'authorization')!);
    const token = bearer ? tokens.get(bearer[1]!) : undefined;
    if (!bearer || !token || token.expiresAtMs <= Date.now()) return reply(svc, 401, '01', 'Access Token Invalid');
    if (header(req, 'x-partner-id') !== token.clientId)
      return reply(svc, 401, '00', 'Unauthorized. Unknown X-PARTNER-ID');
    const channelId = header(req, 'channel-id');
    if (channelId !== `${token.clientId}01` && channelId !== token.clientId)
      return reply(svc, 401, '00', 'Unauthorized. Unknown CHANNEL-ID');

    const parts = { method: req.method, relativePath: req.path, accessToken: bearer[1]!, timestamp };
    const signature = header(req, 'x-signature')!;
    // NICEPAY's docs say minify(body); its Python SDK signs a spaced body. Accept the raw bytes, or their minified form.
    let minified: string | undefined;
    try {
      minified = JSON.stringify(JSON.parse(raw));
    } catch {
      minified = undefined;
    }
    const signed =
      verifyTransactionSignature(credentials.clientSecret, { ...parts, body: raw }, signature) ||
      (minified !== undefined &&
        minified !== raw &&
        verifyTransactionSignature(credentials.clientSecret, { ...parts, body: minified }, signature));
    if (!signed) return reply(svc, 401, '00', 'Unauthorized. Signature');

    // SNAP: X-EXTERNAL-ID is unique per day. Inferred code 409xx00 (reference §1.8).
    const day = jakartaDay(new Date());
    for (const past of externalIds.keys()) if (past < day) externalIds.delete(past);
    const seen = externalIds.get(day) ?? new Set<string>();
    externalIds.set(day, seen);
    if (seen.has(externalId)) return reply(svc, 409, '00', 'Conflict. X-EXTERNAL-ID already used today');
    seen.add(externalId);
    return undefined;
  }

  function takeForced(service: TransactionalService): SnapReply | undefined {
    const index = forced.findIndex((f) => f.service === service);
    if (index < 0) return undefined;
    const next = forced[index]!;
    next.count -= 1;
    if (next.count <= 0) forced.splice(index, 1);
    return new SnapReply(next.responseCode, next.responseMessage ?? 'Simulated answer');
  }

  function transactional<T>(
    service: TransactionalService,
    svc: string,
    schema: ZodType<T>,
    handle: (body: T) => SnapReply | Record<string, unknown>
  ) {
    return (req: Request, res: Response): void => {
      const raw = bodyText(req);
      const refusal = authenticate(req, svc, raw);
      if (refusal) return send(res, { ...refusal });
      const body = parseBody(svc, raw, schema);
      if (body instanceof SnapReply) return send(res, { ...body });
      const answer = takeForced(service) ?? handle(body);
      if (answer instanceof SnapReply) return send(res, { ...answer });
      send(res, answer as { responseCode: string; responseMessage: string });
    };
  }

  // ---- payment (service 54) -----------------------------------------------------------------------------

  function handlePayment(body: DebitPaymentRequest): SnapReply | Record<string, unknown> {
    const svc = SnapServiceCode.DebitPayment;
    submissions.increment(body.partnerReferenceNo);
    if (body.merchantId !== credentials.clientId) return reply(svc, 404, '08', 'Invalid Merchant');
    const amount = wholeRupiah(body.amount.value);
    if (amount === undefined || amount < EWALLET_AMOUNT_LIMITS.min)
      return reply(svc, 400, '01', 'Invalid Field Format {amount.value}');
    if (amount > EWALLET_AMOUNT_LIMITS.max) return reply(svc, 403, '02', 'Exceeds Transaction Amount Limit');
    if (orders.has(body.partnerReferenceNo)) return reply(svc, 409, '01', 'Duplicate partnerReferenceNo');

    const now = new Date();
    let validUpTo: Date;
    if (body.validUpTo) {
      const parsed = parseSnapTimestamp(body.validUpTo);
      if (!parsed || parsed.getTime() <= now.getTime())
        return reply(svc, 400, '01', 'Invalid Field Format {validUpTo}');
      validUpTo = parsed;
    } else {
      validUpTo = new Date(now.getTime() + defaultValidityMinutes * 60_000);
    }
    const returnUrl = body.urlParam.find((u) => u.type === 'PAY_RETURN')?.url ?? body.additionalInfo.callBackUrl;
    const order: SimOrder = {
      partnerReferenceNo: body.partnerReferenceNo,
      referenceNo: newReferenceNo(now),
      merchantId: body.merchantId,
      mitraCd: body.additionalInfo.mitraCd,
      amount,
      status: '01',
      createdAt: now.toISOString(),
      validUpTo: toSnapTimestamp(validUpTo),
      expiresAtMs: now.getTime() + Math.round((validUpTo.getTime() - now.getTime()) * timeScale),
      // Reference §1.4: NICEPAY posts the notification to the merchant's dbProcessUrl.
      notifyUrl: body.additionalInfo.dbProcessUrl,
      returnUrl,
      goodsNm: body.additionalInfo.goodsNm,
      billingNm: body.additionalInfo.billingNm,
      refunds: [],
    };
    orders.set(order.partnerReferenceNo, order);
    armExpiry(order);
    const checkout = `${publicUrl}/_sim/checkout/${encodeURIComponent(order.partnerReferenceNo)}`;
    return {
      responseCode: `200${svc}00`,
      responseMessage: 'Successful',
      partnerReferenceNo: order.partnerReferenceNo,
      referenceNo: order.referenceNo,
      webRedirectUrl: checkout,
      // OVO debits are approved through a push notification in the OVO app; the others open an app page.
      ...(order.mitraCd === 'OVOE' ? {} : { appRedirectUrl: `${checkout}?app=${order.mitraCd}` }),
      redirectToken: randomBytes(16).toString('hex'),
      additionalInfo: {},
    };
  }

  // ---- status (service 55) ------------------------------------------------------------------------------

  function handleStatus(body: DebitStatusRequest): SnapReply | Record<string, unknown> {
    const svc = SnapServiceCode.DebitStatus;
    if (body.merchantId !== credentials.clientId) return reply(svc, 404, '08', 'Invalid Merchant');
    const order = lookup(body.originalPartnerReferenceNo, body.originalReferenceNo);
    // Inferred code (reference §1.8): 404xx01 transaction not found.
    if (!order) return reply(svc, 404, '01', 'Transaction Not Found');
    const amount = toSnapAmount(order.amount);
    return {
      responseCode: `200${svc}00`,
      responseMessage: 'Successful',
      originalReferenceNo: order.referenceNo,
      originalPartnerReferenceNo: order.partnerReferenceNo,
      serviceCode: SnapServiceCode.DebitPayment,
      latestTransactionStatus: order.status,
      transactionStatusDesc: STATUS_DESCRIPTION[order.status],
      // Reference simulator §4: emit both names so clients read either.
      amount,
      transAmount: amount,
      ...(order.paidAt ? { paidTime: toSnapTimestamp(new Date(order.paidAt)) } : {}),
      additionalInfo: { mitraCd: order.mitraCd, refundedAmount: toSnapAmount(refunded(order)).value },
    };
  }

  function refunded(order: SimOrder): number {
    return order.refunds.reduce((sum, r) => sum + r.amount, 0);
  }

  // ---- refund (service 58) ------------------------------------------------------------------------------

  function handleRefund(body: DebitRefundRequest): SnapReply | Record<string, unknown> {
    const svc = SnapServiceCode.DebitRefund;
    submissions.increment(`refund:${body.partnerRefundNo}`);
    if (body.merchantId !== credentials.clientId) return reply(svc, 404, '08', 'Invalid Merchant');
    const order = lookup(body.originalPartnerReferenceNo, body.originalReferenceNo);
    if (!order) return reply(svc, 404, '01', 'Transaction Not Found');
    if (refundNos.has(body.partnerRefundNo)) return reply(svc, 409, '01', 'Duplicate partnerRefundNo');
    if (order.status !== '00')
      return reply(svc, 403, '15', `Transaction Not Permitted. Status is ${STATUS_DESCRIPTION[order.status]}`);
    const amount = wholeRupiah(body.refundAmount.value);
    if (amount === undefined || amount <= 0) return reply(svc, 400, '01', 'Invalid Field Format {refundAmount.value}');
    if (amount > order.amount - refunded(order)) return reply(svc, 403, '02', 'Exceeds Transaction Amount Limit');

    const now = new Date();
    const refundNo = newReferenceNo(now);
    order.refunds.push({ partnerRefundNo: body.partnerRefundNo, refundNo, amount, at: now.toISOString() });
    refundNos.add(body.partnerRefundNo);
    if (refunded(order) >= order.amount) settle(order, '04');
    return {
      responseCode: `200${svc}00`,
      responseMessage: 'Successful',
      originalPartnerReferenceNo: order.partnerReferenceNo,
      originalReferenceNo: order.referenceNo,
      refundNo,
      partnerRefundNo: body.partnerRefundNo,
      refundAmount: toSnapAmount(amount),
      refundTime: toSnapTimestamp(now),
    };
  }

  // ---- controls -----------------------------------------------------------------------------------------

  const controls = express.Router();
  controls.use(express.json());
  controls.use(express.urlencoded({ extended: false }));

  function control(target: LatestTransactionStatus) {
    return (req: Request<{ reference: string }>, res: Response): void => {
      const order = orders.get(req.params.reference);
      if (!order) return void res.status(404).json({ error: 'unknown partnerReferenceNo' });
      expireIfDue(order);
      if (!isOpen(order))
        return void res.status(409).json({ error: `debit is ${STATUS_DESCRIPTION[order.status]}`, order });
      if (target === '00') order.paidAt = new Date().toISOString();
      settle(order, target);
      res.json(order);
    };
  }
  controls.post('/orders/:reference/pay', control('00'));
  controls.post('/orders/:reference/fail', control('06'));
  controls.post('/orders/:reference/expire', control('05'));
  controls.get('/orders/:reference', (req, res) => {
    const order = orders.get(req.params.reference);
    if (!order) return void res.status(404).json({ error: 'unknown partnerReferenceNo' });
    expireIfDue(order);
    res.json(order);
  });
  controls.get('/orders', (_req, res) => void res.json([...orders.values()]));
  controls.post('/responses', (req, res) => {
    const parsed = ForcedResponseSchema.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    forced.push(parsed.data);
    res.status(201).json({ pending: forced });
  });
  controls.delete('/responses', (_req, res) => {
    forced = [];
    res.status(204).end();
  });
  controls.get('/tokens', (_req, res) => void res.json(tokenStats()));
  controls.post('/tokens/expire', (_req, res) => {
    expireTokens();
    res.status(204).end();
  });
  // The page behind webRedirectUrl: opening it moves the debit to Pending, its buttons pay or fail it.
  controls.get('/checkout/:reference', (req, res) => {
    const order = orders.get(req.params.reference);
    if (!order) return void res.status(404).type('text/plain').send('Unknown payment');
    expireIfDue(order);
    if (order.status === '01') order.status = '03';
    const ref = encodeURIComponent(order.partnerReferenceNo);
    const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    res
      .type('html')
      .send(
        `<!doctype html><title>NICEPAY simulator</title><h1>${escape(order.mitraCd)} · Rp ${order.amount}</h1>` +
          `<p>${escape(order.goodsNm)} — ${STATUS_DESCRIPTION[order.status]}</p>` +
          (isOpen(order)
            ? `<form method="post" action="/_sim/orders/${ref}/pay"><button>Pay</button></form>` +
              `<form method="post" action="/_sim/orders/${ref}/fail"><button>Fail</button></form>`
            : '')
      );
  });

  function tokenStats() {
    const now = Date.now();
    return { issued: tokensIssued, active: [...tokens.values()].filter((t) => t.expiresAtMs > now).length };
  }

  function expireTokens(): void {
    tokens.clear();
  }

  // ---- provider routes ----------------------------------------------------------------------------------

  const provider = express.Router();
  provider.post(NicepayPath.accessToken, (req, res) => {
    const answer = handleAccessToken(req);
    send(
      res,
      answer instanceof SnapReply ? { ...answer } : (answer as { responseCode: string; responseMessage: string })
    );
  });
  provider.post(
    NicepayPath.debitPayment,
    transactional('payment', SnapServiceCode.DebitPayment, DebitPaymentRequestSchema, handlePayment)
  );
  provider.post(
    NicepayPath.debitStatus,
    transactional('status', SnapServiceCode.DebitStatus, DebitStatusRequestSchema, handleStatus)
  );
  provider.post(
    NicepayPath.debitRefund,
    transactional('refund', SnapServiceCode.DebitRefund, DebitRefundRequestSchema, handleRefund)
  );

  const app = express();
  app.use('/_sim', controlRouter({ faults, callbacks, submissions }));
  app.use('/_sim', controls);
  app.use(faults.middleware());
  app.use('/nicepay', rawBody());
  app.use('/nicepay', provider);

  return {
    provider: 'nicepay',
    app,
    faults,
    callbacks,
    submissions,
    order: (partnerReferenceNo) => orders.get(partnerReferenceNo),
    tokenStats,
    expireTokens,
    exportState: () => ({
      orders: [...orders.values()].map((o) => structuredClone(o)),
      tokens: [...tokens.entries()].map(([token, t]) => ({ token, ...t })),
    }),
    importState(state) {
      const parsed = SimStateSchema.parse(state);
      for (const timer of expiryTimers.values()) clearTimeout(timer);
      expiryTimers.clear();
      orders.clear();
      refundNos.clear();
      tokens.clear();
      for (const order of parsed.orders) {
        orders.set(order.partnerReferenceNo, order);
        for (const r of order.refunds) refundNos.add(r.partnerRefundNo);
        armExpiry(order);
      }
      for (const { token, ...rest } of parsed.tokens) tokens.set(token, rest);
    },
    stop() {
      for (const timer of expiryTimers.values()) clearTimeout(timer);
      expiryTimers.clear();
      callbacks.stop();
    },
  };
}

function newRsaPrivateKey(): string {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }).privateKey;
}
