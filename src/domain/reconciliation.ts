/**
 * Daily reconciliation: re-checking at the provider every movement created or changed in a Jakarta day,
 * and the differences found. Pure types and rules, safe to import from workflows.
 *
 * Only the provider's documented status APIs are asked (payments `inquire`, payouts `inquire`, bills
 * `status`; docs/providers/*.md), and only their explicit words count: "not found" is a difference to
 * report, never grounds to fail anything (src/connectors/README.md, rule 6).
 */
import type { BillPaymentOutcome } from './bill';
import { fromJakartaWallClock, jakartaDay } from './jakarta-time';
import type { Rupiah } from './money';
import type { PaymentOutcome } from './payment';
import type { PayoutOutcome } from './payout';
import type { ProviderId } from './provider';

/**
 * What reconciliation can find wrong with one movement:
 * - `PAID_AT_PROVIDER_ONLY`: Kasir closed it without money (expired, failed, cancelled) but the provider shows it paid;
 * - `PAID_AT_KASIR_ONLY`: Kasir shows it paid but the provider does not;
 * - `AMOUNT_DIFFERS`: both show it paid, with different amounts;
 * - `UNKNOWN_TO_PROVIDER`: the provider does not know a movement Kasir believes it holds;
 * - `STILL_UNKNOWN`: a payout or refund whose outcome Kasir still does not know when the run checks it.
 */
export const DIFFERENCE_KINDS = [
  'PAID_AT_PROVIDER_ONLY',
  'PAID_AT_KASIR_ONLY',
  'AMOUNT_DIFFERS',
  'UNKNOWN_TO_PROVIDER',
  'STILL_UNKNOWN',
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

/** Movement kinds a run re-checks: a refund only where that kind exists (`KasirKind = refund`). */
export const RECONCILED_KINDS = ['payment', 'payout', 'bill', 'refund'] as const;
export type ReconciledKind = (typeof RECONCILED_KINDS)[number];

/** A movement as Kasir holds it, read from its workflow's state: ids, statuses and amounts only, nothing personal. */
export interface KasirSide {
  workflowId: string;
  id: string;
  kind: ReconciledKind;
  provider: ProviderId;
  status: string;
  /** What was due (payments, payouts, refunds) or the inquired total (bills), when known. */
  amount?: Rupiah;
  /** What Kasir recorded as paid (payments), when it differs from `amount`. */
  paidAmount?: Rupiah;
  /** Whether the movement's workflow is still running (it can still change, and takes messages). */
  open: boolean;
}

/** The provider's word, reduced to what reconciliation compares. */
export interface ProviderSide {
  /** `paid`: money moved; `open`: not final yet; `not_paid`: a final word that no money moved; `not_found`. */
  state: 'paid' | 'open' | 'not_paid' | 'not_found';
  /** The provider's own status word or code, for operators. */
  providerStatus: string;
  amount?: Rupiah;
}

/** One difference: which movement, what each side says, and why it matters. No personal data. */
export interface ReconciliationDifference {
  kind: DifferenceKind;
  movementId: string;
  movementKind: ReconciledKind;
  workflowId: string;
  provider: ProviderId;
  kasirStatus: string;
  providerStatus: string;
  kasirAmount?: Rupiah;
  providerAmount?: Rupiah;
  /** Said for operators: what differs and what was done about it. */
  reason: string;
  /**
   * Where the movement is flagged beyond this run's record: `late_callback` (the durable late-money
   * record `<workflow id>:late`, workflows/late-callback.ts), `hint` (the open movement was told to ask
   * its provider again), or `report` (this run's record and the operator report only).
   */
  flaggedBy: 'late_callback' | 'hint' | 'report';
}

/** Statuses in which Kasir holds that money moved. */
const KASIR_PAID: ReadonlySet<string> = new Set(['SUCCEEDED', 'AMOUNT_MISMATCH', 'REFUNDED']);
/** Statuses in which Kasir closed a movement saying no money moved. */
const KASIR_CLOSED_UNPAID: ReadonlySet<string> = new Set(['FAILED', 'EXPIRED', 'CANCELLED', 'INQUIRY_FAILED']);
/** Statuses of a movement Kasir never handed to the provider, or whose handing over it cannot know. */
const KASIR_NEVER_SENT: ReadonlySet<string> = new Set(['REGISTERING', 'SUBMITTING', 'REQUESTED', 'INQUIRED']);

export function kasirShowsPaid(status: string): boolean {
  return KASIR_PAID.has(status);
}

export function kasirClosedUnpaid(status: string): boolean {
  return KASIR_CLOSED_UNPAID.has(status);
}

type SideState = ProviderSide['state'];

/** What each provider status says about the money, one table per kind. */
const PAYMENT_SIDES: Record<PaymentOutcome['status'], SideState> = {
  succeeded: 'paid',
  refunded: 'paid', // money moved, and some went back: Kasir's refunds account for the rest
  pending: 'open',
  failed: 'not_paid',
  expired: 'not_paid',
  cancelled: 'not_paid',
  not_found: 'not_found',
};
const PAYOUT_SIDES: Record<PayoutOutcome['status'], SideState> = {
  succeeded: 'paid',
  processing: 'open',
  failed: 'not_paid',
  not_found: 'not_found',
};
const BILL_SIDES: Record<BillPaymentOutcome['status'], SideState> = {
  succeeded: 'paid',
  processing: 'open',
  failed: 'not_paid',
};

/** The provider's side in `state`, with the amount it reports when money moved. */
function sideOf(state: SideState, providerStatus: string, amount: Rupiah | undefined): ProviderSide {
  return { providerStatus, state, ...(state === 'paid' && amount !== undefined ? { amount } : {}) };
}

export function paymentProviderSide(outcome: PaymentOutcome): ProviderSide {
  return sideOf(PAYMENT_SIDES[outcome.status], outcome.providerStatus, outcome.paidAmount);
}

export function payoutProviderSide(outcome: PayoutOutcome): ProviderSide {
  return sideOf(PAYOUT_SIDES[outcome.status], outcome.providerStatus, outcome.amount);
}

/**
 * Ayopop answers 188 ("processing") for a reference it has never seen as well as for a payment in
 * flight (docs/providers/ayopop.md): without a transaction id it proves neither, so it counts as not found.
 */
export function billProviderSide(outcome: BillPaymentOutcome): ProviderSide {
  const unproven = outcome.status === 'processing' && outcome.transactionId === undefined;
  return sideOf(unproven ? 'not_found' : BILL_SIDES[outcome.status], outcome.providerCode, outcome.amount);
}

/**
 * The difference between Kasir's view of one movement and its provider's, or undefined when they agree
 * (or may still legitimately differ: an open movement the provider has not settled yet).
 */
export function differenceOf(kasir: KasirSide, provider: ProviderSide): DifferenceKind | undefined {
  if (kasir.status === 'UNKNOWN') return 'STILL_UNKNOWN';
  if (KASIR_NEVER_SENT.has(kasir.status)) return undefined;
  if (provider.state === 'not_found') {
    // A movement Kasir closed without money may never have reached the provider (a declined
    // registration, a refused payout that BDPay keeps no record of: docs/providers/bdpay.md §7).
    return kasirClosedUnpaid(kasir.status) ? undefined : 'UNKNOWN_TO_PROVIDER';
  }
  if (kasirShowsPaid(kasir.status)) {
    if (provider.state !== 'paid') return 'PAID_AT_KASIR_ONLY';
    // A payout's or bill's AMOUNT_MISMATCH already flags the provider's amount, which its state does not keep.
    const recorded = kasir.status === 'AMOUNT_MISMATCH' ? kasir.paidAmount : (kasir.paidAmount ?? kasir.amount);
    if (recorded !== undefined && provider.amount !== undefined && recorded !== provider.amount)
      return 'AMOUNT_DIFFERS';
    return undefined;
  }
  // Kasir has not recorded money: closed without it, or still waiting for it.
  if (provider.state === 'paid') return 'PAID_AT_PROVIDER_ONLY';
  return undefined;
}

/** Said for operators, for each difference kind. */
export function reasonOf(kind: DifferenceKind, kasir: KasirSide, provider: ProviderSide): string {
  const amounts = `Kasir ${kasir.paidAmount ?? kasir.amount ?? '?'} IDR, provider ${provider.amount ?? '?'} IDR`;
  switch (kind) {
    case 'PAID_AT_PROVIDER_ONLY':
      return `${kasir.provider} reports ${provider.providerStatus} (paid) but Kasir shows this ${kasir.kind} ${kasir.status}`;
    case 'PAID_AT_KASIR_ONLY':
      return `Kasir shows this ${kasir.kind} ${kasir.status} but ${kasir.provider} reports ${provider.providerStatus} (${provider.state})`;
    case 'AMOUNT_DIFFERS':
      return `both show this ${kasir.kind} paid, with different amounts: ${amounts}`;
    case 'UNKNOWN_TO_PROVIDER':
      return `${kasir.provider} does not know this ${kasir.kind}, which Kasir shows ${kasir.status}`;
    case 'STILL_UNKNOWN':
      return `the outcome of this ${kasir.kind} is still UNKNOWN to Kasir; ${kasir.provider} reports ${provider.providerStatus} (${provider.state})`;
  }
}

/** A Jakarta calendar day, `yyyy-MM-dd`, that exists (no February 30th). */
export function isJakartaDate(date: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) && fromJakartaWallClock(`${date}T00:00:00`) !== undefined;
}

/** The instants a Jakarta day spans: `[from, to)`, in UTC ISO form. */
export function jakartaDayWindow(date: string): { from: string; to: string } {
  const from = fromJakartaWallClock(`${date}T00:00:00`);
  if (!from) throw new Error(`${date} is not a day (yyyy-MM-dd)`);
  return { from: from.toISOString(), to: new Date(from.getTime() + 24 * 60 * 60 * 1000).toISOString() };
}

/** The Jakarta day before the one `instant` falls on: what a scheduled run just after midnight reconciles. */
export function previousJakartaDay(instant: Date): string {
  return jakartaDay(new Date(instant.getTime() - 24 * 60 * 60 * 1000));
}

/** The workflow of one provider's run for one day: `reconciliation:<provider>:<yyyy-MM-dd>`. */
export function reconciliationWorkflowId(provider: ProviderId, date: string): string {
  return `reconciliation:${provider}:${date}`;
}

/** The Temporal Schedule that starts a provider's daily run: `reconciliation:<provider>`. */
export function reconciliationScheduleId(provider: ProviderId): string {
  return `reconciliation:${provider}`;
}

/** `KasirKind` of a reconciliation run and of the scheduled starter; never a movement kind. */
export const RECONCILIATION_KIND = 'reconciliation';

/** The provider's balance when the run began, where it has a balance API (BDPay: docs/providers/bdpay.md). */
export interface BalanceAtRun {
  available: Rupiah;
  frozen?: Rupiah;
  at: string;
}

/** Counts of differences by kind, every kind present. */
export function emptyCounts(): Record<DifferenceKind, number> {
  return Object.fromEntries(DIFFERENCE_KINDS.map((kind) => [kind, 0])) as Record<DifferenceKind, number>;
}
