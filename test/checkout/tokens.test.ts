import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createCheckoutLinks, createCheckoutTokenCodec } from '../../src/checkout/tokens';
import { deriveId } from '../../src/ids';

const key = () => randomBytes(32).toString('base64url');

describe('checkout tokens', () => {
  const paymentId = deriveId('payment', 'acme', 'order-1');
  const now = Date.parse('2026-05-01T00:00:00Z');
  const inAnHour = now + 3_600_000;

  it('verifies a token it signed, with the payment id and expiry', () => {
    const codec = createCheckoutTokenCodec([key()]);
    const token = codec.sign({ paymentId, expiresAtMs: inAnHour });
    assert.match(token, /^P[0-9A-Z]{19}\.[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(codec.verify(token, now), { ok: true, claims: { paymentId, expiresAtMs: inAnHour } });
  });

  it('refuses a token once it expired', () => {
    const codec = createCheckoutTokenCodec([key()]);
    const token = codec.sign({ paymentId, expiresAtMs: inAnHour });
    assert.deepEqual(codec.verify(token, inAnHour), { ok: false, reason: 'expired' });
    assert.deepEqual(codec.verify(token, inAnHour + 1), { ok: false, reason: 'expired' });
  });

  it('refuses a token whose payment id, expiry or signature was changed', () => {
    const codec = createCheckoutTokenCodec([key()]);
    const token = codec.sign({ paymentId, expiresAtMs: inAnHour });
    const [id, expiry, signature] = token.split('.') as [string, string, string];
    const otherId = deriveId('payment', 'acme', 'order-2');
    const longer = (parseInt(expiry, 36) + 86_400).toString(36);
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    for (const tampered of [
      `${otherId}.${expiry}.${signature}`,
      `${id}.${longer}.${signature}`,
      `${id}.${expiry}.${flipped}`,
    ]) {
      assert.deepEqual(codec.verify(tampered, now), { ok: false, reason: 'forged' }, tampered);
    }
  });

  it('refuses a token signed with another key, and malformed ones', () => {
    const token = createCheckoutTokenCodec([key()]).sign({ paymentId, expiresAtMs: inAnHour });
    const codec = createCheckoutTokenCodec([key()]);
    assert.deepEqual(codec.verify(token, now), { ok: false, reason: 'forged' });
    for (const bad of ['', paymentId, `${paymentId}.zz`, `${token}.x`, `../${token}`, token.toLowerCase()]) {
      assert.equal(codec.verify(bad, now).ok, false, bad);
    }
  });

  it('keeps verifying with the old key after a rotation, and signs with the new one', () => {
    const oldKey = key();
    const newKey = key();
    const before = createCheckoutTokenCodec([oldKey]).sign({ paymentId, expiresAtMs: inAnHour });
    const rotated = createCheckoutTokenCodec([newKey, oldKey]);
    assert.equal(rotated.verify(before, now).ok, true);
    const after = rotated.sign({ paymentId, expiresAtMs: inAnHour });
    assert.equal(createCheckoutTokenCodec([newKey]).verify(after, now).ok, true);
    assert.equal(createCheckoutTokenCodec([oldKey]).verify(after, now).ok, false);
  });

  it('makes links under the public URL that stay valid for the grace period after the payment closes', () => {
    const signingKeys = [key()];
    const links = createCheckoutLinks({ publicUrl: 'https://pay.example.com/', signingKeys, graceMinutes: 30 });
    const url = links.urlFor(paymentId, inAnHour);
    assert.ok(url.startsWith(`https://pay.example.com/checkout/${paymentId}.`), url);
    const token = url.split('/').at(-1) ?? '';
    const codec = createCheckoutTokenCodec(signingKeys);
    assert.equal(codec.verify(token, inAnHour + 29 * 60_000).ok, true);
    assert.deepEqual(codec.verify(token, inAnHour + 30 * 60_000), { ok: false, reason: 'expired' });
  });

  it('needs a key', () => {
    assert.throws(() => createCheckoutTokenCodec([]), /at least one signing key/);
  });
});
