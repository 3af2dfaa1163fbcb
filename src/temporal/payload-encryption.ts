/**
 * Encryption of every payload Kasir writes to Temporal (workflow and activity inputs and results,
 * signals, updates, queries, memos): AES-256-GCM with Node's crypto, one fresh 96-bit IV per payload,
 * the whole original payload (metadata and data) sealed inside. The key id travels in the encrypted
 * payload's metadata, so keys rotate: new payloads use the current key, older ones stay readable as
 * long as their key is still listed. Payloads that are not encrypted (histories written before
 * encryption was configured) pass through unchanged.
 *
 * Keys come from config (`encryption.keys`) or the environment (`KASIR_ENCRYPTION_KEYS`), never from
 * the repository; `npm start` generates a test-only key in the git-ignored `.data/`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES256-GCM';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const KeyIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1 to 64)');
const KeySchema = z
  .string()
  .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be 32 bytes, base64-encoded (AES-256)');

/** `encryption` in Kasir's config file. The first key (or `currentKeyId`) encrypts; all of them decrypt. */
export const EncryptionConfigSchema = z
  .object({
    keys: z.array(z.object({ id: KeyIdSchema, key: KeySchema })).min(1),
    currentKeyId: KeyIdSchema.optional(),
  })
  .refine((c) => c.currentKeyId === undefined || c.keys.some((k) => k.id === c.currentKeyId), {
    message: 'currentKeyId must name one of keys',
    path: ['currentKeyId'],
  })
  .refine((c) => new Set(c.keys.map((k) => k.id)).size === c.keys.length, {
    message: 'key ids must be unique',
    path: ['keys'],
  });
export type EncryptionConfig = z.infer<typeof EncryptionConfigSchema>;

/**
 * `KASIR_ENCRYPTION_KEYS=<id>:<base64 key>[,<id>:<base64 key>...]`: all decrypt; the one named by
 * `KASIR_ENCRYPTION_CURRENT_KEY_ID` (else the first) encrypts. Returns undefined when unset.
 */
export function encryptionFromEnv(value: string | undefined, currentKeyId?: string): EncryptionConfig | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const keys = value.split(',').map((entry) => {
    const at = entry.indexOf(':');
    if (at <= 0) throw new Error('KASIR_ENCRYPTION_KEYS: each entry is <key id>:<base64 key>');
    return { id: entry.slice(0, at).trim(), key: entry.slice(at + 1).trim() };
  });
  return EncryptionConfigSchema.parse({ keys, ...(currentKeyId ? { currentKeyId } : {}) });
}

/** A fresh random key, for `npm start` and tests (never for production: generate and store your own). */
export function generateEncryptionKey(): string {
  return randomBytes(32).toString('base64');
}

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly currentKeyId: string;

  constructor(config: EncryptionConfig) {
    this.keys = new Map(config.keys.map((k) => [k.id, Buffer.from(k.key, 'base64')]));
    this.currentKeyId = config.currentKeyId ?? config.keys[0]!.id;
  }

  /** Async because the codec interface is: a failure must reject, never throw synchronously. */
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  private encrypt(payload: Payload): Payload {
    const key = this.keys.get(this.currentKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        encoding: Buffer.from(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: Buffer.from(this.currentKeyId),
        [CIPHER_METADATA]: Buffer.from(CIPHER),
      },
      data: sealed,
    };
  }

  private decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
    const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
    const keyId = keyIdBytes ? Buffer.from(keyIdBytes).toString() : '';
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`payload encrypted with key '${keyId}', which is not configured`);
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('encrypted payload is truncated');
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

/** The data converter for clients, workers and replayers: encrypting when keys are configured. */
export function dataConverterOf(encryption: EncryptionConfig | undefined): DataConverter | undefined {
  return encryption ? { payloadCodecs: [new EncryptionCodec(encryption)] } : undefined;
}
