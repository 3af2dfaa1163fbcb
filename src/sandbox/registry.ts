/**
 * The one list of simulators, Kasir's sandbox: for each provider, how to make TEST-ONLY credentials, the
 * connector config that talks to its simulator, and the simulator. `npm start`, the test stack and the
 * contract suite use it; production never does (nothing in `src/connectors`, the API or the worker imports
 * `src/sandbox`). Adding a provider: a folder here with the same five files, and a line below.
 */
import type { ProviderId } from '../domain/provider';
import { ayopopSimulatorSetup } from './ayopop';
import { bdpaySimulatorSetup } from './bdpay';
import { finpaySimulatorSetup } from './finpay';
import { nicepaySimulatorSetup } from './nicepay';
import type { SimulatorSetupFactory } from './simulator-kit';

export const SIMULATOR_SETUPS = {
  finpay: finpaySimulatorSetup,
  nicepay: nicepaySimulatorSetup,
  bdpay: bdpaySimulatorSetup,
  ayopop: ayopopSimulatorSetup,
} satisfies Record<ProviderId, SimulatorSetupFactory<unknown>> as Record<ProviderId, SimulatorSetupFactory<unknown>>;
