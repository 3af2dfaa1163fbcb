/**
 * API key checks. Keys are never stored: config holds their SHA-256, and a presented key is hashed and
 * compared with every stored hash in constant time, without stopping at the first match, so timing
 * reveals neither which merchant nor how much of a hash matched.
 */
import { constantTimeEqual } from '../../constant-time';
import type { Request } from 'express';
import type { KasirConfig, Merchant } from '../../config';
import { sha256Hex } from '../../ids';
import { ApiError } from '../http-errors';

export const OPERATOR_KEY_HEADER = 'Kasir-Operator-Key';

/** The merchant whose key hashes to `keyHash`, checking every stored hash. */
function findMerchant(merchants: readonly Merchant[], keyHash: string): Merchant | undefined {
  let found: Merchant | undefined;
  for (const merchant of merchants) {
    for (const stored of merchant.apiKeySha256) {
      if (constantTimeEqual(stored, keyHash) && found === undefined) found = merchant;
    }
  }
  return found;
}

const UNAUTHENTICATED = { headers: { 'WWW-Authenticate': 'Bearer realm="kasir"' } };

/** `Authorization: Bearer <merchant api key>` → the merchant, or a 401. */
export function authenticateMerchant(req: Request, config: KasirConfig): Merchant {
  const header = req.get('authorization');
  if (!header) {
    throw new ApiError(
      401,
      'authentication_error',
      'missing_api_key',
      'Send your API key as `Authorization: Bearer <key>`.',
      UNAUTHENTICATED
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new ApiError(
      401,
      'authentication_error',
      'invalid_authorization',
      'The Authorization header must be `Bearer <key>`.',
      UNAUTHENTICATED
    );
  }
  const merchant = findMerchant(config.merchants, sha256Hex(match[1]!));
  if (!merchant)
    throw new ApiError(401, 'authentication_error', 'invalid_api_key', 'The API key is not valid.', UNAUTHENTICATED);
  return merchant;
}

/** `Kasir-Operator-Key: <key>` against `api.operatorKeySha256`, or a 401. Merchant keys never qualify. */
export function authenticateOperator(req: Request, config: KasirConfig): void {
  const key = req.get(OPERATOR_KEY_HEADER);
  if (!key) {
    throw new ApiError(
      401,
      'authentication_error',
      'missing_operator_key',
      `Operator endpoints need the ${OPERATOR_KEY_HEADER} header.`
    );
  }
  const hash = sha256Hex(key);
  let ok = false;
  for (const stored of config.api.operatorKeySha256) ok = constantTimeEqual(stored, hash) || ok;
  if (!ok) throw new ApiError(401, 'authentication_error', 'invalid_operator_key', 'The operator key is not valid.');
}

/**
 * `/metrics`: `Authorization: Bearer <metrics key>` against `api.metricsKeySha256`, so a scraper holds
 * a key that opens metrics and nothing else; the operator key works too. Otherwise a 401.
 */
export function authenticateMetricsScraper(req: Request, config: KasirConfig): void {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
  if (bearer !== undefined) {
    const hash = sha256Hex(bearer);
    let ok = false;
    for (const stored of config.api.metricsKeySha256) ok = constantTimeEqual(stored, hash) || ok;
    if (ok) return;
  }
  if (req.get(OPERATOR_KEY_HEADER)) return authenticateOperator(req, config);
  throw new ApiError(
    401,
    'authentication_error',
    'invalid_metrics_key',
    'Send a metrics key as `Authorization: Bearer <key>`, or the operator key.',
    UNAUTHENTICATED
  );
}
