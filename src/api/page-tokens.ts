/**
 * Page tokens of the list routes (`GET /v1/payments`, `/v1/payouts`, `/v1/bills/payments`): Temporal's
 * opaque visibility page token, wrapped with the hash of the visibility query it belongs to (which
 * names the kind, the merchant and every filter) and signed (HMAC-SHA256) with a key only Kasir's API
 * holds. A token Kasir did not issue (forged, tampered, from another deployment, for another kind,
 * other filters or another merchant) is refused as a fast 400 naming `page_token`: nothing unsigned ever reaches Temporal, which
 * can take many seconds to give up on a token it cannot read.
 *
 * Token: `<base64url(JSON {q, t})>.<base64url(HMAC-SHA256(key, "kasir-page-token.v1." + payload))>`.
 *
 * The key. `createApp({ pageTokenSecret })` (main-api reads `KASIR_PAGE_TOKEN_SECRET`) when set;
 * otherwise it is derived by HKDF-SHA256 (fixed salt and label, so it serves no other purpose) from
 * the secrets already in Kasir's config: the sorted operator key hashes; per merchant (sorted by id)
 * its API key hashes and webhook secret; and the payload encryption keys when configured. Every API
 * process of a deployment has the same config, so a token works against any of them, never against
 * another deployment; changing any of those secrets (a key rotation) invalidates outstanding page
 * tokens, which only means a client restarts its listing from the first page. No merchant can derive
 * the key while there is a second merchant, an operator key or an encryption key it does not know;
 * a single-merchant deployment with none of those should set `KASIR_PAGE_TOKEN_SECRET` (a forged
 * token could at worst reach Temporal for that merchant's own query, the merchant being bound by the
 * query hash and the visibility query itself).
 */
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import type { KasirConfig } from '../config';
import { constantTimeEqual } from '../constant-time';
import { ApiError } from './http-errors';

const HKDF_SALT = 'kasir/api/page-token';
const HKDF_INFO = 'kasir page token signing key v1';
const MAC_LABEL = 'kasir-page-token.v1.';

/** The signing key: from an explicit secret, or derived from the config's own secrets (see the module comment). */
export function pageTokenKey(config: KasirConfig, secret?: string | Uint8Array): Buffer {
  let material: Buffer;
  if (secret !== undefined && secret.length > 0) {
    material = Buffer.concat([Buffer.from('explicit\u0000'), Buffer.from(secret)]);
  } else {
    const merchants = [...config.merchants]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((m) => [m.id, ...[...m.apiKeySha256].sort(), m.webhookSecret].join('\u0001'));
    const operators = [...config.api.operatorKeySha256].sort();
    const encryption = (config.encryption?.keys ?? []).map((k) => `${k.id}\u0001${k.key}`).sort();
    material = Buffer.from(
      ['config', ...operators, '\u0002', ...merchants, '\u0002', ...encryption].join('\u0000'),
      'utf8'
    );
  }
  return Buffer.from(hkdfSync('sha256', material, HKDF_SALT, HKDF_INFO, 32));
}

interface PageTokenPayload {
  /** Hash of the visibility query the token belongs to: a token never crosses filters or merchants. */
  q: string;
  /** Temporal's page token, base64. */
  t: string;
}

function queryHash(query: string): string {
  return createHash('sha256').update(query).digest('hex').slice(0, 32);
}

export interface PageTokenCodec {
  encode(query: string, raw: Uint8Array): string;
  /** Temporal's page token, or a 400 naming `page_token` for anything this API did not issue for `query`. */
  decode(query: string, token: string): Buffer;
}

export function createPageTokenCodec(key: Buffer): PageTokenCodec {
  const mac = (payload: string) => createHmac('sha256', key).update(MAC_LABEL).update(payload).digest('base64url');
  const invalid = () =>
    ApiError.field('page_token', 'invalid_page_token', 'is not a page token this API issued for these filters');
  return {
    encode(query, raw) {
      const token: PageTokenPayload = { q: queryHash(query), t: Buffer.from(raw).toString('base64') };
      const payload = Buffer.from(JSON.stringify(token)).toString('base64url');
      return `${payload}.${mac(payload)}`;
    },
    decode(query, token) {
      const parts = token.split('.');
      if (parts.length !== 2) throw invalid();
      const [payload, signature] = parts as [string, string];
      if (!constantTimeEqual(mac(payload), signature)) throw invalid();
      let parsed: Partial<PageTokenPayload>;
      try {
        parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<PageTokenPayload>;
      } catch {
        throw invalid();
      }
      if (
        parsed === null ||
        typeof parsed !== 'object' ||
        parsed.q !== queryHash(query) ||
        typeof parsed.t !== 'string'
      )
        throw invalid();
      const raw = Buffer.from(parsed.t, 'base64');
      if (raw.length === 0) throw invalid();
      return raw;
    },
  };
}
