/**
 * A faithful local NICEPAY SNAP e-wallet direct debit (how it differs from NICEPAY: docs/providers/nicepay.md §9).
 *
 * Same paths under `/nicepay`, same token and HMAC checks, the same SNAP response codes with HTTP status =
 * first three digits of `responseCode`, a state machine per `partnerReferenceNo`, and RSA-signed
 * notifications retried until answered `2005600`. Requests are validated with the connector's own schemas.
 */
import { z } from 'zod';
import { nicepayConfigSchema } from '../../connectors/nicepay/config';
import type { NicepayConfig } from '../../connectors/nicepay/config';
import { logger } from '../../logger';
import { assembleSimulator, createSimulatorParts, simulatorSetupFactory } from '../simulator-kit';
import type { ProviderSimulator, SimulatorCommonOptions } from '../simulator-kit';
import { nicepayControls } from './controls';
import { generateNicepayTestCredentials, nicepayTestCredentialsSchema } from './credentials';
import type { NicepayTestCredentials } from './credentials';
import { nicepayRoutes } from './routes';
import { NicepayState } from './state';
import type { SimOrder } from './state';

/**
 * NICEPAY does not publish its SNAP notification retry schedule (docs/providers/nicepay.md §5); this default is ours:
 * first try after 1 s, then 10 s, 1 min, 5 min, 15 min, 1 h, 2 h.
 */
export const DEFAULT_NOTIFICATION_SCHEDULE_MS: readonly number[] = [
  1_000, 10_000, 60_000, 300_000, 900_000, 3_600_000, 7_200_000,
];

export interface NicepaySimulatorOptions extends SimulatorCommonOptions {
  credentials: NicepayTestCredentials;
  /** Delays before each notification attempt (provider time, scaled by `timeScale`). */
  notificationScheduleMs?: readonly number[];
  /** Access-token lifetime announced as `expiresIn` (docs/providers/nicepay.md §2.1: 900). Not scaled. */
  tokenLifetimeSeconds?: number;
  /** Expiry of a debit sent without `validUpTo` (undocumented; ours), in provider minutes. */
  defaultValidityMinutes?: number;
}

export interface NicepaySimulator extends ProviderSimulator {
  order(partnerReferenceNo: string): SimOrder | undefined;
  /** Access tokens issued so far, and how many are still valid. */
  tokenStats(): { issued: number; active: number };
  /** Makes every issued token unknown, as if NICEPAY expired them early. */
  expireTokens(): void;
}

const NotificationAcknowledgement = z.object({ responseCode: z.literal('2005600') });

export function createNicepaySimulator(options: NicepaySimulatorOptions): NicepaySimulator {
  const { credentials } = options;
  const timeScale = options.timeScale ?? 1;
  const parts = createSimulatorParts({
    provider: 'nicepay',
    scheduleMs: options.notificationScheduleMs ?? DEFAULT_NOTIFICATION_SCHEDULE_MS,
    timeScale,
    isAcknowledged: (_status, answer) => {
      try {
        return NotificationAcknowledgement.safeParse(JSON.parse(answer)).success;
      } catch {
        return false;
      }
    },
  });
  const state = new NicepayState({
    credentials,
    callbacks: parts.callbacks,
    log: logger.child({ provider: 'nicepay', simulator: true }),
  });
  const routes = nicepayRoutes(state, {
    credentials,
    submissions: parts.submissions,
    publicUrl: (options.publicUrl ?? 'http://localhost').replace(/\/$/, ''),
    timeScale,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 900,
    defaultValidityMinutes: options.defaultValidityMinutes ?? 30,
  });
  const controls = nicepayControls(state);
  return {
    ...assembleSimulator({ provider: 'nicepay', ...parts, state, controls, routes }),
    order: (partnerReferenceNo) => state.order(partnerReferenceNo),
    tokenStats: () => state.tokenStats(),
    expireTokens: () => state.expireTokens(),
  };
}

export const nicepaySimulatorSetup = simulatorSetupFactory(
  { schema: nicepayTestCredentialsSchema, generate: generateNicepayTestCredentials, simulator: createNicepaySimulator },
  (credentials) => ({
    connectorConfig: (baseUrl): NicepayConfig =>
      nicepayConfigSchema.parse({
        baseUrl: `${baseUrl.replace(/\/$/, '')}/nicepay`,
        timeoutMs: 10_000,
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        privateKeyPem: credentials.merchantPrivateKeyPem,
        nicepayPublicKeyPem: credentials.nicepayPublicKeyPem,
      }),
  })
);

export { nicepayTestCredentialsSchema } from './credentials';
export type { NicepayTestCredentials } from './credentials';
export type { SimOrder as NicepaySimOrder } from './state';
