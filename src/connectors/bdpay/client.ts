/**
 * The BDPay client: one method per endpoint Kasir calls. Each signs the fields, POSTs them as JSON,
 * checks `platSign` over the answer and parses it with the schema. Transport failures, 5xx, 429, 401/403
 * and answers that are unsigned or unreadable throw the taxonomy; what `platRespCode` means is for the
 * mapping to say.
 */
import { z } from 'zod';
import { ProviderResponseInvalidError } from '../../domain/errors';
import { createHttpClient, parseJsonBody } from '../http';
import type { PostCall } from '../http';
import type { BdpayConfig } from './config';
import type { UnsignedFields } from './mapping';
import {
  BDPAY_PATHS,
  BalanceResponseSchema,
  CashResponseSchema,
  PayInResponseSchema,
  QueryResponseSchema,
} from './schemas';
import type { BalanceResponse, CashResponse, PayInResponse, QueryResponse } from './schemas';
import { signFields, toPrivateKey, toPublicKey, verifyFieldSignature } from './signing';

const provider = 'bdpay';

export interface BdpayClient {
  /** `/gateway/pay` (direct VA, payment code, QRIS, OVO) or `/gateway/prepaidOrder` (hosted cashier). */
  createOrder(path: (typeof BDPAY_PATHS)['pay' | 'prepaidOrder'], fields: UnsignedFields): Promise<PayInResponse>;
  /** `/gateway/cash`: a payout ("pay on behalf"). */
  submitCash(fields: UnsignedFields): Promise<CashResponse>;
  /** `/gateway/query`: ORDER_QUERY or CASH_QUERY. */
  query(fields: UnsignedFields): Promise<QueryResponse>;
  /** The merchant balance. */
  queryBalance(fields: UnsignedFields): Promise<BalanceResponse>;
}

const JsonObjectSchema = z.record(z.string(), z.unknown());

export function createBdpayClient(config: BdpayConfig): BdpayClient {
  const http = createHttpClient({ provider, baseUrl: config.baseUrl, timeoutMs: config.timeoutMs });
  const merchantPrivateKey = toPrivateKey(config.privateKeyPem);
  const platformPublicKey = toPublicKey(config.platformPublicKeyPem);

  const post: PostCall<UnsignedFields> = async (path, fields, schema, effect) => {
    const response = await http.sendChecked({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ ...fields, sign: signFields(fields, merchantPrivateKey) }),
      effect,
    });
    const what = `POST ${path}`;
    const raw = parseJsonBody(provider, JsonObjectSchema, response, what);
    // Every answer carries platSign (docs/providers/bdpay.md §2.2); one that does not verify is never trusted,
    // whatever it says.
    if (!verifyFieldSignature(raw, 'platSign', platformPublicKey)) {
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
  };

  return {
    createOrder: (path, fields) => post(path, fields, PayInResponseSchema, 'mutating'),
    submitCash: (fields) => post(BDPAY_PATHS.cash, fields, CashResponseSchema, 'mutating'),
    query: (fields) => post(BDPAY_PATHS.query, fields, QueryResponseSchema, 'read'),
    queryBalance: (fields) => post(BDPAY_PATHS.balance, fields, BalanceResponseSchema, 'read'),
  };
}
