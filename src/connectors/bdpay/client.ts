/**
 * One function per BDPay endpoint: sign the fields, POST them as JSON, map transport failures, check
 * `platSign` over the answer, parse it with the schema. No interpretation of `platRespCode` here.
 */
import type { KeyObject } from 'node:crypto';
import { z, type ZodType } from 'zod';
import { ProviderResponseInvalidError } from '../../domain/errors';
import { parseJsonBody, throwOnTransportStatus, type HttpClient, type HttpRequest } from '../http';
import { BDPAY_PATHS, type UnsignedFields } from './mapping';
import {
  BalanceResponseSchema,
  CashResponseSchema,
  PayInResponseSchema,
  QueryResponseSchema,
  type BalanceResponse,
  type CashResponse,
  type PayInResponse,
  type QueryResponse,
} from './schemas';
import { signFields, verifyFieldSignature } from './signing';

const provider = 'bdpay';

export interface BdpayClient {
  http: HttpClient;
  merchantPrivateKey: KeyObject;
  platformPublicKey: KeyObject;
}

const JsonObjectSchema = z.record(z.string(), z.unknown());

async function post<T>(
  client: BdpayClient,
  path: string,
  fields: UnsignedFields,
  schema: ZodType<T>,
  effect: HttpRequest['effect']
): Promise<T> {
  const request: HttpRequest = {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ ...fields, sign: signFields(fields, client.merchantPrivateKey) }),
    effect,
  };
  const response = await client.http.send(request);
  throwOnTransportStatus(provider, request, response);
  const what = `POST ${path}`;
  const raw = parseJsonBody(provider, JsonObjectSchema, response, what);
  // Reference 2.5: every answer carries platSign; one that does not verify is never trusted, whatever it says.
  if (!verifyFieldSignature(raw, 'platSign', client.platformPublicKey)) {
    throw new ProviderResponseInvalidError(`BDPay answered ${what} with a platSign that does not verify`, {
      provider,
      httpStatus: response.status,
      providerCode: typeof raw.platRespCode === 'string' ? raw.platRespCode : undefined,
    });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ProviderResponseInvalidError(`BDPay answered ${what} with an unexpected shape`, {
      provider,
      httpStatus: response.status,
      issues: parsed.error.issues,
    });
  }
  return parsed.data;
}

/** `/gateway/pay` (direct VA, payment code, QRIS, OVO) or `/gateway/prepaidOrder` (hosted cashier). */
export function createOrder(
  client: BdpayClient,
  path: (typeof BDPAY_PATHS)['pay' | 'prepaidOrder'],
  fields: UnsignedFields
): Promise<PayInResponse> {
  return post(client, path, fields, PayInResponseSchema, 'mutating');
}

export function submitCash(client: BdpayClient, fields: UnsignedFields): Promise<CashResponse> {
  return post(client, BDPAY_PATHS.cash, fields, CashResponseSchema, 'mutating');
}

export function query(client: BdpayClient, fields: UnsignedFields): Promise<QueryResponse> {
  return post(client, BDPAY_PATHS.query, fields, QueryResponseSchema, 'read');
}

export function queryBalance(client: BdpayClient, fields: UnsignedFields): Promise<BalanceResponse> {
  return post(client, BDPAY_PATHS.balance, fields, BalanceResponseSchema, 'read');
}
