/**
 * The late-callback record (workflows/late-callback.ts) reads every callback it was given: none is
 * dropped when the provider's answer closes it, nor when it continues as new. This stack's dev server
 * suggests continuing as new once a run's history passes a handful of events
 * (`limit.historyCount.suggestContinueAsNew`), so a record hands over at nearly every wake.
 */
import assert from 'node:assert/strict';
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { PaymentView } from '../../src/api/schemas';
import { workflowIdOf } from '../../src/ids';
import { lateRecordIdOf } from '../../src/api/late-records';
import { recordLateMoney } from '../../src/temporal/late-money-record';
import type { LateMoneyReport } from '../../src/temporal/late-money-record';
import type { PaymentState } from '../../workflows/movement-state';
import type { lateCallbackWorkflow } from '../../workflows/late-callback';
import { lateCallbackStateQuery, paymentStateQuery, providerCallbackSignal } from '../../workflows/messages';
import { apiClient, paymentBody } from '../api/http';
import { recordHistory } from '../helpers/histories';
import { paidCallback, simControl } from '../helpers/movements';
import { eventually, FAST_TIMINGS, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';

const TEN_MINUTES = 600_000;

describe('late-callback record: every callback read', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;
  let finpay: string;

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({
      api: true,
      temporalDynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 10 },
      timings: {
        // Payments and records poll only every ten minutes: every change here is a callback's doing.
        payment: {
          ...FAST_TIMINGS.payment,
          poll: { initialMs: TEN_MINUTES, maxMs: TEN_MINUTES, factor: 1 },
          lateWindowMs: 60 * TEN_MINUTES,
          latePoll: { initialMs: TEN_MINUTES, maxMs: TEN_MINUTES, factor: 1 },
        },
      },
    });
    api = apiClient(stack);
    acme = stack.merchants[0]!;
    finpay = stack.simulators.finpay.url;
  });
  after(async () => stack?.stop());
  afterEach(async () => void (await fetch(`${finpay}/_sim/faults`, { method: 'DELETE' })));

  /** A Finpay payment whose workflow closed unpaid (terminated), and its state as it closed. */
  async function closedPayment(): Promise<{ id: string; closed: PaymentState }> {
    const created = await api.post<PaymentView>(
      '/v1/payments',
      paymentBody({ provider: 'finpay', method: 'VA_BCA', amount: 125_000 }),
      { as: acme }
    );
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    const payment = stack.client.workflow.getHandle(workflowIdOf('payment', id));
    const closed = await payment.query(paymentStateQuery);
    await payment.terminate('test: the workflow closed before the money arrived');
    return { id, closed };
  }

  /** Starts the closed payment's record with an unsigned report of money (as reconciliation, NICEPAY or BDPay make one). */
  async function startRecord(closed: PaymentState, eventId: string): Promise<WorkflowHandleWithFirstExecutionRunId> {
    return stack.client.workflow.start<typeof lateCallbackWorkflow>('lateCallbackWorkflow', {
      workflowId: lateRecordIdOf(workflowIdOf('payment', closed.id)),
      taskQueue: stack.config.temporal.taskQueue,
      args: [{ movement: closed, callback: paidCallback(closed, eventId, 'hint'), timings: stack.config.timings }],
    });
  }

  /**
   * A Finpay payment whose workflow closed unpaid, and its record, opened by an unsigned report of money
   * the way the API opens one. `beforeRecord` sets the simulator up first.
   */
  async function recordOfClosedPayment(
    beforeRecord: (id: string) => Promise<void> = async () => {}
  ): Promise<{ id: string; recordId: string; record: WorkflowHandleWithFirstExecutionRunId }> {
    const { id, closed } = await closedPayment();
    await beforeRecord(id);
    const record = await startRecord(closed, 'HINT:1');
    return { id, recordId: record.workflowId, record };
  }

  /** The customer pays at Finpay, which sends its signed callback to the API: answered 200 and acknowledged. */
  async function paidWithSignedCallback(id: string): Promise<void> {
    const answered = async () => {
      const response = await fetch(`${finpay}/_sim/callbacks?reference=${encodeURIComponent(id)}`);
      return ((await response.json()) as { status?: number; acknowledged: boolean }[]).filter(
        (a) => a.status !== undefined
      );
    };
    await simControl(finpay, `/_sim/orders/${id}/mark-paid-silently`);
    await simControl(finpay, `/_sim/orders/${id}/callback`);
    const [attempt] = await eventually(async () => {
      const found = await answered();
      return found.length > 0 ? found : undefined;
    });
    assert.equal(attempt!.acknowledged, true, 'Kasir acknowledged it: Finpay will not send it again');
  }

  /** The record believed the signed callback (not Finpay's status, unless `evidence` says so) and the merchant was told. */
  async function believedAndTold(
    id: string,
    recordId: string,
    evidence: 'verified' | 'verified or confirmed' = 'verified'
  ): Promise<void> {
    const believed = await eventually(
      async () => {
        const state = await stack.client.workflow.getHandle(recordId).query(lateCallbackStateQuery);
        return state.status === 'LATE_CALLBACK' ? state : undefined;
      },
      20_000,
      'the record to believe the signed callback'
    );
    if (evidence === 'verified') assert.equal(believed.evidence, 'verified');
    else assert.ok(['verified', 'confirmed'].includes(believed.evidence), believed.evidence);
    assert.equal(believed.paidAmount, 125_000);
    const told = await eventually(
      async () => stack.webhooks.eventsFor(id).find((e) => e.type === 'payment.late_payment'),
      20_000,
      'the merchant to be told of the late payment'
    );
    assert.equal(told.data.status, 'SUCCEEDED');
  }

  it('reads a signed callback that arrived while it asked the provider before closing on its answer', async () => {
    // Finpay shows the order expired, and answers the record's status check 4 s late: the signed
    // callback of the customer's late payment arrives meanwhile, before the EXPIRED answer is read.
    const { id, recordId } = await recordOfClosedPayment(async (paymentId) => {
      await simControl(finpay, `/_sim/orders/${paymentId}/expire`);
      await simControl(finpay, '/_sim/faults', {
        kind: 'slow',
        path: '/pg/payment/card/check',
        delayMs: 4_000,
        count: 1,
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await paidWithSignedCallback(id);
    await believedAndTold(id, recordId);
    await recordHistory(
      stack,
      stack.client.workflow.getHandle(recordId),
      'late-callback',
      'signed-callback-read-before-denied'
    );
  });

  it('hands over to a new run once full even while callbacks keep coming, carrying them', async () => {
    const { id, recordId, record } = await recordOfClosedPayment();
    await eventually(async () => (await record.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes));
    // Unsigned reports keep streaming in, one after another, while the record asks Finpay about them.
    const closed = await stack.client.workflow.getHandle(workflowIdOf('payment', id)).query(paymentStateQuery);
    const firstRun = stack.client.workflow.getHandle(recordId, record.firstExecutionRunId);
    let sent = 0;
    for (;;) {
      const { status, historyLength } = await firstRun.describe();
      if (status.name !== 'RUNNING' || historyLength > 2_300) break;
      for (let i = 0; i < 20; i++) {
        await record.signal(providerCallbackSignal, paidCallback(closed, `HINT:${sent++}`, 'hint'));
      }
    }
    const { status, historyLength } = await firstRun.describe();
    assert.equal(status.name, 'CONTINUED_AS_NEW', `the first run is ${status.name} with ${historyLength} events`);
    assert.ok(historyLength <= 2_100, `the first run grew to ${historyLength} events`);
    // The stream is over: the customer pays, and the latest run records the money, by the signed callback
    // or by asking Finpay about a report it carried.
    await paidWithSignedCallback(id);
    await believedAndTold(id, recordId, 'verified or confirmed');
  });

  it('hands over when one callback wakes it and its run is due, carrying the callback', async () => {
    const { id, recordId, record } = await recordOfClosedPayment();
    // Idle, waiting ten minutes: its run is already past what the server suggests continuing as new at.
    await eventually(async () => (await record.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes));
    const firstRun = stack.client.workflow.getHandle(recordId, record.firstExecutionRunId);
    assert.ok((await firstRun.describe()).historyLength >= 10);
    const closed = await stack.client.workflow.getHandle(workflowIdOf('payment', id)).query(paymentStateQuery);
    await record.signal(providerCallbackSignal, paidCallback(closed, 'HINT:paced', 'hint'));
    await eventually(
      async () => (await firstRun.describe()).status.name === 'CONTINUED_AS_NEW',
      10_000,
      'the run the callback woke to hand over'
    );
  });

  it('believes a verified callback that reaches it as it continues as new', async () => {
    const { id, recordId, record } = await recordOfClosedPayment();
    // Finpay's status does not show the money yet: the record waits, idle, for ten minutes or a callback.
    await eventually(async () => (await record.fetchHistory()).events?.some((e) => e.timerStartedEventAttributes));
    // From now on Finpay's status cannot be read: only the signed callback can prove the money.
    await simControl(finpay, '/_sim/faults', {
      kind: 'http-5xx',
      path: '/pg/payment/card/check',
      status: 503,
      count: 1_000,
    });
    await paidWithSignedCallback(id);
    await believedAndTold(id, recordId);
  });
  /**
   * Two reports of the same late money, recorded by `recordLateMoney` at the same time: `before` runs the
   * other report's move at the one instant the interleaving needs (just before this report's start, or
   * just before it signals the record it found running), on the real server.
   */
  function interleaved(before: {
    start?: () => Promise<void>;
    signal?: () => Promise<void>;
    /** Every query fails, as when no worker can replay a closed record in time. */
    queriesFail?: boolean;
  }): Client {
    const workflow = new Proxy(stack.client.workflow, {
      get(target, name, receiver) {
        const value: unknown = Reflect.get(target, name, receiver);
        if (name === 'start' && before.start) {
          const other = before.start;
          before.start = undefined;
          return async (...args: Parameters<typeof target.start>) => {
            await other();
            return target.start(...args);
          };
        }
        if (name === 'getHandle' && (before.signal || before.queriesFail)) {
          return (...args: Parameters<typeof target.getHandle>) => {
            const handle = target.getHandle(...args);
            if (before.queriesFail) {
              handle.query = () => Promise.reject(new Error('test: no worker answered the query in time'));
            }
            const signal = handle.signal.bind(handle);
            handle.signal = (async (...signalArgs: Parameters<typeof signal>) => {
              const other = before.signal;
              before.signal = undefined;
              if (other) await other();
              return signal(...signalArgs);
            }) as typeof handle.signal;
            return handle;
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    return new Proxy(stack.client, {
      get: (target, name, receiver): unknown => (name === 'workflow' ? workflow : Reflect.get(target, name, receiver)),
    });
  }

  /** A closed Finpay payment whose status Finpay can no longer be asked for: only a signed report proves money. */
  async function closedUnaskablePayment(): Promise<{ id: string; closed: PaymentState; report: LateMoneyReport }> {
    const { id, closed } = await closedPayment();
    await simControl(finpay, '/_sim/faults', {
      kind: 'http-5xx',
      path: '/pg/payment/card/check',
      status: 503,
      count: 1_000,
    });
    const report: LateMoneyReport = {
      recordId: lateRecordIdOf(workflowIdOf('payment', id)),
      movement: closed,
      callback: paidCallback(closed, 'SIGNED:1', 'verified'),
      timings: stack.config.timings,
      taskQueue: stack.config.temporal.taskQueue,
      searchAttributes: [],
      summary: 'test: a signed report of late money',
    };
    return { id, closed, report };
  }

  it('tells a signed report to the record an unsigned one started while it found none, instead of attaching unread', async () => {
    const { id, closed, report } = await closedUnaskablePayment();
    // Reconciliation's unsigned report (or NICEPAY's) starts the record between this report finding no
    // record and starting one.
    const recorded = await recordLateMoney(
      interleaved({ start: async () => void (await startRecord(closed, 'HINT:first')) }),
      report
    );
    assert.equal(recorded, 'told');
    await believedAndTold(id, report.recordId);
  });

  it('records a report in a new record when the running one it found closes before it is told', async () => {
    const { id, closed, report } = await closedUnaskablePayment();
    await startRecord(closed, 'HINT:first');
    const record = stack.client.workflow.getHandle(report.recordId);
    const recorded = await recordLateMoney(
      interleaved({ signal: async () => void (await record.terminate('test: the record closed meanwhile')) }),
      report
    );
    assert.equal(recorded, 'started');
    await believedAndTold(id, report.recordId);
  });
  it('leaves a record that confirmed the money alone even when no worker can answer a query about it', async () => {
    const { id, closed, report } = await closedUnaskablePayment();
    // The signed callback's record believes the money, tells the merchant, and closes.
    assert.equal(await recordLateMoney(stack.client, report), 'started');
    await believedAndTold(id, report.recordId);
    const record = stack.client.workflow.getHandle(report.recordId);
    await record.result();
    const { runId } = await record.describe();
    // Reconciliation then finds the same money at Finpay, while workers cannot replay the closed record.
    const reconciled = { ...report, callback: paidCallback(closed, 'reconciliation:2026-12-01', 'hint') };
    assert.equal(await recordLateMoney(interleaved({ queriesFail: true }), reconciled), 'already-recorded');
    const after = await record.describe();
    assert.deepEqual(
      [after.runId, after.status.name],
      [runId, 'COMPLETED'],
      'one record, not a second one telling the merchant again'
    );
  });
});
