/**
 * Money-safety scenarios on the real stack (Temporal dev server, provider simulators, a worker): each
 * one a way the workflows before the movement core lost money, lost a message or lied to a merchant.
 * Callbacks are signalled directly, so each scenario controls exactly what a workflow receives and when.
 *
 * Timings that a scenario exercises are set per workflow (they travel in its input), so one stack
 * serves every scenario.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import type { ProviderCallbackEvent } from '../../src/domain/callback';
import { deriveId, requestFingerprint, workflowIdOf } from '../../src/ids';
import type { billWorkflow } from '../../workflows';
import {
  billStateQuery,
  cancelPaymentUpdate,
  confirmBillPaymentUpdate,
  paymentStateQuery,
  payoutStateQuery,
  providerCallbackSignal,
  resolvePayoutUpdate,
} from '../../workflows/messages';
import type { WorkflowTimings } from '../../workflows/timings';
import type { BillWorkflowInput, PayoutState } from '../../workflows/movement-state';
import {
  paidCallback,
  simControl,
  simGet,
  startBill,
  startPayment,
  startPayout,
  uniqueReference,
} from '../helpers/movements';
import { recordHistory } from '../helpers/histories';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const TIMED_OUT = Symbol('timed out');
/** Resolves with the promise's value, or TIMED_OUT if it has not settled within `ms` (its rejection passes through). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type Settled<T> =
  | { kind: 'resolved'; value: T; ms: number }
  | { kind: 'rejected'; error: unknown; ms: number }
  | { kind: 'timed out'; ms: number };
/** How a promise settled within `ms`, and how long it took. */
async function settle<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  const started = Date.now();
  try {
    const value = await within(promise, ms);
    if (value === TIMED_OUT) return { kind: 'timed out', ms: Date.now() - started };
    return { kind: 'resolved', value, ms: Date.now() - started };
  } catch (error) {
    return { kind: 'rejected', error, ms: Date.now() - started };
  }
}

function describeError(error: unknown): string {
  if (error instanceof WorkflowUpdateFailedError)
    return `WorkflowUpdateFailedError(${error.cause?.message ?? error.message})`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The message an update was refused with (the workflow's own error, not the client's wrapper). */
function refusal(error: unknown): string {
  assert.ok(
    error instanceof WorkflowUpdateFailedError,
    `expected WorkflowUpdateFailedError, got ${describeError(error)}`
  );
  return error.cause?.message ?? '';
}

const randomBetween = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

describe('money safety on the movement core', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let bdpay: string;
  let finpay: string;
  let ayopop: string;
  let namespace: string;

  /** The stack as the start helpers see it, with timings that travel in the workflow's input. */
  function withTimings(change: (base: WorkflowTimings) => WorkflowTimings): TestStack {
    return { ...stack, config: { ...stack.config, timings: change(structuredClone(stack.config.timings)) } };
  }

  const payoutSubmissions = async (id: string) =>
    (await simGet<Record<string, number>>(bdpay, '/_sim/submissions'))[id] ?? 0;
  const billPayments = async (id: string) =>
    (await simGet<Record<string, number>>(ayopop, '/_sim/submissions'))[id] ?? 0;
  const eventTypes = (id: string) => stack.webhooks.eventsFor(id).map((e) => e.type);

  /** Every event of every run of a workflow's continue-as-new chain, oldest run first. */
  async function chainHistory(workflowId: string): Promise<HistoryEvent[]> {
    let runId: string | null | undefined = (await stack.client.workflow.getHandle(workflowId).describe()).runId;
    const runs: HistoryEvent[][] = [];
    while (runId) {
      const handle: WorkflowHandle = stack.client.workflow.getHandle(workflowId, runId);
      const events: HistoryEvent[] = (await handle.fetchHistory()).events ?? [];
      runs.unshift(events);
      runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    }
    return runs.flat();
  }

  /**
   * Finpay status checks answer 400 ms late, so signals and updates often arrive while the poll's
   * inquiry runs and are delivered together with its result: in the very activation that decides to
   * continue as new. (Timers fire at about 1 s granularity on the dev server, so polls come about every second.)
   */
  const slowFinpayChecks = () =>
    simControl(finpay, '/_sim/faults', { kind: 'slow', path: '/pg/payment/card/check', delayMs: 400, count: 100_000 });

  /** Resets run `runId` of `workflowId` to its first completed workflow task; the new run's id. */
  async function resetToFirstTask(workflowId: string, runId: string, why: string): Promise<string> {
    const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const firstCompleted = history.events?.find((e) => e.workflowTaskCompletedEventAttributes);
    assert.ok(firstCompleted?.eventId, `${workflowId} has a completed workflow task`);
    const reset = await stack.client.workflowService.resetWorkflowExecution({
      namespace,
      workflowExecution: { workflowId, runId },
      workflowTaskFinishEventId: firstCompleted.eventId,
      requestId: randomUUID(),
      reason: `money-safety test: ${why}`,
    });
    return reset.runId;
  }

  const activitiesScheduled = (events: HistoryEvent[], name: string) =>
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name).length;

  before(async function () {
    this.timeout(120_000);
    stack = await startStack();
    bdpay = stack.simulators.bdpay.url;
    finpay = stack.simulators.finpay.url;
    ayopop = stack.simulators.ayopop.url;
    namespace = stack.config.temporal.namespace;
  });
  after(async () => stack?.stop());
  afterEach(async () => {
    stack.webhooks.failNext = 0;
    for (const url of [bdpay, finpay, ayopop]) await fetch(`${url}/_sim/faults`, { method: 'DELETE' });
    await fetch(`${bdpay}/_sim/response-faults`, { method: 'DELETE' });
  });

  // ---- payouts: at most one submission, whatever happens to the workflow --------------------------

  it('1. a payout reset to its first workflow task after acceptance is not submitted again and never fails', async () => {
    const { state, handle } = await startPayout(stack, {});
    assert.equal(state.status, 'PROCESSING');
    assert.equal(await payoutSubmissions(state.id), 1);

    const { runId } = await handle.describe();
    const resetRunId = await resetToFirstTask(
      handle.workflowId,
      runId,
      'replay the payout from its first workflow task'
    );
    assert.ok(resetRunId && resetRunId !== runId);

    // The new run asks the provider first, finds the payout and adopts it.
    const adopted = await eventually(
      async () => {
        if ((await handle.describe()).runId !== resetRunId) return undefined;
        const current = await handle.query(payoutStateQuery);
        return current.status !== 'SUBMITTING' ? current : undefined;
      },
      20_000,
      'the reset run to learn the payout status'
    );
    assert.equal(await payoutSubmissions(state.id), 1, 'the reset run did not submit the payout again');
    assert.notEqual(adopted.status, 'FAILED', `after reset: ${JSON.stringify(adopted.timeline)}`);

    await simControl(bdpay, `/_sim/payouts/${state.id}/settle`);
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.equal(await payoutSubmissions(state.id), 1);
    assert.ok(!final.timeline.some((t) => t.status === 'FAILED'), `never FAILED: ${JSON.stringify(final.timeline)}`);
    assert.ok(!eventTypes(state.id).includes('payout.failed'), `merchant events: ${eventTypes(state.id).join(', ')}`);
  });

  it('2. a payout re-created after its workflow is gone adopts the payout the provider holds', async function () {
    this.timeout(90_000);
    const reference = uniqueReference('payout-retention');
    const first = await startPayout(stack, { reference });
    assert.equal(first.state.status, 'PROCESSING');
    const id = first.state.id;
    const workflowId = first.handle.workflowId;

    // Retention: the closed workflow and its history are gone.
    // Deleting a running execution terminates it and deletes it with its close, without the delay a
    // closed one waits (about 30 s on the dev server).
    await stack.client.workflowService.deleteWorkflowExecution({ namespace, workflowExecution: { workflowId } });
    await eventually(
      async () => {
        try {
          await stack.client.workflow.getHandle(workflowId).describe();
          return undefined;
        } catch (err) {
          return err instanceof WorkflowNotFoundError ? true : undefined;
        }
      },
      // The server deletes it in the background.
      50_000,
      'the deleted payout workflow to be gone',
      500
    );

    const again = await startPayout(stack, { reference });
    assert.equal(again.state.id, id, 'same merchant reference, same payout id');
    assert.ok(['PROCESSING', 'SUCCEEDED'].includes(again.state.status), `re-created payout is ${again.state.status}`);
    assert.equal(await payoutSubmissions(id), 1, 'the re-created workflow did not submit again');

    await simControl(bdpay, `/_sim/payouts/${id}/settle`);
    const final = await again.handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.ok(!final.timeline.some((t) => t.status === 'FAILED'), `never FAILED: ${JSON.stringify(final.timeline)}`);
    assert.equal(await payoutSubmissions(id), 1);
    assert.ok(!eventTypes(id).includes('payout.failed'), `merchant events: ${eventTypes(id).join(', ')}`);
  });

  // ---- continue-as-new never loses an update or a callback ----------------------------------------

  it('3. cancel updates sent around continue-as-new all complete, and a PAID callback still lands', async function () {
    this.timeout(90_000);
    const fastCan = withTimings((t) => ({
      ...t,
      pollsPerRun: 2,
      payment: { ...t.payment, poll: { initialMs: 150, maxMs: 150, factor: 1 } },
    }));
    await slowFinpayChecks();
    const payments = await Promise.all(
      // A day at the simulators' time scale (86 s): none expires while the cancels race continue-as-new.
      Array.from({ length: 8 }, () =>
        startPayment(fastCan, { provider: 'finpay', method: 'FINPAY_CODE', expiresInMinutes: 1440 })
      )
    );
    await sleep(2_500); // a run or two handed over already

    const attempts = await Promise.all(
      payments.map(async ({ state }, i) => {
        const handle = stack.client.workflow.getHandle(workflowIdOf('payment', state.id));
        await sleep(randomBetween(0, 1_000));
        // Three cancels, 150 ms apart, so some arrive while a run is handing over.
        return Promise.all(
          [0, 150, 300].map(async (offset) => {
            await sleep(offset);
            const outcome = await settle(
              handle.executeUpdate(cancelPaymentUpdate, { args: [{ reason: `test ${i}` }] }),
              15_000
            );
            return { payment: state.id, offset, outcome };
          })
        );
      })
    );
    const flat = attempts.flat();
    const report = flat.map(
      (a) =>
        `${a.payment}+${a.offset}ms: ${a.outcome.kind} in ${a.outcome.ms} ms${a.outcome.kind === 'rejected' ? ` ${describeError(a.outcome.error)}` : ''}`
    );
    assert.deepEqual(
      flat.filter((a) => a.outcome.kind === 'timed out').map((a) => a.payment),
      [],
      `updates left hanging:\n${report.join('\n')}`
    );
    for (const a of flat) {
      if (a.outcome.kind === 'rejected') {
        assert.ok(
          a.outcome.error instanceof WorkflowUpdateFailedError,
          `a cancel failed outside the workflow:\n${report.join('\n')}`
        );
      }
      if (a.outcome.kind === 'resolved') assert.equal(a.outcome.value.status, 'CANCELLED');
    }
    for (const [i, { state }] of payments.entries()) {
      assert.ok(
        attempts[i]!.some((a) => a.outcome.kind === 'resolved'),
        `payment ${state.id}: no cancel succeeded although it was PENDING:\n${report.join('\n')}`
      );
      const current = await stack.client.workflow.getHandle(workflowIdOf('payment', state.id)).query(paymentStateQuery);
      assert.equal(current.status, 'CANCELLED');
    }

    // Other payments in the same situation: one verified PAID callback each, at a random moment.
    const paid = await Promise.all(
      Array.from({ length: 6 }, () => startPayment(fastCan, { provider: 'finpay', method: 'FINPAY_CODE' }))
    );
    await sleep(2_500);
    const results = await Promise.all(
      paid.map(async ({ state, handle }) => {
        await sleep(randomBetween(0, 1_500));
        await handle.signal(providerCallbackSignal, paidCallback(state, `PAID:${state.id}`));
        const final = await within(handle.result(), 15_000);
        return final === TIMED_OUT ? `${state.id}: no result in 15 s` : `${state.id}: ${final.status}`;
      })
    );
    assert.deepEqual(
      results,
      paid.map(({ state }) => `${state.id}: SUCCEEDED`)
    );
  });

  it('4. a verified PAID callback signalled while the workflow continues as new is not lost', async function () {
    this.timeout(60_000);
    const everyPoll = withTimings((t) => ({
      ...t,
      pollsPerRun: 1,
      payment: { ...t.payment, poll: { initialMs: 150, maxMs: 150, factor: 1 } },
    }));
    await slowFinpayChecks();
    const payments = await Promise.all(
      Array.from({ length: 12 }, () => startPayment(everyPoll, { provider: 'finpay', method: 'FINPAY_CODE' }))
    );
    await sleep(2_500);
    // Each payment gets exactly one PAID callback, at a random moment of its poll cycle (every run
    // makes one poll, then continues as new): nothing else (the simulator still says pending) can make
    // it succeed.
    const results = await Promise.all(
      payments.map(async ({ state, handle }, i) => {
        await sleep(randomBetween(0, 1_500) + (i % 4) * 37);
        await handle.signal(providerCallbackSignal, paidCallback(state, `PAID:${state.id}`));
        const final = await within(handle.result(), 15_000);
        if (final === TIMED_OUT) {
          const current = await handle.query(paymentStateQuery);
          return `${state.id}: still ${current.status} after 15 s (callback lost)`;
        }
        return `${state.id}: ${final.status}`;
      })
    );
    assert.deepEqual(
      results,
      payments.map(({ state }) => `${state.id}: SUCCEEDED`)
    );
  });

  // ---- callbacks after close, and callbacks the workflow must not take ------------------------------

  it('5. a callback arriving while a closed payment waits to deliver its last webhooks is read', async () => {
    // No late window: once cancelled, the payment goes straight to delivering its last webhooks.
    const noLateWindow = withTimings((t) => ({ ...t, payment: { ...t.payment, lateWindowMs: 0 } }));
    const { state, handle } = await startPayment(noLateWindow, { provider: 'finpay', method: 'FINPAY_CODE' });
    stack.webhooks.failNext = 1_000;
    const cancelled = await handle.executeUpdate(cancelPaymentUpdate, { args: [{ reason: 'customer left' }] });
    assert.equal(cancelled.status, 'CANCELLED');
    await handle.signal(providerCallbackSignal, paidCallback(state, `PAID:${state.id}`));

    // The merchant is still down, so the workflow cannot have closed: it must read the callback anyway.
    const read = await within(
      eventually(
        async () => ((await handle.query(paymentStateQuery)).status === 'SUCCEEDED' ? true : undefined),
        10_000,
        'SUCCEEDED'
      ),
      12_000
    ).catch((err: Error) => err);
    const meanwhile = await handle.query(paymentStateQuery);
    stack.webhooks.failNext = 0;
    assert.equal(
      read,
      true,
      `while webhooks were failing the payment stayed ${meanwhile.status}: ${JSON.stringify(meanwhile.timeline)}`
    );

    const final = await within(handle.result(), 20_000);
    assert.notEqual(final, TIMED_OUT, 'the payment closed once the merchant answered');
    if (final === TIMED_OUT) return;
    assert.equal(final.status, 'SUCCEEDED', `timeline: ${JSON.stringify(final.timeline)}`);
    assert.equal(final.needsAttention, true);
    assert.match(final.attentionReason ?? '', /^LATE_PAYMENT/);
  });

  it('6. cancelling a BDPay payment (no cancel API) fails the update and leaves it PENDING', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'bdpay', method: 'VA_SAMPOERNA' });
    assert.equal(state.status, 'PENDING');
    const outcome = await settle(
      handle.executeUpdate(cancelPaymentUpdate, { args: [{ reason: 'customer left' }] }),
      15_000
    );
    assert.equal(outcome.kind, 'rejected', `cancel ${outcome.kind}`);
    if (outcome.kind === 'rejected') assert.match(refusal(outcome.error), /no cancel API/);
    assert.equal((await handle.query(paymentStateQuery)).status, 'PENDING');
    assert.ok(!eventTypes(state.id).includes('payment.cancelled'));
    await handle.terminate('test cleanup');
  });

  it('7. a bill confirmation before the inquiry has answered is rejected and pays nothing', async () => {
    await simControl(ayopop, '/_sim/faults', { kind: 'slow', path: '/api/v2/bill/check', delayMs: 3_000 });
    const merchantId = stack.merchants[0]!.id;
    const merchantReference = uniqueReference('bill-early');
    const billId = deriveId('bill', merchantId, merchantReference);
    const input: BillWorkflowInput = {
      billId,
      merchantId,
      merchantReference,
      provider: 'ayopop',
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
      callbackUrl: `${stack.config.api.publicUrl}/callbacks/ayopop`,
      requestFingerprint: requestFingerprint({ merchantReference }),
      timings: stack.config.timings,
    };
    const handle: WorkflowHandle<typeof billWorkflow> = await stack.client.workflow.start<typeof billWorkflow>(
      'billWorkflow',
      {
        workflowId: workflowIdOf('bill', billId),
        taskQueue: stack.config.temporal.taskQueue,
        args: [input],
      }
    );
    const early = await settle(handle.executeUpdate(confirmBillPaymentUpdate, { args: [{}] }), 15_000);
    assert.equal(early.kind, 'rejected', `an early confirmation ${early.kind}`);
    if (early.kind === 'rejected') refusal(early.error);

    const inquired = await eventually(
      async () => {
        const current = await handle.query(billStateQuery);
        return current.inquiry ? current : undefined;
      },
      20_000,
      'the slow inquiry to answer'
    );
    assert.equal(inquired.status, 'INQUIRED');
    await sleep(500);
    assert.equal(await billPayments(billId), 0, 'no payment reached Ayopop');
    assert.equal((await handle.query(billStateQuery)).paymentSubmitted, false);
    await handle.terminate('test cleanup');
  });

  it('8. an underpayment is AMOUNT_MISMATCH with attention, never a success', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE', amount: 150_000 });
    await handle.signal(providerCallbackSignal, paidCallback(state, `PAID:${state.id}`, 'verified', 1_000));
    const final = await within(handle.result(), 20_000);
    assert.notEqual(final, TIMED_OUT);
    if (final === TIMED_OUT) return;
    assert.equal(final.status, 'AMOUNT_MISMATCH');
    assert.equal(final.paidAmount, 1_000);
    assert.equal(final.needsAttention, true);
    const types = eventTypes(state.id);
    assert.ok(types.includes('payment.amount_mismatch'), `merchant events: ${types.join(', ')}`);
    assert.ok(!types.includes('payment.succeeded'), `merchant events: ${types.join(', ')}`);
    // The merchant's event carries the flag and its reason, as the payment itself does.
    const told = stack.webhooks.eventsFor(state.id).find((e) => e.type === 'payment.amount_mismatch')!;
    assert.equal(told.data.needsAttention, true);
    assert.equal(told.data.attentionReason, final.attentionReason);
    assert.match(final.attentionReason ?? '', /^AMOUNT_MISMATCH: paid 1000 but 150000 was due/);
    await recordHistory(stack, handle, 'payment', 'attention-in-transition-event');
  });

  it('9. a callback naming another provider is ignored', async () => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
    await handle.signal(providerCallbackSignal, { ...paidCallback(state, `PAID:${state.id}`), provider: 'bdpay' });
    await sleep(1_500);
    const current = await handle.query(paymentStateQuery);
    assert.equal(current.status, 'PENDING', `timeline: ${JSON.stringify(current.timeline)}`);
    assert.equal(current.paidAmount, undefined);
    assert.ok(!eventTypes(state.id).includes('payment.succeeded'));
    await handle.terminate('test cleanup');
  });

  // ---- a merchant endpoint that is down ---------------------------------------------------------------

  it('10. a merchant endpoint that is down neither delays a payment nor grows its history', async function () {
    this.timeout(40_000);
    // Slow polls, so history holds only what webhook delivery would add.
    const slowPolls = withTimings((t) => ({
      ...t,
      payment: { ...t.payment, poll: { initialMs: 30_000, maxMs: 30_000, factor: 1 } },
    }));
    stack.webhooks.failNext = 1_000;
    const started = Date.now();
    const { state, handle } = await startPayment(slowPolls, { provider: 'finpay', method: 'FINPAY_CODE' });
    const answeredIn = Date.now() - started;
    assert.equal(state.status, 'PENDING');
    assert.ok(answeredIn < 2_000, `update-with-start answered in ${answeredIn} ms`);

    await sleep(10_000);
    const { historyLength } = await handle.describe();
    assert.ok(stack.webhooks.failNext < 1_000, 'deliveries were attempted and refused');
    assert.ok(historyLength < 60, `history grew to ${historyLength} events while the merchant was down`);
    stack.webhooks.failNext = 0;
    await handle.terminate('test cleanup');
  });

  // ---- operator resolution ------------------------------------------------------------------------------

  it('11. operator resolutions are checked: a PROCESSING payout is refused; a forced FAILED the provider then pays is caught', async function () {
    this.timeout(60_000);
    // A PROCESSING payout that needs no attention: the validator refuses, nothing is recorded.
    const processing = await startPayout(stack, {});
    assert.equal(processing.state.status, 'PROCESSING');
    const refused = await settle(
      processing.handle.executeUpdate(resolvePayoutUpdate, {
        args: [{ outcome: 'SUCCEEDED', evidence: 'BCA statement line 4411, credited', operator: 'ops@kasir' }],
      }),
      15_000
    );
    assert.equal(refused.kind, 'rejected', `resolution of a PROCESSING payout ${refused.kind}`);
    if (refused.kind === 'rejected') refusal(refused.error);
    const events = (await processing.handle.fetchHistory()).events ?? [];
    assert.ok(
      !events.some(
        (e) =>
          e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === resolvePayoutUpdate.name
      ),
      'the validator refused it before it reached history'
    );
    await processing.handle.terminate('test cleanup');

    // UNKNOWN (the provider created it but its answer was lost), queried only every 2.5 s, so the
    // operator acts while it is still UNKNOWN and the provider reports it processing.
    const timings = withTimings((t) => ({
      ...t,
      payout: {
        ...t.payout,
        query: { initialMs: 2_500, maxMs: 2_500, factor: 1 },
        watchAfterOperatorFailureMs: 20_000,
      },
    }));
    await simControl(bdpay, '/_sim/response-faults', { kind: 'unknown', path: '/gateway/cash' });
    const { state, handle } = await startPayout(timings, {});
    assert.equal(state.status, 'UNKNOWN');
    const failed = {
      outcome: 'FAILED' as const,
      evidence: 'BDPay support says the transfer bounced',
      operator: 'ops@kasir',
    };
    const contradicted = await settle(handle.executeUpdate(resolvePayoutUpdate, { args: [failed] }), 15_000);
    assert.equal(contradicted.kind, 'rejected', `FAILED while the provider reports processing ${contradicted.kind}`);
    if (contradicted.kind === 'rejected') assert.match(refusal(contradicted.error), /^provider contradicts/);

    const forced = await handle.executeUpdate(resolvePayoutUpdate, { args: [{ ...failed, force: true }] });
    assert.equal(forced.status, 'FAILED');
    assert.equal(forced.resolution?.forced, true);

    await simControl(bdpay, `/_sim/payouts/${state.id}/settle`);
    const final = await within(handle.result(), 30_000);
    assert.notEqual(final, TIMED_OUT, 'the payout closed after the provider paid');
    if (final === TIMED_OUT) return;
    assert.equal(final.status, 'SUCCEEDED', `timeline: ${JSON.stringify(final.timeline)}`);
    assert.equal(final.needsAttention, true);
    assert.match(final.attentionReason ?? '', /^PAID_AFTER_FAILURE/);
    const types = eventTypes(state.id);
    assert.ok(types.includes('payout.paid_after_failure'), `merchant events: ${types.join(', ')}`);
    assert.equal(await payoutSubmissions(state.id), 1);
  });

  // ---- bounded work, complete audit trail ------------------------------------------------------------

  it('12. hint callbacks arriving close together share status inquiries', async () => {
    // FAST_TIMINGS coalesces hints within 300 ms.
    const hintMinIntervalMs = stack.config.timings.hintMinIntervalMs ?? 300;
    // No polls in the way: every inquiry in history is one a hint caused.
    const slowPolls = withTimings((t) => ({
      ...t,
      payment: { ...t.payment, poll: { initialMs: 30_000, maxMs: 30_000, factor: 1 } },
    }));
    const { state, handle } = await startPayment(slowPolls, { provider: 'finpay', method: 'FINPAY_CODE' });
    // 30 hints, 20 ms apart: each lands in its own workflow task, so only the interval can coalesce them.
    const sendStarted = Date.now();
    for (let i = 0; i < 30; i++) {
      await handle.signal(providerCallbackSignal, paidCallback(state, `PAID:hint-${i}`, 'hint'));
      await sleep(20);
    }
    const sendMs = Date.now() - sendStarted;
    await sleep(2 * hintMinIntervalMs + 1_500); // the last hint's inquiry may wait for its interval

    const inquiries = activitiesScheduled(await chainHistory(handle.workflowId), 'inquirePayment');
    // One at the first hint, at most one per interval after it, and one for hints left waiting at the end.
    const allowed = Math.max(5, Math.floor(sendMs / hintMinIntervalMs) + 2);
    assert.ok(inquiries >= 1, 'the hints were confirmed by an inquiry');
    assert.ok(
      inquiries <= allowed,
      `30 hints sent over ${sendMs} ms caused ${inquiries} inquiries (at most ${allowed} with hintMinIntervalMs ${hintMinIntervalMs})`
    );
    assert.equal((await handle.query(paymentStateQuery)).status, 'PENDING', 'the provider says pending');
    await handle.terminate('test cleanup');
  });

  it('13. a payout stuck UNKNOWN through 60+ not-found queries keeps its submission in the timeline', async function () {
    this.timeout(60_000);
    // Queries as fast as the schedule allows, and hints (each confirmed by a query at once) to reach 60
    // queries in seconds: the dev server fires timers at about 1 s granularity, so the schedule alone
    // would take a minute. Queries from both alternate in the timeline, so its routine entries rotate
    // past their bound; runs hand over every 25 scheduled queries or 200 events.
    const fastQueries = withTimings((t) => ({
      ...t,
      pollsPerRun: 25,
      historyEventsPerRun: 200,
      hintMinIntervalMs: 0,
      payout: { ...t.payout, query: { initialMs: 50, maxMs: 50, factor: 1 } },
    }));
    // A 502 before the gateway handles it: nothing is created, so every query answers not found.
    await simControl(bdpay, '/_sim/faults', { kind: 'http-5xx', path: '/gateway/cash', status: 502 });
    const { state, handle } = await startPayout(fastQueries, {});
    assert.equal(state.status, 'UNKNOWN');
    assert.ok(
      state.timeline.some((t) => t.source === 'submission'),
      `at start: ${JSON.stringify(state.timeline)}`
    );

    const hint = (i: number): ProviderCallbackEvent => ({
      kind: 'payout',
      provider: 'bdpay',
      reference: state.id,
      eventId: `hint-${i}`,
      trust: 'hint',
      receivedAt: new Date().toISOString(),
      outcome: { status: 'succeeded', providerStatus: '2' },
    });
    let queries = 0;
    const deadline = Date.now() + 45_000;
    for (let i = 0; queries < 61; i++) {
      assert.ok(Date.now() < deadline, `only ${queries} queries in 45 s`);
      await handle.signal(providerCallbackSignal, hint(i));
      await sleep(60);
      if (i % 10 === 9) queries = activitiesScheduled(await chainHistory(handle.workflowId), 'inquirePayout');
    }
    await sleep(300);
    const current: PayoutState = await handle.query(payoutStateQuery);
    assert.equal(current.status, 'UNKNOWN');
    assert.ok(
      current.timeline.some((t) => t.money && t.source === 'submission'),
      `after ${queries} not-found queries the submission entry is gone: ${JSON.stringify(current.timeline)}`
    );
    assert.equal(await payoutSubmissions(state.id), 0, 'the 502 came before the gateway handled it');
    await handle.terminate('test cleanup');
  });

  // ---- found by the adversarial review of the movement core -------------------------------------------

  it('14. a payout reset to the task that scheduled its submission asks the provider again, and its new events carry new ids', async () => {
    const { state, handle } = await startPayout(stack, {});
    assert.equal(state.status, 'PROCESSING');
    const before = await handle.fetchHistory();
    const scheduled = before.events!.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'submitPayoutUnlessHeld'
    );
    assert.ok(scheduled, 'the submission is one activity that checks the provider first');
    const completedBefore = before
      .events!.filter((e) => e.workflowTaskCompletedEventAttributes && Number(e.eventId) < Number(scheduled.eventId))
      .at(-1);
    const { runId } = await handle.describe();
    const reset = await stack.client.workflowService.resetWorkflowExecution({
      namespace,
      workflowExecution: { workflowId: handle.workflowId, runId },
      workflowTaskFinishEventId: completedBefore!.eventId,
      requestId: randomUUID(),
      reason: 'money-safety test: dispatch the submission again',
    });
    await eventually(
      async () => {
        if ((await handle.describe()).runId !== reset.runId) return undefined;
        const current = await handle.query(payoutStateQuery);
        return current.status !== 'SUBMITTING' ? current : undefined;
      },
      20_000,
      'the reset run to answer'
    );
    assert.equal(
      await payoutSubmissions(state.id),
      1,
      'the submission dispatched again found the payout and did not send it'
    );
    await simControl(bdpay, `/_sim/payouts/${state.id}/settle`);
    assert.equal((await handle.result()).status, 'SUCCEEDED');
    const succeeded = await eventually(
      async () => stack.webhooks.eventsFor(state.id).find((e) => e.type === 'payout.succeeded'),
      20_000,
      'payout.succeeded'
    );
    assert.ok(succeeded.id.includes(reset.runId), `a new outcome after a reset has a new id: ${succeeded.id}`);
    const ids = stack.webhooks.eventsFor(state.id).map((e) => `${e.id} ${e.type}`);
    const byId = new Map<string, string>();
    for (const line of ids) {
      const [id, type] = line.split(' ');
      assert.ok(!byId.has(id!) || byId.get(id!) === type, `one id, two events: ${ids.join(' | ')}`);
      byId.set(id!, type!);
    }
  });

  it('15. a success an operator forced is watched: a provider failure after it is flagged to operators and the merchant', async function () {
    this.timeout(60_000);
    const timings = withTimings((t) => ({
      ...t,
      payout: {
        ...t.payout,
        query: { initialMs: 2_500, maxMs: 2_500, factor: 1 },
        watchAfterOperatorFailureMs: 20_000,
      },
    }));
    await simControl(bdpay, '/_sim/response-faults', { kind: 'unknown', path: '/gateway/cash' });
    const { state, handle } = await startPayout(timings, {});
    assert.equal(state.status, 'UNKNOWN');
    const succeeded = {
      outcome: 'SUCCEEDED' as const,
      evidence: 'Beneficiary confirms the credit by phone',
      operator: 'ops@kasir',
    };
    const contradicted = await settle(handle.executeUpdate(resolvePayoutUpdate, { args: [succeeded] }), 15_000);
    assert.equal(contradicted.kind, 'rejected');
    if (contradicted.kind === 'rejected') assert.match(refusal(contradicted.error), /^provider contradicts/);
    const forced = await handle.executeUpdate(resolvePayoutUpdate, { args: [{ ...succeeded, force: true }] });
    assert.equal(forced.status, 'SUCCEEDED');

    await simControl(bdpay, `/_sim/payouts/${state.id}/fail`);
    const final = await within(handle.result(), 40_000);
    assert.notEqual(final, TIMED_OUT, 'the payout closed');
    if (final === TIMED_OUT) return;
    assert.equal(final.needsAttention, true, `timeline: ${JSON.stringify(final.timeline)}`);
    assert.match(final.attentionReason ?? '', /^FAILED_AFTER_FORCED_SUCCESS/);
    assert.ok(
      eventTypes(state.id).includes('payout.contradicted'),
      `merchant events: ${eventTypes(state.id).join(', ')}`
    );
  });

  it('16. a cancel that loses the race to the customer answers with the paid payment, not an error', async () => {
    // No polls and no callback: only the cancel can learn that the customer paid.
    const quiet = withTimings((t) => ({
      ...t,
      payment: { ...t.payment, poll: { initialMs: 600_000, maxMs: 600_000, factor: 1 } },
    }));
    const { state, handle } = await startPayment(quiet, {
      provider: 'finpay',
      method: 'FINPAY_CODE',
      expiresInMinutes: 1440,
    });
    await simControl(finpay, '/_sim/callback-faults', { kind: 'suppress', reference: state.id });
    await simControl(finpay, `/_sim/orders/${state.id}/pay`);
    const answer = await handle.executeUpdate(cancelPaymentUpdate, {
      args: [{ reason: 'customer changed their mind' }],
    });
    assert.equal(answer.status, 'SUCCEEDED');
    assert.equal(answer.paidAmount, state.amount);
    assert.ok(!eventTypes(state.id).includes('payment.cancelled'));
  });

  it('17. a payout reset while the provider cannot be asked sends nothing until it can, then adopts what it holds', async () => {
    const quick = withTimings((t) => ({
      ...t,
      payout: { ...t.payout, query: { initialMs: 300, maxMs: 600, factor: 2 } },
    }));
    const { state, handle } = await startPayout(quick, {});
    assert.equal(state.status, 'PROCESSING');
    // The provider's status endpoint fails the next checks: the reset run must not submit blind.
    await simControl(bdpay, '/_sim/faults', { kind: 'http-5xx', path: '/gateway/query', status: 502, count: 2 });
    const { runId } = await handle.describe();
    const resetRunId = await resetToFirstTask(handle.workflowId, runId, 'reset while the provider cannot be asked');
    const adopted = await eventually(
      async () => {
        if ((await handle.describe()).runId !== resetRunId) return undefined;
        const current = await handle.query(payoutStateQuery);
        return current.status !== 'SUBMITTING' ? current : undefined;
      },
      30_000,
      'the reset run to adopt the payout'
    );
    assert.equal(await payoutSubmissions(state.id), 1, 'nothing was sent while the provider could not be asked');
    assert.equal(adopted.status, 'PROCESSING');
    await simControl(bdpay, `/_sim/payouts/${state.id}/settle`);
    assert.equal((await handle.result()).status, 'SUCCEEDED');
    assert.equal(await payoutSubmissions(state.id), 1);
  });
  it('18. a paid bill reset to its first workflow task adopts the payment instead of inquiring again and expiring', async () => {
    const { state, handle } = await startBill(stack, {
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
    });
    assert.equal(state.status, 'INQUIRED');
    const paid = await handle.executeUpdate(confirmBillPaymentUpdate, { args: [{}] });
    assert.notEqual(paid.status, 'FAILED');
    const closed = await handle.result();
    assert.equal(closed.status, 'SUCCEEDED');
    assert.equal(await billPayments(state.id), 1);

    // The chain's first run: a reset to its first task replays nothing of the payment.
    const runs: { runId: string; startedAt: number }[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
      runs.push({ runId: run.runId, startedAt: run.startTime.getTime() });
    }
    const firstRunId = runs.sort((a, b) => a.startedAt - b.startedAt)[0]!.runId;
    const resetRunId = await resetToFirstTask(
      handle.workflowId,
      firstRunId,
      'replay a paid bill from its first workflow task'
    );
    const again = await stack.client.workflow.getHandle<typeof billWorkflow>(handle.workflowId, resetRunId).result();
    assert.equal(again.status, 'SUCCEEDED', `after reset: ${JSON.stringify(again.timeline)}`);
    assert.equal(await billPayments(state.id), 1, 'the reset run paid nothing');
    assert.ok(!again.timeline.some((t) => t.status === 'EXPIRED' || t.status === 'INQUIRY_FAILED'));
  });

  it('19. a payout the merchant was told FAILED stays FAILED when a reset replaces runs it continued into', async function () {
    this.timeout(90_000);
    // The watch after an operator's FAILED continues as new (2 queries per run); a run continued into
    // inherits KasirStatus FAILED and upserts nothing while it does not change.
    const watched = withTimings((t) => ({
      ...t,
      pollsPerRun: 2,
      payout: {
        ...t.payout,
        query: { initialMs: 400, maxMs: 400, factor: 1 },
        watchAfterOperatorFailureMs: 4_000,
      },
    }));
    // The submission is answered UNKNOWN, then BDPay forgets it: its queries say "not exist".
    await simControl(bdpay, '/_sim/response-faults', { kind: 'unknown', path: '/gateway/cash' });
    const { state, handle } = await startPayout(watched, {});
    assert.equal(state.status, 'UNKNOWN');
    await simControl(bdpay, `/_sim/payouts/${state.id}/forget`);
    const firstRunId = (await handle.describe()).runId;
    const resolved = await handle.executeUpdate(resolvePayoutUpdate, {
      args: [{ outcome: 'FAILED', evidence: 'BDPay support: no such transfer', operator: 'ops@kasir' }],
    });
    assert.equal(resolved.status, 'FAILED');
    assert.equal((await handle.result()).status, 'FAILED');
    const runs = await stack.client.workflow.count(`WorkflowId = '${handle.workflowId}'`);
    assert.ok(runs.count > 1, 'the watch continued as new');

    const resetRunId = await resetToFirstTask(
      handle.workflowId,
      firstRunId,
      'reset the first run of a payout the merchant was told FAILED'
    );
    const resetRun = stack.client.workflow.getHandle(handle.workflowId, resetRunId);
    const adopted = await eventually(
      async () => {
        const current = await resetRun.query(payoutStateQuery);
        return current.status !== 'SUBMITTING' ? current : undefined;
      },
      30_000,
      'the reset run to adopt an outcome'
    );
    assert.equal(adopted.status, 'FAILED', JSON.stringify(adopted.timeline.map((t) => t.note)));
    assert.equal((await resetRun.result()).status, 'FAILED');
    assert.equal(await payoutSubmissions(state.id), 1, 'nothing sent again');
    const types = eventTypes(state.id);
    assert.ok(!types.slice(types.indexOf('payout.failed')).includes('payout.unknown'), types.join(', '));
  });

  it('20. a bill a replaced run paid, reset while the provider cannot be asked, waits (across continue-as-new) and adopts the payment instead of failing its inquiry', async function () {
    this.timeout(90_000);
    // A short history bound: the reset run's wait continues as new before the provider answers.
    const { state, handle } = await startBill(
      withTimings((t) => ({ ...t, historyEventsPerRun: 40 })),
      {
        productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
        accountNumber: AYOPOP_SIM_ACCOUNTS.staysProcessing,
      }
    );
    const paying = await handle.executeUpdate(confirmBillPaymentUpdate, { args: [{}] });
    assert.equal(paying.status, 'PROCESSING');
    assert.equal(await billPayments(state.id), 1);
    // Ayopop cannot be asked (status and inquiry answer 502) when an operator resets the bill to its first task.
    for (const path of ['/api/v2/bill/status', '/api/v2/bill/check'])
      await simControl(ayopop, '/_sim/faults', { kind: 'http-5xx', path, status: 502, count: 100_000 });
    const resetRunId = await resetToFirstTask(
      handle.workflowId,
      (await handle.describe()).runId,
      'reset a paid bill while Ayopop cannot be asked'
    );
    const latest = stack.client.workflow.getHandle<typeof billWorkflow>(handle.workflowId);
    await eventually(
      async () => ((await latest.describe()).runId !== resetRunId ? true : undefined),
      60_000,
      'the waiting reset run to continue as new'
    );
    const waiting = await latest.query(billStateQuery);
    assert.ok(waiting.attentionReason?.startsWith('RESET_UNCHECKED'), waiting.attentionReason);
    assert.equal(waiting.status, 'INQUIRED', JSON.stringify(waiting.timeline.map((t) => t.note)));
    assert.equal(waiting.paymentSubmitted, false);

    await fetch(`${ayopop}/_sim/faults`, { method: 'DELETE' });
    await eventually(
      async () => ((await latest.query(billStateQuery)).paymentSubmitted ? true : undefined),
      20_000,
      'the continued run to adopt the payment'
    );
    await simControl(ayopop, `/_sim/orders/${state.id}/succeed`);
    const final = await latest.result();
    assert.equal(final.status, 'SUCCEEDED', JSON.stringify(final.timeline.map((t) => t.note)));
    assert.equal(await billPayments(state.id), 1, 'the reset run paid nothing');
    const failed = (await latest.fetchHistory()).events!.filter((e) => e.workflowTaskFailedEventAttributes);
    assert.equal(failed.length, 0, 'no workflow task failed');
  });
});
