/**
 * What each provider folder's `index.ts` exports as `<provider>Module`: how to configure the connector
 * and build it. Nothing here knows the simulators: their setups live in `src/sandbox/registry.ts`.
 */
import type { ZodType } from 'zod';
import type { ProviderId } from '../domain/provider';
import type { Connector } from './connector';

export interface ConnectorModule<Config> {
  readonly id: ProviderId;
  /** Parses the provider's section of Kasir's config (base URL, timeouts, credentials). */
  readonly configSchema: ZodType<Config>;
  createConnector(config: Config): Connector;
}
