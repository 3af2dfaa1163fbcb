/**
 * One function per NICEPAY SNAP endpoint: build headers, sign, send, parse with the schemas. The access
 * token lives in a per-connector cache shared by every call the process makes (reference §1.2, §1.3).
 */
import type { ZodType } from 'zod';
import {
  OutcomeUnknownError,
  ProviderAuthError,
  ProviderRequestRejectedError,
  ProviderResponseInvalidError,
  ProviderUnavailableError,
} from '../../domain/errors';
import { createHttpClient, parseJsonBody, throwOnTransportStatus } from '../http';
import type { HttpClient, HttpRequest, HttpResponse } from '../http';
import { classifyResponseCode, fieldFromResponseMessage } from './mapping';
import type { SnapCodeMeaning } from './mapping';
import {
  AccessTokenResponseSchema,
  DebitPaymentResponseSchema,
  DebitRefundResponseSchema,
  DebitStatusResponseSchema,
  NicepayPath,
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

export interface NicepayClientOptions {
  /** Ends in `/nicepay`; every path below is relative to it, and that relative path is what gets signed. */
  baseUrl: string;
  timeoutMs: number;
  clientId: string;
  clientSecret: string;
  /** Merchant private key (PEM) registered with NICEPAY, for the access-token signature. */
  privateKeyPem: string;
  /** `CHANNEL-ID`; NICEPAY's SDKs send client id + `01`. */
  channelId: string;
  /** Renew the token this long before NICEPAY says it expires. */
  tokenRenewalMarginMs: number;
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

/** A SNAP answer that is not a success: classified, for the connector to decide what it means here. */
export interface SnapRefusal {
  ok: false;
  envelope: SnapResponseEnvelope;
  meaning: SnapCodeMeaning;
  httpStatus: number;
}

export type SnapResult<T> = { ok: true; data: T } | SnapRefusal;

export interface NicepayClient {
  readonly tokens: AccessTokenCache;
  debitPayment(body: DebitPaymentRequest): Promise<SnapResult<DebitPaymentResponse>>;
  debitStatus(body: DebitStatusRequest): Promise<SnapResult<DebitStatusResponse>>;
  debitRefund(body: DebitRefundRequest): Promise<SnapResult<DebitRefundResponse>>;
}

export function createNicepayClient(options: NicepayClientOptions): NicepayClient {
  const http = createHttpClient({ provider, baseUrl: options.baseUrl, timeoutMs: options.timeoutMs });
  const tokens = new AccessTokenCache(
    () => requestAccessToken(http, options),
    options.tokenRenewalMarginMs,
    options.now
  );

  async function send<T>(
    path: string,
    body: unknown,
    schema: ZodType<T>,
    effect: HttpRequest['effect']
  ): Promise<SnapResult<T>> {
    const text = JSON.stringify(body);
    const accessToken = await tokens.get();
    const first = await sendSigned(http, options, { path, text, accessToken, effect });
    let result = readSnapAnswer(first, schema, { path, effect });
    if (!result.ok && result.meaning === 'token-invalid') {
      // 401xx01: NICEPAY no longer knows the token (expired early, revoked). It was refused before any
      // processing, so one resend with a fresh token (and fresh X-EXTERNAL-ID) is safe even for a debit.
      tokens.invalidate(accessToken);
      const renewed = await tokens.get();
      const second = await sendSigned(http, options, { path, text, accessToken: renewed, effect });
      result = readSnapAnswer(second, schema, { path, effect });
      if (!result.ok && result.meaning === 'token-invalid') {
        tokens.invalidate(renewed);
        throw new ProviderAuthError(`NICEPAY rejected a freshly issued access token for ${path}`, {
          provider,
          providerCode: result.envelope.responseCode,
          httpStatus: result.httpStatus,
        });
      }
    }
    return result;
  }

  return {
    tokens,
    debitPayment: (body) => send(NicepayPath.debitPayment, body, DebitPaymentResponseSchema, 'mutating'),
    debitStatus: (body) => send(NicepayPath.debitStatus, body, DebitStatusResponseSchema, 'read'),
    debitRefund: (body) => send(NicepayPath.debitRefund, body, DebitRefundResponseSchema, 'mutating'),
  };
}

/** `POST /v1.0/access-token/b2b`, signed SHA256withRSA over `clientId|timestamp` (reference §1.2). */
async function requestAccessToken(http: HttpClient, options: NicepayClientOptions): Promise<IssuedToken> {
  const timestamp = toSnapTimestamp(new Date(options.now()));
  const body: AccessTokenRequest = { grantType: 'client_credentials', additionalInfo: {} };
  const request = { method: 'POST', path: NicepayPath.accessToken, effect: 'read' } as const;
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
    if (result.meaning === 'unauthorized' || result.meaning === 'token-invalid') {
      throw new ProviderAuthError(`NICEPAY refused our access-token request: ${result.envelope.responseMessage}`, {
        provider,
        providerCode: result.envelope.responseCode,
        httpStatus: result.httpStatus,
      });
    }
    throw toIntegrationError(result, request);
  }
  return { accessToken: result.data.accessToken, expiresInSeconds: Number(result.data.expiresIn) };
}

interface SignedSend {
  path: string;
  text: string;
  accessToken: string;
  effect: HttpRequest['effect'];
}

async function sendSigned(http: HttpClient, options: NicepayClientOptions, call: SignedSend): Promise<HttpResponse> {
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
): SnapResult<T> {
  const what = `POST ${request.path}`;
  if (response.status >= 500) {
    // Keep NICEPAY's own code (5005400, 5045400) when the failure came in SNAP form.
    const envelope = SnapResponseEnvelopeSchema.safeParse(safeJson(response.text));
    if (envelope.success) {
      throw toIntegrationError(
        { ok: false, envelope: envelope.data, meaning: 'provider-error', httpStatus: response.status },
        request
      );
    }
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
  if (meaning !== 'success') return { ok: false, envelope, meaning, httpStatus: response.status };
  return { ok: true, data: parseJsonBody(provider, schema, response, what) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The taxonomy error for a refusal the caller has no business meaning for. `in-progress`, provider errors
 * and unknown codes on a call that moves money leave its outcome unknown; the workflow resolves it by inquiry.
 */
export function toIntegrationError(refusal: SnapRefusal, request: Pick<HttpRequest, 'path' | 'effect'>): Error {
  const { responseCode, responseMessage } = refusal.envelope;
  const details = { provider, providerCode: responseCode, httpStatus: refusal.httpStatus } as const;
  const said = `NICEPAY answered ${responseCode} "${responseMessage}" to POST ${request.path}`;
  switch (refusal.meaning) {
    case 'invalid-field-format':
    case 'invalid-mandatory-field':
    case 'bad-request':
    case 'conflict':
    case 'duplicate-reference':
    case 'not-found':
    case 'declined': {
      const field = fieldFromResponseMessage(responseMessage);
      return new ProviderRequestRejectedError(said, field ? { ...details, field } : details);
    }
    case 'token-invalid':
    case 'unauthorized':
      return new ProviderAuthError(said, details);
    case 'in-progress':
    case 'provider-error':
    case 'unknown':
      if (request.effect === 'mutating') return new OutcomeUnknownError(`${said}; it may have taken effect`, details);
      return refusal.meaning === 'unknown'
        ? new ProviderResponseInvalidError(said, details)
        : new ProviderUnavailableError(said, details);
    case 'success':
      return new ProviderResponseInvalidError(`${said}, yet it was read as a refusal`, details);
  }
}
