/** Structured logs never carry secrets: the redaction paths cover keys, signatures and auth headers. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger';

describe('logger', () => {
  it('redacts secrets wherever Kasir logs them', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ level: 'info' }, sink);
    log.info(
      {
        merchant: { apiKey: 'test_sk_live_looking_key', webhookSecret: 'test_whsec_value' },
        provider: { clientSecret: 's3cr3t', privateKey: '-----BEGIN PRIVATE KEY-----' },
        req: { headers: { authorization: 'Bearer test_sk_x', 'x-api-key': 'k' } },
        config: { finpay: { merchantKey: 'mk' }, nicepay: { privateKeyPem: 'pem' }, ayopop: { apiSecret: 'as' } },
      },
      'request'
    );
    const text = lines.join('');
    for (const secret of [
      'test_sk_live_looking_key',
      'test_whsec_value',
      's3cr3t',
      'BEGIN PRIVATE KEY',
      'Bearer test_sk_x',
      '"mk"',
      '"pem"',
      '"as"',
    ]) {
      assert.ok(!text.includes(secret), `log line leaks ${secret}: ${text}`);
    }
    assert.match(text, /\[redacted\]/);
  });
});
