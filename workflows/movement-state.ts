/** Inputs, states and merchant events of Kasir's workflows. Shared by workflows, activities and the API. */
import type { BillDetailLine, BillStatus } from '../src/domain/bill';
import type { Rupiah } from '../src/domain/money';
import type {
  PaymentCustomer,
  PaymentInstructions,
  PaymentMethod,
  PaymentRef,
  PaymentStatus,
  ProviderFailure,
} from '../src/domain/payment';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import type { MerchantView } from '../src/domain/merchant-view';
import type { Beneficiary, PayoutFeeMode, PayoutStatus } from '../src/domain/payout';
import type { ProviderId } from '../src/domain/provider';
import type { RefundStatus } from '../src/domain/refund';
import type { WorkflowTimings } from './timings';

/** One entry of a workflow's audit trail, newest last. */
export interface TimelineEntry {
  at: string;
  status: string;
  source:
    | 'registration'
    | 'callback'
    | 'poll'
    | 'cancel'
    | 'expiry'
    | 'submission'
    | 'query'
    | 'operator'
    | 'inquiry'
    | 'payment';
  note?: string;
  /**
   * A money event (a status change, a submission, a provider answer that moved state, an operator's
   * action, a needs-attention flag): never dropped from the timeline. Routine entries (a poll that
   * changed nothing) are bounded and repeats are folded into one entry.
   */
  money?: boolean;
  /** How many times this routine entry happened in a row; `lastAt` is the latest. */
  repeated?: number;
  lastAt?: string;
}

interface MoneyMovementInputBase {
  merchantId: string;
  merchantReference: string;
  provider: ProviderId;
  amount: Rupiah;
  /** Where the provider sends callbacks: Kasir's `/callbacks/<provider>`. */
  callbackUrl: string;
  /** Stripe-style fingerprint of the merchant's request, to tell a retry from a conflicting reuse of a key. */
  requestFingerprint: string;
  /** The API request that started this movement: its create answers 201, any other 200 (absent before 2026-12-01). */
  createdByRequest?: string;
  metadata?: Record<string, string>;
  timings: WorkflowTimings;
}

export interface PaymentWorkflowInput extends MoneyMovementInputBase {
  /** Kasir's payment id: the provider's order reference, and the workflow id's suffix. */
  paymentId: string;
  method: PaymentMethod;
  customer: PaymentCustomer;
  description: string;
  expiresInMinutes: number;
  returnUrl?: string;
  /**
   * The routing rule's outcome (src/routing), when the merchant has a rule for the method: the
   * providers that may take the payment over, in order. Absent in inputs recorded before routing and
   * for merchants without a rule: then the payment stays with `provider`, as before.
   */
  routing?: PaymentRoutingInput;
  /** Carried across continue-as-new. */
  resume?: Carried<PaymentState>;
}

/** A provider that may take a payment over, with the callback URL it is given. */
export interface PaymentFallback {
  provider: ProviderId;
  callbackUrl: string;
}

export interface PaymentRoutingInput {
  /** The merchant named the provider in its request: no failover. */
  pinned?: boolean;
  fallbacks: PaymentFallback[];
  /** How the API chose, in words (rule, weights, amount bounds, unhealthy providers), for the timeline. */
  decision: string;
}

/**
 * Why registration left a provider for the next one:
 * - `declined`: it returned a decline as data, with no unknown attempt before;
 * - `refused`: it refused the request with an error that proves nothing was created (429, credentials,
 *   request rejected), with no unknown attempt before;
 * - `unknown_then_not_found`: an attempt's outcome was unknown, its status inquiry then answered "not
 *   found", and a cancel was attempted where it has a cancel API.
 */
export type LeftProviderReason = 'declined' | 'refused' | 'unknown_then_not_found';

export interface TriedProvider {
  provider: ProviderId;
  reason: LeftProviderReason;
  detail: string;
  at: string;
}

/** Where a routed payment has been: `provider` holds the order; these did not. */
export interface PaymentRouting {
  pinned?: boolean;
  /** Providers registration left, oldest first. */
  tried: TriedProvider[];
  /**
   * True once every provider left after an unknown outcome was asked again as the payment closed (a
   * late order there is cancelled or flagged).
   */
  leftChecked?: boolean;
}

export interface PaymentState {
  id: string;
  kind: 'payment';
  merchantId: string;
  merchantReference: string;
  provider: ProviderId;
  method: PaymentMethod;
  amount: Rupiah;
  status: PaymentStatus;
  requestFingerprint: string;
  /** Never shown to the merchant: the request whose create answered 201 (see the workflow input). */
  createdByRequest?: string;
  instructions?: PaymentInstructions;
  providerReference?: string;
  providerStatus?: string;
  paidAmount?: Rupiah;
  /** True when the provider reported the payment without an amount and the amount due was assumed. */
  paidAmountAssumed?: boolean;
  paidAt?: string;
  failure?: ProviderFailure;
  /**
   * Why registration's outcome is unknown, while the provider is being asked whether it holds the order:
   * carried across continue-as-new so the next run asks on and never registers again.
   */
  registrationUnresolved?: string;
  /** Routed payments only: the providers tried before `provider` (issue #15). */
  routing?: PaymentRouting;
  /** Set when a payment arrived after Kasir expired it, or registration's outcome could not be known. */
  needsAttention: boolean;
  attentionReason?: string;
  createdAt: string;
  updatedAt: string;
  timeline: TimelineEntry[];
  metadata?: Record<string, string>;
}

export interface PayoutWorkflowInput extends MoneyMovementInputBase {
  payoutId: string;
  feeMode: PayoutFeeMode;
  beneficiary: Beneficiary;
  description: string;
  resume?: Carried<PayoutState>;
}

export interface PayoutState {
  id: string;
  kind: 'payout';
  merchantId: string;
  merchantReference: string;
  provider: ProviderId;
  amount: Rupiah;
  fee?: Rupiah;
  feeMode: PayoutFeeMode;
  /** Bank and a masked account number only: the full number stays in the workflow input. */
  beneficiary: { bankCode: string; accountNumberMasked: string };
  status: PayoutStatus;
  requestFingerprint: string;
  /** Never shown to the merchant: the request whose create answered 201 (see the workflow input). */
  createdByRequest?: string;
  /** True once the submission activity was scheduled: from then on, only queries. */
  submitted: boolean;
  submittedAt?: string;
  providerReference?: string;
  providerStatus?: string;
  failure?: ProviderFailure;
  needsAttention: boolean;
  attentionReason?: string;
  resolution?: OperatorResolution;
  /** The provider refused the submission (FAIL): a later "not found" confirms nothing was created. */
  declinedAtSubmission?: boolean;
  createdAt: string;
  updatedAt: string;
  timeline: TimelineEntry[];
  metadata?: Record<string, string>;
}

export interface BillWorkflowInput {
  billId: string;
  merchantId: string;
  merchantReference: string;
  provider: ProviderId;
  productCode: string;
  accountNumber: string;
  amount?: Rupiah;
  zoneId?: string;
  month?: number;
  callbackUrl: string;
  requestFingerprint: string;
  /** The API request that started this bill (see `MoneyMovementInputBase`). */
  createdByRequest?: string;
  timings: WorkflowTimings;
  resume?: Carried<BillState>;
}

/** An operator's resolution of a payout or bill the provider left unresolved, with what proves it. */
export interface OperatorResolution {
  by: string;
  outcome: 'SUCCEEDED' | 'FAILED';
  evidence: string;
  at: string;
  /** The provider's status when the operator resolved it, and whether the operator overrode it. */
  providerStatus?: string;
  forced?: boolean;
}

export interface BillState {
  id: string;
  kind: 'bill';
  merchantId: string;
  merchantReference: string;
  provider: ProviderId;
  productCode: string;
  status: BillStatus;
  requestFingerprint: string;
  /** Never shown to the merchant: the request whose create answered 201 (see the workflow input). */
  createdByRequest?: string;
  inquiry?: {
    inquiryId: string;
    customerName: string;
    productName?: string;
    amount: Rupiah;
    totalAdmin: Rupiah;
    processingFee: Rupiah;
    expiresAt: string;
    details: BillDetailLine[];
  };
  inquiryFailure?: { code: string; reason: { id: string; en: string } };
  /** True once the payment activity was scheduled: from then on, only status checks. */
  paymentSubmitted: boolean;
  /** Never shown to the merchant: the request whose confirmation paid (repeats answer 200 Idempotent-Replayed). */
  confirmedByRequest?: string;
  paidAt?: string;
  providerCode?: string;
  transactionId?: string;
  token?: string;
  failure?: { code: string; message: string; depositRefunded: boolean };
  /**
   * This bill's workflow was reset (its run, or one it continued from, replaced earlier runs): it asks
   * whether a replaced run paid before inquiring again or closing without money.
   */
  startedByReset?: boolean;
  needsAttention: boolean;
  attentionReason?: string;
  resolution?: OperatorResolution;
  createdAt: string;
  updatedAt: string;
  timeline: TimelineEntry[];
}

export interface RefundWorkflowInput extends MoneyMovementInputBase {
  /** Kasir's refund id: the workflow id's suffix and NICEPAY's `partnerRefundNo`. */
  refundId: string;
  /** The payment it refunds, as its provider knows it. */
  payment: PaymentRef;
  /** What the payment's customer paid: the most all its refunds together may return. */
  paidAmount: Rupiah;
  /**
   * What the payment's earlier refunds had returned for good (SUCCEEDED) when the ledger started this
   * one: a payment refunded in full then proves this refund of the remainder. Absent in inputs recorded
   * before it existed (then 0).
   */
  refundedBefore?: Rupiah;
  reason: string;
  /** The workflow that holds the payment's refunds together (workflows/refund-ledger.ts), told the outcome. */
  ledgerWorkflowId: string;
  resume?: Carried<RefundState>;
}

export interface RefundState {
  id: string;
  kind: 'refund';
  merchantId: string;
  merchantReference: string;
  /** Kasir's id of the payment refunded. */
  paymentId: string;
  provider: ProviderId;
  amount: Rupiah;
  reason: string;
  status: RefundStatus;
  requestFingerprint: string;
  /** Never shown to the merchant: the request whose create answered 201 (see the workflow input). */
  createdByRequest?: string;
  /** True once the refund activity was scheduled: from then on, only inquiries. */
  submitted: boolean;
  submittedAt?: string;
  providerStatus?: string;
  failure?: ProviderFailure;
  needsAttention: boolean;
  attentionReason?: string;
  /** An operator's resolution of an UNKNOWN refund, with what proves it. */
  resolution?: { by: string; outcome: 'SUCCEEDED' | 'FAILED'; evidence: string; at: string };
  createdAt: string;
  updatedAt: string;
  timeline: TimelineEntry[];
  metadata?: Record<string, string>;
}

export type MoneyMovementState = PaymentState | PayoutState | BillState | RefundState;

/** Movements a provider calls back about: a refund has no callbacks of its own (its payment's come). */
export type CalledBackMovementState = PaymentState | PayoutState | BillState;

/** A merchant webhook event, as the workflow's outbox holds it. The id is stable for deduplication. */
export interface MerchantEvent {
  id: string;
  type: string;
  merchantId: string;
  createdAt: string;
  /** The movement's state as merchants see it (src/domain/merchant-view.ts), as GET shows it. */
  data: MerchantView<MoneyMovementState>;
}

/**
 * One try at delivering a merchant event: when it started, the merchant's HTTP status or the network
 * error, and how long it took. `redelivery` marks a try asked for through `POST /v1/events/{id}/redeliver`.
 */
export interface DeliveryAttempt {
  at: string;
  /** Temporal's attempt number of the delivery activity (1 for a redelivery). */
  attempt: number;
  status?: number;
  /** Set instead of `status` when no HTTP answer came (timeout, refused connection, merchant not configured). */
  error?: string;
  latencyMs: number;
  redelivery?: boolean;
}

/**
 * What a merchant may know of an event's delivery: queued (`pending`), answered 2xx (`delivered`),
 * still being retried after a failure (`failing`), or not sent because the merchant chose no webhook URL
 * (`skipped`).
 */
export type DeliveryStatus = 'pending' | 'delivered' | 'failing' | 'skipped';

/** A merchant event as the outbox's bounded log keeps it, with its delivery. */
export interface MerchantEventRecord extends MerchantEvent {
  delivery: DeliveryStatus;
  /** The latest attempts, oldest first (bounded); `attemptCount` counts them all. */
  attempts: DeliveryAttempt[];
  attemptCount: number;
  deliveredAt?: string;
}

/** The merchant webhook outbox: events not yet delivered, and the next sequence number. */
export interface OutboxState {
  pending: MerchantEvent[];
  nextSeq: number;
  /**
   * The latest events with their delivery (bounded), for `GET /v1/events`. Absent in runs handed over
   * before the event log existed.
   */
  log?: MerchantEventRecord[];
  /** True while `KasirWebhookFailing` is set on this workflow, so a later run clears it. */
  webhookFailing?: boolean;
}

/** What a workflow hands to its next run when it continues as new. */
export interface Carried<S> {
  state: S;
  outbox: OutboxState;
  /** Provider event ids already applied, newest last (bounded). */
  seenEventIds: string[];
  /** Position in the current poll/query backoff. */
  attempt: number;
  /**
   * Callbacks received but not yet read when the run continued as new: carried, never dropped.
   * Absent in runs handed over before the movement core.
   */
  inbox?: ProviderCallbackEvent[];
  /** Where a closed movement's watch for late money ends (epoch ms), once it started. */
  watchUntil?: number;
  /** When hint-driven inquiries last ran (epoch ms), so repeated hints stay coalesced across runs. */
  lastHintInquiryAt?: number;
  /** A hint is still waiting for the provider's status, which could not be read this many times in a row. */
  unansweredHintAsks?: number;
}
