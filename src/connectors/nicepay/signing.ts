/**
 * NICEPAY SNAP BI signatures (docs/providers/nicepay.md §2).
 *
 * - Access token and notification: base64 SHA256withRSA (RSASSA-PKCS1-v1_5) over `clientId|X-TIMESTAMP`.
 *   The merchant signs token requests with its own key; NICEPAY signs notifications with a different key
 *   of its own. Neither signature covers a body.
 * - Transactional calls: base64 HMAC-SHA512, keyed with the client secret's UTF-8 bytes as-is, over
 *   `METHOD:relativePath:accessToken:lowerhex(sha256(body)):X-TIMESTAMP`, where the relative path has no
 *   `/nicepay` prefix and the body hashed is exactly the body sent.
 */
import { createHash, createHmac, createSign, createVerify, randomInt } from 'node:crypto';
import { constantTimeEqual } from '../../constant-time';
import { JAKARTA_UTC_OFFSET, fromJakartaWallClock, toJakartaWallClock } from '../../domain/jakarta-time';

/**
 * Jakarta wall-clock time `yyyy-MM-ddTHH:mm:ss` followed by Jakarta's offset, the only timestamp shape SNAP
 * accepts from NICEPAY merchants (docs/providers/nicepay.md §2.3).
 */
export function toSnapTimestamp(instant: Date): string {
  return `${toJakartaWallClock(instant)}${JAKARTA_UTC_OFFSET}`;
}

/** Parses a SNAP timestamp back to an instant; `undefined` when it is not one (including impossible dates). */
export function parseSnapTimestamp(value: string): Date | undefined {
  if (!value.endsWith(JAKARTA_UTC_OFFSET)) return undefined;
  return fromJakartaWallClock(value.slice(0, -JAKARTA_UTC_OFFSET.length));
}

/** What the token request and the notification sign: `clientId|timestamp`. */
export function clientTimestampStringToSign(clientId: string, timestamp: string): string {
  return `${clientId}|${timestamp}`;
}

/** Base64 SHA256withRSA over `clientId|timestamp` with a PEM private key (PKCS#8 or PKCS#1). */
export function signClientTimestamp(privateKeyPem: string, clientId: string, timestamp: string): string {
  return createSign('RSA-SHA256')
    .update(clientTimestampStringToSign(clientId, timestamp), 'utf8')
    .sign(privateKeyPem, 'base64');
}

/** Verifies a base64 SHA256withRSA signature over `clientId|timestamp`; false on any malformed input. */
export function verifyClientTimestamp(
  publicKeyPem: string,
  clientId: string,
  timestamp: string,
  signature: string
): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return createVerify('RSA-SHA256')
      .update(clientTimestampStringToSign(clientId, timestamp), 'utf8')
      .verify(publicKeyPem, signature, 'base64');
  } catch {
    return false;
  }
}

export function sha256LowerHex(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface TransactionSignatureParts {
  method: string;
  /** Path without host and without the `/nicepay` prefix, e.g. `/api/v1.0/debit/status`. */
  relativePath: string;
  /** The raw token, without `Bearer `. */
  accessToken: string;
  /** Exactly the bytes sent (or received). */
  body: string | Buffer;
  timestamp: string;
}

export function transactionStringToSign(parts: TransactionSignatureParts): string {
  return [
    parts.method.toUpperCase(),
    parts.relativePath,
    parts.accessToken,
    sha256LowerHex(parts.body),
    parts.timestamp,
  ].join(':');
}

export function signTransaction(clientSecret: string, parts: TransactionSignatureParts): string {
  return createHmac('sha512', clientSecret).update(transactionStringToSign(parts), 'utf8').digest('base64');
}

/** Constant-time comparison of the decoded HMAC against the expected one. */
export function verifyTransactionSignature(
  clientSecret: string,
  parts: TransactionSignatureParts,
  signature: string
): boolean {
  const expected = createHmac('sha512', clientSecret).update(transactionStringToSign(parts), 'utf8').digest();
  return constantTimeEqual(Buffer.from(signature, 'base64'), expected);
}

let externalIdSequence = 0;

/**
 * A fresh numeric `X-EXTERNAL-ID` (numeric, unique for every request, at most 40 chars; SNAP: unique per day;
 * docs/providers/nicepay.md §2.3). Milliseconds since epoch, a per-process sequence and random digits, so
 * requests in the same millisecond, in other worker processes, and on later days never collide in practice.
 */
export function newExternalId(now: Date = new Date()): string {
  externalIdSequence = (externalIdSequence + 1) % 10_000;
  const random = String(randomInt(0, 100_000_000)).padStart(8, '0');
  return `${now.getTime()}${String(externalIdSequence).padStart(4, '0')}${random}`;
}
