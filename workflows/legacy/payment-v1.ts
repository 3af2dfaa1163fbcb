/**
 * FROZEN: the payment workflow as it ran before the movement core (patch `movement-core`, see
 * workflows/movement.ts). Only executions that started before that patch replay through this code; it
 * must never change, or their histories stop replaying (test/replay). New executions never reach it.
 */
/**
 * paymentWorkflow: money in. Registers with the provider, hands the merchant the payment instructions,
 * then waits for the first of a verified callback, a status poll, a cancel request or expiry. After
 * expiry or cancel it keeps watching for a late payment and flags one as needs-attention.
 */
import { ActivityFailure, ApplicationFailure, condition, patched, setHandler, sleep } from '@temporalio/workflow';
import type {
  PaymentOutcome,
  PaymentRef,
  PaymentRegistration,
  PaymentStatus,
  ProviderPaymentStatus,
} from '../../src/domain/payment';
import { closedWithoutPayment, paymentStatusRank } from '../../src/domain/payment';
import { calls, inquiries, localCalls } from '../activity-proxies';
import { initialPaymentState } from '../initial-states';
import { CONFIRM_EVERY_HINT, LOCAL_ACTIVITIES, RETRY_UNKNOWN_REGISTRATION } from '../patches';
import { answerWhen, closeLegacyRun, handOverLegacyRun, openLegacyRun } from './legacy-run';
import { activityFailureOf } from '../activity-options';
import { nowIso, publishStatus, recordTimeline, shouldContinueAsNew } from '../status-and-timeline';
import { cancelPaymentUpdate, paymentRegisteredUpdate, paymentStateQuery } from '../messages';
import type { CancelPaymentRequest } from '../messages';
import { DEFAULT_REGISTRATION_RETRY, nextDelay } from '../timings';
import type { PaymentState, PaymentWorkflowInput, TimelineEntry } from '../movement-state';

const FROM_PROVIDER: Record<ProviderPaymentStatus, PaymentStatus> = {
  pending: 'PENDING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  expired: 'EXPIRED',
  cancelled: 'CANCELLED',
  refunded: 'REFUNDED',
  // Added with the movement core: connectors now say when a provider does not know an order; before,
  // they reported it pending, so a frozen run keeps reading it that way.
  not_found: 'PENDING',
};

export async function paymentWorkflowV1(input: PaymentWorkflowInput): Promise<PaymentState> {
  const run = openLegacyRun(input.resume, input.timings.webhook, () => initialPaymentState(input), paymentStateQuery);
  const { state, outbox, seen, callbacks } = run;
  let cancelRequest: CancelPaymentRequest | undefined;
  let cancelFailure: string | undefined;
  let attempt = input.resume?.attempt ?? 0;
  let pollsThisRun = 0;

  answerWhen(paymentRegisteredUpdate, state, () => state.status !== 'REGISTERING');
  setHandler(
    cancelPaymentUpdate,
    async (request) => {
      cancelRequest = request;
      cancelFailure = undefined;
      await condition(() => state.status !== 'PENDING' || cancelFailure !== undefined);
      if (cancelFailure !== undefined) {
        const message = cancelFailure;
        cancelRequest = undefined;
        throw ApplicationFailure.create({ type: 'CancelFailed', message, nonRetryable: true });
      }
      return state;
    },
    {
      validator: (_request: CancelPaymentRequest) => {
        if (state.status !== 'PENDING') {
          throw new Error(`payment ${state.id} is ${state.status}; only a PENDING payment can be cancelled`);
        }
      },
    }
  );
  void outbox.run();

  const ref = (): PaymentRef => ({
    reference: state.id,
    providerReference: state.providerReference,
    amount: state.amount,
    method: state.method,
    createdAt: state.createdAt,
  });

  function transition(status: PaymentStatus, source: TimelineEntry['source'], note?: string): void {
    state.status = status;
    recordTimeline(state, { status, source, note });
    publishStatus(state);
    outbox.emit(`payment.${status.toLowerCase()}`, state);
  }

  function flag(reason: string): void {
    state.needsAttention = true;
    state.attentionReason = reason;
    publishStatus(state);
  }

  /** Applies the provider's view; never moves a payment backwards. */
  function apply(outcome: PaymentOutcome, source: TimelineEntry['source']): void {
    state.providerStatus = outcome.providerStatus;
    state.providerReference ??= outcome.providerReference;
    const next = FROM_PROVIDER[outcome.status];
    if (next === state.status || paymentStatusRank(next) <= paymentStatusRank(state.status)) return;
    const wasClosed = closedWithoutPayment(state.status);
    if (next === 'SUCCEEDED') {
      state.paidAmount = outcome.paidAmount ?? state.amount;
      state.paidAt = outcome.paidAt ?? nowIso();
      if (state.paidAmount !== state.amount) flag(`paid ${state.paidAmount} but ${state.amount} was due`);
      if (wasClosed) flag(`LATE_PAYMENT: paid after the payment was ${state.status}`);
    }
    if (outcome.failure) state.failure = outcome.failure;
    transition(next, source, outcome.providerStatus);
  }

  async function inquire(): Promise<PaymentOutcome | undefined> {
    try {
      return await inquiries.inquirePayment(state.provider, ref());
    } catch (err) {
      if (err instanceof ActivityFailure) return undefined; // the next poll asks again
      throw err;
    }
  }

  async function processCallbacks(): Promise<void> {
    const confirmEveryHint = patched(CONFIRM_EVERY_HINT);
    let hinted = false;
    while (callbacks.length > 0) {
      const event = callbacks.shift()!;
      if (event.kind !== 'payment' || event.reference !== state.id) continue;
      if (event.trust === 'verified') {
        if (seen.firstTime(event.eventId)) apply(event.outcome, 'callback');
      } else if (confirmEveryHint) {
        hinted = true;
      } else if (seen.firstTime(event.eventId)) {
        const confirmed = await inquire();
        if (confirmed) apply(confirmed, 'callback');
      }
    }
    // The body is not covered by a signature: believe only what a status inquiry confirms.
    if (hinted) {
      const confirmed = await inquire();
      if (confirmed) apply(confirmed, 'callback');
    }
  }

  async function handleCancel(): Promise<void> {
    const request = cancelRequest!;
    try {
      const outcome = await calls.cancelPayment(state.provider, ref());
      // The provider may report the payment paid after all: the customer won the race.
      if (outcome.status === 'succeeded') return apply(outcome, 'cancel');
      transition('CANCELLED', 'cancel', request.reason);
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      cancelFailure = `the provider could not cancel: ${failure.message}`;
    } finally {
      cancelRequest = undefined;
    }
  }

  async function handleExpiry(): Promise<void> {
    // A payment made at the last second may not have called back yet.
    const last = await inquire();
    if (last) apply(last, 'expiry');
    if (state.status !== 'PENDING') return;
    try {
      const afterCancel = await calls.cancelPayment(state.provider, ref());
      if (afterCancel.status === 'succeeded') return apply(afterCancel, 'expiry');
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
    }
    transition('EXPIRED', 'expiry');
  }

  /** The provider may hold a registration the customer never saw instructions for: close it there. */
  async function closeUnseenRegistration(): Promise<void> {
    await calls.cancelPayment(state.provider, ref()).catch(() => undefined);
    flag('REGISTRATION_OUTCOME_UNKNOWN: cancelled at the provider; watching for a stray payment');
  }

  async function continueAsNewIfDue(): Promise<void> {
    if (!shouldContinueAsNew(pollsThisRun, input.timings.pollsPerRun)) return;
    await handOverLegacyRun(input, { ...run, attempt });
  }

  // Registration. Re-sending the same order id after an unknown outcome is safe: the provider either
  // registers it now or refuses it as a duplicate, which is then treated as unknown, never as paid.
  if (state.status === 'REGISTERING') {
    const retry = input.timings.payment.registrationRetry ?? DEFAULT_REGISTRATION_RETRY;
    const register = patched(LOCAL_ACTIVITIES) ? localCalls.registerPayment : calls.registerPayment;
    let unknownBefore = false;
    let registration: PaymentRegistration | undefined;
    for (let sent = 1; registration === undefined; sent++) {
      try {
        registration = await register(state.provider, {
          reference: state.id,
          amount: state.amount,
          method: state.method,
          customer: input.customer,
          description: input.description,
          expiresInMinutes: input.expiresInMinutes,
          callbackUrl: input.callbackUrl,
          returnUrl: input.returnUrl,
        });
      } catch (err) {
        const failure = activityFailureOf(err);
        if (!failure) throw err;
        const { type } = failure;
        const mayExist = type === 'OutcomeUnknownError' || type === 'ProviderResponseInvalidError';
        if (mayExist && sent < retry.attempts && patched(RETRY_UNKNOWN_REGISTRATION)) {
          unknownBefore = true;
          recordTimeline(state, {
            status: state.status,
            source: 'registration',
            note: `outcome unknown (${type}); sending again`,
          });
          await sleep(nextDelay(retry, sent - 1));
          continue;
        }
        state.failure = { code: type ?? 'REGISTRATION_FAILED', message: failure.message };
        if (mayExist || unknownBefore) await closeUnseenRegistration();
        transition('FAILED', 'registration', state.failure.code);
        break;
      }
    }
    if (registration?.result === 'declined') {
      state.failure = registration.failure;
      // A refusal after an unknown attempt may be the provider refusing our own duplicate.
      if (unknownBefore) await closeUnseenRegistration();
      transition('FAILED', 'registration', registration.failure.code);
    } else if (registration?.result === 'registered') {
      state.instructions = registration.instructions;
      state.providerReference = registration.providerReference;
      state.providerStatus = registration.outcome.providerStatus;
      transition('PENDING', 'registration');
    }
  }

  // Waiting for payment.
  const expiresAt = state.instructions ? Date.parse(state.instructions.expiresAt) : 0;
  while (state.status === 'PENDING') {
    const untilExpiry = expiresAt - Date.now();
    if (untilExpiry <= 0) {
      await handleExpiry();
      break;
    }
    const woken = await condition(
      () => callbacks.length > 0 || cancelRequest !== undefined,
      Math.min(nextDelay(input.timings.payment.poll, attempt), untilExpiry)
    );
    if (cancelRequest !== undefined) await handleCancel();
    if (callbacks.length > 0) await processCallbacks();
    if (!woken && Date.now() < expiresAt) {
      const outcome = await inquire();
      if (outcome) apply(outcome, 'poll');
      attempt++;
      pollsThisRun++;
    }
    if (state.status === 'PENDING') await continueAsNewIfDue();
  }

  // Closed without payment: keep watching for a late one, so it is flagged rather than lost.
  const watchForLatePayment = state.status === 'EXPIRED' || state.status === 'CANCELLED' || state.needsAttention;
  if (watchForLatePayment && closedWithoutPayment(state.status)) {
    const closedAt = Date.parse(state.updatedAt);
    const watchUntil = closedAt + input.timings.payment.lateWindowMs;
    let lateAttempt = 0;
    while (closedWithoutPayment(state.status) && Date.now() < watchUntil) {
      const woken = await condition(
        () => callbacks.length > 0,
        Math.min(nextDelay(input.timings.payment.latePoll, lateAttempt), watchUntil - Date.now())
      );
      if (woken) await processCallbacks();
      else if (Date.now() < watchUntil) {
        const outcome = await inquire();
        if (outcome?.status === 'succeeded') apply(outcome, 'poll');
        lateAttempt++;
        pollsThisRun++;
      }
    }
  }

  return closeLegacyRun(state, outbox, false);
}
