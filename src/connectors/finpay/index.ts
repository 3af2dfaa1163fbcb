/**
 * Finpay (Finnet) Payment Gateway connector: Finpay Payment Code, virtual accounts, QRIS, retail and
 * e-wallets through `POST /pg/payment/card/initiate`, with status check, cancel and refund, and
 * HMAC-SHA512-signed notification callbacks. Contract: docs/providers/finpay.md.
 */
import {
  CallbackPayloadError,
  CallbackSignatureError,
  OperationNotSupportedError,
  OutcomeUnknownError,
} from '../../domain/errors';
import { MAX_RUPIAH, toRupiahString } from '../../domain/money';
import type {
  CreatePaymentInput,
  PaymentMethod,
  PaymentOutcome,
  PaymentRef,
  PaymentRegistration,
} from '../../domain/payment';
import { logger } from '../../logger';
import { jsonCallbackAnswer, parseCallbackJson } from '../callbacks';
import type { CallbackAnswer, CallbacksCapability, Connector, PaymentsCapability } from '../connector';
import type { ConnectorModule } from '../connector-module';
import { dryRunRequest } from '../dry-run-request';
import { createFinpayClient } from './client';
import type { FinpayClient } from './client';
import { finpayConfigSchema } from './config';
import type { FinpayConfig } from './config';
import {
  FINPAY_METHODS,
  FinpayCode,
  SOURCE_OF_FUNDS_BY_METHOD,
  instructionKindOf,
  isFinpayMethod,
  isTransactionNotFound,
  toInitiateRequest,
  toParsedCallback,
  toPaymentInstructions,
  toPaymentOutcome,
  toRefusalError,
} from './mapping';
import { FINPAY_SUCCESS_CODE, FinpayCallback, InitiateRequest } from './schemas';
import type { SourceOfFundsType } from './schemas';
import { verifyFinpayCallbackSignature } from './signing';

export { SANDBOX_BASE_URL, finpayConfigSchema } from './config';
export type { FinpayConfig } from './config';

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
  client: FinpayClient,
  input: CreatePaymentInput,
  type: SourceOfFundsType,
  startedAt: number
): Promise<PaymentRegistration | undefined> {
  const kind = instructionKindOf(type);
  if (kind !== 'virtual-account' && kind !== 'payment-code') return undefined;
  const existing = await client.checkStatus(input.reference);
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

function createPayments(client: FinpayClient): PaymentsCapability {
  const inquire = async (ref: PaymentRef): Promise<PaymentOutcome> => {
    const answer = await client.checkStatus(ref.reference);
    if (answer.ok) return toPaymentOutcome(answer.body.data);
    const code = answer.refusal.responseCode;
    // 4040001 "Transaction Not Found" (SNAP 404xx01): Finpay does not know this order (yet), e.g. an
    // initiate that timed out before Finpay stored it. Evidence, never grounds to fail.
    if (answer.httpStatus === 404 && isTransactionNotFound(code)) return { status: 'not_found', providerStatus: code };
    // Any other 404 on a status check is undocumented: pending, since only Finpay's explicit word ends
    // a payment, and the workflow's own expiry settles the rest.
    if (answer.httpStatus === 404) return { status: 'pending', providerStatus: code };
    throw toRefusalError('status check', answer.httpStatus, answer.refusal);
  };

  return {
    methods: FINPAY_METHODS,
    amountLimits(method: PaymentMethod) {
      // Finpay publishes no per-channel limits, only the 14-digit amount field (docs/providers/finpay.md §7.1);
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
      const answer = await client.initiate(toInitiateRequest({ ...input, method }));
      if (answer.ok) {
        return {
          result: 'registered',
          instructions: toPaymentInstructions(type, answer.body),
          outcome: { status: 'pending', providerStatus: 'REQUEST_INITIATED' },
        };
      }
      const code = answer.refusal.responseCode;
      if (answer.httpStatus === 409 || code.startsWith('409')) {
        // The order id is taken, so an earlier attempt reached Finpay and its answer was lost. Where the
        // status check gives the code back (VA, payment code, retail), that earlier order is this payment.
        // Recovery is best effort: whatever fails in it, the order exists, so the outcome is unknown
        // (never a refusal a caller could read as "nothing was created").
        const recovered = await recoverRegistration(client, input, type, startedAt).catch(() => undefined);
        if (recovered) return recovered;
        throw new OutcomeUnknownError(`Finpay already has order ${input.reference}; resolve it by status check`, {
          provider: 'finpay',
          providerCode: code,
          httpStatus: answer.httpStatus,
        });
      }
      if (code === FinpayCode.featureNotAllowed) {
        return { result: 'declined', failure: { code, message: answer.refusal.responseMessage } };
      }
      throw toRefusalError('initiate', answer.httpStatus, answer.refusal);
    },

    inquire,

    async cancel(ref) {
      const answer = await client.cancel(ref.reference);
      // "Invalid Transaction Status": already paid, expired or cancelled, or a QRIS/e-wallet order Finpay
      // won't cancel (docs/providers/finpay.md §3.5). Either way the answer is Finpay's current view.
      if (answer.ok || answer.refusal.responseCode === FinpayCode.invalidTransactionStatus) return inquire(ref);
      throw toRefusalError('cancel', answer.httpStatus, answer.refusal);
    },

    async refund(ref, input) {
      // Finpay's refund takes no refund id of ours (docs/providers/finpay.md §6): a repeat is not
      // recognised as one, so Kasir sends each refund once and resolves a lost answer by status, and a
      // refusal (even "already refunded") is a refusal of this request, never read as its success.
      const answer = await client.refund({ order: { id: ref.reference, amount: toRupiahString(input.amount) } });
      if (!answer.ok) throw toRefusalError('refund', answer.httpStatus, answer.refusal);
      // Accepted. Where the payment now stands is best effort: a failed status check cannot undo that.
      return inquire(ref).catch(() => ({
        status: input.amount >= ref.amount ? ('refunded' as const) : ('succeeded' as const),
        providerStatus: 'REFUND_ACCEPTED',
        paidAmount: ref.amount,
      }));
    },
  };
}

function finpayAnswer(status: number, responseCode: string, responseMessage: string): CallbackAnswer {
  return jsonCallbackAnswer(status, { responseCode, responseMessage });
}

function createCallbacks(config: FinpayConfig): CallbacksCapability {
  const log = logger.child({ provider: 'finpay' });
  return {
    async verifyAndParse(callback) {
      const check = verifyFinpayCallbackSignature(callback.rawBody, config.merchantKey);
      if (!check.valid) {
        log.warn({ reason: check.reason }, 'finpay callback failed verification');
        if (check.reason === 'not-json' || check.reason === 'not-an-object') {
          throw new CallbackPayloadError('finpay callback is not a JSON object', { provider: 'finpay' });
        }
        throw new CallbackSignatureError(`finpay callback signature ${check.reason}`, { provider: 'finpay' });
      }
      return toParsedCallback(parseCallbackJson('finpay', callback.rawBody, FinpayCallback, 'finpay callback'));
    },
    answer() {
      // Finpay's documented acknowledgement (docs/providers/finpay.md §5); retries stop on HTTP 200.
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
  };
}

export function createFinpayConnector(config: FinpayConfig): Connector {
  return {
    id: 'finpay',
    displayName: 'Finpay (Finnet) Payment Gateway',
    payments: createPayments(createFinpayClient(config)),
    callbacks: createCallbacks(config),
  };
}

export const finpayModule: ConnectorModule<FinpayConfig> = {
  id: 'finpay',
  configSchema: finpayConfigSchema,
  createConnector: createFinpayConnector,
};
