/**
 * Multiple processes against one Temporal: two workers and two API processes, each a child process
 * (`src/main-worker.ts`, `src/main-api.ts`) with its own KASIR_CONFIG. Under load (payments and payouts
 * created concurrently through both APIs) one worker and one API are killed with SIGKILL. Requests that
 * died with API #2 are retried through API #1 with the same body, as a merchant would. Then the provider
 * settles everything, and the invariants hold: no movement lost, every payout at BDPay at most once
 * (exactly once when it succeeded), and a terminal merchant webhook for every movement.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { PaymentView, PayoutView } from '../../src/api/schemas';
import { workflowIdOf } from '../../src/ids';
import { freePort } from '../../src/sandbox/temporal/dev-server';
import { paymentBody, uniqueRef } from '../api/http';
import { simGet } from '../helpers/movements';
import { FAST_TIMINGS, eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';
import { KasirProcess } from '../helpers/processes';

const PAYMENTS = 20;
const PAYOUTS = 6;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'EXPIRED', 'CANCELLED', 'REFUNDED']);

interface Created {
  kind: 'payment' | 'payout';
  body: Record<string, unknown>;
  via: 1 | 2;
  id?: string;
  attempts: string[];
}

describe('multiple worker and API processes', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let dir: string;
  const processes: KasirProcess[] = [];
  let api1 = '';
  let api2 = '';

  before(async function () {
    this.timeout(150_000);
    const [port1, port2] = [await freePort(), await freePort()];
    api1 = `http://127.0.0.1:${port1}`;
    api2 = `http://127.0.0.1:${port2}`;
    // Every workflow's callback URL points at API #1, whichever API created it (it is baked into the input).
    stack = await startStack({
      startWorker: false,
      publicUrl: api1,
      timings: {
        payment: { ...FAST_TIMINGS.payment, poll: { initialMs: 1_000, maxMs: 2_000, factor: 2 } },
        // A payout whose submission died with worker #1 before reaching BDPay stays UNKNOWN (never resubmitted)
        // and is flagged for an operator this long after submission.
        payout: { query: { initialMs: 500, maxMs: 1_500, factor: 2 }, attentionAfterMs: 20_000 },
      },
    });
    dir = mkdtempSync(path.join(tmpdir(), 'kasir-multi-'));
  });
  /** Two workers and two APIs, fresh for each scenario (API #1 always on the port of the callback URL). */
  async function startProcesses(): Promise<[KasirProcess, KasirProcess, KasirProcess, KasirProcess]> {
    for (const p of processes.splice(0)) await p.kill('SIGKILL');
    const configFor = (base: string) => {
      const port = Number(new URL(base).port);
      return KasirProcess.writeConfig(path.join(dir, `kasir-${port}.json`), {
        ...stack.config,
        api: { ...stack.config.api, host: '127.0.0.1', port },
      });
    };
    const workerConfig = configFor(api1);
    const started: [KasirProcess, KasirProcess, KasirProcess, KasirProcess] = [
      new KasirProcess('src/main-worker.ts', workerConfig),
      new KasirProcess('src/main-worker.ts', workerConfig),
      new KasirProcess('src/main-api.ts', configFor(api1)),
      new KasirProcess('src/main-api.ts', configFor(api2)),
    ];
    processes.push(...started);
    for (const p of started) p.start();
    const [w1, w2, a1, a2] = started;
    await Promise.all([
      w1.workerReady(stack.client, stack.config),
      w2.workerReady(stack.client, stack.config),
      a1.apiReady(api1),
      a2.apiReady(api2),
    ]);
    return started;
  }

  after(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function post(
    base: string,
    path: string,
    body: unknown
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.merchants[0]!.apiKey}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(40_000),
    });
    const text = await response.text();
    return { status: response.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  }

  async function get<T>(path: string): Promise<T> {
    const response = await fetch(`${api1}${path}`, {
      headers: { authorization: `Bearer ${stack.merchants[0]!.apiKey}` },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(response.status, 200, `${path}: ${response.status}`);
    return (await response.json()) as T;
  }

  /** Creates through the chosen API; when that API is gone or fails, retries the same body through API #1. */
  async function create(item: Created): Promise<void> {
    const route = item.kind === 'payment' ? '/v1/payments' : '/v1/payouts';
    let base = item.via === 1 ? api1 : api2;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const answer = await post(base, route, item.body);
        item.attempts.push(`${base === api1 ? 1 : 2}:${answer.status}`);
        if (answer.status >= 200 && answer.status < 300) {
          item.id = answer.json.id as string;
          return;
        }
        assert.ok(answer.status >= 500, `refused: ${answer.status} ${JSON.stringify(answer.json)}`);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        item.attempts.push(`${base === api1 ? 1 : 2}:${err instanceof Error ? err.name : 'error'}`);
      }
      base = api1;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`could not create ${item.kind}: ${item.attempts.join(', ')}`);
  }

  /**
   * API #2 is always killed while creations are in flight. Worker #1 is killed either at the same moment
   * (mid-registration and mid-submission) or later, while the provider settles everything (callbacks,
   * polls and merchant webhooks in flight).
   */
  async function scenario(killWorker: 'with-api' | 'during-settlement'): Promise<void> {
    const [w1, w2, , a2] = await startProcesses();
    const started = Date.now();
    const items: Created[] = [
      ...Array.from({ length: PAYMENTS }, (_, i): Created => ({
        kind: 'payment',
        via: i % 2 === 0 ? 1 : 2,
        attempts: [],
        body: paymentBody({ provider: 'finpay', method: 'VA_BCA', amount: 100_000 + i }),
      })),
      ...Array.from({ length: PAYOUTS }, (_, i): Created => ({
        kind: 'payout',
        via: i % 2 === 0 ? 1 : 2,
        attempts: [],
        body: {
          reference: uniqueRef('PO'),
          amount: 200_000 + i,
          feeMode: 'merchant',
          beneficiary: {
            bankCode: '014',
            accountNumber: `12345678${String(i).padStart(2, '0')}`,
            accountName: 'Siti Aminah',
          },
          description: 'Seller payout',
        },
      })),
    ];

    // Requests go out over about a second, alternating between the APIs; once the first answers are back,
    // the kill happens with requests in flight and more still to come (those to API #2 are refused).
    let answered = 0;
    const creating = Promise.all(
      items.map(async (item, index) => {
        await new Promise((r) => setTimeout(r, index * 40));
        await create(item).finally(() => answered++);
      })
    );
    await eventually(() => (answered >= 2 ? true : undefined), 60_000, 'the first answers');
    await Promise.all([killWorker === 'with-api' ? w1.kill('SIGKILL') : undefined, a2.kill('SIGKILL')]);
    const inFlightAtKill = items.length - answered;
    await creating;
    assert.ok(w2.alive, 'worker #2 survived');
    assert.ok(!a2.alive, 'API #2 was killed');
    const ids = items.map((i) => i.id!);
    assert.equal(new Set(ids).size, items.length, 'one movement per request, retries included');

    const payments = items.filter((i) => i.kind === 'payment');
    const payouts = items.filter((i) => i.kind === 'payout');
    const finpay = stack.simulators.finpay.url;
    const bdpay = stack.simulators.bdpay.url;

    // The provider settles every payment once registered, and every payout once BDPay holds it.
    const settled = new Set<string>();
    const unreachable = new Set<string>();
    if (killWorker === 'during-settlement') {
      // Worker #1 dies once the first settlements are under way: callbacks, polls and webhooks in flight.
      void eventually(() => (settled.size >= 3 ? true : undefined), 60_000, 'first settlements').then(
        () => w1.kill('SIGKILL'),
        () => undefined
      );
    }
    await eventually(
      async () => {
        for (const item of items) {
          if (settled.has(item.id!) || unreachable.has(item.id!)) continue;
          const control =
            item.kind === 'payment'
              ? `${finpay}/_sim/orders/${item.id}/pay`
              : `${bdpay}/_sim/payouts/${item.id}/settle`;
          const response = await fetch(control, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{}',
          });
          if (response.ok) settled.add(item.id!);
          // A payout that never reached BDPay never will (it is not resubmitted): once flagged, it is
          // checked below, and nothing is left to wait for.
          else if (item.kind === 'payout' && (await get<PayoutView>(`/v1/payouts/${item.id}`)).needsAttention)
            unreachable.add(item.id!);
        }
        return settled.size + unreachable.size === items.length ? true : undefined;
      },
      60_000,
      'every movement to reach its provider'
    ).catch(() => undefined); // checked below

    const finals = await eventually(
      async () => {
        const states = await Promise.all(
          items.map(async (i) =>
            i.kind === 'payment' ? get<PaymentView>(`/v1/payments/${i.id}`) : get<PayoutView>(`/v1/payouts/${i.id}`)
          )
        );
        return states.every((s) => TERMINAL.has(s.status) || s.needsAttention) ? states : undefined;
      },
      90_000,
      'every movement to be terminal or flagged'
    ).catch(async (err: unknown) => {
      const states = await Promise.all(
        items.map(async (i) =>
          get<{ status: string; timeline: unknown[] }>(`/v1/${i.kind}s/${i.id}`).catch((e: unknown) => String(e))
        )
      );
      const stuck = states
        .map((s, n) => ({ s, item: items[n]! }))
        .filter(({ s }) => typeof s === 'string' || !TERMINAL.has(s.status));
      const details = await Promise.all(
        stuck.map(async ({ s, item }) => {
          const handle = stack.client.workflow.getHandle(workflowIdOf(item.kind, item.id!));
          const execution = (await handle.describe()).status.name;
          const failure =
            execution === 'FAILED'
              ? await handle.result().then(
                  () => '',
                  (e: unknown) =>
                    e instanceof Error ? `${e.message}: ${e.cause instanceof Error ? e.cause.message : ''}` : String(e)
                )
              : '';
          return {
            id: item.id,
            attempts: item.attempts,
            status: typeof s === 'string' ? s : s.status,
            execution,
            failure,
          };
        })
      );
      throw new Error(`${String(err)}; settled at provider: ${settled.size}; stuck: ${JSON.stringify(details)}`);
    });
    for (const [index, state] of finals.entries()) {
      const item = items[index]!;
      if (item.kind === 'payment')
        assert.equal(state.status, 'SUCCEEDED', `payment ${item.id}: ${JSON.stringify(state)}`);
      else
        assert.ok(state.status === 'SUCCEEDED' || state.needsAttention, `payout ${item.id}: ${JSON.stringify(state)}`);
    }

    const bdpaySubmissions = await simGet<Record<string, number>>(bdpay, '/_sim/submissions');
    for (const [index, payout] of payouts.entries()) {
      const count = bdpaySubmissions[payout.id!] ?? 0;
      assert.ok(count <= 1, `payout ${payout.id} reached BDPay ${count} times`);
      if (finals[payments.length + index]!.status === 'SUCCEEDED') assert.equal(count, 1);
    }
    const finpaySubmissions = await simGet<Record<string, number>>(finpay, '/_sim/submissions');
    for (const payment of payments) assert.ok((finpaySubmissions[`initiate:${payment.id}`] ?? 0) >= 1);

    await eventually(
      () =>
        finals.every((state, index) => {
          const item = items[index]!;
          const expected = TERMINAL.has(state.status)
            ? `${item.kind}.${state.status.toLowerCase()}`
            : `${item.kind}.needs_attention`;
          return stack.webhooks.eventsFor(item.id!).some((e) => e.type === expected);
        })
          ? true
          : undefined,
      60_000,
      'a terminal webhook for every movement'
    );
    if (process.env.FAULTS_DEBUG) {
      const flagged = finals.filter((f) => f.needsAttention).length;
      console.log(
        `in flight or unsent at kill: ${inFlightAtKill}; flagged: ${flagged}; never at BDPay: ${unreachable.size}; retried: ${items.filter((i) => i.attempts.length > 1).length}; took ${Date.now() - started} ms`
      );
    }
    assert.ok(!w1.alive, 'worker #1 was killed');
  }

  it('loses nothing and pays out once when one API is killed under load and one worker during settlement', async () => {
    await scenario('during-settlement');
  });

  it('loses nothing and pays out once when one worker and one API are killed together under load, mid-registration', async () => {
    await scenario('with-api');
  });
});
