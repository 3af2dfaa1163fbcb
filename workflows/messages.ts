/**
 * Signals, queries and updates of Kasir's workflows. The API imports these constants; the workflows
 * register handlers for them first thing.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import type { LateCallbackState } from './late-callback';
import type {
  BillState,
  DeliveryAttempt,
  MerchantEventRecord,
  PaymentState,
  PayoutState,
  RefundState,
} from './movement-state';
import type { RefundLedgerState, RefundRequest } from './refund-ledger';

/** A verified (or hint-level) provider callback, delivered by the API edge. Never signal-with-start. */
export const providerCallbackSignal = defineSignal<[ProviderCallbackEvent]>('providerCallback');

export const paymentStateQuery = defineQuery<PaymentState>('paymentState');
export const payoutStateQuery = defineQuery<PayoutState>('payoutState');
export const billStateQuery = defineQuery<BillState>('billState');

/**
 * Completes once registration has an answer and returns the state with payment instructions.
 * Sent with update-with-start, so `POST /v1/payments` can answer synchronously.
 */
export const paymentRegisteredUpdate = defineUpdate<PaymentState>('paymentRegistered');

export interface CancelPaymentRequest {
  reason?: string;
}
/** Cancels a pending payment at the provider. Rejected by its validator unless the payment is pending. */
export const cancelPaymentUpdate = defineUpdate<PaymentState, [CancelPaymentRequest]>('cancelPayment');

/** Completes once the single submission has an answer (accepted, failed or unknown). */
export const payoutSubmittedUpdate = defineUpdate<PayoutState>('payoutSubmitted');

export interface ResolvePayoutRequest {
  outcome: 'SUCCEEDED' | 'FAILED';
  /** What the operator saw: bank statement line, provider ticket, etc. Recorded in history. */
  evidence: string;
  operator: string;
  /**
   * Apply it even though the provider's own status contradicts it. Kasir checks the provider first and
   * otherwise refuses a contradicted resolution; a provider success after a forced FAILED is still caught.
   */
  force?: boolean;
}
/**
 * Throws unless an operator's resolution says what it resolves to, what proves it (at least 10
 * characters) and who resolves it. The movement's own checks come after.
 */
export function checkResolutionRequest(request: Omit<ResolvePayoutRequest, 'force'>): void {
  if (request.outcome !== 'SUCCEEDED' && request.outcome !== 'FAILED')
    throw new Error('outcome must be SUCCEEDED or FAILED');
  if (typeof request.evidence !== 'string' || request.evidence.trim().length < 10) {
    throw new Error('evidence must describe what proves the outcome (at least 10 characters)');
  }
  if (typeof request.operator !== 'string' || request.operator.trim() === '') throw new Error('operator is required');
}

/**
 * An operator resolves a payout whose outcome is UNKNOWN or that needs attention, with evidence.
 * Validated, checked against the provider, recorded in history.
 */
export const resolvePayoutUpdate = defineUpdate<PayoutState, [ResolvePayoutRequest]>('resolvePayout');

/** Completes once the bill inquiry has an answer. Sent with update-with-start. */
export const billInquiredUpdate = defineUpdate<BillState>('billInquired');

export interface ConfirmBillPaymentRequest {
  /** The amount the merchant showed its customer; must equal the inquiry's total. */
  expectedTotal?: number;
  /** The API request that confirmed, kept on the bill (`confirmedByRequest`) so the API tells it from repeats. */
  requestId?: string;
}
/** The merchant confirms an inquired bill; completes once the payment has a first answer. */
export const confirmBillPaymentUpdate = defineUpdate<BillState, [ConfirmBillPaymentRequest]>('confirmBillPayment');

/** An operator's resolution of a bill payment the provider leaves unresolved: as a payout's. */
export type ResolveBillRequest = ResolvePayoutRequest;

/**
 * An operator resolves a paid bill that needs attention (its payment unresolved at the provider), with
 * evidence. Validated, checked against the provider, recorded in history.
 */
export const resolveBillUpdate = defineUpdate<BillState, [ResolveBillRequest]>('resolveBill');

/** The record a late callback left (see workflows/late-callback.ts). */
export const lateCallbackStateQuery = defineQuery<LateCallbackState>('lateCallbackState');

export const refundStateQuery = defineQuery<RefundState>('refundState');

/** Completes once the refund's single submission has an answer (accepted, refused or unknown). */
export const refundSubmittedUpdate = defineUpdate<RefundState>('refundSubmitted');

/** A payment's refunds, together: what was paid, reserved and returned. */
export const refundLedgerQuery = defineQuery<RefundLedgerState>('refundLedger');

/**
 * Reserves a refund against what remains of the payment and starts its workflow. The validator refuses
 * a refund above what remains (refunds still in flight count), so concurrent requests cannot together
 * exceed what was paid; the same refund id with the same body answers again, with another body it is
 * refused.
 */
export const requestRefundUpdate = defineUpdate<RefundLedgerState, [RefundRequest]>('requestRefund');

export type ResolveRefundRequest = Omit<ResolvePayoutRequest, 'force'>;
/**
 * An operator resolves a refund whose outcome is UNKNOWN (its answer was lost and the payment's status
 * cannot prove it), with evidence. A FAILED frees its amount on the payment's ledger.
 */
export const resolveRefundUpdate = defineUpdate<RefundState, [ResolveRefundRequest]>('resolveRefund');

/** A refund tells its payment's ledger its final outcome: a FAILED one frees its amount again. */
export const refundSettledSignal =
  defineSignal<[{ refundId: string; status: 'SUCCEEDED' | 'FAILED' }]>('refundSettled');

/** A workflow's merchant events, as its outbox's bounded log holds them. */
export interface MerchantEventLog {
  events: MerchantEventRecord[];
  /** True while the workflow is flagged `KasirWebhookFailing`. */
  webhookFailing: boolean;
}

/**
 * The latest merchant events of a workflow and their delivery. Answered by every workflow with a merchant
 * outbox (movements, late-callback records, and the legacy workflows for what their current run queued).
 */
export const merchantEventsQuery = defineQuery<MerchantEventLog>('merchantEvents');

/** Redeliveries of one movement's events (`POST /v1/events/{id}/redeliver`), by event id. */
export interface EventRedeliveries {
  movementWorkflowId: string;
  merchantId: string;
  /** The latest attempts per event id, oldest first (bounded). */
  attempts: Record<string, DeliveryAttempt[]>;
}

/** Records one redelivery the API made. Sent with update-with-start to the movement's redelivery record. */
export const recordRedeliveryUpdate = defineUpdate<EventRedeliveries, [{ eventId: string; attempt: DeliveryAttempt }]>(
  'recordRedelivery'
);

export const eventRedeliveriesQuery = defineQuery<EventRedeliveries>('eventRedeliveries');
