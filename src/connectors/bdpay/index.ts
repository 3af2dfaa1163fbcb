/**
 * BDPay (the BDPay / TopPay / ClickPay / Jayapay white-label platform; contract: docs/providers/bdpay.md):
 * pay-in by VA, Alfamart code, QRIS, DANA and OVO; payouts ("pay on behalf") with balance.
 *
 * The payout rule this connector exists to keep: a submission is answered `accepted` only on a verified
 * SUCCESS and `failed` only on a verified FAIL that does not say the orderNum already exists. Everything
 * else (timeout, dropped connection, 5xx, an answer that does not parse or whose platSign does not
 * verify, UNKNOWN, and a FAIL "orderNum already exists", code DUPLICATE_ORDER) is `unknown`, resolved by
 * CASH_QUERY and never by submitting again (docs/providers/bdpay.md §4.1, §6). Pay-in is read the same way: a
 * duplicate orderNum on an order throws OutcomeUnknownError (DUPLICATE_ORDER), never a decline.
 */
import {
  CallbackPayloadError,
  CallbackSignatureError,
  OutcomeUnknownError,
  ProviderResponseInvalidError,
  ProviderUnavailableError,
  isKasirError,
} from '../../domain/errors';
import { MAX_RUPIAH } from '../../domain/money';
import type { PayoutSubmission } from '../../domain/payout';
import { logger } from '../../logger';
import type { CallbacksCapability, Connector, PaymentsCapability, PayoutsCapability, RawCallback } from '../connector';
import type { ConnectorModule } from '../connector-module';
import { dryRunRequest } from '../dry-run-request';
import { createBdpayClient } from './client';
import { bdpayConfigSchema } from './config';
import type { BdpayConfig } from './config';
import {
  SUPPORTED_METHODS,
  payInPathFor,
  toBalanceRequest,
  toBdpayMethod,
  toCashRequest,
  toParsedCallback,
  toPayInRequest,
  toPaymentOutcome,
  toPaymentRegistration,
  toPayoutOutcome,
  toPayoutSubmission,
  toProviderBalance,
  toQueryRequest,
} from './mapping';
import type { RequestContext } from './mapping';
import { CALLBACK_ACKNOWLEDGEMENT } from './schemas';
import { toPublicKey, verifyFieldSignature } from './signing';

export { SANDBOX_BASE_URL, bdpayConfigSchema } from './config';
export type { BdpayConfig } from './config';

const provider = 'bdpay';

/**
 * A callback's fields: form-encoded; JSON tolerated, as one TopPay integration receives it
 * (docs/providers/bdpay.md §5).
 */
function readCallbackFields(callback: RawCallback): Record<string, string> {
  const text = callback.rawBody.toString('utf8');
  const contentType = callback.contentType ?? callback.headers['content-type'] ?? '';
  const fields: Record<string, string> = {};
  if (contentType.includes('json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new CallbackPayloadError('BDPay callback is not valid JSON', { provider, cause });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CallbackPayloadError('BDPay callback is not a JSON object', { provider });
    }
    for (const [key, value] of Object.entries(parsed)) {
      if (value === null || typeof value === 'object') continue;
      fields[key] = String(value as string | number | boolean);
    }
  } else {
    for (const [key, value] of new URLSearchParams(text)) {
      // A repeated field would make "what was signed" ambiguous.
      if (key in fields) throw new CallbackPayloadError(`BDPay callback repeats the field ${key}`, { provider });
      fields[key] = value;
    }
  }
  if (Object.keys(fields).length === 0) throw new CallbackPayloadError('BDPay callback has no fields', { provider });
  return fields;
}

/** Why a submission came back `unknown` when BDPay gave no trustworthy answer. */
function unknownCodeFor(err: unknown): string {
  if (err instanceof OutcomeUnknownError || err instanceof ProviderUnavailableError) return 'NO_ANSWER';
  if (err instanceof ProviderResponseInvalidError) return 'UNTRUSTED_ANSWER';
  if (isKasirError(err) && err.httpStatus !== undefined) return `HTTP_${err.httpStatus}`;
  return 'ERROR';
}

export function createBdpayConnector(config: BdpayConfig): Connector {
  const log = logger.child({ provider });
  const client = createBdpayClient(config);
  const platformPublicKey = toPublicKey(config.platformPublicKeyPem);
  const context = (): RequestContext => ({ merchantCode: config.merchantCode, now: new Date() });

  /** BDPay's pay-in fields in Kasir's vocabulary, for refusals the API names. */
  const BDPAY_FIELDS: Readonly<Record<string, string>> = {
    orderNum: 'reference',
    payMoney: 'amount',
    productDetail: 'description',
    name: 'customer.name',
    email: 'customer.email',
    phone: 'customer.phone',
    redirectUrl: 'returnUrl',
    expiryPeriod: 'expiresInMinutes',
  };

  const payments: PaymentsCapability = {
    methods: SUPPORTED_METHODS,
    // BDPay only asks for a positive integer of rupiah, with no per-method limits (docs/providers/bdpay.md §7.1).
    amountLimits: () => ({ min: 1, max: MAX_RUPIAH }),
    validate: (input) => dryRunRequest('bdpay', BDPAY_FIELDS, () => toPayInRequest(input, context())),
    async create(input) {
      const ctx = context();
      const fields = toPayInRequest(input, ctx);
      const response = await client.createOrder(payInPathFor(toBdpayMethod(input.method)), fields);
      return toPaymentRegistration(response, input, ctx.now);
    },
    async inquire(ref) {
      const response = await client.query(toQueryRequest('ORDER_QUERY', ref.reference, context()));
      return toPaymentOutcome(response, ref.reference);
    },
  };

  const payouts: PayoutsCapability = {
    async submit(input): Promise<PayoutSubmission> {
      // Built (and validated) before anything is sent: an error here means BDPay never saw the payout.
      const fields = toCashRequest(input, context());
      try {
        return toPayoutSubmission(await client.submitCash(fields), input.reference);
      } catch (err) {
        // Sent, but no answer we can trust: it may exist. Never retried here; CASH_QUERY decides.
        log.warn(
          { reference: input.reference, err: err instanceof Error ? err.message : String(err) },
          'payout outcome unknown'
        );
        return {
          result: 'unknown',
          providerCode: unknownCodeFor(err),
          message: err instanceof Error ? err.message : String(err),
        };
      }
    },
    async inquire(ref) {
      const response = await client.query(toQueryRequest('CASH_QUERY', ref.reference, context()));
      return toPayoutOutcome(response, ref.reference);
    },
    async balance() {
      return toProviderBalance(await client.queryBalance(toBalanceRequest(context())));
    },
  };

  const textAnswer = (status: number, body: string) => ({ status, contentType: 'text/plain; charset=utf-8', body });
  const callbacks: CallbacksCapability = {
    async verifyAndParse(callback) {
      const fields = readCallbackFields(callback);
      // The signature covers the field values, not the bytes (docs/providers/bdpay.md §2.1), so it is checked on the
      // decoded fields before anything in them is read.
      if (!verifyFieldSignature(fields, 'platSign', platformPublicKey)) {
        throw new CallbackSignatureError('BDPay callback platSign does not verify', { provider });
      }
      return toParsedCallback(fields);
    },
    answer: () => textAnswer(200, CALLBACK_ACKNOWLEDGEMENT),
    reject: (reason) =>
      reason === 'signature'
        ? textAnswer(401, 'FAIL: platSign does not verify')
        : textAnswer(400, 'FAIL: unreadable callback'),
    unknownReferencePolicy:
      'BDPay notifies 6 times until the body is exactly SUCCESS; an order Kasir does not know cannot become known by retrying, so it is answered SUCCESS',
  };

  return { id: provider, displayName: 'BDPay', payments, payouts, callbacks };
}

export const bdpayModule: ConnectorModule<BdpayConfig> = {
  id: provider,
  configSchema: bdpayConfigSchema,
  createConnector: createBdpayConnector,
};
