/**
 * The simulated BDPay gateway: the same endpoints, RSA `sign` checks and `platSign` on every answer,
 * BDPay's field rules (docs/providers/bdpay.md §7, validated with the connector's own schemas), and the
 * hosted cashier page. Where BDPay is undocumented (error wording, the HTTP status of a refused request)
 * it answers HTTP 200 with `platRespCode: FAIL` and a message naming the field, as the family's samples do.
 */
import type { KeyObject } from 'node:crypto';
import express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { ZodType } from 'zod';
import {
  BDPAY_PATHS,
  BalanceRequestSchema,
  CashRequestSchema,
  PayRequestSchema,
  PrepaidOrderRequestSchema,
  QueryRequestSchema,
} from '../../connectors/bdpay/schemas';
import { signFields, toPublicKey, verifyFieldSignature } from '../../connectors/bdpay/signing';
import { escapeHtml, rawBody } from '../simulator-kit';
import type { SubmissionCounter } from '../simulator-kit';
import type { BdpayTestCredentials } from './credentials';
import { OPEN_ORDER_STATUSES, fail, withoutEmpty } from './state';
import type { Answer, BdpayState } from './state';

type Fields = Record<string, unknown>;

/** Keys of the submission counter: the orderNum itself, and the beneficiary of a payout. */
export function beneficiaryKey(bankCode: string, number: string): string {
  return `beneficiary:${bankCode}:${number}`;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid request';
  const field = issue.path.map(String).join('.');
  return field === '' ? issue.message : `${field}: ${issue.message}`;
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

function validated<T>(schema: ZodType<T>, fields: Fields, then: (body: T) => Answer): Answer {
  const parsed = schema.safeParse(fields);
  return parsed.success ? then(parsed.data) : fail(firstIssue(parsed.error), fields.orderNum);
}

export interface BdpayRouteOptions {
  credentials: BdpayTestCredentials;
  platformPrivateKey: KeyObject;
  forgeryKey: KeyObject;
  submissions: SubmissionCounter;
}

export function bdpayRoutes(state: BdpayState, options: BdpayRouteOptions): express.Router {
  const { credentials, submissions } = options;
  const merchantPublicKey = toPublicKey(credentials.merchantPublicKeyPem);

  function send(res: Response, path: string, answer: Answer): void {
    const fault = state.takeResponseFault(path);
    if (fault?.kind === 'unknown' && path === BDPAY_PATHS.cash && answer.platRespCode === 'SUCCESS') {
      const payout = state.payouts.get(answer.orderNum ?? '');
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
    const key = fault?.kind === 'forge-sign' ? options.forgeryKey : options.platformPrivateKey;
    res.status(200).json({ ...body, platSign: signFields(body, key) });
  }

  /** Common front of every gateway endpoint: JSON body, known merchant, valid `sign` (docs/providers/bdpay.md §2.2). */
  function gateway(path: string, handle: (fields: Fields) => Answer, beforeAuth?: (fields: Fields) => void) {
    return (req: Request, res: Response): void => {
      const fields = readJsonObject(req.body);
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

  /** A query's answer about an order or payout it found: its numbers, amount, fee and status. */
  function found(
    entry: { platOrderNum: string; orderNum: string },
    amount: number,
    fee: number,
    status: string,
    msg: string
  ): Answer {
    return {
      platRespCode: 'SUCCESS',
      platRespMessage: 'Request success',
      platOrderNum: entry.platOrderNum,
      orderNum: entry.orderNum,
      amount: String(amount),
      fee: String(fee),
      status,
      msg,
    };
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
          const order = state.findOrder(q.orderNum, q.platOrderNum);
          if (order === undefined) return notExist;
          return found(order, order.payMoney, order.payFee, order.status, order.status);
        }
        case 'CASH_QUERY': {
          const payout = state.findPayout(q.orderNum, q.platOrderNum);
          if (payout === undefined) return notExist;
          return found(payout, payout.money, payout.fee, payout.status, payout.statusMsg);
        }
        case 'REFUND_QUERY':
          // The platform does not support refunds (docs/providers/bdpay.md §4.2), so no refund ever exists.
          return notExist;
      }
    });
  }

  /** Counted on arrival, before any check: the point is to prove how often Kasir sent an order or payout. */
  const countSubmission = (fields: Fields): void => {
    if (typeof fields.orderNum === 'string') submissions.increment(fields.orderNum);
  };

  const routes = express.Router();
  routes.use('/gateway', rawBody());
  routes.post(
    BDPAY_PATHS.prepaidOrder,
    gateway(
      BDPAY_PATHS.prepaidOrder,
      (fields) =>
        validated(PrepaidOrderRequestSchema, fields, (body) => state.createOrder(BDPAY_PATHS.prepaidOrder, body)),
      countSubmission
    )
  );
  routes.post(
    BDPAY_PATHS.pay,
    gateway(
      BDPAY_PATHS.pay,
      (fields) => validated(PayRequestSchema, fields, (body) => state.createOrder(BDPAY_PATHS.pay, body)),
      countSubmission
    )
  );
  routes.post(
    BDPAY_PATHS.cash,
    gateway(
      BDPAY_PATHS.cash,
      (fields) => validated(CashRequestSchema, fields, (body) => state.createPayout(body)),
      (fields) => {
        countSubmission(fields);
        if (typeof fields.bankCode === 'string' && typeof fields.number === 'string') {
          submissions.increment(beneficiaryKey(fields.bankCode, fields.number));
        }
      }
    )
  );
  routes.post(BDPAY_PATHS.query, gateway(BDPAY_PATHS.query, answerQuery));
  routes.post(
    BDPAY_PATHS.balance,
    gateway(BDPAY_PATHS.balance, (fields) =>
      validated(BalanceRequestSchema, fields, () => ({
        platRespCode: 'SUCCESS',
        platRespMessage: 'Request success',
        balance: String(state.account.balance),
        freeze: String(state.account.freeze),
        pendMoney: String(state.account.pendMoney),
      }))
    )
  );

  // The hosted cashier behind `url`: opening it moves an order to OPEN_PAY_URL, and its button pays it.
  routes.get('/cashier/:platOrderNum', (req, res) => {
    const order = state.findOrder(undefined, String(req.params.platOrderNum));
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
  return routes;
}
