/**
 * The one list of connectors. Adding a provider: a folder (see `README.md` here), a `ProviderId`, a line
 * below, and its simulator in `src/sandbox/registry.ts`.
 */
import type { ProviderId } from '../domain/provider';
import type { ConnectorModule } from './connector-module';
import type { Connector } from './connector';
import { finpayModule } from './finpay';
import { nicepayModule } from './nicepay';
import { bdpayModule } from './bdpay';
import { ayopopModule } from './ayopop';

export const CONNECTOR_MODULES = {
  finpay: finpayModule,
  nicepay: nicepayModule,
  bdpay: bdpayModule,
  ayopop: ayopopModule,
} satisfies { [P in ProviderId]: ConnectorModule<unknown> } as { [P in ProviderId]: ConnectorModule<unknown> };

export type Connectors = { [P in ProviderId]: Connector };

/** Builds every connector from the `providers` section of Kasir's config, validating each. */
export function createConnectors(providers: { [P in ProviderId]: unknown }): Connectors {
  const entries = (Object.keys(CONNECTOR_MODULES) as ProviderId[]).map((id) => {
    const module = CONNECTOR_MODULES[id];
    return [id, module.createConnector(module.configSchema.parse(providers[id]))] as const;
  });
  return Object.fromEntries(entries) as Connectors;
}
