/**
 * What each provider folder's `index.ts` exports as `<provider>Module`: how to configure the connector,
 * build it, and set up its simulator with matching test-only credentials.
 */
import type { ZodType } from 'zod';
import type { ProviderId } from '../domain/provider';
import type { Connector } from './connector';
import type { ProviderSimulator, SimulatorCommonOptions } from './simulator-kit';

export interface SimulatorSetup<Config> {
  /**
   * Freshly generated (or restored) TEST-ONLY credentials as plain JSON: keys, secrets, ids for both
   * sides. Persisting this lets `npm start` restart with the same keys.
   */
  readonly credentials: unknown;
  /** The connector's config for talking to a simulator at `baseUrl` with these credentials. */
  connectorConfig(baseUrl: string): Config;
  createSimulator(options?: SimulatorCommonOptions): ProviderSimulator;
}

export interface ConnectorModule<Config> {
  readonly id: ProviderId;
  /** Parses the provider's section of Kasir's config (base URL, timeouts, credentials). */
  readonly configSchema: ZodType<Config>;
  createConnector(config: Config): Connector;
  /** Generates new test-only credentials, or restores ones from a previous `credentials` value. */
  simulatorSetup(saved?: unknown): SimulatorSetup<Config>;
}
