/**
 * BDPay "Message Encryption Rules" (docs/providers/bdpay.md §2). This is not SHA256withRSA: the sender RSA-"encrypts"
 * the plain field string with its PRIVATE key (PKCS#1 v1.5 type-1 padding, no hash), and the receiver
 * recovers the string with the sender's public key and compares it with its own.
 *
 * StringA = the values of every non-empty field except `sign`/`platSign`, ordered by key, joined with no
 * separator. It is encrypted in chunks of (key bytes − 11), 117 for the family's 1024-bit keys, and the
 * cipher blocks are concatenated and base64-encoded.
 */
import {
  constants,
  createPrivateKey,
  createPublicKey,
  privateEncrypt,
  publicDecrypt,
  type KeyObject,
} from 'node:crypto';
import { constantTimeEqual } from '../../constant-time';
import { ProviderAuthError } from '../../domain/errors';

/** Fields that carry signatures and are therefore never part of what is signed. */
const SIGNATURE_FIELDS = new Set(['sign', 'platSign']);
/** PKCS#1 v1.5 padding takes 11 bytes of every block. */
const PKCS1_PADDING_BYTES = 11;

/** Builds StringA: non-empty values except the signature fields, sorted by key (ASCII), concatenated. */
export function buildStringA(fields: Readonly<Record<string, unknown>>): string {
  return Object.keys(fields)
    .filter((key) => !SIGNATURE_FIELDS.has(key))
    .sort()
    .map((key) => stringifyValue(fields[key]))
    .join('');
}

function stringifyValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // The family's bodies are flat; should a brand nest, its JSON text is the only stable rendering.
  return JSON.stringify(value);
}

function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined) {
    throw new ProviderAuthError('BDPay keys must be RSA keys', { provider: 'bdpay' });
  }
  return bits / 8;
}

/** RSA private-key "encryption" of `text` in (key bytes − 11)-byte chunks, base64 of the joined blocks. */
export function privateEncryptBase64(privateKey: KeyObject, text: string): string {
  const input = Buffer.from(text, 'utf8');
  const chunkSize = modulusBytes(privateKey) - PKCS1_PADDING_BYTES;
  const blocks: Buffer[] = [];
  for (let offset = 0; offset < input.length; offset += chunkSize) {
    blocks.push(
      privateEncrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
        input.subarray(offset, offset + chunkSize)
      )
    );
  }
  return Buffer.concat(blocks).toString('base64');
}

/** Reverses {@link privateEncryptBase64} with the public key; `undefined` when it is not a valid signature. */
export function publicDecryptBase64(publicKey: KeyObject, signature: string): Buffer | undefined {
  // A `+` posted in a form body without percent-encoding arrives as a space; base64 never contains one.
  const normalized = signature.replace(/ /g, '+').replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(normalized)) return undefined;
  const cipher = Buffer.from(normalized, 'base64');
  const blockSize = modulusBytes(publicKey);
  if (cipher.length === 0 || cipher.length % blockSize !== 0) return undefined;
  const parts: Buffer[] = [];
  try {
    for (let offset = 0; offset < cipher.length; offset += blockSize) {
      parts.push(
        publicDecrypt(
          { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
          cipher.subarray(offset, offset + blockSize)
        )
      );
    }
  } catch {
    return undefined;
  }
  return Buffer.concat(parts);
}

/** The `sign` (or `platSign`) for a body: StringA encrypted with the sender's private key. */
export function signFields(fields: Readonly<Record<string, unknown>>, privateKey: KeyObject): string {
  return privateEncryptBase64(privateKey, buildStringA(fields));
}

/**
 * Checks the signature carried in `fields[signatureField]` against the other fields, in constant time
 * over the recovered bytes. A missing or malformed signature is simply not valid.
 */
export function verifyFieldSignature(
  fields: Readonly<Record<string, unknown>>,
  signatureField: 'sign' | 'platSign',
  publicKey: KeyObject
): boolean {
  const signature = fields[signatureField];
  if (typeof signature !== 'string' || signature.length === 0) return false;
  const recovered = publicDecryptBase64(publicKey, signature);
  if (recovered === undefined) return false;
  const expected = Buffer.from(buildStringA(fields), 'utf8');
  return constantTimeEqual(recovered, expected);
}

/**
 * Reads a private key given as PEM, or as the bare base64 PKCS#8 DER (`MIICd...`) that BDPay's merchant
 * dashboard and demos hand out (docs/providers/bdpay.md §2.3).
 */
export function toPrivateKey(material: string): KeyObject {
  const text = material.trim();
  return text.startsWith('-----BEGIN')
    ? createPrivateKey(text)
    : createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' });
}

/** Reads a public key given as PEM, or as the bare base64 X.509 SPKI DER (`MIGfMA0...`) BDPay publishes. */
export function toPublicKey(material: string): KeyObject {
  const text = material.trim();
  return text.startsWith('-----BEGIN')
    ? createPublicKey(text)
    : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
}
