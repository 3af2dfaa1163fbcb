import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config';
import type { KasirConfig } from '../../src/config';
import { ApiError } from '../../src/api/http-errors';
import { createPageTokenCodec, pageTokenKey } from '../../src/api/page-tokens';
import { sha256Hex } from '../../src/ids';

function config(overrides: { operatorKey?: string; webhookSecret?: string; merchants?: number } = {}): KasirConfig {
  return parseConfig({
    api: { publicUrl: 'http://127.0.0.1:3000', operatorKeySha256: [sha256Hex(overrides.operatorKey ?? 'op-key')] },
    merchants: Array.from({ length: overrides.merchants ?? 2 }, (_, i) => ({
      id: `m${i}`,
      name: `M${i}`,
      apiKeySha256: [sha256Hex(`key-${i}`)],
      webhookSecret: `${overrides.webhookSecret ?? 'whsec'}-${i}-0123456789abcdef`,
    })),
    providers: { finpay: {}, nicepay: {}, bdpay: {}, ayopop: {} },
  });
}

const QUERY = "KasirKind = 'payment' AND KasirMerchant = 'm0'";
const RAW = Buffer.from('temporal-page-token-bytes');

function refused(fn: () => unknown): void {
  assert.throws(
    fn,
    (err: unknown) => err instanceof ApiError && err.status === 400 && err.extra.param === 'page_token'
  );
}

describe('page tokens: signed with a key derived from the config', () => {
  it('is the same key for the same config, so every API process of a deployment takes the others’ tokens', () => {
    const token = createPageTokenCodec(pageTokenKey(config())).encode(QUERY, RAW);
    assert.deepEqual(createPageTokenCodec(pageTokenKey(config())).decode(QUERY, token), RAW);
  });

  it('changes with any secret in the config, and with an explicit secret', () => {
    const base = pageTokenKey(config());
    for (const other of [
      pageTokenKey(config({ operatorKey: 'another-op-key' })),
      pageTokenKey(config({ webhookSecret: 'rotated' })),
      pageTokenKey(config({ merchants: 3 })),
      pageTokenKey(config(), 'dedicated secret'),
    ]) {
      assert.equal(other.length, 32);
      assert.notDeepEqual(other, base);
    }
    assert.deepEqual(
      pageTokenKey(config(), 'dedicated secret'),
      pageTokenKey(config({ operatorKey: 'x' }), 'dedicated secret')
    );
  });

  it('refuses, as a 400 naming page_token, anything it did not sign for this very query', () => {
    const codec = createPageTokenCodec(pageTokenKey(config()));
    const token = codec.encode(QUERY, RAW);
    const [payload, signature] = token.split('.') as [string, string];
    refused(() => codec.decode(`${QUERY} AND KasirStatus = 'PENDING'`, token));
    refused(() => codec.decode(QUERY, payload));
    refused(() => codec.decode(QUERY, `${payload}.${signature}.x`));
    refused(() => codec.decode(QUERY, `${payload}.${signature.slice(1)}A`));
    const forged = Buffer.from(
      JSON.stringify({ q: JSON.parse(Buffer.from(payload, 'base64url').toString()).q, t: 'Z2FyYmFnZQ==' })
    ).toString('base64url');
    refused(() => codec.decode(QUERY, `${forged}.${signature}`));
    refused(() => createPageTokenCodec(pageTokenKey(config({ operatorKey: 'other' }))).decode(QUERY, token));
    refused(() => codec.decode(QUERY, ''));
  });
});
