/**
 * Which providers each kind of operation can name, so that the OpenAPI document (and validation) offer
 * `ayopop` for bills only, never for payouts. The lists follow the connectors of
 * `src/connectors/registry.ts` (`CONNECTOR_MODULES`), in registry order: a connector's capabilities
 * (`payments`, `payouts`, `bills`) only exist once it is built from its config, so they are listed
 * here, and test/api/system.test.ts checks them against the built connectors. Handlers still check the
 * connector itself before using a capability.
 */
import type { ProviderId } from '../domain/provider';

/** Connectors with `payments` (money in). */
export const PAYMENT_PROVIDER_IDS = ['finpay', 'nicepay', 'bdpay'] as const satisfies readonly ProviderId[];
/** Connectors with `payouts` (money out). */
export const PAYOUT_PROVIDER_IDS = ['bdpay'] as const satisfies readonly ProviderId[];
/** Connectors with `bills` (PPOB). */
export const BILL_PROVIDER_IDS = ['ayopop'] as const satisfies readonly ProviderId[];
/** Connectors whose `payments` can refund (`refund`): Finpay and NICEPAY. BDPay states it has no refunds. */
export const REFUND_PROVIDER_IDS = ['finpay', 'nicepay'] as const satisfies readonly ProviderId[];
