/**
 * NICEPAY SNAP BI e-wallet direct debit (OVO, DANA, LinkAja, ShopeePay): payments (create, inquire,
 * refund) and the service-56 notification. Contract: docs/providers/nicepay.md.
 */
import { constantTimeEqual } from '../../constant-time';
import {
  CallbackPayloadError,
  CallbackSignatureError,
  OperationNotSupportedError,
  OutcomeUnknownError,
  ProviderRequestRejectedError,
  isKasirError,
} from '../../domain/errors';
import type { CreatePaymentInput, PaymentOutcome, PaymentRef, PaymentRegistration } from '../../domain/payment';
import { DEFAULT_TOLERANCE_SECONDS } from '../../webhooks/signature';
import { jsonCallbackAnswer, parseCallbackJson } from '../callbacks';
import type { Connector, PaymentsCapability, RawCallback } from '../connector';
import type { ConnectorModule } from '../connector-module';
import { dryRunRequest } from '../dry-run-request';
import { createNicepayClient } from './client';
import type { NicepayClient } from './client';
import { nicepayConfigSchema } from './config';
import type { NicepayConfig } from './config';
import {
  EWALLET_AMOUNT_LIMITS,
  NICEPAY_METHODS,
  isNicepayMethod,
  parseResponseCode,
  toDebitPaymentRequest,
  toDebitRefundRequest,
  toDebitStatusRequest,
  toParsedCallback,
  toPaymentOutcome,
  toPaymentRegistration,
  toRefundOutcome,
  toRefusalError,
} from './mapping';
import type { RefundRequestInput } from './mapping';
import {
  DebitNotificationSchema,
  DebitPaymentRequestSchema,
  NICEPAY_PATHS,
  NotificationHeadersSchema,
} from './schemas';
import { parseSnapTimestamp, verifyClientTimestamp } from './signing';

export { SANDBOX_BASE_URL, nicepayConfigSchema } from './config';
export type { NicepayConfig } from './config';

const NOTIFICATION_ACK = { responseCode: '2005600', responseMessage: 'Successful' };

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
  const client = createNicepayClient(config, { now });

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
      answer: () => jsonCallbackAnswer(200, NOTIFICATION_ACK),
      reject: (reason) =>
        reason === 'signature'
          ? jsonCallbackAnswer(401, { responseCode: '4015600', responseMessage: 'Unauthorized Signature' })
          : jsonCallbackAnswer(400, { responseCode: '4005600', responseMessage: 'Bad Request' }),
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

async function createPayment(
  client: NicepayClient,
  input: CreatePaymentInput,
  context: { merchantId: string; now: () => number; defaultReturnUrl?: string }
): Promise<PaymentRegistration> {
  const body = toDebitPaymentRequest(input, { ...context, now: new Date(context.now()) });
  const validUpTo =
    parseSnapTimestamp(body.validUpTo ?? '') ?? new Date(context.now() + input.expiresInMinutes * 60_000);
  const answer = await client.debitPayment(body);
  if (answer.ok) return toPaymentRegistration(answer.body, validUpTo);
  const { refusal } = answer;
  if (refusal.meaning === 'declined') {
    return { result: 'declined', failure: { code: refusal.responseCode, message: refusal.responseMessage } };
  }
  if (refusal.meaning === 'duplicate-reference') {
    // 409xx01: NICEPAY already holds this partnerReferenceNo, i.e. an earlier attempt of ours got through
    // and its answer (with the redirect URLs) was lost. Evidence the debit exists, never a decline: the
    // outcome is unknown, resolved by status inquiry, never by registering again.
    const { responseCode, responseMessage } = refusal;
    throw new OutcomeUnknownError(
      `NICEPAY already holds partnerReferenceNo ${input.reference} (${responseCode} "${responseMessage}"); resolve it by status inquiry`,
      { provider: 'nicepay', providerCode: responseCode, httpStatus: answer.httpStatus }
    );
  }
  throw toRefusalError({ path: NICEPAY_PATHS.debitPayment, effect: 'mutating' }, answer.httpStatus, refusal);
}

async function inquirePayment(client: NicepayClient, ref: PaymentRef, merchantId: string): Promise<PaymentOutcome> {
  const answer = await client.debitStatus(toDebitStatusRequest(ref, merchantId));
  if (answer.ok) return toPaymentOutcome(answer.body);
  // 404xx01 "Transaction Not Found": NICEPAY does not know this reference (yet), e.g. a create that never
  // reached it. Evidence, never grounds to fail. Other 404s (invalid merchant, cancelled...) stay errors.
  const { refusal } = answer;
  if (refusal.meaning === 'not-found' && parseResponseCode(refusal.responseCode).caseCode === '01') {
    return { status: 'not_found', providerStatus: refusal.responseCode };
  }
  throw toRefusalError({ path: NICEPAY_PATHS.debitStatus, effect: 'read' }, answer.httpStatus, refusal);
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
  const answer = await client.debitRefund(toDebitRefundRequest(ref, providerReference, input, merchantId));
  // Accepted (or 409xx01: this partnerRefundNo was accepted before). The refund answer carries no status,
  // and partial refunds add up: ask NICEPAY where the payment now stands, best effort — a failed inquiry
  // falls back to what this refund alone implies and never undoes the acceptance.
  if (!answer.ok && answer.refusal.meaning !== 'duplicate-reference') {
    // Refusals (not paid, already refunded, amount above what remains): the refund request itself was wrong.
    throw toRefusalError({ path: NICEPAY_PATHS.debitRefund, effect: 'mutating' }, answer.httpStatus, answer.refusal);
  }
  try {
    return await inquirePayment(client, { ...ref, providerReference }, merchantId);
  } catch {
    return toRefundOutcome(answer.ok ? answer.body : {}, ref, providerReference, input.amount);
  }
}

/**
 * Service 56 (docs/providers/nicepay.md §2.4, §5): NICEPAY signs `X-CLIENT-KEY|X-TIMESTAMP` with its
 * notification key, not the body, so a verified notification is still only a hint to be confirmed by status
 * inquiry. Since the signature never changes for a given timestamp, an `X-TIMESTAMP` more than
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
  const notification = parseCallbackJson('nicepay', callback.rawBody, DebitNotificationSchema, 'NICEPAY notification');
  try {
    return toParsedCallback(notification);
  } catch (cause) {
    if (isKasirError(cause)) throw new CallbackPayloadError(cause.message, { provider: 'nicepay', cause });
    throw cause;
  }
}

export const nicepayModule: ConnectorModule<NicepayConfig> = {
  id: 'nicepay',
  configSchema: nicepayConfigSchema,
  createConnector: (config) => createNicepayConnector(config),
};
