/**
 * A faithful BDPay simulator (how it differs from BDPay: docs/providers/bdpay.md §9): the same endpoints,
 * RSA `sign` checks and `platSign` on every answer, BDPay's field rules (§7, validated with the connector's
 * own schemas), pay-in and payout state machines with balance, fee and freeze accounting, form callbacks
 * on BDPay's retry schedule (§5) until the answer is exactly `SUCCESS`, and the faults issue 5 lists.
 */
import type { z } from 'zod';
import type { BdpayConfig } from '../../connectors/bdpay/config';
import { CALLBACK_ACKNOWLEDGEMENT } from '../../connectors/bdpay/schemas';
import { toPrivateKey } from '../../connectors/bdpay/signing';
import { logger } from '../../logger';
import {
  assembleSimulator,
  createSimulatorParts,
  generateTestRsaKeyPair,
  simulatorSetupFactory,
} from '../simulator-kit';
import type { ProviderSimulator, SimulatorCommonOptions } from '../simulator-kit';
import { bdpayControls } from './controls';
import { BDPAY_KEY_BITS, bdpayTestCredentialsSchema, generateBdpayTestCredentials } from './credentials';
import type { BdpayTestCredentials } from './credentials';
import { bdpayRoutes } from './routes';
import { BdpayState, ResponseFaultSchema } from './state';
import type { SimAccount, SimOrder, SimPayout } from './state';

/** BDPay's callback retries (docs/providers/bdpay.md §5): 6 notifications, 1 s, 30 s, 60 s, 90 s, 1 h, 2 h apart. */
export const BDPAY_CALLBACK_SCHEDULE_MS: readonly number[] = [1_000, 30_000, 60_000, 90_000, 3_600_000, 7_200_000];

export interface BdpaySimulatorOptions extends SimulatorCommonOptions {
  credentials: BdpayTestCredentials;
  /** Merchant balance at start, in rupiah. Default Rp 100,000,000. */
  initialBalance?: number;
  /** Flat fee per payout, in rupiah. Default Rp 2,500. (inferred; BDPay's price list is per merchant) */
  payoutFee?: number;
  /** Flat fee per paid pay-in order, in rupiah. Default Rp 4,000. (inferred) */
  payInFee?: number;
  /**
   * Provider time after which an accepted payout succeeds by itself (scaled by `timeScale`); `null`, the
   * default, leaves payouts processing until `/_sim/payouts/:reference/settle` or `/fail`.
   */
  autoSettlePayoutsAfterMs?: number | null;
  /** BDPay asks for `SUCCESS` exactly (docs/providers/bdpay.md §5); `case-insensitive` also takes `success`. */
  acknowledgement?: 'exact' | 'case-insensitive';
  /** Override of BDPay's retry schedule (docs/providers/bdpay.md §5). */
  callbackScheduleMs?: readonly number[];
  /** Per-attempt callback HTTP timeout. Default 10 s. */
  callbackTimeoutMs?: number;
}

export interface BdpaySimulator extends ProviderSimulator {
  readonly credentials: BdpayTestCredentials;
  order(reference: string): SimOrder | undefined;
  payout(reference: string): SimPayout | undefined;
  account(): SimAccount;
  /** Rupiah credited so far to one beneficiary account. */
  beneficiaryCredit(bankCode: string, number: string): number;
  addResponseFault(fault: z.input<typeof ResponseFaultSchema>): void;
}

export function createBdpaySimulator(options: BdpaySimulatorOptions): BdpaySimulator {
  const credentials = bdpayTestCredentialsSchema.parse(options.credentials);
  const platformPrivateKey = toPrivateKey(credentials.platformPrivateKeyPem);
  // A key the merchant has never seen, for forged platSign on answers and callbacks.
  const forgeryKey = toPrivateKey(generateTestRsaKeyPair(BDPAY_KEY_BITS).privateKeyPem);
  const timeScale = options.timeScale ?? 1;
  const parts = createSimulatorParts({
    provider: 'bdpay',
    scheduleMs: options.callbackScheduleMs ?? BDPAY_CALLBACK_SCHEDULE_MS,
    timeScale,
    timeoutMs: options.callbackTimeoutMs,
    // BDPay asks for the string SUCCESS and says nothing of the HTTP status, so only the body counts
    // (docs/providers/bdpay.md §5).
    isAcknowledged: (_status, body) =>
      options.acknowledgement === 'case-insensitive'
        ? body.toUpperCase() === CALLBACK_ACKNOWLEDGEMENT
        : body === CALLBACK_ACKNOWLEDGEMENT,
  });
  const state = new BdpayState({
    callbacks: parts.callbacks,
    platformPrivateKey,
    forgeryKey,
    publicUrl: (options.publicUrl ?? 'http://127.0.0.1').replace(/\/$/, ''),
    timeScale,
    initialBalance: options.initialBalance ?? 100_000_000,
    payoutFee: options.payoutFee ?? 2_500,
    payInFee: options.payInFee ?? 4_000,
    autoSettlePayoutsAfterMs: options.autoSettlePayoutsAfterMs ?? null,
    log: logger.child({ provider: 'bdpay', component: 'simulator' }),
  });
  const routes = bdpayRoutes(state, { credentials, platformPrivateKey, forgeryKey, submissions: parts.submissions });
  const controls = bdpayControls(state);
  return {
    ...assembleSimulator({ provider: 'bdpay', ...parts, state, controls, routes }),
    credentials,
    order: (reference) => state.orders.get(reference),
    payout: (reference) => state.payouts.get(reference),
    account: () => ({ ...state.account }),
    beneficiaryCredit: (bankCode, number) => state.beneficiaryCredit(bankCode, number),
    addResponseFault: (fault) => void state.responseFaults.push(ResponseFaultSchema.parse(fault)),
  };
}

/** Fresh TEST-ONLY keys for both sides, or the ones saved from a previous run. */
export const bdpaySimulatorSetup = simulatorSetupFactory(
  { schema: bdpayTestCredentialsSchema, generate: generateBdpayTestCredentials, simulator: createBdpaySimulator },
  (credentials) => ({
    connectorConfig: (baseUrl): BdpayConfig => ({
      baseUrl,
      timeoutMs: 10_000,
      merchantCode: credentials.merchantCode,
      privateKeyPem: credentials.merchantPrivateKeyPem,
      platformPublicKeyPem: credentials.platformPublicKeyPem,
    }),
  })
);

export { beneficiaryKey } from './routes';
export { bdpayTestCredentialsSchema } from './credentials';
export type { BdpayTestCredentials } from './credentials';
export type { BdpaySimulatorState } from './state';
