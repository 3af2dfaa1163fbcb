/**
 * Checkout links: `<public url>/checkout/<paymentId>.<expiry>.<signature>`. The signature is an
 * HMAC-SHA256 (truncated to 128 bits) over the payment id and the link's expiry, under a key from
 * `checkout.signingKeys`; payment ids are derived from merchant references and can be guessed, the
 * signature cannot. The worker signs (in `registerPayment`), the API verifies; both read the same keys,
 * and the first key signs while every key verifies, so a key can be rotated without breaking links.
 *
 * A link lives until the payment can no longer be paid, plus a grace period for the customer to see
 * the paid or expired screen; after that it is refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KasirConfig } from '../config';

const DOMAIN = 'kasir-checkout-v1';
const SIGNATURE_BYTES = 16;
const TOKEN_PATTERN = /^([POBR][0-9A-HJKMNP-TV-Z]{19})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/;

/** What a valid token says. */
export interface CheckoutTokenClaims {
  paymentId: string;
  /** Epoch ms after which the link is refused. */
  expiresAtMs: number;
}

/** Why a token was refused: `malformed` and `forged` look the same to a customer (404), `expired` is 410. */
export type CheckoutTokenRefusal = 'malformed' | 'forged' | 'expired';

export interface CheckoutTokenCodec {
  sign(claims: CheckoutTokenClaims): string;
  verify(
    token: string,
    nowMs?: number
  ): { ok: true; claims: CheckoutTokenClaims } | { ok: false; reason: CheckoutTokenRefusal };
}

function signatureOf(key: string, paymentId: string, expiry: string): Buffer {
  return createHmac('sha256', key)
    .update(`${DOMAIN}\u0000${paymentId}\u0000${expiry}`)
    .digest()
    .subarray(0, SIGNATURE_BYTES);
}

/** `keys[0]` signs; any of `keys` verifies. */
export function createCheckoutTokenCodec(keys: readonly string[]): CheckoutTokenCodec {
  const [current] = keys;
  if (current === undefined) throw new Error('checkout links need at least one signing key');
  return {
    sign({ paymentId, expiresAtMs }) {
      const expiry = Math.ceil(expiresAtMs / 1000).toString(36);
      return `${paymentId}.${expiry}.${signatureOf(current, paymentId, expiry).toString('base64url')}`;
    },
    verify(token, nowMs = Date.now()) {
      const match = TOKEN_PATTERN.exec(token);
      if (!match) return { ok: false, reason: 'malformed' };
      const [, paymentId, expiry, signature] = match as unknown as [string, string, string, string];
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== SIGNATURE_BYTES) return { ok: false, reason: 'malformed' };
      // Every key is tried, whichever matches, so the time taken does not tell which key signed.
      let valid = false;
      for (const key of keys) valid = timingSafeEqual(signatureOf(key, paymentId, expiry), given) || valid;
      if (!valid) return { ok: false, reason: 'forged' };
      const expiresAtMs = parseInt(expiry, 36) * 1000;
      if (!Number.isSafeInteger(expiresAtMs) || nowMs >= expiresAtMs) return { ok: false, reason: 'expired' };
      return { ok: true, claims: { paymentId, expiresAtMs } };
    },
  };
}

/** How the worker makes a payment's checkout link. */
export interface CheckoutLinks {
  /**
   * The link for a payment that can be paid until `payableUntilMs`: valid until then plus the grace
   * period, so a customer who paid at the last minute still sees the paid screen.
   */
  urlFor(paymentId: string, payableUntilMs: number): string;
}

export interface CheckoutLinkSettings {
  publicUrl: string;
  signingKeys: readonly string[];
  graceMinutes: number;
}

export function createCheckoutLinks(settings: CheckoutLinkSettings): CheckoutLinks {
  const codec = createCheckoutTokenCodec(settings.signingKeys);
  const base = settings.publicUrl.replace(/\/+$/, '');
  return {
    urlFor(paymentId, payableUntilMs) {
      const token = codec.sign({ paymentId, expiresAtMs: payableUntilMs + settings.graceMinutes * 60_000 });
      return `${base}/checkout/${token}`;
    },
  };
}

/** The links of a config's `checkout` section, or undefined when it has none (payments then carry no link). */
export function checkoutLinksOf(config: Pick<KasirConfig, 'checkout' | 'api'>): CheckoutLinks | undefined {
  if (!config.checkout) return undefined;
  return createCheckoutLinks({
    publicUrl: config.checkout.publicUrl ?? config.api.publicUrl,
    signingKeys: config.checkout.signingKeys,
    graceMinutes: config.checkout.graceMinutes,
  });
}
