/**
 * The benchmark: a real Temporal dev server, every provider simulator, and a Kasir worker in its own
 * process (so its RSS is its own), driven the way the API drives workflows (update-with-start).
 * Figures are printed, never asserted. Settings come from the environment:
 *
 * - BENCH_BASELINE   direct simulator calls for the baseline (default 200)
 * - BENCH_LATENCY    payments created and settled one at a time for latency percentiles (default 100)
 * - BENCH_PAYMENTS   payments for the throughput run (default 1000)
 * - BENCH_CONCURRENCY concurrent clients in the throughput and open-payment runs (default 50)
 * - BENCH_OPEN       open payments held at once for the memory run (default 2000; 10000 for the full figure)
 * - BENCH_SQLITE     1 to run the dev server on a SQLite file instead of in memory (default 1)
 * - BENCH_SECONDS    time box for the throughput run and for the open-payment run each (default 40)
 *
 * The throughput and open-payment runs stop at their count or their time box, whichever comes first, so
 * the defaults finish in about three minutes even on a slow machine; the figures say what was reached.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { WorkflowHandle } from '@temporalio/client';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import { createConnectors } from '../src/connectors/registry';
import { ensureTemporalCli } from '../src/sandbox/temporal/cli-binary';
import { loadDevSettings } from '../src/sandbox/temporal/dev-settings';
import { startDevServer } from '../src/sandbox/temporal/dev-server';
import type { paymentWorkflow } from '../workflows';
import { providerCallbackSignal } from '../workflows/messages';
import type { PaymentState } from '../workflows/movement-state';
import { simControl, startPayment, uniqueReference } from '../test/helpers/movements';
import { startStack } from '../test/helpers/stack';
import type { TestStack } from '../test/helpers/stack';
import { KasirProcess } from '../test/helpers/processes';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

export const SETTINGS = {
  baseline: envInt('BENCH_BASELINE', 200),
  latency: envInt('BENCH_LATENCY', 100),
  payments: envInt('BENCH_PAYMENTS', 1000),
  concurrency: Math.max(1, envInt('BENCH_CONCURRENCY', 50)),
  open: envInt('BENCH_OPEN', 2000),
  sqlite: process.env.BENCH_SQLITE !== '0',
  seconds: Math.max(1, envInt('BENCH_SECONDS', 40)),
};

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

function summary(samples: readonly number[]): { p50: number; p95: number; p99: number; n: number } {
  return {
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    n: samples.length,
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

function printLatency(label: string, samples: readonly number[]): void {
  const s = summary(samples);
  console.log(
    `  ${label.padEnd(44)} p50 ${ms(s.p50).padStart(10)}  p95 ${ms(s.p95).padStart(10)}  p99 ${ms(s.p99).padStart(10)}  (n=${s.n})`
  );
}

/** Resident set size of another process, from /proc (Linux). */
function rssOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used, from /proc (Linux). */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Runs `task` for indexes 0..count-1 with at most `concurrency` in flight. */
async function pool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
  deadline = Infinity
): Promise<number> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count && performance.now() < deadline) await task(next++);
  });
  await Promise.all(runners);
  return next;
}

function paidCallback(state: PaymentState): Extract<ProviderCallbackEvent, { kind: 'payment' }> {
  return {
    kind: 'payment',
    provider: state.provider,
    reference: state.id,
    eventId: `PAID:${state.id}`,
    trust: 'verified',
    receivedAt: new Date().toISOString(),
    outcome: {
      status: 'succeeded',
      providerStatus: 'PAID',
      paidAmount: state.amount,
      paidAt: new Date().toISOString(),
    },
  };
}

/** The worker in its own process, so its memory is measured alone. */
async function startWorkerProcess(stack: TestStack, dir: string): Promise<KasirProcess> {
  const worker = new KasirProcess(
    'src/main-worker.ts',
    KasirProcess.writeConfig(path.join(dir, 'kasir.config.json'), stack.config)
  );
  worker.start();
  await worker.workerReady(stack.client, stack.config);
  return worker;
}

type Handle = WorkflowHandle<typeof paymentWorkflow>;

export async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kasir-bench-'));
  console.log('Kasir benchmark');
  console.log(
    `  machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${mib(os.totalmem())} RAM, node ${process.version}, ${os.platform()} ${os.release()}`
  );
  console.log(`  settings: ${JSON.stringify(SETTINGS)}`);

  // Polls far apart: callbacks (signals) settle payments, as they do in production; the simulators run in
  // real time (timeScale 1) so provider-side expiry never interferes.
  const stack = await startStack({
    startWorker: false,
    timeScale: 1,
    timings: {
      payment: {
        poll: { initialMs: 600_000, maxMs: 600_000, factor: 1 },
        lateWindowMs: 0,
        latePoll: { initialMs: 600_000, maxMs: 600_000, factor: 1 },
      },
    },
  });
  // startStack runs the server in memory; the targets are for SQLite, so swap in a persistent server.
  let serverPid = stack.server.process.pid;
  let stopSqlite: (() => Promise<void>) | undefined;
  if (SETTINGS.sqlite) {
    const settings = loadDevSettings();
    const sqlite = await startDevServer({
      binary: await ensureTemporalCli(),
      settings,
      port: 0,
      uiPort: null,
      dbFilename: path.join(dir, 'temporal.db'),
    });
    const { connectClient } = await import('../src/temporal/connection');
    stack.config.temporal.address = sqlite.address;
    const inMemoryClient = stack.client;
    Object.assign(stack, { client: await connectClient(stack.config) });
    serverPid = sqlite.process.pid;
    stopSqlite = async () => {
      await inMemoryClient.connection.close();
      await sqlite.stop();
    };
  }
  const worker = await startWorkerProcess(stack, dir);
  const finpay = stack.simulators.finpay.url;
  const create = (reference?: string) =>
    startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE', ...(reference ? { reference } : {}) });

  try {
    // Warm-up: the worker's workflow cache, connections and the JIT.
    await pool(20, 10, async () => {
      const { state, handle } = await create();
      await simControl(finpay, `/_sim/orders/${state.id}/pay`);
      await handle.signal(providerCallbackSignal, paidCallback(state));
      await handle.result();
    });

    // 1. Baseline: the same Finpay registration called directly through the connector, no Temporal.
    const connector = createConnectors(stack.config.providers).finpay.payments!;
    const direct: number[] = [];
    for (let i = 0; i < SETTINGS.baseline; i++) {
      const started = performance.now();
      await connector.create({
        reference: `BENCH${randomBytes(8).toString('hex').toUpperCase()}`,
        amount: 150_000,
        method: 'FINPAY_CODE',
        customer: { name: 'Budi Santoso', email: 'budi@example.com', phone: '081286288844' },
        description: 'baseline',
        expiresInMinutes: 60,
        callbackUrl: `${stack.config.api.publicUrl}/callbacks/finpay`,
      });
      direct.push(performance.now() - started);
    }

    // 2. Latency, one payment at a time: create until instructions, then callback until settled.
    const createLatency: number[] = [];
    const settleLatency: number[] = [];
    for (let i = 0; i < SETTINGS.latency; i++) {
      const started = performance.now();
      const { state, handle } = await create();
      createLatency.push(performance.now() - started);
      await simControl(finpay, `/_sim/orders/${state.id}/pay`);
      const paid = performance.now();
      await handle.signal(providerCallbackSignal, paidCallback(state));
      const final = await handle.result();
      settleLatency.push(performance.now() - paid);
      if (final.status !== 'SUCCEEDED') throw new Error(`payment ${state.id} ended ${final.status}`);
    }

    // 3. Throughput: many clients, each creating, paying and waiting for SUCCEEDED.
    const loadedCreate: number[] = [];
    const loadedSettle: number[] = [];
    const workerCpu0 = cpuSecondsOf(worker.pid);
    const serverCpu0 = cpuSecondsOf(serverPid);
    const throughputStarted = performance.now();
    const settledCount = await pool(
      SETTINGS.payments,
      SETTINGS.concurrency,
      async () => {
        const started = performance.now();
        const { state, handle } = await create();
        loadedCreate.push(performance.now() - started);
        await simControl(finpay, `/_sim/orders/${state.id}/pay`);
        const paid = performance.now();
        await handle.signal(providerCallbackSignal, paidCallback(state));
        const final = await handle.result();
        loadedSettle.push(performance.now() - paid);
        if (final.status !== 'SUCCEEDED') throw new Error(`payment ${state.id} ended ${final.status}`);
      },
      throughputStarted + SETTINGS.seconds * 1000
    );
    const throughputSeconds = (performance.now() - throughputStarted) / 1000;
    const workerCpu = cpuSecondsOf(worker.pid) - workerCpu0;
    const serverCpu = cpuSecondsOf(serverPid) - serverCpu0;

    // 4. Many open payments: create and leave them awaiting payment, sampling memory as the count grows.
    const samples: { open: number; workerRss: number; serverRss: number; createsPerSecond: number }[] = [];
    const step = Math.max(1, Math.round(SETTINGS.open / 10));
    const openHandles: Handle[] = [];
    samples.push({ open: 0, workerRss: rssOf(worker.pid), serverRss: rssOf(serverPid), createsPerSecond: NaN });
    let stepStarted = performance.now();
    let created = 0;
    const openStarted = performance.now();
    await pool(
      SETTINGS.open,
      SETTINGS.concurrency,
      async () => {
        const { handle } = await create(uniqueReference('open'));
        openHandles.push(handle);
        created++;
        if (created % step === 0) {
          const now = performance.now();
          samples.push({
            open: created,
            workerRss: rssOf(worker.pid),
            serverRss: rssOf(serverPid),
            createsPerSecond: step / ((now - stepStarted) / 1000),
          });
          stepStarted = now;
        }
      },
      openStarted + SETTINGS.seconds * 1000
    );
    const openSeconds = (performance.now() - openStarted) / 1000;
    if (created % step !== 0)
      samples.push({ open: created, workerRss: rssOf(worker.pid), serverRss: rssOf(serverPid), createsPerSecond: NaN });
    await new Promise((r) => setTimeout(r, 2_000));
    const settledRss = rssOf(worker.pid);

    // Report.
    console.log('\nResults');
    console.log(`  direct Finpay registration (baseline, no Temporal):`);
    printLatency('direct create (connector → simulator)', direct);
    console.log(`  one at a time:`);
    printLatency('create until instructions (update-with-start)', createLatency);
    printLatency('callback until SUCCEEDED', settleLatency);
    const overhead = percentile(createLatency, 50) / percentile(direct, 50);
    console.log(
      `  orchestration overhead, create p50 / direct p50: ${overhead.toFixed(1)}x (+${ms(percentile(createLatency, 50) - percentile(direct, 50))})`
    );
    console.log(
      `  throughput (${settledCount} of ${SETTINGS.payments} payments settled in the time box, ${SETTINGS.concurrency} concurrent clients):`
    );
    console.log(
      `  settled payments/s end to end: ${(settledCount / throughputSeconds).toFixed(1)} (${throughputSeconds.toFixed(1)} s)`
    );
    printLatency('create until instructions, under load', loadedCreate);
    printLatency('callback until SUCCEEDED, under load', loadedSettle);
    console.log(
      `  CPU during the run: worker ${workerCpu.toFixed(1)} s, Temporal server ${serverCpu.toFixed(1)} s, of ${(throughputSeconds * os.cpus().length).toFixed(1)} s available`
    );
    console.log(
      `  open payments (awaiting payment): ${created} of ${SETTINGS.open} created in ${openSeconds.toFixed(1)} s (${(created / openSeconds).toFixed(1)}/s); worker and Temporal server RSS:`
    );
    for (const s of samples) {
      console.log(
        `    open ${String(s.open).padStart(6)}  worker RSS ${mib(s.workerRss).padStart(9)}  server RSS ${mib(s.serverRss).padStart(9)}${Number.isNaN(s.createsPerSecond) ? '' : `  creates/s ${s.createsPerSecond.toFixed(1)}`}`
      );
    }
    console.log(`    after 2 s idle with ${openHandles.length} open: worker RSS ${mib(settledRss)}`);
    console.log(
      `\nJSON ${JSON.stringify({
        settings: SETTINGS,
        direct: summary(direct),
        create: summary(createLatency),
        settle: summary(settleLatency),
        overhead,
        throughput: {
          settled: settledCount,
          perSecond: settledCount / throughputSeconds,
          seconds: throughputSeconds,
          create: summary(loadedCreate),
          settle: summary(loadedSettle),
          workerCpu,
          serverCpu,
        },
        open: samples,
      })}`
    );
  } finally {
    await worker.kill('SIGKILL');
    await stack.stop();
    await stopSqlite?.();
    rmSync(dir, { recursive: true, force: true });
  }
}
