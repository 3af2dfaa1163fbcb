/**
 * A faithful local Finpay PG: the same endpoints, Basic auth, validation (with the connector's own
 * schemas), 7-digit response codes and HTTP statuses, an order state machine, and HMAC-signed
 * callbacks retried until HTTP 200. How it differs from Finpay is listed in docs/providers/finpay.md §9.
 *
 * Callbacks are sent as PHP's default `json_encode` of the signed object, so their bytes are exactly
 * the canonical form their signature covers (docs/providers/finpay.md §2.3).
 */
import type { FinpayConfig } from '../../connectors/finpay/config';
import type { SourceOfFundsType } from '../../connectors/finpay/schemas';
import { logger } from '../../logger';
import { assembleSimulator, createSimulatorParts, simulatorSetupFactory } from '../simulator-kit';
import type { ProviderSimulator, SimulatorCommonOptions } from '../simulator-kit';
import { finpayControls } from './controls';
import { finpayTestCredentialsSchema, generateFinpayTestCredentials } from './credentials';
import type { FinpayTestCredentials } from './credentials';
import { finpayRoutes } from './routes';
import { FinpayState } from './state';

/**
 * [sim] Finpay does not document its callback retries (docs/providers/finpay.md §5): attempt at once, then after
 * 5 s, 30 s, 1 min and 5 min, each scaled by `timeScale`, until an HTTP 200.
 */
export const DEFAULT_CALLBACK_SCHEDULE_MS: readonly number[] = [0, 5_000, 30_000, 60_000, 300_000];

export interface FinpaySimulatorOptions extends SimulatorCommonOptions {
  credentials: FinpayTestCredentials;
  /** Delays before each callback attempt, in ms of provider time. */
  callbackScheduleMs?: readonly number[];
  /** Per-attempt HTTP timeout for callbacks. */
  callbackTimeoutMs?: number;
  /** Channels not enabled for this merchant: initiate answers HTTP 403 `4030001 Feature Not Allowed`. */
  disabledSourceOfFunds?: readonly SourceOfFundsType[];
}

export function createFinpaySimulator(options: FinpaySimulatorOptions): ProviderSimulator {
  const log = logger.child({ provider: 'finpay', role: 'simulator' });
  const parts = createSimulatorParts({
    provider: 'finpay',
    scheduleMs: options.callbackScheduleMs ?? DEFAULT_CALLBACK_SCHEDULE_MS,
    timeScale: options.timeScale ?? 1,
    timeoutMs: options.callbackTimeoutMs ?? 10_000,
    isAcknowledged: (status) => status === 200,
  });
  const state = new FinpayState({
    callbacks: parts.callbacks,
    merchantKey: options.credentials.merchantKey,
    timeScale: options.timeScale ?? 1,
    log,
  });
  const routes = finpayRoutes(state, {
    credentials: options.credentials,
    publicUrl: (options.publicUrl ?? 'https://devo.finpay.id').replace(/\/$/, ''),
    disabledSourceOfFunds: new Set(options.disabledSourceOfFunds ?? []),
    submissions: parts.submissions,
    log,
  });
  const controls = finpayControls(state, parts.callbacks);
  return assembleSimulator({ provider: 'finpay', ...parts, state, controls, routes });
}

export const finpaySimulatorSetup = simulatorSetupFactory(
  { schema: finpayTestCredentialsSchema, generate: generateFinpayTestCredentials, simulator: createFinpaySimulator },
  (credentials) => ({
    connectorConfig: (baseUrl): FinpayConfig => ({ baseUrl, timeoutMs: 10_000, ...credentials }),
  })
);

export { finpayTestCredentialsSchema } from './credentials';
export type { FinpayTestCredentials } from './credentials';
