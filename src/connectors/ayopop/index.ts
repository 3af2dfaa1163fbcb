/**
 * Ayopop (now Ayoconnect PPOB): bills and digital products through the partner API v2.
 * Inquiry, payment and status (seed 004), the partner catalogue and deposit, and unsigned callbacks.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { BillInquiryInput, BillPaymentInput, BillPaymentOutcome } from '../../domain/bill';
import {
  CallbackPayloadError,
  OutcomeUnknownError,
  ProviderAuthError,
  ProviderResponseInvalidError,
  ProviderUnavailableError,
} from '../../domain/errors';
import type { ProviderBalance } from '../../domain/payout';
import { logger } from '../../logger';
import type { BillsCapability, CallbackAnswer, Connector, RawCallback } from '../connector';
import { createHttpClient } from '../http';
import type { ConnectorModule, SimulatorSetup } from '../module';
import type { AyopopClientContext } from './client';
import { postBalance, postInquiry, postPayment, postProductList, postStatus } from './client';
import {
  UNAUTHORISED_CODE,
  toBillInquiryOutcome,
  toBillPaymentOutcome,
  toInquiryClaims,
  toParsedCallback,
  toPaymentClaims,
  toStatusClaims,
} from './mapping';
import { CallbackBody } from './schemas';
import type { AnyEnvelope, ProductItem } from './schemas';
import { AYOPOP_SIM_DEFAULTS, createAyopopSimulator } from './simulator';

/** Ayopop's development host as the docs' code samples use it (reference Part 2.1); production is given at onboarding. */
export const AYOPOP_SANDBOX_URL = 'https://dev.openapi.ayopop.id';

export const AyopopConfigSchema = z.object({
  baseUrl: z.url().default(AYOPOP_SANDBOX_URL),
  /** Per-request timeout. A production partner client uses 10 s for payment (reference 2.7). */
  timeoutMs: z.number().int().positive().default(10_000),
  /** The API key: sent as `KEY` and as the `partnerId` claim. */
  apiKey: z.string().min(1),
  /** The API secret that keys the HS256 `TOKEN`. */
  apiSecret: z.string().min(1),
  /** Sent as `callbackUrls` when a payment names none; without it Ayopop uses the dashboard URL. */
  callbackUrl: z.url().optional(),
  /**
   * How long an inquiry id stays payable, when the partner agreement says. Ayopop's answer does not
   * carry it (reference 2.4), so without this the inquiry outcome has no `expiresAt`.
   */
  inquiryTtlMs: z.number().int().positive().optional(),
});
export type AyopopConfig = z.infer<typeof AyopopConfigSchema>;

/** `providerCode` of a payment whose answer never arrived (timeout, dropped connection). */
export const AYOPOP_NO_ANSWER_CODE = 'NO_ANSWER';
/** `providerCode` of a payment answered with a body that does not parse. */
export const AYOPOP_INVALID_ANSWER_CODE = 'INVALID_ANSWER';

/** Ayopop extras beyond the `Connector` interface: the partner catalogue and deposit. */
export interface AyopopPartnerApi {
  products(): Promise<ProductItem[]>;
  /** The partner deposit bill payments are debited from. */
  balance(): Promise<ProviderBalance>;
}

export interface AyopopConnector extends Connector {
  readonly bills: BillsCapability;
  readonly partner: AyopopPartnerApi;
}

const log = logger.child({ provider: 'ayopop' });

function throwFailedPartnerCall(what: string, envelope: AnyEnvelope): never {
  const details = { provider: 'ayopop' as const, providerCode: String(envelope.responseCode) };
  if (envelope.responseCode === UNAUTHORISED_CODE) {
    throw new ProviderAuthError(`Ayopop refused our credentials for ${what}: ${envelope.message.EN}`, details);
  }
  throw new ProviderUnavailableError(`Ayopop could not answer ${what}: ${envelope.message.EN}`, details);
}

function jsonAnswer(status: number, body: unknown): CallbackAnswer {
  return { status, contentType: 'application/json', body: JSON.stringify(body) };
}

export function createAyopopConnector(config: AyopopConfig): AyopopConnector {
  const ctx: AyopopClientContext = {
    http: createHttpClient({ provider: 'ayopop', baseUrl: config.baseUrl, timeoutMs: config.timeoutMs }),
    apiKey: config.apiKey,
    apiSecret: config.apiSecret,
  };

  const bills: BillsCapability = {
    async inquire(input: BillInquiryInput) {
      // Taken before the call, so the estimated expiry is never later than Ayopop's own.
      const sentAt = Date.now();
      const response = await postInquiry(ctx, toInquiryClaims(config.apiKey, input));
      const expiresAt = config.inquiryTtlMs === undefined ? undefined : new Date(sentAt + config.inquiryTtlMs);
      return toBillInquiryOutcome(response, expiresAt);
    },

    async pay(input: BillPaymentInput): Promise<BillPaymentOutcome> {
      const claims = toPaymentClaims(config.apiKey, input, input.callbackUrl ?? config.callbackUrl);
      try {
        return toBillPaymentOutcome(await postPayment(ctx, claims));
      } catch (err) {
        // Reference 2.7: a timeout, 502 or any unreadable answer is "processing"; the workflow asks
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
      return toBillPaymentOutcome(await postStatus(ctx, toStatusClaims(config.apiKey, reference)));
    },
  };

  const partner: AyopopPartnerApi = {
    async products() {
      const response = await postProductList(ctx, { partnerId: config.apiKey });
      if (!response.success) throwFailedPartnerCall('the product list', response);
      return response.data;
    },
    async balance() {
      const response = await postBalance(ctx, { partnerId: config.apiKey });
      if (!response.success) throwFailedPartnerCall('the deposit balance', response);
      return { available: response.data.balance };
    },
  };

  return {
    id: 'ayopop',
    displayName: 'Ayopop (Ayoconnect PPOB)',
    bills,
    partner,
    callbacks: {
      async verifyAndParse(callback: RawCallback) {
        // Nothing to verify: Ayopop PPOB callbacks carry no signature or token (reference 2.6).
        let json: unknown;
        try {
          json = JSON.parse(callback.rawBody.toString('utf8'));
        } catch (cause) {
          throw new CallbackPayloadError('Ayopop callback body is not JSON', { provider: 'ayopop', cause });
        }
        const parsed = CallbackBody.safeParse(json);
        if (!parsed.success) {
          throw new CallbackPayloadError('Ayopop callback body does not have the status shape', {
            provider: 'ayopop',
            cause: parsed.error,
          });
        }
        return toParsedCallback(parsed.data);
      },
      // Ayopop needs HTTP 200 and nothing else (reference 2.6); the body mirrors its envelope.
      answer: () => jsonAnswer(200, { success: true, message: { ID: 'Diterima', EN: 'Received' } }),
      reject: (reason) =>
        reason === 'signature'
          ? jsonAnswer(401, { success: false, message: { ID: 'Tidak terotorisasi', EN: 'Unauthorized' } })
          : jsonAnswer(400, { success: false, message: { ID: 'Permintaan tidak valid', EN: 'Bad request' } }),
      unknownReferencePolicy:
        'Ayopop retries every callback not answered HTTP 200; a refNumber Kasir does not know will never become known, so it is answered 200 to stop the retries.',
    },
  };
}

const AyopopSimulatorCredentials = z.object({
  apiKey: z.string().min(1),
  apiSecret: z.string().min(16),
});
type AyopopSimulatorCredentials = z.infer<typeof AyopopSimulatorCredentials>;

/**
 * Test-only credentials and a simulator that accepts them. `connectorConfig` reports the inquiry
 * validity of the most recently created simulator (scaled by its `timeScale`), so the connector's
 * `expiresAt` matches what that simulator enforces.
 */
function simulatorSetup(saved?: unknown): SimulatorSetup<AyopopConfig> {
  const credentials: AyopopSimulatorCredentials =
    saved === undefined
      ? { apiKey: `kasir-sim-${randomBytes(6).toString('hex')}`, apiSecret: randomBytes(32).toString('base64url') }
      : AyopopSimulatorCredentials.parse(saved);
  let inquiryTtlMs: number = AYOPOP_SIM_DEFAULTS.inquiryTtlMs;
  return {
    credentials,
    connectorConfig: (baseUrl) => ({
      baseUrl,
      timeoutMs: 10_000,
      apiKey: credentials.apiKey,
      apiSecret: credentials.apiSecret,
      inquiryTtlMs,
    }),
    createSimulator(options = {}) {
      inquiryTtlMs = Math.max(1, Math.round(AYOPOP_SIM_DEFAULTS.inquiryTtlMs * (options.timeScale ?? 1)));
      return createAyopopSimulator({ ...options, partnerId: credentials.apiKey, apiSecret: credentials.apiSecret });
    },
  };
}

export const ayopopModule: ConnectorModule<AyopopConfig> = {
  id: 'ayopop',
  configSchema: AyopopConfigSchema,
  createConnector: createAyopopConnector,
  simulatorSetup,
};
