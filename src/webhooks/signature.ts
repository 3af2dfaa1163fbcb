/**
 * Kasir's merchant webhook signatures, Stripe-style: header
 * `Kasir-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the merchant's webhook secret>`.
 *
 * Merchants verify with {@link verifyWebhookSignature} (or the same few lines in their language):
 * recompute over the raw body, compare in constant time, and reject timestamps outside the tolerance
 * so a captured delivery cannot be replayed later. Each event carries an `id`: deduplicate on it.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../constant-time';

export const WEBHOOK_SIGNATURE_HEADER = 'Kasir-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signWebhook(payload: string, secret: string, timestampSeconds = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${timestampSeconds}.${payload}`).digest('hex');
  return `t=${timestampSeconds},v1=${v1}`;
}

export class WebhookSignatureError extends Error {
  override readonly name = 'WebhookSignatureError';
}

/**
 * Throws `WebhookSignatureError` unless `header` carries a valid signature of `payload` made within
 * `toleranceSeconds` of `nowSeconds`. Pass the raw request body, byte for byte.
 */
export function verifyWebhookSignature(
  payload: string | Buffer,
  header: string | undefined,
  secret: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {}
): void {
  if (!header) throw new WebhookSignatureError(`missing ${WEBHOOK_SIGNATURE_HEADER} header`);
  const parts = new Map<string, string[]>();
  for (const item of header.split(',')) {
    const [key, value] = item.split('=', 2);
    if (!key || value === undefined) continue;
    parts.set(key.trim(), [...(parts.get(key.trim()) ?? []), value.trim()]);
  }
  const timestamp = Number(parts.get('t')?.[0]);
  const signatures = parts.get('v1') ?? [];
  if (!Number.isInteger(timestamp) || signatures.length === 0)
    throw new WebhookSignatureError('malformed signature header');

  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) throw new WebhookSignatureError('timestamp outside the tolerance');

  const body = typeof payload === 'string' ? payload : payload.toString('utf8');
  const expected = Buffer.from(createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex'), 'utf8');
  const matches = signatures.some((candidate) => constantTimeEqual(candidate, expected));
  if (!matches) throw new WebhookSignatureError('no signature matches the payload');
}
