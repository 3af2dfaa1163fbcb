/**
 * The NICEPAY SNAP client: one method per endpoint Kasir calls. Each builds the headers, signs, sends and
 * parses with the schemas; transport failures, 5xx, 429 and refused credentials throw the taxonomy, and
 * any other answer comes back as the success body or NICEPAY's refusal, classified. The access token
 * lives in a per-connector cache shared by every call the process makes (docs/providers/nicepay.md §2.1, §2.2).
 */
import type { ZodType } from 'zod';
import { ProviderAuthError } from '../../domain/errors';
import { createHttpClient, parseJsonBody, throwOnTransportStatus, tryParseJsonBody } from '../http';
import type { HttpClient, HttpRequest, HttpResponse, ProviderAnswer } from '../http';
import type { NicepayConfig } from './config';
import { classifyResponseCode, toRefusalError } from './mapping';
import type { SnapRefusal } from './mapping';
import {
  AccessTokenResponseSchema,
  DebitPaymentResponseSchema,
  DebitRefundResponseSchema,
  DebitStatusResponseSchema,
  NICEPAY_PATHS,
  SnapResponseEnvelopeSchema,
} from './schemas';
import type {
  AccessTokenRequest,
  DebitPaymentRequest,
  DebitPaymentResponse,
  DebitRefundRequest,
  DebitRefundResponse,
  DebitStatusRequest,
  DebitStatusResponse,
  SnapResponseEnvelope,
} from './schemas';
import { newExternalId, signClientTimestamp, signTransaction, toSnapTimestamp } from './signing';

const provider = 'nicepay';

export interface NicepayClientDeps {
  /** Clock (epoch ms) for token expiry and request timestamps. Defaults to `Date.now`. */
  now?: () => number;
}

/** What signing a call takes: the config's keys with its defaults applied. */
interface SigningContext {
  clientId: string;
  clientSecret: string;
  /** Merchant private key (PEM) registered with NICEPAY, for the access-token signature. */
  privateKeyPem: string;
  /** `CHANNEL-ID`; NICEPAY's SDKs send client id + `01`. */
  channelId: string;
  now: () => number;
}

interface IssuedToken {
  accessToken: string;
  expiresInSeconds: number;
}

/**
 * Caches the B2B access token for one process. Concurrent callers share one in-flight request
 * (single flight); the token is renewed `renewalMarginMs` before its announced expiry, and a token
 * NICEPAY rejects is dropped so the next caller fetches a fresh one.
 */
export class AccessTokenCache {
  private current?: { accessToken: string; renewAt: number };
  private inflight?: Promise<string>;

  constructor(
    private readonly issue: () => Promise<IssuedToken>,
    private readonly renewalMarginMs: number,
    private readonly now: () => number
  ) {}

  async get(): Promise<string> {
    if (this.current && this.now() < this.current.renewAt) return this.current.accessToken;
    this.inflight ??= this.renew().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Drops `accessToken` if it is still the cached one; a token renewed meanwhile by another caller stays. */
  invalidate(accessToken: string): void {
    if (this.current?.accessToken === accessToken) this.current = undefined;
  }

  private async renew(): Promise<string> {
    // Lifetime counts from the request, not the answer, so a slow answer cannot leave us holding a dead token.
    const requestedAt = this.now();
    const issued = await this.issue();
    const lifetimeMs = issued.expiresInSeconds * 1000;
    const usableMs = Math.max(lifetimeMs - this.renewalMarginMs, lifetimeMs / 2);
    this.current = { accessToken: issued.accessToken, renewAt: requestedAt + usableMs };
    return issued.accessToken;
  }
}

/** NICEPAY's answer: the parsed success body, or its refusal classified, for the connector to read. */
export type NicepayAnswer<T> = ProviderAnswer<T, SnapRefusal>;

export interface NicepayClient {
  readonly tokens: AccessTokenCache;
  /** Service 54, `POST /api/v1.0/debit/payment-host-to-host`: registers a debit. */
  debitPayment(body: DebitPaymentRequest): Promise<NicepayAnswer<DebitPaymentResponse>>;
  /** Service 55, `POST /api/v1.0/debit/status`. */
  debitStatus(body: DebitStatusRequest): Promise<NicepayAnswer<DebitStatusResponse>>;
  /** Service 58, `POST /api/v1.0/debit/refund`. */
  debitRefund(body: DebitRefundRequest): Promise<NicepayAnswer<DebitRefundResponse>>;
}

export function createNicepayClient(config: NicepayConfig, deps: NicepayClientDeps = {}): NicepayClient {
  const http = createHttpClient({ provider, baseUrl: config.baseUrl, timeoutMs: config.timeoutMs });
  const signing: SigningContext = {
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    privateKeyPem: config.privateKeyPem,
    channelId: config.channelId ?? `${config.clientId}01`,
    now: deps.now ?? Date.now,
  };
  const tokens = new AccessTokenCache(
    () => requestAccessToken(http, signing),
    config.tokenRenewalMarginSeconds * 1000,
    signing.now
  );

  async function send<T>(
    path: string,
    body: unknown,
    schema: ZodType<T>,
    effect: HttpRequest['effect']
  ): Promise<NicepayAnswer<T>> {
    const text = JSON.stringify(body);
    const accessToken = await tokens.get();
    const first = await sendSigned(http, signing, { path, text, accessToken, effect });
    let result = readSnapAnswer(first, schema, { path, effect });
    if (!result.ok && result.refusal.meaning === 'token-invalid') {
      // 401xx01: NICEPAY no longer knows the token (expired early, revoked). It was refused before any
      // processing, so one resend with a fresh token (and fresh X-EXTERNAL-ID) is safe even for a debit.
      tokens.invalidate(accessToken);
      const renewed = await tokens.get();
      const second = await sendSigned(http, signing, { path, text, accessToken: renewed, effect });
      result = readSnapAnswer(second, schema, { path, effect });
      if (!result.ok && result.refusal.meaning === 'token-invalid') {
        tokens.invalidate(renewed);
        throw new ProviderAuthError(`NICEPAY rejected a freshly issued access token for ${path}`, {
          provider,
          providerCode: result.refusal.responseCode,
          httpStatus: result.httpStatus,
        });
      }
    }
    return result;
  }

  return {
    tokens,
    debitPayment: (body) => send(NICEPAY_PATHS.debitPayment, body, DebitPaymentResponseSchema, 'mutating'),
    debitStatus: (body) => send(NICEPAY_PATHS.debitStatus, body, DebitStatusResponseSchema, 'read'),
    debitRefund: (body) => send(NICEPAY_PATHS.debitRefund, body, DebitRefundResponseSchema, 'mutating'),
  };
}

/** `POST /v1.0/access-token/b2b`, signed SHA256withRSA over `clientId|timestamp` (docs/providers/nicepay.md §2.1). */
async function requestAccessToken(http: HttpClient, options: SigningContext): Promise<IssuedToken> {
  const timestamp = toSnapTimestamp(new Date(options.now()));
  const body: AccessTokenRequest = { grantType: 'client_credentials', additionalInfo: {} };
  const request = { method: 'POST', path: NICEPAY_PATHS.accessToken, effect: 'read' } as const;
  const response = await http.send({
    ...request,
    headers: {
      'Content-Type': 'application/json',
      'X-TIMESTAMP': timestamp,
      'X-CLIENT-KEY': options.clientId,
      'X-SIGNATURE': signClientTimestamp(options.privateKeyPem, options.clientId, timestamp),
    },
    body: JSON.stringify(body),
  });
  const result = readSnapAnswer(response, AccessTokenResponseSchema, request);
  if (!result.ok) {
    const { refusal } = result;
    if (refusal.meaning === 'unauthorized' || refusal.meaning === 'token-invalid') {
      throw new ProviderAuthError(`NICEPAY refused our access-token request: ${refusal.responseMessage}`, {
        provider,
        providerCode: refusal.responseCode,
        httpStatus: result.httpStatus,
      });
    }
    throw toRefusalError(request, result.httpStatus, refusal);
  }
  return { accessToken: result.body.accessToken, expiresInSeconds: Number(result.body.expiresIn) };
}

interface SignedSend {
  path: string;
  text: string;
  accessToken: string;
  effect: HttpRequest['effect'];
}

async function sendSigned(http: HttpClient, options: SigningContext, call: SignedSend): Promise<HttpResponse> {
  const timestamp = toSnapTimestamp(new Date(options.now()));
  const signature = signTransaction(options.clientSecret, {
    method: 'POST',
    relativePath: call.path,
    accessToken: call.accessToken,
    body: call.text,
    timestamp,
  });
  return http.send({
    method: 'POST',
    path: call.path,
    effect: call.effect,
    body: call.text,
    headers: {
      'Content-Type': 'application/json',
      Authorization: `Bearer ${call.accessToken}`,
      'X-TIMESTAMP': timestamp,
      'X-SIGNATURE': signature,
      'X-PARTNER-ID': options.clientId,
      'X-EXTERNAL-ID': newExternalId(new Date(options.now())),
      'CHANNEL-ID': options.channelId,
    },
  });
}

/**
 * Reads any SNAP answer: 5xx/429 are transport failures (an unknown outcome for a debit or refund);
 * otherwise the body's `responseCode` decides, since its first three digits are the HTTP status.
 */
function readSnapAnswer<T>(
  response: HttpResponse,
  schema: ZodType<T>,
  request: Pick<HttpRequest, 'path' | 'effect'>
): NicepayAnswer<T> {
  const what = `POST ${request.path}`;
  if (response.status >= 500) {
    // Keep NICEPAY's own code (5005400, 5045400) when the failure came in SNAP form.
    const envelope = tryParseJsonBody(SnapResponseEnvelopeSchema, response);
    if (envelope) throw toRefusalError(request, response.status, { ...envelope, meaning: 'provider-error' });
  }
  if (response.status >= 500 || response.status === 429)
    throwOnTransportStatus(provider, { method: 'POST', ...request }, response);
  let envelope: SnapResponseEnvelope;
  try {
    envelope = parseJsonBody(provider, SnapResponseEnvelopeSchema, response, what);
  } catch (err) {
    // A 401/403 without a SNAP body still says our credentials were refused.
    throwOnTransportStatus(provider, { method: 'POST', ...request }, response);
    throw err;
  }
  const meaning = classifyResponseCode(envelope.responseCode);
  if (meaning !== 'success') return { ok: false, httpStatus: response.status, refusal: { ...envelope, meaning } };
  return { ok: true, httpStatus: response.status, body: parseJsonBody(provider, schema, response, what) };
}
