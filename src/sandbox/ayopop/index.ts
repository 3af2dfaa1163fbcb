/**
 * A faithful local Ayopop (Ayoconnect PPOB) partner API v2, for tests and `npm start` (how it differs
 * from Ayopop: docs/providers/ayopop.md §9).
 *
 * - Inquiry by a scripted catalogue of account numbers ({@link AYOPOP_SIM_ACCOUNTS}); an inquiry id is
 *   bound to one account, product and amount, expires after `inquiryTtlMs` (scaled by `timeScale`) and
 *   pays at most one payment.
 * - Payment: the partner deposit is debited on acceptance (`299`) and refunded on failure (`1xx`);
 *   a reused `refNumber` answers `102` and leaves the original untouched. `299` moves to `0` (with a
 *   token) or `1xx` on a timer (`settleAfterMs`, scaled) or by a control.
 * - Status by `refNumber`; an unknown one answers `188` "transaction is not available".
 * - Callbacks: the status-shaped body, unsigned, POSTed to each `callbackUrls` entry when a `299`
 *   transaction becomes final, retried until HTTP 200.
 *
 * Faults through the shared routes: `POST /_sim/faults` (`slow` past the client timeout, `http-5xx`
 * with 502/504, `accept-then-drop`) and `POST /_sim/callback-faults` (`duplicate`, `suppress`, `delay`).
 * `GET /_sim/submissions` counts every authenticated, well-formed payment per `refNumber`, duplicates
 * included, so a test can prove a timed-out payment was sent exactly once.
 */
import type { AyopopConfig } from '../../connectors/ayopop/config';
import type { Rupiah } from '../../domain/money';
import { logger } from '../../logger';
import { assembleSimulator, createSimulatorParts, simulatorSetupFactory } from '../simulator-kit';
import type { ProviderSimulator, SimulatorCommonOptions } from '../simulator-kit';
import { ayopopControls } from './controls';
import { ayopopTestCredentialsSchema, generateAyopopTestCredentials } from './credentials';
import type { AyopopTestCredentials } from './credentials';
import { ayopopRoutes } from './routes';
import { AYOPOP_SIM_DEFAULTS, AyopopState } from './state';
import type { SimOrder } from './state';

export interface AyopopSimulatorOptions extends SimulatorCommonOptions {
  credentials: AyopopTestCredentials;
  initialDeposit?: Rupiah;
  inquiryTtlMs?: number;
  settleAfterMs?: number;
  callbackScheduleMs?: readonly number[];
}

export interface AyopopSimulator extends ProviderSimulator {
  /** Current partner deposit, in rupiah. */
  deposit(): Rupiah;
  order(refNumber: string): Readonly<SimOrder> | undefined;
  /** Settles a 299 order as if the biller answered; false when the order is missing or already final. */
  succeed(refNumber: string, token?: string): boolean;
  fail(refNumber: string, code?: number): boolean;
}

export function createAyopopSimulator(options: AyopopSimulatorOptions): AyopopSimulator {
  const log = logger.child({ simulator: 'ayopop' });
  const timeScale = options.timeScale ?? 1;
  const parts = createSimulatorParts({
    provider: 'ayopop',
    scheduleMs: options.callbackScheduleMs ?? AYOPOP_SIM_DEFAULTS.callbackScheduleMs,
    timeScale,
    // Anything but HTTP 200 is "not delivered" (docs/providers/ayopop.md §5).
    isAcknowledged: (status) => status === 200,
  });
  const state = new AyopopState({
    callbacks: parts.callbacks,
    timeScale,
    initialDeposit: options.initialDeposit ?? AYOPOP_SIM_DEFAULTS.initialDeposit,
    inquiryTtlMs: options.inquiryTtlMs ?? AYOPOP_SIM_DEFAULTS.inquiryTtlMs,
    settleAfterMs: options.settleAfterMs ?? AYOPOP_SIM_DEFAULTS.settleAfterMs,
    log,
  });
  const routes = ayopopRoutes(state, { credentials: options.credentials, submissions: parts.submissions, log });
  const controls = ayopopControls(state);
  return {
    ...assembleSimulator({ provider: 'ayopop', ...parts, state, controls, routes }),
    deposit: () => state.deposit,
    order: (refNumber) => state.orders.get(refNumber),
    succeed: (refNumber, token) => state.succeed(refNumber, token),
    fail: (refNumber, code) => state.fail(refNumber, code),
  };
}

/**
 * Test-only credentials and a simulator that accepts them. `connectorConfig` reports the inquiry
 * validity of the most recently created simulator (scaled by its `timeScale`), so the connector's
 * `expiresAt` matches what that simulator enforces.
 */
export const ayopopSimulatorSetup = simulatorSetupFactory(
  { schema: ayopopTestCredentialsSchema, generate: generateAyopopTestCredentials, simulator: createAyopopSimulator },
  (credentials) => {
    let inquiryTtlMs: number = AYOPOP_SIM_DEFAULTS.inquiryTtlMs;
    return {
      connectorConfig: (baseUrl): AyopopConfig => ({
        baseUrl,
        timeoutMs: 10_000,
        apiKey: credentials.apiKey,
        apiSecret: credentials.apiSecret,
        inquiryTtlMs,
      }),
      creating(options) {
        const ttl = options.inquiryTtlMs ?? AYOPOP_SIM_DEFAULTS.inquiryTtlMs;
        inquiryTtlMs = Math.max(1, Math.round(ttl * (options.timeScale ?? 1)));
      },
    };
  }
);

export {
  AYOPOP_SIM_ACCOUNTS,
  AYOPOP_SIM_DEFAULTS,
  AYOPOP_SIM_DUPLICATE_REFERENCE_CODE,
  AYOPOP_SIM_INSUFFICIENT_DEPOSIT_CODE,
  AYOPOP_SIM_PRODUCTS,
  AYOPOP_SIM_SETTLE_FAILURE_CODE,
} from './state';
export { ayopopTestCredentialsSchema } from './credentials';
export type { AyopopTestCredentials } from './credentials';
