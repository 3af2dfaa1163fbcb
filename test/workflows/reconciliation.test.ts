/**
 * The daily reconciliation on the real stack (Temporal dev server, simulators, API, workers): each kind
 * of difference is made with the simulators' `/_sim` controls (changes at the provider that send no
 * callback), a run finds every one while its worker is killed with SIGKILL mid-run and continues as
 * new, and the operator report answers with counts per kind and per provider.
 */
import assert from 'node:assert/strict';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jakartaDay } from '../../src/domain/jakarta-time';
import { previousJakartaDay, reconciliationWorkflowId } from '../../src/domain/reconciliation';
import { ensureReconciliationSchedules } from '../../src/temporal/reconciliation-schedules';
import type { DifferenceKind } from '../../src/domain/reconciliation';
import { lateCallbackStateQuery, paymentStateQuery, payoutStateQuery } from '../../workflows/messages';
import { reconciliationStateQuery } from '../../workflows/reconciliation-messages';
import type { ReconciliationState } from '../../workflows/reconciliation-messages';
import type { reconciliationWorkflow, scheduledReconciliationWorkflow } from '../../workflows/reconciliation';
import { KasirProcess } from '../helpers/processes';
import { simControl } from '../helpers/movements';
import { apiClient, paymentBody, uniqueRef } from '../api/http';
import type { PaymentView, PayoutView } from '../../src/api/schemas';
import type { paymentWorkflow, payoutWorkflow } from '../../workflows';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

describe('reconciliationWorkflow', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let dir: string;
  let configFile: string;
  const processes: KasirProcess[] = [];
  const today = jakartaDay(new Date());
  /** Movement id → the difference the test made for it. */
  const expected = new Map<string, DifferenceKind>();
  const agreeing: string[] = [];

  async function startWorkerProcess(): Promise<KasirProcess> {
    const worker = new KasirProcess('src/main-worker.ts', configFile);
    processes.push(worker);
    worker.start();
    await worker.workerReady(stack.client, stack.config);
    return worker;
  }

  async function operatorGet(query: string, key: Record<string, string> = { 'Kasir-Operator-Key': stack.operatorKey }) {
    const response = await fetch(`${stack.apiUrl}/v1/operator/reconciliations${query}`, { headers: key });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  before(async () => {
    stack = await startStack({
      api: true,
      startWorker: false,
      timings: { payout: { query: { initialMs: 300, maxMs: 1_000, factor: 2 }, attentionAfterMs: 120_000 } },
    });
    dir = mkdtempSync(path.join(tmpdir(), 'kasir-reconciliation-'));
    configFile = path.join(dir, 'kasir.config.json');
    writeFileSync(configFile, JSON.stringify(stack.config));
  });
  after(async () => {
    for (const worker of processes) await worker.kill('SIGTERM');
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('makes every kind of difference at the providers, without callbacks', async () => {
    const setupWorker = await stack.startWorker('reconciliation-setup');
    try {
      const finpay = stack.simulators.finpay.url;
      const bdpay = stack.simulators.bdpay.url;
      const api = apiClient(stack);
      const merchant = stack.merchants[0]!;
      // Through the API, as merchants create them: it indexes each movement (KasirProvider, KasirKind, ...).
      const pay = async () => {
        const created = await api.post<PaymentView>('/v1/payments', paymentBody({ method: 'FINPAY_CODE' }), {
          as: merchant,
        });
        assert.equal(created.status, 201, created.text);
        const handle = stack.client.workflow.getHandle<typeof paymentWorkflow>(`payment:${created.body.id}`);
        return { state: created.body, handle };
      };
      const sendPayout = async () => {
        const created = await api.post<PayoutView>(
          '/v1/payouts',
          {
            reference: uniqueRef('PO'),
            amount: 250_000,
            feeMode: 'merchant',
            beneficiary: { bankCode: '014', accountNumber: '1234567890', accountName: 'Siti Aminah' },
            description: 'Supplier payment',
          },
          { as: merchant }
        );
        assert.ok([201, 202].includes(created.status), created.text);
        const handle = stack.client.workflow.getHandle<typeof payoutWorkflow>(`payout:${created.body.id}`);
        return { state: created.body, handle };
      };

      // Kasir closed it unpaid (expired, then the late window passed); Finpay then shows it paid.
      const expired = await pay();
      await simControl(finpay, `/_sim/orders/${expired.state.id}/expire`);
      assert.equal((await expired.handle.result()).status, 'EXPIRED');
      await simControl(finpay, `/_sim/orders/${expired.state.id}/mark-paid-silently`);
      expected.set(expired.state.id, 'PAID_AT_PROVIDER_ONLY');

      // Paid at Kasir; then Finpay's status no longer says so, pays another amount, or forgets the order.
      const paid = await Promise.all([pay(), pay(), pay(), pay(), pay()]);
      for (const p of paid) await simControl(finpay, `/_sim/orders/${p.state.id}/pay`);
      for (const p of paid) assert.equal((await p.handle.result()).status, 'SUCCEEDED');
      const [reversed, otherAmount, forgotten, ...fine] = paid;
      await simControl(finpay, `/_sim/orders/${reversed.state.id}/silent-change`, { status: 'FAILURE' });
      expected.set(reversed.state.id, 'PAID_AT_KASIR_ONLY');
      await simControl(finpay, `/_sim/orders/${otherAmount.state.id}/silent-change`, { amount: 149_000 });
      expected.set(otherAmount.state.id, 'AMOUNT_DIFFERS');
      await simControl(finpay, `/_sim/orders/${forgotten.state.id}/forget`);
      expected.set(forgotten.state.id, 'UNKNOWN_TO_PROVIDER');
      agreeing.push(...fine.map((p) => p.state.id));

      // A payout whose submission got a 502 stays UNKNOWN (BDPay never created it).
      await simControl(bdpay, '/_sim/faults', { kind: 'http-5xx', path: '/gateway/cash', status: 502 });
      const unknown = await sendPayout();
      await fetch(`${bdpay}/_sim/faults`, { method: 'DELETE' });
      assert.equal(unknown.state.status, 'UNKNOWN');
      expected.set(unknown.state.id, 'STILL_UNKNOWN');
      // A settled payout whose amount BDPay reports differently afterwards.
      const settled = await sendPayout();
      await simControl(bdpay, `/_sim/payouts/${settled.state.id}/settle`);
      assert.equal((await settled.handle.result()).status, 'SUCCEEDED');
      await simControl(bdpay, `/_sim/payouts/${settled.state.id}/silent-change`, { money: 240_000 });
      expected.set(settled.state.id, 'AMOUNT_DIFFERS');
      assert.equal((await unknown.handle.query(payoutStateQuery)).status, 'UNKNOWN');
    } finally {
      await setupWorker.stop();
    }
  });

  it('finds each difference in a paced run that survives a worker kill and continues as new', async () => {
    const first = await startWorkerProcess();
    const workflowId = reconciliationWorkflowId('finpay', today);
    const handle = await stack.client.workflow.start<typeof reconciliationWorkflow>('reconciliationWorkflow', {
      workflowId,
      taskQueue: stack.config.temporal.taskQueue,
      args: [
        {
          provider: 'finpay',
          date: today,
          // One movement per batch, two a second, a new run every three: slow enough to kill mid-run.
          pacing: { checksPerSecond: 2, batchSize: 1, pageSize: 4, checksPerRun: 3 },
          timings: stack.config.timings,
          requestedBy: 'operator',
        },
      ],
    });
    await eventually(
      async () => ((await handle.query(reconciliationStateQuery)).checked >= 2 ? true : undefined),
      60_000,
      'two movements checked'
    );
    await first.kill('SIGKILL');
    await startWorkerProcess();
    const state: ReconciliationState = await handle.result();

    const finpayExpected = [...expected].filter(([id]) => id.startsWith('P'));
    assert.equal(state.status, 'COMPLETED');
    assert.equal(state.checked, finpayExpected.length + agreeing.length, 'every movement checked exactly once');
    assert.ok(state.runs > 1, `continued as new (${state.runs} runs)`);
    const found = new Map(state.differences.map((d) => [d.movementId, d]));
    assert.equal(found.size, state.differences.length, 'no movement reported twice');
    for (const [id, kind] of finpayExpected) assert.equal(found.get(id)?.kind, kind, `${id}: ${kind}`);
    for (const id of agreeing) assert.equal(found.get(id), undefined, `${id} agrees`);
    assert.equal(state.counts.PAID_AT_PROVIDER_ONLY, 1);
    assert.equal(state.counts.PAID_AT_KASIR_ONLY, 1);
    assert.equal(state.counts.AMOUNT_DIFFERS, 1);
    assert.equal(state.counts.UNKNOWN_TO_PROVIDER, 1);
    assert.equal(state.balance, undefined, 'Finpay has no balance API');

    // Money Finpay shows for the closed payment is in its durable late-money record, flagged.
    const paidLate = [...expected].find(([, kind]) => kind === 'PAID_AT_PROVIDER_ONLY')![0];
    assert.equal(found.get(paidLate)?.flaggedBy, 'late_callback');
    const record = await eventually(
      async () => {
        const late = await stack.client.workflow
          .getHandle(`payment:${paidLate}:late`)
          .query(lateCallbackStateQuery)
          .catch(() => undefined);
        return late?.status === 'LATE_CALLBACK' ? late : undefined;
      },
      60_000,
      'late-money record confirmed'
    );
    assert.equal(record.correctedStatus, 'SUCCEEDED');
    assert.equal(record.evidence, 'confirmed');
    const original = await stack.client.workflow.getHandle(`payment:${paidLate}`).query(paymentStateQuery);
    assert.equal(original.status, 'EXPIRED', 'the closed movement itself is untouched');

    // Operators find the run by its search attributes.
    await eventually(
      async () => {
        const rows = [];
        const query = `KasirKind = 'reconciliation' AND KasirNeedsAttention = true AND KasirDifferenceKinds = 'AMOUNT_DIFFERS'`;
        for await (const row of stack.client.workflow.list({ query })) rows.push(row.workflowId);
        return rows.includes(workflowId) ? true : undefined;
      },
      20_000,
      'the run in visibility'
    );
  });

  it('runs on demand through the operator API and reports counts per kind and provider, with the balance', async () => {
    const started = await fetch(`${stack.apiUrl}/v1/operator/reconciliations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Kasir-Operator-Key': stack.operatorKey },
      body: JSON.stringify({ provider: 'bdpay', date: today }),
    });
    assert.equal(started.status, 202);
    const { workflowId } = (await started.json()) as { workflowId: string };
    assert.equal(workflowId, reconciliationWorkflowId('bdpay', today));
    await stack.client.workflow.getHandle(workflowId).result();

    const { status, body } = await operatorGet(`?date=${today}`);
    assert.equal(status, 200);
    const counts = body.counts as {
      total: number;
      byKind: Record<DifferenceKind, number>;
      byProvider: Record<string, Record<DifferenceKind, number>>;
    };
    assert.deepEqual(counts.byKind, {
      PAID_AT_PROVIDER_ONLY: 1,
      PAID_AT_KASIR_ONLY: 1,
      AMOUNT_DIFFERS: 2,
      UNKNOWN_TO_PROVIDER: 1,
      STILL_UNKNOWN: 1,
    });
    assert.equal(counts.total, 6);
    assert.equal(counts.byProvider.finpay!.AMOUNT_DIFFERS, 1);
    assert.equal(counts.byProvider.bdpay!.AMOUNT_DIFFERS, 1);
    assert.equal(counts.byProvider.bdpay!.STILL_UNKNOWN, 1);
    assert.equal(counts.byProvider.ayopop!.AMOUNT_DIFFERS, 0);
    const runs = body.runs as { provider: string; status: string; balance?: { available: number } }[];
    assert.equal(runs.find((r) => r.provider === 'bdpay')?.status, 'COMPLETED');
    assert.equal(typeof runs.find((r) => r.provider === 'bdpay')?.balance?.available, 'number');
    assert.equal(runs.find((r) => r.provider === 'nicepay')?.status, 'NOT_RUN');
    const differences = body.differences as { movementId: string; kind: string }[];
    for (const [id, kind] of expected)
      assert.ok(
        differences.some((d) => d.movementId === id && d.kind === kind),
        id
      );
    // Nothing personal in the report: no beneficiary account number or customer phone.
    assert.doesNotMatch(JSON.stringify(body), /1234567890|081286288844|Siti|Budi/);
  });

  it('creates one daily schedule per provider at the Jakarta time, and a trigger reconciles the previous day', async () => {
    const ids = await ensureReconciliationSchedules(stack.client, stack.config);
    assert.deepEqual(ids, [
      'reconciliation:finpay',
      'reconciliation:nicepay',
      'reconciliation:bdpay',
      'reconciliation:ayopop',
    ]);
    // Idempotent: a second start updates the schedules instead of failing.
    await ensureReconciliationSchedules(stack.client, stack.config);
    const schedule = stack.client.schedule.getHandle('reconciliation:finpay');
    const description = await schedule.describe();
    assert.equal(description.spec.timezone, 'Asia/Jakarta');
    assert.deepEqual(
      description.spec.calendars?.map((c) => [c.hour, c.minute]),
      [[[{ start: 1, end: 1, step: 1 }], [{ start: 0, end: 0, step: 1 }]]]
    );
    await schedule.trigger();
    const yesterday = previousJakartaDay(new Date());
    const run = stack.client.workflow.getHandle<typeof reconciliationWorkflow>(
      reconciliationWorkflowId('finpay', yesterday)
    );
    const state = await eventually(
      async () => run.result().catch(() => undefined),
      60_000,
      "the scheduled run of yesterday's reconciliation"
    );
    assert.equal(state.requestedBy, 'schedule');
    assert.equal(state.date, yesterday);
    assert.equal(state.checked, 0, "today's movements are not in yesterday's window");

    // Triggered again, the starter finds the day already reconciled and does not run it twice. (Allowed to
    // overlap: the scheduler may not have seen the first starter finish yet.)
    // A schedule names the workflows it starts by the second: a second trigger within the same second
    // would reuse the first one's id and start nothing.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await schedule.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    const second = await eventually(
      async () => {
        const actions = (await schedule.describe()).info.recentActions;
        return actions.length >= 2 ? actions[actions.length - 1] : undefined;
      },
      30_000,
      'a second scheduled action'
    );
    const starter = stack.client.workflow.getHandle<typeof scheduledReconciliationWorkflow>(
      second.action.workflow.workflowId
    );
    assert.deepEqual(await starter.result(), { workflowId: run.workflowId, started: false });
  });

  it('refuses the report to a merchant key and without an operator key', async () => {
    const merchant = await operatorGet(`?date=${today}`, { Authorization: `Bearer ${stack.merchants[0]!.apiKey}` });
    assert.equal(merchant.status, 401);
    const wrong = await operatorGet(`?date=${today}`, { 'Kasir-Operator-Key': stack.merchants[0]!.apiKey });
    assert.equal(wrong.status, 401);
  });

  it('answers 400 naming `date` for a missing or impossible day', async () => {
    for (const query of ['', '?date=2026-02-30', '?date=30-11-2026', '?date=yesterday']) {
      const { status, body } = await operatorGet(query);
      assert.equal(status, 400, query);
      const error = body.error as { param?: string };
      assert.equal(error.param, 'date', query);
    }
  });

  it('documents the operator routes in the OpenAPI document', async () => {
    const document = (await (await fetch(`${stack.apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown }>>;
    };
    const path = document.paths['/v1/operator/reconciliations'];
    assert.ok(path?.get, 'GET documented');
    assert.ok(path?.post, 'POST documented');
    assert.deepEqual(path.get.security, [{ operatorKey: [] }]);
  });
});
