/**
 * Signals, queries and updates of Kasir's workflows. The API imports these constants; the workflows
 * register handlers for them first thing.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import type { LateCallbackState } from './late-callback';
import type { BillState, PaymentState, PayoutState } from './movement-state';

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
 * An operator resolves a payout whose outcome is UNKNOWN or that needs attention, with evidence.
 * Validated, checked against the provider, recorded in history.
 */
export const resolvePayoutUpdate = defineUpdate<PayoutState, [ResolvePayoutRequest]>('resolvePayout');

/** Completes once the bill inquiry has an answer. Sent with update-with-start. */
export const billInquiredUpdate = defineUpdate<BillState>('billInquired');

export interface ConfirmBillPaymentRequest {
  /** The amount the merchant showed its customer; must equal the inquiry's total. */
  expectedTotal?: number;
}
/** The merchant confirms an inquired bill; completes once the payment has a first answer. */
export const confirmBillPaymentUpdate = defineUpdate<BillState, [ConfirmBillPaymentRequest]>('confirmBillPayment');

/** The record a late callback left (see workflows/late-callback.ts). */
export const lateCallbackStateQuery = defineQuery<LateCallbackState>('lateCallbackState');
