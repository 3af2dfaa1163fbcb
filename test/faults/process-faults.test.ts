/**
 * Process-level faults on the real stack: the worker killed with SIGKILL and restarted, the Temporal
 * dev server restarted on its SQLite file while payments are in flight, and faults at provider
 * registration. Every scenario asserts the invariants rather than timings: each movement reaches a
 * terminal state, and no payout reaches the provider twice (the simulators count submissions).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { parseConfig } from '../../src/config';
import { SIMULATOR_SETUPS } from '../../src/sandbox/registry';
import { listen } from '../../src/sandbox/simulator-kit';
import type { ProviderId } from '../../src/domain/provider';
import { PROVIDER_IDS } from '../../src/domain/provider';
import { sha256Hex } from '../../src/ids';
import { ensureTemporalCli } from '../../src/sandbox/temporal/cli-binary';
import { connectClient, connectWorker } from '../../src/temporal/connection';
import { loadDevSettings } from '../../src/sandbox/temporal/dev-settings';
import type { DevServer } from '../../src/sandbox/temporal/dev-server';
import { freePort, startDevServer } from '../../src/sandbox/temporal/dev-server';
import { createKasirWorker } from '../../src/worker';
import { simControl, simGet, startPayment, startPayout } from '../helpers/movements';
import { eventually, FAST_TIMINGS, startStack, WebhookSink, workflowBundle } from '../helpers/stack';
import type { RunningSimulator, TestStack } from '../helpers/stack';
import { KasirProcess } from '../helpers/processes';

/** Timings where polls, not callbacks, discover settlement quickly (callbacks go to an unreachable URL). */
const FAULT_TIMINGS = {
  payment: {
    poll: { initialMs: 500, maxMs: 2_000, factor: 2 },
    lateWindowMs: 4_000,
    latePoll: { initialMs: 1_000, maxMs: 2_000, factor: 2 },
  },
  payout: { query: { initialMs: 300, maxMs: 1_500, factor: 2 }, attentionAfterMs: 120_000 },
};

describe('process faults', function () {
  this.timeout(90_000);

  describe('on one stack with the worker in a child process', () => {
    let stack: TestStack;
    let dir: string;
    let configFile: string;
    const workers: KasirProcess[] = [];

    async function startWorkerProcess(): Promise<KasirProcess> {
      const worker = new KasirProcess('src/main-worker.ts', configFile);
      workers.push(worker);
      worker.start();
      await worker.workerReady(stack.client, stack.config);
      return worker;
    }

    before(async () => {
      stack = await startStack({ startWorker: false, timings: FAULT_TIMINGS });
      dir = mkdtempSync(path.join(tmpdir(), 'kasir-faults-'));
      configFile = path.join(dir, 'kasir.config.json');
      writeFileSync(configFile, JSON.stringify(stack.config));
    });
    after(async () => {
      for (const worker of workers) await worker.kill('SIGTERM');
      await stack?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('survives kill -9 of the worker mid-payment and mid-payout: all settle, each payout submitted once', async () => {
      const t0 = Date.now();
      const first = await startWorkerProcess();
      if (process.env.FAULTS_DEBUG) console.log('first worker ready after', Date.now() - t0, 'ms');
      const bdpay = stack.simulators.bdpay.url;
      const finpay = stack.simulators.finpay.url;

      const [payments, payouts] = await Promise.all([
        Promise.all(
          Array.from({ length: 5 }, () => startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' }))
        ),
        Promise.all(Array.from({ length: 3 }, () => startPayout(stack, {}))),
      ]);
      // Payouts start processing at BDPay; payments await the customer. Everything is mid-flight.
      for (const p of payments) assert.equal(p.state.status, 'PENDING');
      for (const p of payouts)
        assert.ok(['PROCESSING', 'UNKNOWN', 'SUBMITTED', 'PENDING'].includes(p.state.status), p.state.status);
      await first.kill('SIGKILL');

      // With no worker alive, the provider settles everything.
      for (const p of payments) await simControl(finpay, `/_sim/orders/${p.state.id}/pay`);
      for (const p of payouts) await simControl(bdpay, `/_sim/payouts/${p.state.id}/settle`);

      const t = Date.now();
      await startWorkerProcess();
      if (process.env.FAULTS_DEBUG) console.log('second worker ready after', Date.now() - t, 'ms');
      const finals = await Promise.all([
        ...payments.map((p) => p.handle.result()),
        ...payouts.map((p) => p.handle.result()),
      ]);
      for (const final of finals) assert.equal(final.status, 'SUCCEEDED');
      if (process.env.FAULTS_DEBUG) console.log('all settled after', Date.now() - t, 'ms');

      const submissions = await simGet<Record<string, number>>(bdpay, '/_sim/submissions');
      for (const p of payouts) assert.equal(submissions[p.state.id] ?? 0, 1, `payout ${p.state.id} submissions`);
      // Every merchant webhook for a final state was delivered.
      await eventually(
        () =>
          [...payments, ...payouts].every((p) =>
            stack.webhooks.eventsFor(p.state.id).some((e) => e.type.endsWith('.succeeded'))
          )
            ? true
            : undefined,
        30_000,
        'succeeded webhooks'
      );
    });

    it('registers through a 5xx burst at Finpay by re-sending the same order id, and retries status checks', async () => {
      const finpay = stack.simulators.finpay.url;
      try {
        await simControl(finpay, '/_sim/faults', {
          kind: 'http-5xx',
          path: '/pg/payment/card/initiate',
          status: 503,
          count: 3,
        });
        const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
        assert.equal(state.status, 'PENDING');
        assert.equal(state.timeline.filter((t) => /outcome unknown/.test(t.note ?? '')).length, 3);
        const orders = await simGet<{ id: string }[]>(finpay, '/_sim/orders');
        assert.equal(orders.filter((o) => o.id === state.id).length, 1);

        await simControl(finpay, '/_sim/faults', {
          kind: 'http-5xx',
          path: '/pg/payment/card/check',
          status: 502,
          count: 3,
        });
        await simControl(finpay, `/_sim/orders/${state.id}/pay`);
        assert.equal((await handle.result()).status, 'SUCCEEDED');
        assert.equal((await simGet<Record<string, number>>(finpay, '/_sim/submissions'))[`initiate:${state.id}`], 1);
      } finally {
        await fetch(`${finpay}/_sim/faults`, { method: 'DELETE' });
      }
    });

    it('recovers a payment-code registration whose answer was lost: the order Finpay holds is the payment', async () => {
      const finpay = stack.simulators.finpay.url;
      try {
        // Finpay registers the order but the answer never arrives; the re-sent order id is refused as a
        // duplicate, and the status check gives the payment code back.
        await simControl(finpay, '/_sim/faults', { kind: 'accept-then-drop', path: '/pg/payment/card/initiate' });
        const { state, handle } = await startPayment(stack, {
          provider: 'finpay',
          method: 'FINPAY_CODE',
          expiresInMinutes: 1440,
        });
        assert.equal(state.status, 'PENDING');
        const order = await simGet<{ status: string; paymentCode: string }>(finpay, `/_sim/orders/${state.id}`);
        assert.equal(state.instructions?.paymentCode, order.paymentCode);
        assert.equal(
          (await simGet<{ id: string }[]>(finpay, '/_sim/orders')).filter((o) => o.id === state.id).length,
          1
        );
        await simControl(finpay, `/_sim/orders/${state.id}/pay`);
        assert.equal((await handle.result()).status, 'SUCCEEDED');
      } finally {
        await fetch(`${finpay}/_sim/faults`, { method: 'DELETE' });
      }
    });

    it('resolves a lost QRIS registration by query: the order Finpay holds is PENDING and flagged, never FAILED', async () => {
      const finpay = stack.simulators.finpay.url;
      try {
        // The status answer has no QR, so Kasir cannot hand out instructions again; the order exists at
        // Finpay, so the payment is PENDING (not FAILED) and an operator is told the instructions were lost.
        await simControl(finpay, '/_sim/faults', { kind: 'accept-then-drop', path: '/pg/payment/card/initiate' });
        const { state, handle } = await startPayment(stack, {
          provider: 'finpay',
          method: 'QRIS',
          expiresInMinutes: 1440,
        });
        assert.equal(state.status, 'PENDING');
        assert.equal(state.needsAttention, true);
        assert.match(state.attentionReason ?? '', /REGISTRATION_ANSWER_LOST/);
        assert.equal(
          (await simGet<{ id: string }[]>(finpay, '/_sim/orders')).filter((o) => o.id === state.id).length,
          1
        );
        // The merchant's payment.pending says so too.
        const pending = await eventually(() =>
          stack.webhooks.eventsFor(state.id).find((e) => e.type === 'payment.pending')
        );
        assert.deepEqual([pending.data.needsAttention, pending.data.attentionReason], [true, state.attentionReason]);

        await simControl(finpay, `/_sim/orders/${state.id}/pay`);
        const final = await handle.result();
        assert.equal(final.status, 'SUCCEEDED');
        // Once paid, lost instructions no longer need anyone, and the merchant's payment.succeeded says so.
        assert.equal(final.needsAttention, false);
        const succeeded = await eventually(() =>
          stack.webhooks.eventsFor(state.id).find((e) => e.type === 'payment.succeeded')
        );
        assert.equal(succeeded.data.needsAttention, false);
      } finally {
        await fetch(`${finpay}/_sim/faults`, { method: 'DELETE' });
      }
    });
  });

  describe('Temporal dev server restart on persistent SQLite', () => {
    let dir: string;
    let server: DevServer | undefined;
    let client: Client | undefined;
    let workerConnection: NativeConnection | undefined;
    let worker: Worker | undefined;
    let running: Promise<void> | undefined;
    const simulators = {} as Record<ProviderId, RunningSimulator>;
    const webhooks = new WebhookSink();

    after(async () => {
      if (worker?.getState() === 'RUNNING') worker.shutdown();
      await running?.catch(() => undefined);
      await workerConnection?.close().catch(() => undefined);
      await client?.connection.close().catch(() => undefined);
      for (const s of Object.values(simulators)) {
        s.simulator.stop();
        await s.server.close();
      }
      await webhooks.server?.close();
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('continues in-flight payments after the server restarts on the same SQLite file', async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'kasir-sqlite-'));
      const dbFilename = path.join(dir, 'temporal.db');
      const binary = await ensureTemporalCli();
      const settings = loadDevSettings();
      const port = await freePort(settings.server.ip);
      const startServer = () => startDevServer({ binary, settings, port, uiPort: null, dbFilename });
      server = await startServer();
      // Bundling installs the quiet Temporal runtime, which must precede any native connection.
      const bundle = await workflowBundle();

      const webhookUrl = await webhooks.start();
      const providers = {} as Record<ProviderId, unknown>;
      for (const id of PROVIDER_IDS) {
        const setup = SIMULATOR_SETUPS[id]();
        // Real-time provider clocks: orders must not expire at the provider while the server restarts.
        const simulator = setup.createSimulator({ timeScale: 1 });
        const listening = await listen(simulator.app);
        simulators[id] = { simulator, server: listening, url: listening.url };
        providers[id] = setup.connectorConfig(listening.url);
      }
      const merchant = {
        id: 'acme',
        apiKey: `test_sk_${randomBytes(8).toString('hex')}`,
        webhookSecret: `test_whsec_${randomBytes(16).toString('hex')}`,
      };
      const config = parseConfig({
        temporal: {
          address: server.address,
          namespace: server.namespace,
          taskQueue: `kasir-restart-${randomBytes(4).toString('hex')}`,
        },
        api: { publicUrl: 'http://127.0.0.1:9' },
        merchants: [
          {
            id: merchant.id,
            name: 'ACME',
            apiKeySha256: [sha256Hex(merchant.apiKey)],
            webhookUrl,
            webhookSecret: merchant.webhookSecret,
          },
        ],
        providers,
        timings: { ...FAST_TIMINGS, ...FAULT_TIMINGS },
      });
      client = await connectClient(config);
      workerConnection = await connectWorker(config.temporal);
      const startWorker = async () => {
        worker = await createKasirWorker({ connection: workerConnection!, config, workflowBundle: bundle });
        running = worker.run();
      };
      await startWorker();

      // The movement helpers only need these parts of a stack.
      const stack = { client, config, merchants: [merchant] } as unknown as TestStack;
      const payments = await Promise.all(
        Array.from({ length: 5 }, () => startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' }))
      );
      for (const p of payments) assert.equal(p.state.status, 'PENDING');

      // The server goes away under the running worker and client, and comes back on the same port and file.
      await server.stop();
      server = await startServer();

      const finpay = simulators.finpay.url;
      for (const p of payments) await simControl(finpay, `/_sim/orders/${p.state.id}/pay`);
      const finals = await Promise.all(payments.map((p) => p.handle.result()));
      for (const final of finals) assert.equal(final.status, 'SUCCEEDED');
      const submissions = await simGet<Record<string, number>>(finpay, '/_sim/submissions');
      for (const p of payments) assert.equal(submissions[`initiate:${p.state.id}`], 1);
    });
  });
});
