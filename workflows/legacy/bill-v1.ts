/**
 * FROZEN: the bill workflow as it ran before the movement core (patch `movement-core`, see
 * workflows/movement.ts). Only executions that started before that patch replay through this code; it
 * must never change, or their histories stop replaying (test/replay). New executions never reach it.
 */
/**
 * billWorkflow: PPOB. Inquiry → the merchant confirms → one payment → status until final.
 * A payment that did not answer definitively is resolved by status on the same reference after the
 * provider's documented delay, never by paying again.
 */
import { ActivityFailure, condition, patched, setHandler } from '@temporalio/workflow';
import type { BillPaymentOutcome, BillStatus } from '../../src/domain/bill';
import { billTotalOf } from '../../src/domain/bill';
import { calls, inquiries, submissions } from '../activity-proxies';
import { initialBillState } from '../initial-states';
import { answeredInquiryOf, billInquiryInputOf } from '../bill-inquiry';
import { CONFIRM_EVERY_HINT } from '../patches';
import { answerWhen, closeLegacyRun, handOverLegacyRun, openLegacyRun, transitionLegacyRun } from './legacy-run';
import { activityFailureOf } from '../activity-options';
import { nowIso, publishStatus, recordTimeline, shouldContinueAsNew } from '../status-and-timeline';
import { billInquiredUpdate, billStateQuery, confirmBillPaymentUpdate } from '../messages';
import type { ConfirmBillPaymentRequest } from '../messages';
import { nextDelay } from '../timings';
import type { BillState, BillWorkflowInput, TimelineEntry } from '../movement-state';

const FINAL: readonly BillStatus[] = ['SUCCEEDED', 'FAILED', 'INQUIRY_FAILED', 'EXPIRED'];

export async function billWorkflowV1(input: BillWorkflowInput): Promise<BillState> {
  const run = openLegacyRun(input.resume, input.timings.webhook, () => initialBillState(input), billStateQuery);
  const { state, outbox, seen, callbacks } = run;
  let inquired = input.resume !== undefined;
  let confirmation: ConfirmBillPaymentRequest | undefined;
  let attempt = input.resume?.attempt ?? 0;
  let checksThisRun = 0;

  answerWhen(billInquiredUpdate, state, () => inquired);
  setHandler(
    confirmBillPaymentUpdate,
    async (request) => {
      confirmation = request;
      await condition(() => state.paymentSubmitted && state.status !== 'PAYING');
      return state;
    },
    {
      validator: (request: ConfirmBillPaymentRequest) => {
        if (state.status !== 'INQUIRED' || state.paymentSubmitted) {
          throw new Error(`bill ${state.id} is ${state.status}; only an INQUIRED bill can be paid`);
        }
        const total = billTotalOf(state);
        if (request.expectedTotal !== undefined && request.expectedTotal !== total) {
          throw new Error(`expectedTotal ${request.expectedTotal} does not match the inquiry total ${total}`);
        }
        if (state.inquiry && Date.parse(state.inquiry.expiresAt) <= Date.now()) {
          throw new Error(`the inquiry for bill ${state.id} expired at ${state.inquiry.expiresAt}; inquire again`);
        }
      },
    }
  );
  void outbox.run();

  function transition(status: BillStatus, source: TimelineEntry['source'], note?: string): void {
    transitionLegacyRun(run, 'bill', status, source, note);
  }

  function apply(outcome: BillPaymentOutcome, source: TimelineEntry['source']): void {
    if (FINAL.includes(state.status)) return;
    state.providerCode = outcome.providerCode;
    if (outcome.transactionId) state.transactionId = outcome.transactionId;
    switch (outcome.status) {
      case 'succeeded':
        state.token = outcome.token;
        state.paidAt = nowIso();
        return transition('SUCCEEDED', source, outcome.providerCode);
      case 'failed':
        state.failure = {
          code: outcome.providerCode,
          message: outcome.message ?? 'the provider reports the payment failed',
          depositRefunded: outcome.depositRefunded ?? false,
        };
        return transition('FAILED', source, outcome.providerCode);
      case 'processing':
        return transition('PROCESSING', source, outcome.providerCode);
    }
  }

  async function checkStatus(): Promise<void> {
    try {
      apply(await inquiries.billStatus(state.provider, state.id), 'poll');
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
    }
  }

  // Inquiry.
  if (!input.resume) {
    try {
      const outcome = await calls.inquireBill(state.provider, billInquiryInputOf(input));
      if (outcome.result === 'failed') {
        state.inquiryFailure = { code: outcome.providerCode, reason: outcome.reason };
        transition('INQUIRY_FAILED', 'inquiry', outcome.providerCode);
      } else {
        state.inquiry = answeredInquiryOf(outcome, input.timings.bill.confirmWindowMs);
        state.providerCode = outcome.providerCode;
        recordTimeline(state, { status: 'INQUIRED', source: 'inquiry', note: outcome.providerCode });
        publishStatus(state);
        outbox.emit('bill.inquired', state);
      }
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      const type = failure.type ?? 'INQUIRY_ERROR';
      const { message } = failure;
      state.inquiryFailure = { code: type, reason: { id: message, en: message } };
      transition('INQUIRY_FAILED', 'inquiry', type);
    }
    inquired = true;
  }

  // Waiting for the merchant's confirmation, until the inquiry expires.
  if (state.status === 'INQUIRED' && !state.paymentSubmitted) {
    const expiresAt = Date.parse(state.inquiry!.expiresAt);
    const confirmed = await condition(() => confirmation !== undefined, Math.max(1, expiresAt - Date.now()));
    if (!confirmed) transition('EXPIRED', 'expiry', 'not confirmed before the inquiry expired');
  }

  // Payment: exactly once.
  if (confirmation !== undefined && !state.paymentSubmitted) {
    state.paymentSubmitted = true;
    transition('PAYING', 'payment');
    try {
      apply(
        await submissions.payBill(state.provider, {
          reference: state.id,
          inquiryId: state.inquiry!.inquiryId,
          productCode: state.productCode,
          accountNumber: input.accountNumber,
          amount: state.inquiry!.amount,
          callbackUrl: input.callbackUrl,
        }),
        'payment'
      );
    } catch (err) {
      const failure = activityFailureOf(err);
      if (!failure) throw err;
      transition('PROCESSING', 'payment', `no definite answer: ${failure.message}`);
    }
  }

  // Status until final: first check no sooner than the provider's documented delay, callbacks as hints.
  if (state.status === 'PROCESSING') {
    const attentionAt = Date.parse(state.updatedAt) + input.timings.bill.attentionAfterMs;
    let nextCheckIn =
      attempt === 0 ? input.timings.bill.firstStatusCheckMs : nextDelay(input.timings.bill.statusPoll, attempt);
    while (!FINAL.includes(state.status)) {
      const woken = await condition(() => callbacks.length > 0, nextCheckIn);
      let hinted = false;
      const confirmEveryHint = callbacks.length > 0 && patched(CONFIRM_EVERY_HINT);
      while (callbacks.length > 0) {
        const event = callbacks.shift()!;
        if (event.kind !== 'bill' || event.reference !== state.id) continue;
        if (confirmEveryHint || seen.firstTime(event.eventId)) hinted = true;
      }
      // Ayopop's callback is unsigned: it only tells us when to look.
      if (hinted || !woken) await checkStatus();
      if (!woken) {
        attempt++;
        checksThisRun++;
      }
      nextCheckIn = nextDelay(input.timings.bill.statusPoll, attempt);
      if (!state.needsAttention && !FINAL.includes(state.status) && Date.now() >= attentionAt) {
        state.needsAttention = true;
        state.attentionReason = 'payment still processing at the provider; check with the provider';
        publishStatus(state);
        outbox.emit('bill.needs_attention', state);
      }
      if (!FINAL.includes(state.status) && shouldContinueAsNew(checksThisRun, input.timings.pollsPerRun)) {
        await handOverLegacyRun(input, { ...run, attempt });
      }
    }
  }

  return closeLegacyRun(state, outbox, FINAL.includes(state.status));
}
