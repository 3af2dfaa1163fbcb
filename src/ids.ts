/**
 * Kasir's ids. A payment's id is derived from the merchant and the merchant's reference, so the same
 * request always lands on the same workflow; the id is also what the provider gets as its order
 * reference (alphanumeric, 20 characters: within every provider's limit), so a callback names it.
 */
import { createHash } from 'node:crypto';

export type MovementKind = 'payment' | 'payout' | 'bill' | 'refund';

const PREFIX: Record<MovementKind, string> = { payment: 'P', payout: 'O', bill: 'B', refund: 'R' };
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(bytes: Buffer, length: number): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += CROCKFORD[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/** `P` + 19 Crockford base32 characters of SHA-256(kind, merchant, reference): 95 bits. */
export function deriveId(kind: MovementKind, merchantId: string, merchantReference: string): string {
  const digest = createHash('sha256').update(`${kind}\u0000${merchantId}\u0000${merchantReference}`).digest();
  return `${PREFIX[kind]}${base32(digest, 19)}`;
}

export function workflowIdOf(kind: MovementKind, id: string): string {
  return `${kind}:${id}`;
}

/** The movement kind a Kasir id (as echoed by a provider) belongs to, or undefined if it is not ours. */
export function kindOfId(id: string): MovementKind | undefined {
  if (!/^[POBR][0-9A-HJKMNP-TV-Z]{19}$/.test(id)) return undefined;
  return (Object.keys(PREFIX) as MovementKind[]).find((kind) => PREFIX[kind] === id[0]);
}

/** Stripe-style request fingerprint: SHA-256 of the body with keys sorted, so key order does not matter. */
export function requestFingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
