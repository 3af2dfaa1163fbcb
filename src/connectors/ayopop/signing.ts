/**
 * Ayopop request authentication (docs/providers/ayopop.md §2).
 *
 * `TOKEN` is a compact HS256 JWS keyed with the API secret; its payload is the endpoint's request
 * parameters, with no `iat`/`exp`/`iss` (no doc sample or public client adds any). `KEY` carries the
 * API key, which is also the `partnerId` claim, and `VERSION` must match the path's `/api/vN/`.
 *
 * Callbacks are not signed at all (docs/providers/ayopop.md §5), so nothing here verifies them: a callback is a hint.
 */
import { jwtVerify, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';

/** The `VERSION` header for the `/api/v2/...` paths Kasir calls. */
export const AYOPOP_API_VERSION = '2.0';

export interface AyopopHeaders {
  KEY: string;
  TOKEN: string;
  VERSION: string;
  'Content-Type': 'application/json';
  Accept: 'application/json';
}

function secretBytes(apiSecret: string): Uint8Array {
  return new TextEncoder().encode(apiSecret);
}

/** Signs the request parameters as the claims of an HS256 JWT, header `{"alg":"HS256","typ":"JWT"}`. */
export async function signAyopopToken(claims: Record<string, unknown>, apiSecret: string): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secretBytes(apiSecret));
}

/**
 * Verifies an Ayopop `TOKEN` (HS256 only, so `none` and key-confusion tokens fail) and returns its
 * claims, or `undefined` when the token is malformed, signed with another secret or uses another
 * algorithm.
 */
export async function verifyAyopopToken(token: string, apiSecret: string): Promise<JWTPayload | undefined> {
  try {
    const { payload } = await jwtVerify(token, secretBytes(apiSecret), { algorithms: ['HS256'] });
    return payload;
  } catch {
    return undefined;
  }
}

/** The headers of every Ayopop call. */
export async function buildAyopopHeaders(
  claims: Record<string, unknown>,
  credentials: { apiKey: string; apiSecret: string }
): Promise<AyopopHeaders> {
  return {
    KEY: credentials.apiKey,
    TOKEN: await signAyopopToken(claims, credentials.apiSecret),
    VERSION: AYOPOP_API_VERSION,
    'Content-Type': 'application/json',
    Accept: 'application/json',
  };
}

/**
 * The `VERSION` header a path requires: `/api/v1/...` → `1.0`, `/api/v2/...` → `2.0` (docs/providers/ayopop.md §1.2);
 * `undefined` for a path without a version segment.
 */
export function versionForPath(path: string): string | undefined {
  const match = /^\/(?:api\/)?v(\d+)\//.exec(path);
  return match ? `${match[1]}.0` : undefined;
}
