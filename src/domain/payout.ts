/** Money out: bank payouts (disbursements). Pure types, safe to import from workflows. */
import type { Rupiah } from './money';
import type { ProviderFailure } from './payment';
import { statusLadder } from './status-ladder';

/**
 * How the provider answered a submission.
 * - `accepted`: the payout exists and is processing;
 * - `failed`: the provider definitely did not create it (BDPay `platRespCode` FAIL);
 * - `unknown`: it may exist. Resolve by query, never by resubmitting.
 */
export type PayoutSubmissionResult = 'accepted' | 'failed' | 'unknown';

/** The provider's view of an existing payout. `not_found` is evidence for operators, never an auto-fail. */
export type ProviderPayoutStatus = 'processing' | 'succeeded' | 'failed' | 'not_found';

export const PAYOUT_STATUSES = [
  'SUBMITTING',
  'PROCESSING',
  'UNKNOWN',
  'SUCCEEDED',
  'FAILED',
  'AMOUNT_MISMATCH',
] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

/**
 * The ladder a payout's status only climbs. UNKNOWN becomes PROCESSING once the provider shows the
 * payout; FAILED ranks below the success states because money the provider moved after a failure
 * (an operator's FAILED, a provider that changes its mind) must still reach the merchant as moved.
 */
const PAYOUT_LADDER = statusLadder(
  PAYOUT_STATUSES,
  [['SUBMITTING'], ['UNKNOWN'], ['PROCESSING'], ['FAILED'], ['SUCCEEDED', 'AMOUNT_MISMATCH']],
  3
);

/** Where `status` stands on the payout ladder: a report may only replace a lower rank. */
export function payoutStatusRank(status: PayoutStatus): number {
  return PAYOUT_LADDER.rank(status);
}

/** SUCCEEDED, FAILED or AMOUNT_MISMATCH: the provider's (or an operator's) last word. */
export function payoutIsFinal(status: PayoutStatus): boolean {
  return PAYOUT_LADDER.isFinal(status);
}

/** Who pays the provider's fee: `deducted` from the amount sent, or `merchant` balance on top (BDPay feeType 0/1). */
export type PayoutFeeMode = 'deducted' | 'merchant';

export interface Beneficiary {
  /** Provider bank code, e.g. `014` for BCA or `BCA` depending on the rail. */
  bankCode: string;
  accountNumber: string;
  accountName: string;
}

export interface SubmitPayoutInput {
  reference: string;
  amount: Rupiah;
  feeMode: PayoutFeeMode;
  beneficiary: Beneficiary;
  description: string;
  callbackUrl: string;
}

export interface PayoutSubmission {
  result: PayoutSubmissionResult;
  providerReference?: string;
  fee?: Rupiah;
  providerCode: string;
  message?: string;
}

export interface PayoutRef {
  reference: string;
  providerReference?: string;
}

export interface PayoutOutcome {
  status: ProviderPayoutStatus;
  providerStatus: string;
  providerReference?: string;
  amount?: Rupiah;
  fee?: Rupiah;
  failure?: ProviderFailure;
}

export interface ProviderBalance {
  available: Rupiah;
  frozen?: Rupiah;
}

/**
 * Does the provider's view contradict an operator's resolution? SUCCEEDED needs the provider's own
 * success; FAILED is contradicted by a payout the provider paid or is still processing (it may yet
 * move money). "Not found" agrees with FAILED.
 */
export function resolutionContradicts(outcome: 'SUCCEEDED' | 'FAILED', provider: ProviderPayoutStatus): boolean {
  if (outcome === 'SUCCEEDED') return provider !== 'succeeded';
  return provider === 'succeeded' || provider === 'processing';
}
