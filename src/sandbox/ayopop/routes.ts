/**
 * The simulated Ayopop partner API v2 endpoints: inquiry, payment and status.
 *
 * Auth: `KEY`, `TOKEN` (HS256 JWT with the API secret, claims = parameters) and `VERSION` matching
 * `/api/vN/`; `KEY` must equal the `partnerId` claim and the partner. Anything else is HTTP 401
 * `responseCode 401`. Parameters are read from the verified claims; a non-empty body must agree with them
 * (the docs send no body; Kasir mirrors the claims). Claims that do not fit the endpoint answer HTTP 400
 * with `321` "bad request" [inferred].
 */
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { constantTimeEqual } from '../../constant-time';
import { AYOPOP_PATHS, InquiryRequest, PaymentRequest, StatusRequest } from '../../connectors/ayopop/schemas';
import type { AyopopMessage } from '../../connectors/ayopop/schemas';
import { PROCESSING_OR_UNKNOWN_REFERENCE_CODE } from '../../connectors/ayopop/mapping';
import { verifyAyopopToken, versionForPath } from '../../connectors/ayopop/signing';
import { rawBody } from '../simulator-kit';
import type { SubmissionCounter } from '../simulator-kit';
import type { AyopopTestCredentials } from './credentials';
import { AYOPOP_SIM_DUPLICATE_REFERENCE_CODE, envelope, orderEnvelope } from './state';
import type { AyopopState } from './state';

function reply(res: Response, code: number, data: unknown = {}, httpStatus = 200, message?: AyopopMessage): void {
  res.status(httpStatus).json(envelope(code, data, message));
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

export interface AyopopRouteOptions {
  credentials: AyopopTestCredentials;
  submissions: SubmissionCounter;
  log: Logger;
}

export function ayopopRoutes(state: AyopopState, options: AyopopRouteOptions): express.Router {
  const { credentials, submissions, log } = options;

  function unauthorized(res: Response, reason: string): void {
    log.info({ reason }, 'request refused');
    reply(res, 401, {}, 401);
  }

  async function authenticate(req: Request, res: Response, next: NextFunction): Promise<void> {
    const expectedVersion = versionForPath(req.path);
    if (expectedVersion === undefined || req.get('VERSION') !== expectedVersion) return unauthorized(res, 'VERSION');
    const key = req.get('KEY');
    const token = req.get('TOKEN');
    if (!key || !token || !constantTimeEqual(key, credentials.apiKey)) return unauthorized(res, 'KEY');
    const claims = await verifyAyopopToken(token, credentials.apiSecret);
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

  const routes = express.Router();
  routes.use('/api', rawBody(), authenticate);
  routes.post(AYOPOP_PATHS.inquiry, (_req, res) => {
    const request = claimsOf(res, InquiryRequest);
    if (!request) return;
    const { code, data } = state.inquire(request);
    reply(res, code, data);
  });
  routes.post(AYOPOP_PATHS.payment, (_req, res) => {
    const request = claimsOf(res, PaymentRequest);
    if (!request) return;
    submissions.increment(request.refNumber);
    const order = state.pay(request);
    // A reused refNumber: 102 only says it is taken.
    if (!order) return reply(res, AYOPOP_SIM_DUPLICATE_REFERENCE_CODE);
    res.json(orderEnvelope(order));
  });
  routes.post(AYOPOP_PATHS.status, (_req, res) => {
    const request = claimsOf(res, StatusRequest);
    if (!request) return;
    const order = state.orders.get(request.refNumber);
    if (!order) return reply(res, PROCESSING_OR_UNKNOWN_REFERENCE_CODE);
    res.json(orderEnvelope(order));
  });
  return routes;
}
