/**
 * The simulated NICEPAY SNAP endpoints under `/nicepay`: the access token (service 73) and the e-wallet
 * debit's payment (54), status (55) and refund (58), with NICEPAY's checks (docs/providers/nicepay.md §2,
 * §3) and its response codes, whose first three digits are the HTTP status. Requests are validated with
 * the connector's own schemas.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import type { Request, Response } from 'express';
import type { ZodType } from 'zod';
import { fromSnapAmountValue } from '../../domain/money';
import { EWALLET_AMOUNT_LIMITS, toSnapAmount } from '../../connectors/nicepay/mapping';
import {
  AccessTokenRequestSchema,
  DebitPaymentRequestSchema,
  DebitRefundRequestSchema,
  DebitStatusRequestSchema,
  NICEPAY_PATHS,
  SnapServiceCode,
} from '../../connectors/nicepay/schemas';
import type { DebitPaymentRequest, DebitRefundRequest, DebitStatusRequest } from '../../connectors/nicepay/schemas';
import {
  parseSnapTimestamp,
  toSnapTimestamp,
  verifyClientTimestamp,
  verifyTransactionSignature,
} from '../../connectors/nicepay/signing';
import { rawBody } from '../simulator-kit';
import type { SubmissionCounter } from '../simulator-kit';
import type { NicepayTestCredentials } from './credentials';
import { STATUS_DESCRIPTION, refundedAmount } from './state';
import type { NicepayState, SimOrder, TransactionalService } from './state';

class SnapReply {
  constructor(
    readonly responseCode: string,
    readonly responseMessage: string
  ) {}
}

type SnapBody = { responseCode: string; responseMessage: string } & Record<string, unknown>;

function reply(service: string, httpStatus: number, caseCode: string, message: string): SnapReply {
  return new SnapReply(`${httpStatus}${service}${caseCode}`, message);
}

function send(res: Response, body: SnapBody | SnapReply): void {
  const { responseCode } = body;
  res.setHeader('X-TIMESTAMP', toSnapTimestamp(new Date()));
  res.status(Number(responseCode.slice(0, 3))).json(body instanceof SnapReply ? { ...body } : body);
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

export interface NicepayRouteOptions {
  credentials: NicepayTestCredentials;
  submissions: SubmissionCounter;
  publicUrl: string;
  timeScale: number;
  /** Access-token lifetime announced as `expiresIn` (docs/providers/nicepay.md §2.1: 900). Not scaled. */
  tokenLifetimeSeconds: number;
  /** Expiry of a debit sent without `validUpTo` (undocumented; ours), in provider minutes. */
  defaultValidityMinutes: number;
}

export function nicepayRoutes(state: NicepayState, options: NicepayRouteOptions): express.Router {
  const { credentials, submissions } = options;

  // ---- access token (service 73) ------------------------------------------------------------------------

  function handleAccessToken(req: Request): SnapReply | SnapBody {
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
    return {
      responseCode: `200${svc}00`,
      responseMessage: 'Successful',
      accessToken: state.issueToken(clientKey, options.tokenLifetimeSeconds),
      tokenType: 'Bearer',
      expiresIn: String(options.tokenLifetimeSeconds),
    };
  }

  // ---- transactional auth (services 54, 55, 58) ---------------------------------------------------------

  /**
   * Transactional auth as NICEPAY checks it (docs/providers/nicepay.md §2.2, §2.3): headers, token, partner
   * and channel, HMAC, X-EXTERNAL-ID once a day.
   *
   * As lenient as NICEPAY is with its own SDKs, no more (docs/providers/nicepay.md §9): `CHANNEL-ID` may be
   * the client id + `01` (NICEPAY's examples, java-sdk, php-sdk) or the client id itself (node-sdk test);
   * `X-EXTERNAL-ID` may be letters and digits (python-sdk `OrdNo` + yyyyMMddHHmmss), though NICEPAY documents
   * a numeric string, up to the documented 40.
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
    const clientId = bearer ? state.tokenClient(bearer[1]!) : undefined;
    if (!bearer || clientId === undefined) return reply(svc, 401, '01', 'Access Token Invalid');
    if (header(req, 'x-partner-id') !== clientId) return reply(svc, 401, '00', 'Unauthorized. Unknown X-PARTNER-ID');
    const channelId = header(req, 'channel-id');
    if (channelId !== `${clientId}01` && channelId !== clientId)
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

    // SNAP: X-EXTERNAL-ID is unique per day. Inferred code 409xx00 (docs/providers/nicepay.md §4.1).
    if (!state.useExternalId(externalId)) return reply(svc, 409, '00', 'Conflict. X-EXTERNAL-ID already used today');
    return undefined;
  }

  function transactional<T>(
    service: TransactionalService,
    svc: string,
    schema: ZodType<T>,
    handle: (body: T) => SnapReply | SnapBody
  ) {
    return (req: Request, res: Response): void => {
      const raw = bodyText(req);
      const refusal = authenticate(req, svc, raw);
      if (refusal) return send(res, refusal);
      const body = parseBody(svc, raw, schema);
      if (body instanceof SnapReply) return send(res, body);
      const forced = state.takeForced(service);
      if (forced) return send(res, new SnapReply(forced.responseCode, forced.responseMessage ?? 'Simulated answer'));
      send(res, handle(body));
    };
  }

  // ---- payment (service 54) -----------------------------------------------------------------------------

  function handlePayment(body: DebitPaymentRequest): SnapReply | SnapBody {
    const svc = SnapServiceCode.DebitPayment;
    submissions.increment(body.partnerReferenceNo);
    if (body.merchantId !== credentials.clientId) return reply(svc, 404, '08', 'Invalid Merchant');
    const amount = wholeRupiah(body.amount.value);
    if (amount === undefined || amount < EWALLET_AMOUNT_LIMITS.min)
      return reply(svc, 400, '01', 'Invalid Field Format {amount.value}');
    if (amount > EWALLET_AMOUNT_LIMITS.max) return reply(svc, 403, '02', 'Exceeds Transaction Amount Limit');
    if (state.orders.has(body.partnerReferenceNo)) return reply(svc, 409, '01', 'Duplicate partnerReferenceNo');

    const now = new Date();
    let validUpTo: Date;
    if (body.validUpTo) {
      const parsed = parseSnapTimestamp(body.validUpTo);
      if (!parsed || parsed.getTime() <= now.getTime())
        return reply(svc, 400, '01', 'Invalid Field Format {validUpTo}');
      validUpTo = parsed;
    } else {
      validUpTo = new Date(now.getTime() + options.defaultValidityMinutes * 60_000);
    }
    const returnUrl = body.urlParam.find((u) => u.type === 'PAY_RETURN')?.url ?? body.additionalInfo.callBackUrl;
    const order: SimOrder = {
      partnerReferenceNo: body.partnerReferenceNo,
      referenceNo: state.newReferenceNo(now),
      merchantId: body.merchantId,
      mitraCd: body.additionalInfo.mitraCd,
      amount,
      status: '01',
      createdAt: now.toISOString(),
      validUpTo: toSnapTimestamp(validUpTo),
      expiresAtMs: now.getTime() + Math.round((validUpTo.getTime() - now.getTime()) * options.timeScale),
      // NICEPAY posts the notification to the merchant's dbProcessUrl (docs/providers/nicepay.md §5).
      notifyUrl: body.additionalInfo.dbProcessUrl,
      returnUrl,
      goodsNm: body.additionalInfo.goodsNm,
      billingNm: body.additionalInfo.billingNm,
      refunds: [],
    };
    state.register(order);
    const checkout = `${options.publicUrl}/_sim/checkout/${encodeURIComponent(order.partnerReferenceNo)}`;
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

  function handleStatus(body: DebitStatusRequest): SnapReply | SnapBody {
    const svc = SnapServiceCode.DebitStatus;
    if (body.merchantId !== credentials.clientId) return reply(svc, 404, '08', 'Invalid Merchant');
    const order = state.lookup(body.originalPartnerReferenceNo, body.originalReferenceNo);
    // Inferred code (docs/providers/nicepay.md §4.1): 404xx01 transaction not found.
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
      // Emit both names so clients read either (docs/providers/nicepay.md §3.3).
      amount,
      transAmount: amount,
      ...(order.paidAt ? { paidTime: toSnapTimestamp(new Date(order.paidAt)) } : {}),
      additionalInfo: { mitraCd: order.mitraCd, refundedAmount: toSnapAmount(refundedAmount(order)).value },
    };
  }

  // ---- refund (service 58) ------------------------------------------------------------------------------

  function handleRefund(body: DebitRefundRequest): SnapReply | SnapBody {
    const svc = SnapServiceCode.DebitRefund;
    submissions.increment(`refund:${body.partnerRefundNo}`);
    if (body.merchantId !== credentials.clientId) return reply(svc, 404, '08', 'Invalid Merchant');
    const order = state.lookup(body.originalPartnerReferenceNo, body.originalReferenceNo);
    if (!order) return reply(svc, 404, '01', 'Transaction Not Found');
    if (state.refundNos.has(body.partnerRefundNo)) return reply(svc, 409, '01', 'Duplicate partnerRefundNo');
    if (order.status !== '00')
      return reply(svc, 403, '15', `Transaction Not Permitted. Status is ${STATUS_DESCRIPTION[order.status]}`);
    const amount = wholeRupiah(body.refundAmount.value);
    if (amount === undefined || amount <= 0) return reply(svc, 400, '01', 'Invalid Field Format {refundAmount.value}');
    if (amount > order.amount - refundedAmount(order)) return reply(svc, 403, '02', 'Exceeds Transaction Amount Limit');

    const now = new Date();
    const refundNo = state.recordRefund(order, body.partnerRefundNo, amount, now);
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

  const provider = express.Router();
  provider.post(NICEPAY_PATHS.accessToken, (req, res) => send(res, handleAccessToken(req)));
  provider.post(
    NICEPAY_PATHS.debitPayment,
    transactional('payment', SnapServiceCode.DebitPayment, DebitPaymentRequestSchema, handlePayment)
  );
  provider.post(
    NICEPAY_PATHS.debitStatus,
    transactional('status', SnapServiceCode.DebitStatus, DebitStatusRequestSchema, handleStatus)
  );
  provider.post(
    NICEPAY_PATHS.debitRefund,
    transactional('refund', SnapServiceCode.DebitRefund, DebitRefundRequestSchema, handleRefund)
  );

  const routes = express.Router();
  routes.use('/nicepay', rawBody(), provider);
  return routes;
}
