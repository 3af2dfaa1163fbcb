/**
 * Ayopop (now Ayoconnect PPOB): bills and digital products through the partner API v2.
 * Inquiry, payment and status, and unsigned callbacks (docs/providers/ayopop.md).
 */
import type { BillInquiryInput, BillPaymentInput, BillPaymentOutcome } from '../../domain/bill';
import { OutcomeUnknownError, ProviderResponseInvalidError } from '../../domain/errors';
import { logger } from '../../logger';
import { jsonCallbackAnswer, parseCallbackJson } from '../callbacks';
import type { BillsCapability, Connector, RawCallback } from '../connector';
import type { ConnectorModule } from '../connector-module';
import { createAyopopClient } from './client';
import { ayopopConfigSchema } from './config';
import type { AyopopConfig } from './config';
import {
  toBillInquiryOutcome,
  toBillPaymentOutcome,
  toInquiryClaims,
  toParsedCallback,
  toPaymentClaims,
  toStatusClaims,
} from './mapping';
import { CallbackBody } from './schemas';

export { SANDBOX_BASE_URL, ayopopConfigSchema } from './config';
export type { AyopopConfig } from './config';

/** `providerCode` of a payment whose answer never arrived (timeout, dropped connection). */
export const AYOPOP_NO_ANSWER_CODE = 'NO_ANSWER';
/** `providerCode` of a payment answered with a body that does not parse. */
export const AYOPOP_INVALID_ANSWER_CODE = 'INVALID_ANSWER';

/** The bill detail line in which Ayopop states a product's price ("product price"). */
const PRICE_LINE = 'Harga Produk';

const log = logger.child({ provider: 'ayopop' });

export function createAyopopConnector(config: AyopopConfig): Connector {
  const client = createAyopopClient(config);

  const bills: BillsCapability = {
    async inquire(input: BillInquiryInput) {
      // Taken before the call, so the estimated expiry is never later than Ayopop's own.
      const sentAt = Date.now();
      const response = await client.inquire(toInquiryClaims(config.apiKey, input));
      const expiresAt = config.inquiryTtlMs === undefined ? undefined : new Date(sentAt + config.inquiryTtlMs);
      const outcome = toBillInquiryOutcome(response, expiresAt);
      // A product quoted without its price (seed 004: a Google Play voucher answers `amount: 0`) is paid for
      // the merchant's amount (src/domain/bill.ts `withQuotedPrice`): its price line says so, not 0.
      if (outcome.result === 'ok' && outcome.amount === 0 && input.amount !== undefined && input.amount > 0) {
        const price = String(input.amount);
        outcome.details = outcome.details.map((line) => (line.key === PRICE_LINE ? { ...line, value: price } : line));
      }
      return outcome;
    },

    async pay(input: BillPaymentInput): Promise<BillPaymentOutcome> {
      const claims = toPaymentClaims(config.apiKey, input, input.callbackUrl ?? config.callbackUrl);
      try {
        return toBillPaymentOutcome(await client.pay(claims));
      } catch (err) {
        // A timeout, 502 or any unreadable answer is "processing" (docs/providers/ayopop.md §4.3); the workflow asks
        // status for the same refNumber after 150 s and never pays again.
        if (err instanceof OutcomeUnknownError) {
          log.warn({ reference: input.reference, err: err.message }, 'payment outcome unknown; resolve by status');
          return {
            status: 'processing',
            providerCode: err.httpStatus === undefined ? AYOPOP_NO_ANSWER_CODE : `HTTP_${err.httpStatus}`,
            message: err.message,
          };
        }
        if (err instanceof ProviderResponseInvalidError) {
          log.warn({ reference: input.reference, err: err.message }, 'payment answer unreadable; resolve by status');
          return { status: 'processing', providerCode: AYOPOP_INVALID_ANSWER_CODE, message: err.message };
        }
        throw err;
      }
    },

    async status(reference: string) {
      return toBillPaymentOutcome(await client.status(toStatusClaims(config.apiKey, reference)));
    },
  };

  return {
    id: 'ayopop',
    displayName: 'Ayopop (Ayoconnect PPOB)',
    bills,
    callbacks: {
      async verifyAndParse(callback: RawCallback) {
        // Nothing to verify: Ayopop PPOB callbacks carry no signature or token (docs/providers/ayopop.md §5).
        return toParsedCallback(parseCallbackJson('ayopop', callback.rawBody, CallbackBody, 'Ayopop callback body'));
      },
      // Ayopop needs HTTP 200 and nothing else (docs/providers/ayopop.md §5); the body mirrors its envelope.
      answer: () => jsonCallbackAnswer(200, { success: true, message: { ID: 'Diterima', EN: 'Received' } }),
      reject: (reason) =>
        reason === 'signature'
          ? jsonCallbackAnswer(401, { success: false, message: { ID: 'Tidak terotorisasi', EN: 'Unauthorized' } })
          : jsonCallbackAnswer(400, { success: false, message: { ID: 'Permintaan tidak valid', EN: 'Bad request' } }),
      unknownReferencePolicy:
        'Ayopop retries every callback not answered HTTP 200; a refNumber Kasir does not know will never become known, so it is answered 200 to stop the retries.',
    },
  };
}

export const ayopopModule: ConnectorModule<AyopopConfig> = {
  id: 'ayopop',
  configSchema: ayopopConfigSchema,
  createConnector: createAyopopConnector,
};
