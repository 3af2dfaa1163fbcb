/**
 * The one HTTP transport for connectors. ky with retries off (Temporal owns retries), an explicit
 * timeout, and every transport failure mapped once to Kasir's error taxonomy.
 *
 * Callers say whether the call moves money (`effect: 'mutating'`): for those, a timeout, a dropped
 * connection or a 5xx means the outcome is unknown, not merely that the provider is unavailable.
 */
import ky, { isHTTPError, isTimeoutError } from 'ky';
import { z } from 'zod';
import type { ZodType } from 'zod';
import type { ProviderId } from '../domain/provider';
import type { KasirError } from '../domain/errors';
import {
  OutcomeUnknownError,
  ProviderAuthError,
  ProviderResponseInvalidError,
  ProviderUnavailableError,
} from '../domain/errors';
import { logger } from '../logger';

/**
 * The transport part of every connector's config, `baseUrl` (the provider's sandbox unless configured)
 * and `timeoutMs`: spread into each `<provider>ConfigSchema`.
 */
export function httpConfigFields(sandboxBaseUrl: string) {
  return {
    baseUrl: z.url().default(sandboxBaseUrl),
    /** Per-request timeout. Keep it well below the activity's startToCloseTimeout. */
    timeoutMs: z.coerce.number().int().positive().default(10_000),
  };
}

export interface HttpClientOptions {
  provider: ProviderId;
  baseUrl: string;
  /** Per-request timeout. Keep it well below the activity's startToCloseTimeout. */
  timeoutMs: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path relative to the base URL, starting with `/`. */
  path: string;
  headers?: Record<string, string>;
  /** Sent exactly as given, so a signature computed over it matches the bytes on the wire. */
  body?: string;
  /** Whether the call can change state at the provider (create, submit, pay, cancel, refund). */
  effect: 'mutating' | 'read';
}

/**
 * How a client whose every endpoint is a JSON `POST` calls one: send `payload` to `path`, and return the
 * answer parsed with `schema`. `effect` says whether the call can change state at the provider.
 */
export type PostCall<Payload> = <T>(
  path: string,
  payload: Payload,
  schema: ZodType<T>,
  effect: HttpRequest['effect']
) => Promise<T>;

export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * A provider's answer as a client returns it: the success body, or the refusal the provider gave
 * instead (a decline, a duplicate, "not found"), for the connector to read. Failures that are not an
 * answer (transport, 5xx, 429, auth, an unreadable body) never come back here: the client throws them.
 */
export type ProviderAnswer<T, Refusal> =
  { ok: true; httpStatus: number; body: T } | { ok: false; httpStatus: number; refusal: Refusal };

export interface HttpClient {
  readonly provider: ProviderId;
  readonly baseUrl: string;
  /** Sends once. Throws the taxonomy for transport failures only; any HTTP status comes back. */
  send(request: HttpRequest): Promise<HttpResponse>;
  /** {@link send}, then {@link throwOnTransportStatus}: only answers the connector has to read come back. */
  sendChecked(request: HttpRequest): Promise<HttpResponse>;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const api = ky.create({
    prefixUrl: options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
    retry: { limit: 0 },
    timeout: options.timeoutMs,
    throwHttpErrors: false,
  });
  const log = logger.child({ provider: options.provider });

  const client: HttpClient = {
    provider: options.provider,
    baseUrl: options.baseUrl,
    async send(request) {
      const started = Date.now();
      const url = request.path.replace(/^\//, '');
      try {
        const response = await api(url, { method: request.method, headers: request.headers, body: request.body });
        const text = await response.text();
        log.debug(
          { method: request.method, path: request.path, status: response.status, ms: Date.now() - started },
          'provider call'
        );
        return { status: response.status, headers: response.headers, text };
      } catch (err) {
        log.warn(
          { method: request.method, path: request.path, ms: Date.now() - started, err: describe(err) },
          'provider call failed'
        );
        throw toTransportError(options.provider, request, err);
      }
    },
    async sendChecked(request) {
      const response = await client.send(request);
      throwOnTransportStatus(options.provider, request, response);
      return response;
    },
  };
  return client;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function toTransportError(provider: ProviderId, request: HttpRequest, err: unknown): KasirError {
  const what = `${request.method} ${request.path}`;
  if (isTimeoutError(err)) {
    return request.effect === 'mutating'
      ? new OutcomeUnknownError(`${provider} did not answer ${what} in time; it may have taken effect`, {
          provider,
          cause: err,
        })
      : new ProviderUnavailableError(`${provider} did not answer ${what} in time`, { provider, cause: err });
  }
  // fetch reports a refused, reset or dropped connection as a TypeError.
  if (isHTTPError(err) || err instanceof TypeError) {
    // A reset after the request left us is indistinguishable from one the provider acted on.
    return request.effect === 'mutating'
      ? new OutcomeUnknownError(`connection to ${provider} failed during ${what}; it may have taken effect`, {
          provider,
          cause: err,
        })
      : new ProviderUnavailableError(`connection to ${provider} failed during ${what}`, { provider, cause: err });
  }
  // Anything else fetch or ky might throw: still the taxonomy, and still "unknown" for a call that moves money.
  return request.effect === 'mutating'
    ? new OutcomeUnknownError(`${provider} call ${what} failed unexpectedly; it may have taken effect`, {
        provider,
        cause: err,
      })
    : new ProviderUnavailableError(`${provider} call ${what} failed unexpectedly`, { provider, cause: err });
}

/**
 * Maps statuses that mean the same for every provider: 5xx and 429 (unavailable, or unknown for a
 * mutating call) and 401/403 (auth). Returns normally for anything else, which the connector reads.
 */
export function throwOnTransportStatus(
  provider: ProviderId,
  request: Pick<HttpRequest, 'method' | 'path' | 'effect'>,
  response: HttpResponse
): void {
  const what = `${request.method} ${request.path}`;
  if (response.status >= 500 || response.status === 429) {
    const message = `${provider} answered HTTP ${response.status} to ${what}`;
    throw request.effect === 'mutating' && response.status !== 429
      ? new OutcomeUnknownError(`${message}; it may have taken effect`, { provider, httpStatus: response.status })
      : new ProviderUnavailableError(message, { provider, httpStatus: response.status });
  }
  if (response.status === 401 || response.status === 403) {
    throw new ProviderAuthError(`${provider} refused our credentials for ${what} (HTTP ${response.status})`, {
      provider,
      httpStatus: response.status,
    });
  }
}

/** Parses a JSON body with the connector's schema; anything else is `ProviderResponseInvalidError`. */
export function parseJsonBody<T>(provider: ProviderId, schema: ZodType<T>, response: HttpResponse, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(response.text);
  } catch (cause) {
    throw new ProviderResponseInvalidError(`${provider} answered ${what} with a body that is not JSON`, {
      provider,
      httpStatus: response.status,
      cause,
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ProviderResponseInvalidError(`${provider} answered ${what} with an unexpected shape`, {
      provider,
      httpStatus: response.status,
      issues: parsed.error.issues,
    });
  }
  return parsed.data;
}

/**
 * Reads a body that may carry the provider's envelope, or may not (an HTML error page, a bare 401):
 * the parsed envelope, or `undefined`. For enriching an error already decided, never for an answer.
 */
export function tryParseJsonBody<T>(schema: ZodType<T>, response: HttpResponse): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(response.text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
