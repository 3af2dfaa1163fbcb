/**
 * What every connector's `callbacks` capability shares: reading a callback body with the connector's
 * schema, and writing the answer the provider expects. Verification stays in each connector's
 * `signing.ts`, since every provider signs differently.
 */
import type { ZodType } from 'zod';
import { CallbackPayloadError } from '../domain/errors';
import type { ProviderId } from '../domain/provider';
import type { CallbackAnswer } from './connector';

/**
 * Parses a callback body as JSON with the connector's schema. Call it only after the signature has been
 * checked (where the provider signs). Anything that is not JSON of that shape is `CallbackPayloadError`.
 */
export function parseCallbackJson<T>(provider: ProviderId, rawBody: Buffer, schema: ZodType<T>, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(rawBody.toString('utf8'));
  } catch (cause) {
    throw new CallbackPayloadError(`${what} is not JSON`, { provider, cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new CallbackPayloadError(`${what} does not match its schema: ${parsed.error.message}`, {
      provider,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** A JSON answer to a callback, in the provider's own envelope. */
export function jsonCallbackAnswer(status: number, body: unknown): CallbackAnswer {
  return { status, contentType: 'application/json', body: JSON.stringify(body) };
}
