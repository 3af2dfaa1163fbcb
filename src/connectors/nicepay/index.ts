/**
 * NICEPAY SNAP BI e-wallet direct debit (OVO, DANA, LinkAja, ShopeePay): payments (create, inquire,
 * refund) and the service-56 notification. Seed 002; contract in reference Part 1.
 */
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { constantTimeEqual } from '../../constant-time';
import { z } from 'zod';
import {
  CallbackPayloadError,
  CallbackSignatureError,
  OperationNotSupportedError,
  OutcomeUnknownError,
  ProviderRequestRejectedError,
  isKasirError,
} from '../../domain/errors';
import type { CreatePaymentInput, PaymentOutcome, PaymentRef, PaymentRegistration } from '../../domain/payment';
import type { CallbackAnswer, Connector, PaymentsCapability, RawCallback } from '../connector';
import type { ConnectorModule, SimulatorSetup } from '../module';
import { createNicepayClient, toIntegrationError } from './client';
import type { NicepayClient } from './client';
import {
  EWALLET_AMOUNT_LIMITS,
  NICEPAY_METHODS,
  toDebitPaymentRequest,
  toDebitRefundRequest,
  toDebitStatusRequest,
  isNicepayMethod,
  parseResponseCode,
  toParsedCallback,
  toPaymentOutcome,
  toPaymentRegistration,
  toRefundOutcome,
} from './mapping';
import type { RefundRequestInput } from './mapping';
import { DebitNotificationSchema, DebitPaymentRequestSchema, NicepayPath, NotificationHeadersSchema } from './schemas';
import { dryRunRequest } from '../validation';
import { DEFAULT_TOLERANCE_SECONDS } from '../../webhooks/signature';
import { parseSnapTimestamp, verifyClientTimestamp } from './signing';
import { NicepaySimulatorCredentialsSchema, createNicepaySimulator } from './simulator';
import type { NicepaySimulatorCredentials } from './simulator';

export const NICEPAY_SANDBOX_URL = 'https://dev.nicepay.co.id/nicepay';

export const NicepayConfigSchema = z.object({
  /** Ends in `/nicepay` (reference §1.1); production is `https://www.nicepay.co.id/nicepay`. */
  baseUrl: z.url().default(NICEPAY_SANDBOX_URL),
  timeoutMs: z.coerce.number().int().positive().default(10_000),
  /** NICEPAY client id (iMid), sent as X-CLIENT-KEY / X-PARTNER-ID. */
  clientId: z.string().min(1).max(20),
  /** `merchantId` in bodies; NICEPAY's SDKs send the client id. */
  merchantId: z.string().min(1).max(10).optional(),
  /** `CHANNEL-ID`; defaults to client id + `01` as the seed's example shows. */
  channelId: z.string().min(1).optional(),
  /** HMAC-SHA512 key for transactional calls, used as-is (not base64-decoded). */
  clientSecret: z.string().min(1),
  /** Merchant private key (PEM) whose public half is registered with NICEPAY. */
  privateKeyPem: z.string().includes('PRIVATE KEY'),
  /** NICEPAY's notification public key (PEM), emailed by NICEPAY; not the transaction-API key. */
  nicepayPublicKeyPem: z.string().includes('PUBLIC KEY'),
  /** Renew the 900 s access token this many seconds before it expires. */
  tokenRenewalMarginSeconds: z.coerce.number().int().min(0).default(60),
  /** Browser return URL for payments that name none (NICEPAY requires one). */
  defaultReturnUrl: z.url().optional(),
});
export type NicepayConfig = z.infer<typeof NicepayConfigSchema>;

const NOTIFICATION_ACK = JSON.stringify({ responseCode: '2005600', responseMessage: 'Successful' });

/**
 * How far a notification's `X-TIMESTAMP` may be from Kasir's clock, either way: the same ±5 minutes as
 * Kasir's own webhook signatures. NICEPAY signs only `clientId|X-TIMESTAMP`, so without this window one
 * captured set of headers would authenticate any body, forever (issue 13).
 */
export const NOTIFICATION_TIMESTAMP_TOLERANCE_MS = DEFAULT_TOLERANCE_SECONDS * 1000;

export interface NicepayConnectorDeps {
  /**
   * Clock (epoch ms) for token expiry, request timestamps and notification freshness; tests move it to
   * prove renewal and replay refusal. Defaults to `Date.now`.
   */
  now?: () => number;
}

export function createNicepayConnector(config: NicepayConfig, deps: NicepayConnectorDeps = {}): Connector {
  const now = deps.now ?? Date.now;
  const merchantId = config.merchantId ?? config.clientId;
  const client = createNicepayClient({
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    privateKeyPem: config.privateKeyPem,
    channelId: config.channelId ?? `${config.clientId}01`,
    tokenRenewalMarginMs: config.tokenRenewalMarginSeconds * 1000,
    now,
  });

  const payments: PaymentsCapability = {
    methods: NICEPAY_METHODS,
    amountLimits(method) {
      if (!isNicepayMethod(method)) {
        throw new OperationNotSupportedError(`NICEPAY e-wallet direct debit does not take ${method}`, {
          provider: 'nicepay',
        });
      }
      return { ...EWALLET_AMOUNT_LIMITS };
    },
    validate: (input) =>
      dryRunRequest(
        'nicepay',
        NICEPAY_FIELDS,
        () =>
          toDebitPaymentRequest(input, { merchantId, now: new Date(now()), defaultReturnUrl: config.defaultReturnUrl }),
        DebitPaymentRequestSchema
      ),
    create: (input) => createPayment(client, input, { merchantId, now, defaultReturnUrl: config.defaultReturnUrl }),
    inquire: (ref) => inquirePayment(client, ref, merchantId),
    refund: (ref, input) => refundPayment(client, ref, input, merchantId),
  };

  return {
    id: 'nicepay',
    displayName: 'NICEPAY SNAP e-wallet (OVO, DANA, LinkAja, ShopeePay)',
    payments,
    callbacks: {
      verifyAndParse: async (callback) => verifyAndParseNotification(config, callback, now),
      answer: (): CallbackAnswer => ({ status: 200, contentType: 'application/json', body: NOTIFICATION_ACK }),
      reject: (reason): CallbackAnswer =>
        reason === 'signature'
          ? snapAnswer(401, { responseCode: '4015600', responseMessage: 'Unauthorized Signature' })
          : snapAnswer(400, { responseCode: '4005600', responseMessage: 'Bad Request' }),
      unknownReferencePolicy:
        'NICEPAY resends a notification until it is answered 2005600; retrying one for a reference Kasir does not ' +
        'know cannot succeed, so it is acknowledged with 2005600 like any other.',
    },
  };
}

/** NICEPAY's debit request fields in Kasir's vocabulary, for refusals the API names. */
const NICEPAY_FIELDS: Readonly<Record<string, string>> = {
  partnerReferenceNo: 'reference',
  'amount.value': 'amount',
  'additionalInfo.goodsNm': 'description',
  'additionalInfo.billingNm': 'customer.name',
  'additionalInfo.billingPhone': 'customer.phone',
  'additionalInfo.billingEmail': 'customer.email',
  validUpTo: 'expiresInMinutes',
  'urlParam.0.url': 'returnUrl',
};

function snapAnswer(status: number, body: { responseCode: string; responseMessage: string }): CallbackAnswer {
  return { status, contentType: 'application/json', body: JSON.stringify(body) };
}

async function createPayment(
  client: NicepayClient,
  input: CreatePaymentInput,
  context: { merchantId: string; now: () => number; defaultReturnUrl?: string }
): Promise<PaymentRegistration> {
  const body = toDebitPaymentRequest(input, { ...context, now: new Date(context.now()) });
  const validUpTo =
    parseSnapTimestamp(body.validUpTo ?? '') ?? new Date(context.now() + input.expiresInMinutes * 60_000);
  const result = await client.debitPayment(body);
  if (result.ok) return toPaymentRegistration(result.data, validUpTo);
  if (result.meaning === 'declined') {
    return {
      result: 'declined',
      failure: { code: result.envelope.responseCode, message: result.envelope.responseMessage },
    };
  }
  if (result.meaning === 'duplicate-reference') {
    // 409xx01: NICEPAY already holds this partnerReferenceNo, i.e. an earlier attempt of ours got through
    // and its answer (with the redirect URLs) was lost. Evidence the debit exists, never a decline: the
    // outcome is unknown, resolved by status inquiry, never by registering again.
    const { responseCode, responseMessage } = result.envelope;
    throw new OutcomeUnknownError(
      `NICEPAY already holds partnerReferenceNo ${input.reference} (${responseCode} "${responseMessage}"); resolve it by status inquiry`,
      { provider: 'nicepay', providerCode: responseCode, httpStatus: result.httpStatus }
    );
  }
  throw toIntegrationError(result, { path: NicepayPath.debitPayment, effect: 'mutating' });
}

async function inquirePayment(client: NicepayClient, ref: PaymentRef, merchantId: string): Promise<PaymentOutcome> {
  const result = await client.debitStatus(toDebitStatusRequest(ref, merchantId));
  if (result.ok) return toPaymentOutcome(result.data);
  // 404xx01 "Transaction Not Found": NICEPAY does not know this reference (yet), e.g. a create that never
  // reached it. Evidence, never grounds to fail. Other 404s (invalid merchant, cancelled...) stay errors.
  const { responseCode } = result.envelope;
  if (result.meaning === 'not-found' && parseResponseCode(responseCode).caseCode === '01') {
    return { status: 'not_found', providerStatus: responseCode };
  }
  throw toIntegrationError(result, { path: NicepayPath.debitStatus, effect: 'read' });
}

async function refundPayment(
  client: NicepayClient,
  ref: PaymentRef,
  input: RefundRequestInput,
  merchantId: string
): Promise<PaymentOutcome> {
  const providerReference = ref.providerReference ?? (await inquirePayment(client, ref, merchantId)).providerReference;
  if (!providerReference) {
    throw new ProviderRequestRejectedError(`NICEPAY gave no referenceNo for ${ref.reference}; it cannot be refunded`, {
      provider: 'nicepay',
      field: 'originalReferenceNo',
    });
  }
  const result = await client.debitRefund(toDebitRefundRequest(ref, providerReference, input, merchantId));
  if (result.ok) {
    // The refund answer carries no status, and partial refunds add up: ask NICEPAY where the payment now
    // stands, and fall back to what this refund alone implies if that inquiry fails.
    try {
      return await inquirePayment(client, { ...ref, providerReference }, merchantId);
    } catch {
      return toRefundOutcome(result.data, ref, providerReference, input.amount);
    }
  }
  if (result.meaning === 'duplicate-reference') {
    // 409xx01 on a refund: this partnerRefundNo was already accepted, so report the payment as it now stands.
    return inquirePayment(client, { ...ref, providerReference }, merchantId);
  }
  // Refusals (not paid, already refunded, amount above what remains) mean the refund request itself was wrong.
  throw toIntegrationError(result, { path: NicepayPath.debitRefund, effect: 'mutating' });
}

/**
 * Service 56 (reference §1.7): NICEPAY signs `X-CLIENT-KEY|X-TIMESTAMP` with its notification key, not the
 * body, so a verified notification is still only a hint to be confirmed by status inquiry. Since the
 * signature never changes for a given timestamp, an `X-TIMESTAMP` more than
 * {@link NOTIFICATION_TIMESTAMP_TOLERANCE_MS} from `now` is refused like a bad signature: a captured set
 * of headers is good for minutes, not forever. NICEPAY stamps each attempt afresh (as the simulator does),
 * so its retries pass.
 */
function verifyAndParseNotification(config: NicepayConfig, callback: RawCallback, now: () => number) {
  const headers = NotificationHeadersSchema.safeParse({
    'x-timestamp': callback.headers['x-timestamp'],
    'x-client-key': callback.headers['x-client-key'],
    'x-signature': callback.headers['x-signature'],
  });
  if (!headers.success) {
    throw new CallbackSignatureError('NICEPAY notification lacks X-TIMESTAMP, X-CLIENT-KEY or X-SIGNATURE', {
      provider: 'nicepay',
    });
  }
  const { 'x-timestamp': timestamp, 'x-client-key': clientKey, 'x-signature': signature } = headers.data;
  const signedAt = parseSnapTimestamp(timestamp);
  if (signedAt === undefined || Math.abs(now() - signedAt.getTime()) > NOTIFICATION_TIMESTAMP_TOLERANCE_MS) {
    throw new CallbackSignatureError(
      `NICEPAY notification X-TIMESTAMP ${timestamp} is not within ${NOTIFICATION_TIMESTAMP_TOLERANCE_MS / 60_000} minutes of now`,
      { provider: 'nicepay' }
    );
  }
  if (
    !constantTimeEqual(clientKey, config.clientId) ||
    !verifyClientTimestamp(config.nicepayPublicKeyPem, clientKey, timestamp, signature)
  ) {
    throw new CallbackSignatureError('NICEPAY notification signature does not verify', { provider: 'nicepay' });
  }
  let json: unknown;
  try {
    json = JSON.parse(callback.rawBody.toString('utf8'));
  } catch (cause) {
    throw new CallbackPayloadError('NICEPAY notification body is not JSON', { provider: 'nicepay', cause });
  }
  const parsed = DebitNotificationSchema.safeParse(json);
  if (!parsed.success) {
    throw new CallbackPayloadError(`NICEPAY notification does not match its schema: ${parsed.error.message}`, {
      provider: 'nicepay',
    });
  }
  try {
    return toParsedCallback(parsed.data);
  } catch (cause) {
    if (isKasirError(cause)) throw new CallbackPayloadError(cause.message, { provider: 'nicepay', cause });
    throw cause;
  }
}

function generateTestCredentials(): NicepaySimulatorCredentials {
  const rsa = () =>
    generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
  const merchant = rsa();
  const nicepay = rsa();
  return {
    // NICEPAY client ids are 10 characters (merchantId is String(10)), e.g. IONPAYTEST.
    clientId: `KSRTST${String(randomInt(0, 10_000)).padStart(4, '0')}`,
    clientSecret: randomBytes(48).toString('base64'),
    merchantPrivateKeyPem: merchant.privateKey,
    merchantPublicKeyPem: merchant.publicKey,
    nicepayPrivateKeyPem: nicepay.privateKey,
    nicepayPublicKeyPem: nicepay.publicKey,
  };
}

export const nicepayModule: ConnectorModule<NicepayConfig> = {
  id: 'nicepay',
  configSchema: NicepayConfigSchema,
  createConnector: (config) => createNicepayConnector(config),
  simulatorSetup(saved?: unknown): SimulatorSetup<NicepayConfig> {
    const credentials =
      saved === undefined ? generateTestCredentials() : NicepaySimulatorCredentialsSchema.parse(saved);
    return {
      credentials,
      connectorConfig: (baseUrl) =>
        NicepayConfigSchema.parse({
          baseUrl: `${baseUrl.replace(/\/$/, '')}/nicepay`,
          timeoutMs: 10_000,
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
          privateKeyPem: credentials.merchantPrivateKeyPem,
          nicepayPublicKeyPem: credentials.nicepayPublicKeyPem,
        }),
      createSimulator: (options) => createNicepaySimulator({ ...options, credentials }),
    };
  },
};
