/**
 * paymentWorkflow on the real Temporal server with real activities against the provider simulators.
 * Callbacks are signalled directly here (the API's callback path has its own tests), so each scenario
 * controls exactly what the workflow receives and when.
 */
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { ProviderCallbackEvent } from '../../src/domain/callback';
import {
  cancelPaymentUpdate,
  merchantEventsQuery,
  paymentStateQuery,
  providerCallbackSignal,
} from '../../workflows/messages';
import { KasirNeedsAttention } from '../../workflows/search-attributes';
import { recordHistory } from '../helpers/histories';
import { paidCallback, simControl, startPayment } from '../helpers/movements';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

type PaymentCallback = Extract<ProviderCallbackEvent, { kind: 'payment' }>;

describe('paymentWorkflow', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async () => {
    // Polls slow enough that callbacks, not polls, decide the callback scenarios.
    stack = await startStack({
      timings: {
        payment: {
          poll: { initialMs: 30_000, maxMs: 30_000, factor: 1 },
          lateWindowMs: 6_000,
          latePoll: { initialMs: 30_000, maxMs: 30_000, factor: 1 },
        },
      },
    });
  });
  after(async () => stack?.stop());

  it('returns Finpay payment-code instructions at once, then settles on a verified callback', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
    assert.equal(state.status, 'PENDING');
    assert.match(state.instructions?.paymentCode ?? '', /^\d+$/);
    assert.ok(Date.parse(state.instructions!.expiresAt) > Date.now());

    await handle.signal(providerCallbackSignal, paidCallback(state, 'PAID:1'));
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.equal(final.paidAmount, state.amount);
    assert.equal(final.needsAttention, false);
    const events = [...new Map(stack.webhooks.eventsFor(state.id).map((e) => [e.id, e])).values()];
    assert.deepEqual(
      events.map((e) => e.type),
      ['payment.pending', 'payment.succeeded']
    );
    assert.ok(
      events.every((e) => !('requestFingerprint' in e.data)),
      'webhooks never carry the request fingerprint'
    );
    await recordHistory(stack, handle, 'payment', 'finpay-code-paid');
    await recordHistory(stack, handle, 'payment', 'finpay-code-paid-movement-core');
    await recordHistory(stack, handle, 'payment', 'finpay-code-paid-local-activities');
    await recordHistory(stack, handle, 'payment', 'finpay-code-paid-consolidated-patches');
  });

  it('settles with one patch marker, no webhook timers and no upsert that leaves the search attributes as they were', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'VA_BCA' });
    await handle.signal(providerCallbackSignal, paidCallback(state, 'PAID:lean'));
    assert.equal((await handle.result()).status, 'SUCCEEDED');
    const { events } = await handle.fetchHistory();
    const markers = (events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    // Every patch this code has is put in force by one consolidated marker (workflows/patches.ts).
    assert.equal(markers.length, 1, `patch markers: ${markers.length}`);
    const upserts = (events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes);
    const fields = upserts.map((e) =>
      Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {})
        .sort()
        .join(',')
    );
    // REGISTERING is indexed at start: PENDING and SUCCEEDED are the only changes, plus the patch's own upsert.
    assert.deepEqual(fields, [
      'TemporalChangeVersion',
      'KasirNeedsAttention,KasirStatus',
      'KasirNeedsAttention,KasirStatus',
    ]);
    // Webhooks delivered on time leave no timer: the only timer is the payment's own status-poll wait.
    const timers = (events ?? []).filter((e) => e.timerStartedEventAttributes);
    assert.equal(timers.length, 1, `timers: ${timers.length}`);
    // Both webhooks go out as activities beside the workflow, never inside a workflow task.
    const scheduled = (events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
    assert.equal(scheduled.length, 2, `activities scheduled: ${scheduled.length}`);
    const told = stack.webhooks.eventsFor(state.id).filter((e) => e.type === 'payment.succeeded');
    assert.equal(told.length, 1);
    await recordHistory(stack, handle, 'payment', 'final-webhook-in-background');
  });

  it('delivers a closing payment’s webhook in the background, never inside a workflow task, numbering retries on', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'VA_BCA' });
    await eventually(async () => stack.webhooks.eventsFor(state.id).some((e) => e.type === 'payment.pending'));
    stack.webhooks.failNext = 1;
    await handle.signal(providerCallbackSignal, paidCallback(state, 'PAID:background'));
    assert.equal((await handle.result()).status, 'SUCCEEDED');
    assert.equal(stack.webhooks.failNext, 0, 'the first attempt met the 503');
    const { events } = await handle.query(merchantEventsQuery);
    const succeeded = events.find((e) => e.type === 'payment.succeeded');
    assert.equal(succeeded?.delivery, 'delivered');
    assert.deepEqual(
      succeeded?.attempts.map((a) => [a.attempt, a.status]),
      [
        [1, 503],
        [2, 200],
      ]
    );
    assert.equal(succeeded?.attemptCount, 2);
    assert.equal(stack.webhooks.eventsFor(state.id).filter((e) => e.type === 'payment.succeeded').length, 1);
    // A workflow task can be thrown away and run again: a send inside one could repeat. The only local
    // activity is the registration; both webhooks are activities, retried by Temporal.
    const { events: history } = await handle.fetchHistory();
    const local = (history ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    assert.equal(local.length, 1, 'the registration alone');
    assert.equal((history ?? []).filter((e) => e.activityTaskScheduledEventAttributes).length, 2);
  });

  it('confirms hint-level callbacks by status inquiry, never deduplicating them by their unsigned id', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
    // A forged hint claims success, with the id the genuine callback will carry; the provider says pending.
    await handle.signal(providerCallbackSignal, paidCallback(state, 'PAID:genuine', 'hint'));
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await handle.query(paymentStateQuery)).status, 'PENDING');

    // The genuine callback, same id, after the customer really paid: it must not be dropped as a duplicate.
    await simControl(stack.simulators.finpay.url, `/_sim/orders/${state.id}/pay`);
    await handle.signal(providerCallbackSignal, paidCallback(state, 'PAID:genuine', 'hint'));
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.equal(final.timeline.find((t) => t.status === 'SUCCEEDED')?.source, 'callback');
    await recordHistory(stack, handle, 'payment', 'hint-confirmed-by-inquiry');
    await recordHistory(stack, handle, 'payment', 'hint-confirmed-by-inquiry-movement-core');
  });

  it('treats a duplicate callback as a no-op', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
    await handle.signal(providerCallbackSignal, paidCallback(state, 'PAID:dup'));
    await handle.signal(providerCallbackSignal, paidCallback(state, 'PAID:dup'));
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.equal(final.timeline.filter((t) => t.status === 'SUCCEEDED').length, 1);
    // Delivery is at least once (a retried workflow task re-sends); the event id is what merchants dedupe on.
    const succeeded = stack.webhooks.eventsFor(state.id).filter((e) => e.type === 'payment.succeeded');
    assert.ok(succeeded.length >= 1);
    assert.equal(new Set(succeeded.map((e) => e.id)).size, 1, 'one succeeded event, however often delivered');
    await recordHistory(stack, handle, 'payment', 'duplicate-callback');
    await recordHistory(stack, handle, 'payment', 'duplicate-callback-movement-core');
  });

  it('never lets an out-of-order callback move a payment backwards', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
    const paid = paidCallback(state, 'PAID:ooo');
    const stalePending: PaymentCallback = {
      ...paid,
      eventId: 'PENDING:ooo',
      outcome: { status: 'pending', providerStatus: 'PENDING' },
    };
    const staleExpired: PaymentCallback = {
      ...paid,
      eventId: 'EXPIRED:ooo',
      outcome: { status: 'expired', providerStatus: 'EXPIRED' },
    };
    await handle.signal(providerCallbackSignal, paid);
    await handle.signal(providerCallbackSignal, stalePending);
    await handle.signal(providerCallbackSignal, staleExpired);
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    // Status changes are the timeline's money events; the stale reports are only routine notes.
    assert.deepEqual(
      final.timeline.filter((t) => t.money).map((t) => t.status),
      ['PENDING', 'SUCCEEDED']
    );
    await recordHistory(stack, handle, 'payment', 'out-of-order-callback');
    await recordHistory(stack, handle, 'payment', 'out-of-order-callback-movement-core');
  });

  it('cancels a pending payment at the provider through a validated update', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
    const cancelled = await handle.executeUpdate(cancelPaymentUpdate, {
      args: [{ reason: 'customer changed their mind' }],
    });
    assert.equal(cancelled.status, 'CANCELLED');
    const order = (await (await fetch(`${stack.simulators.finpay.url}/_sim/orders/${state.id}`)).json()) as {
      status: string;
    };
    assert.equal(order.status, 'CANCELLED');
    // The validator rejects a second cancel without touching history.
    await assert.rejects(handle.executeUpdate(cancelPaymentUpdate, { args: [{}] }), WorkflowUpdateFailedError);
    assert.equal((await handle.result()).status, 'CANCELLED');
    await recordHistory(stack, handle, 'payment', 'cancelled');
    await recordHistory(stack, handle, 'payment', 'cancelled-movement-core');
  });

  it('expires an unpaid payment, cancelling it at the provider', async () => {
    const { state, handle } = await startPayment(stack, {
      provider: 'finpay',
      method: 'FINPAY_CODE',
      expiresInMinutes: 0.05,
    });
    const final = await handle.result();
    assert.equal(final.status, 'EXPIRED');
    assert.equal(final.needsAttention, false);
    const types = [...new Map(stack.webhooks.eventsFor(state.id).map((e) => [e.id, e.type])).values()];
    assert.deepEqual(types, ['payment.pending', 'payment.expired']);
    await recordHistory(stack, handle, 'payment', 'expired');
    await recordHistory(stack, handle, 'payment', 'expired-movement-core');
  });

  it('flags a payment that arrives after expiry as needing attention instead of losing it', async () => {
    const { state, handle } = await startPayment(stack, {
      provider: 'finpay',
      method: 'FINPAY_CODE',
      expiresInMinutes: 0.05,
    });
    await eventually(
      async () => ((await handle.query(paymentStateQuery)).status === 'EXPIRED' ? true : undefined),
      20_000,
      'expiry'
    );
    await handle.signal(providerCallbackSignal, paidCallback(state, 'PAID:late'));
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.equal(final.needsAttention, true);
    assert.match(final.attentionReason ?? '', /LATE_PAYMENT/);
    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get(KasirNeedsAttention), true);
    // What an operator reads in the Temporal UI's "current details".
    const metadata = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    assert.match(metadata.currentDetails, /SUCCEEDED/);
    assert.match(metadata.currentDetails, /Needs attention: LATE_PAYMENT/);
    await recordHistory(stack, handle, 'payment', 'late-payment');
    await recordHistory(stack, handle, 'payment', 'late-payment-movement-core');
  });
});
