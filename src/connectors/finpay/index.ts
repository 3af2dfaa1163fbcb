/**
 * Finpay (Finnet) Payment Gateway connector: Finpay Payment Code, virtual accounts, QRIS, retail and
 * e-wallets through `POST /pg/payment/card/initiate`, with status check, cancel and refund, and
 * HMAC-SHA512-signed notification callbacks. Contract: seeds 000/001 and reference Part 1.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';
import {
  CallbackPayloadError,
  CallbackSignatureError,
  OperationNotSupportedError,
  OutcomeUnknownError,
  ProviderAuthError,
  ProviderRequestRejectedError,
  ProviderResponseInvalidError,
} from '../../domain/errors';
import type { KasirError } from '../../domain/errors';
import { MAX_RUPIAH, toRupiahString } from '../../domain/money';
import type { CreatePaymentInput, PaymentMethod, PaymentOutcome, PaymentRef, PaymentRegistration } from '../../domain/payment';
import { logger } from '../../logger';
import type { CallbackAnswer, Connector, PaymentsCapability } from '../connector';
import { createHttpClient } from '../http';
import { dryRunRequest } from '../validation';
import type { ConnectorModule } from '../module';
import * as client from './client';
import type { FinpayApi, FinpayResult } from './client';
import {
  FINPAY_METHODS,
  SOURCE_OF_FUNDS_BY_METHOD,
  fieldFromFinpayMessage,
  instructionKindOf,
  isFinpayMethod,
  toInitiateRequest,
  toParsedCallback,
  toPaymentInstructions,
  toPaymentOutcome,
} from './mapping';
import { FINPAY_SUCCESS_CODE, FinpayCallback, InitiateRequest } from './schemas';
import type { SourceOfFundsType } from './schemas';
import { verifyFinpayCallbackSignature } from './signing';
import { createFinpaySimulator } from './simulator';

/** Finpay's development host (reference §1.1); production is `https://live.finnet.co.id`. */
export const FINPAY_SANDBOX_URL = 'https://devo.finnet.co.id';

export const FinpayCredentialsSchema = z.object({
  /** Basic-auth user name, e.g. `FINPAY770`. */
  merchantId: z.string().min(1),
  /** Basic-auth password and the HMAC key of callbacks. */
  merchantKey: z.string().min(1),
});

export const FinpayConfigSchema = FinpayCredentialsSchema.extend({
  baseUrl: z.url().default(FINPAY_SANDBOX_URL),
  timeoutMs: z.number().int().positive().default(10_000),
});
export type FinpayConfig = z.infer<typeof FinpayConfigSchema>;

/** Codes with a meaning the connector acts on (reference §1.9). */
const FinpayCode = {
  featureNotAllowed: '4030001',
  transactionNotPermitted: '4030015',
  invalidTransactionStatus: '4040100',
} as const;

/** SNAP `404xx01` (Finpay `4040001`): the transaction does not exist at Finpay. */
function isTransactionNotFound(responseCode: string): boolean {
  return /^404\d{2}01$/.test(responseCode);
}

function rejectionError(what: string, result: Extract<FinpayResult<unknown>, { ok: false }>): KasirError {
  const { responseCode, responseMessage } = result.error;
  const message = `finpay rejected ${what}: ${responseCode} ${responseMessage}`;
  const details = { provider: 'finpay' as const, providerCode: responseCode, httpStatus: result.httpStatus };
  // 401: credentials; 403: the merchant's setup (channel not enabled, address not allowed), except
  // "Transaction Not Permitted", which is about the order's state.
  if (
    responseCode.startsWith('401') ||
    (responseCode.startsWith('403') && responseCode !== FinpayCode.transactionNotPermitted)
  ) {
    return new ProviderAuthError(message, details);
  }
  if (result.httpStatus >= 400 && result.httpStatus < 500) {
    const field = fieldFromFinpayMessage(responseMessage);
    return new ProviderRequestRejectedError(message, { ...details, ...(field ? { field } : {}) });
  }
  // A 2xx with a failure code is outside the SNAP convention (code prefix = HTTP status) Finpay follows.
  return new ProviderResponseInvalidError(message, details);
}

/** Finpay's request fields in Kasir's vocabulary, for refusals the API names. */
const FINPAY_FIELDS: Readonly<Record<string, string>> = {
  'order.id': 'reference',
  'order.amount': 'amount',
  'order.description': 'description',
  'order.timeout': 'expiresInMinutes',
  'customer.email': 'customer.email',
  'customer.firstName': 'customer.name',
  'customer.lastName': 'customer.name',
  'customer.mobilePhone': 'customer.phone',
  'url.successUrl': 'returnUrl',
  'url.failUrl': 'returnUrl',
  'url.backUrl': 'returnUrl',
};

/**
 * Rebuilds the instructions of an order Finpay already holds under this reference, when its status
 * check carries them: still open, same amount, and a code the customer pays with. QRIS and e-wallet
 * links are not in the status answer, so those stay unknown. Finpay's own expiry is not in it either;
 * the order was created at most moments ago, so the requested lifetime counted from this attempt is
 * an upper bound, and the workflow confirms by inquiry at expiry anyway.
 */
async function recoverRegistration(
  api: FinpayApi,
  input: CreatePaymentInput,
  type: SourceOfFundsType,
  startedAt: number
): Promise<PaymentRegistration | undefined> {
  const kind = instructionKindOf(type);
  if (kind !== 'virtual-account' && kind !== 'payment-code') return undefined;
  const existing = await client.checkStatus(api, input.reference);
  if (!existing.ok) return undefined;
  const { data } = existing.body;
  const outcome = toPaymentOutcome(data);
  const code = data.sourceOfFunds?.paymentCode;
  if (outcome.status !== 'pending' || !code || Number(data.order.amount) !== input.amount) return undefined;
  const expiresAt = new Date(startedAt + input.expiresInMinutes * 60_000).toISOString();
  return {
    result: 'registered',
    instructions: kind === 'virtual-account' ? { vaNumber: code, expiresAt } : { paymentCode: code, expiresAt },
    outcome,
  };
}

function createPayments(api: FinpayApi): PaymentsCapability {
  const inquire = async (ref: PaymentRef): Promise<PaymentOutcome> => {
    const result = await client.checkStatus(api, ref.reference);
    if (result.ok) return toPaymentOutcome(result.body.data);
    const code = result.error.responseCode;
    // 4040001 "Transaction Not Found" (SNAP 404xx01): Finpay does not know this order (yet), e.g. an
    // initiate that timed out before Finpay stored it. Evidence, never grounds to fail.
    if (result.httpStatus === 404 && isTransactionNotFound(code)) return { status: 'not_found', providerStatus: code };
    // Any other 404 on a status check is undocumented: pending, since only Finpay's explicit word ends
    // a payment, and the workflow's own expiry settles the rest.
    if (result.httpStatus === 404) return { status: 'pending', providerStatus: code };
    throw rejectionError('status check', result);
  };

  return {
    methods: FINPAY_METHODS,
    amountLimits(method: PaymentMethod) {
      // Finpay publishes no per-channel limits, only the 14-digit amount field (reference §1.3);
      // these are Bank Indonesia's rail caps (QRIS Rp 10 million, registered e-wallets Rp 20 million).
      if (method === 'QRIS') return { min: 1, max: 10_000_000 };
      if (method.startsWith('EWALLET_')) return { min: 1, max: 20_000_000 };
      return { min: 1, max: MAX_RUPIAH };
    },

    validate(input) {
      const method = input.method;
      if (!isFinpayMethod(method)) return [{ field: 'method', message: `Finpay does not take ${method}` }];
      return dryRunRequest('finpay', FINPAY_FIELDS, () => toInitiateRequest({ ...input, method }), InitiateRequest);
    },

    async create(input): Promise<PaymentRegistration> {
      const startedAt = Date.now();
      const method = input.method;
      if (!isFinpayMethod(method)) {
        throw new OperationNotSupportedError(`Finpay does not take ${method}`, { provider: 'finpay' });
      }
      const type = SOURCE_OF_FUNDS_BY_METHOD[method];
      const result = await client.initiate(api, toInitiateRequest({ ...input, method }));
      if (result.ok) {
        return {
          result: 'registered',
          instructions: toPaymentInstructions(type, result.body),
          outcome: { status: 'pending', providerStatus: 'REQUEST_INITIATED' },
        };
      }
      const code = result.error.responseCode;
      if (result.httpStatus === 409 || code.startsWith('409')) {
        // The order id is taken, so an earlier attempt reached Finpay and its answer was lost. Where the
        // status check gives the code back (VA, payment code, retail), that earlier order is this payment.
        const recovered = await recoverRegistration(api, input, type, startedAt);
        if (recovered) return recovered;
        throw new OutcomeUnknownError(`Finpay already has order ${input.reference}; resolve it by status check`, {
          provider: 'finpay',
          providerCode: code,
          httpStatus: result.httpStatus,
        });
      }
      if (code === FinpayCode.featureNotAllowed) {
        return { result: 'declined', failure: { code, message: result.error.responseMessage } };
      }
      throw rejectionError('initiate', result);
    },

    inquire,

    async cancel(ref) {
      const result = await client.cancel(api, ref.reference);
      // "Invalid Transaction Status": already paid, expired or cancelled, or a QRIS/e-wallet order Finpay
      // won't cancel (reference §1.8). Either way the answer is Finpay's current view.
      if (result.ok || result.error.responseCode === FinpayCode.invalidTransactionStatus) return inquire(ref);
      throw rejectionError('cancel', result);
    },

    async refund(ref, input) {
      // Finpay's refund takes no refund id of ours, so a repeated refund is not recognised as one.
      const result = await client.refund(api, { order: { id: ref.reference, amount: toRupiahString(input.amount) } });
      if (result.ok) return inquire(ref);
      const code = result.error.responseCode;
      if (code === FinpayCode.invalidTransactionStatus || code === FinpayCode.transactionNotPermitted) {
        const current = await inquire(ref);
        if (current.status === 'refunded') return current;
      }
      throw rejectionError('refund', result);
    },
  };
}

function finpayAnswer(status: number, responseCode: string, responseMessage: string): CallbackAnswer {
  return { status, contentType: 'application/json', body: JSON.stringify({ responseCode, responseMessage }) };
}

export function createFinpayConnector(config: FinpayConfig): Connector {
  const http = createHttpClient({ provider: 'finpay', baseUrl: config.baseUrl, timeoutMs: config.timeoutMs });
  const api: FinpayApi = { http, credentials: { merchantId: config.merchantId, merchantKey: config.merchantKey } };
  const log = logger.child({ provider: 'finpay' });

  return {
    id: 'finpay',
    displayName: 'Finpay (Finnet) Payment Gateway',
    payments: createPayments(api),
    callbacks: {
      async verifyAndParse(callback) {
        const check = verifyFinpayCallbackSignature(callback.rawBody, config.merchantKey);
        if (!check.valid) {
          log.warn({ reason: check.reason }, 'finpay callback failed verification');
          if (check.reason === 'not-json' || check.reason === 'not-an-object') {
            throw new CallbackPayloadError('finpay callback is not a JSON object', { provider: 'finpay' });
          }
          throw new CallbackSignatureError(`finpay callback signature ${check.reason}`, { provider: 'finpay' });
        }
        const parsed = FinpayCallback.safeParse(JSON.parse(callback.rawBody.toString('utf8')));
        if (!parsed.success) {
          throw new CallbackPayloadError('finpay callback does not match the callback schema', {
            provider: 'finpay',
            cause: parsed.error,
          });
        }
        return toParsedCallback(parsed.data);
      },
      answer() {
        // Finpay's documented acknowledgement (reference §1.7); retries stop on HTTP 200.
        return finpayAnswer(200, FINPAY_SUCCESS_CODE, 'Success');
      },
      reject(reason) {
        return reason === 'signature'
          ? finpayAnswer(401, '4010000', 'Unauthorized. Invalid Signature')
          : finpayAnswer(400, '4000001', 'Invalid Field Format');
      },
      unknownReferencePolicy:
        'Finpay retries a callback until it gets HTTP 200 (its real schedule is undocumented); an order id ' +
        'Kasir does not know cannot become known by retrying, so it is acknowledged like an accepted one.',
    },
  };
}

export const finpayModule: ConnectorModule<FinpayConfig> = {
  id: 'finpay',
  configSchema: FinpayConfigSchema,
  createConnector: createFinpayConnector,
  simulatorSetup(saved) {
    const credentials =
      saved === undefined
        ? {
            merchantId: `FINPAYSIM${randomInt(100_000, 1_000_000)}`,
            merchantKey: randomBytes(32).toString('hex'),
          }
        : FinpayCredentialsSchema.parse(saved);
    return {
      credentials,
      connectorConfig: (baseUrl) => ({ baseUrl, timeoutMs: 10_000, ...credentials }),
      createSimulator: (options) => createFinpaySimulator({ ...options, credentials }),
    };
  },
};

export { createFinpaySimulator } from './simulator';
export type { FinpaySimulatorOptions } from './simulator';
export * as finpayClient from './client';
