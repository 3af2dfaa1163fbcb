/**
 * The benchmark (`npm run bench`): a real Temporal dev server (SQLite file), every provider simulator,
 * the merchant's webhook endpoint, and Kasir compiled as production runs it (`npm run build`, then plain
 * node on `dist/main-worker.js` and `dist/main-api.js`, each in its own process so its CPU and RSS are
 * its own). In the same run and on the same server it measures a CEILING (bench/ceiling/): the smallest
 * workflow with a payment's shape (update-with-start answered after one local activity, one more local
 * activity, one signal, one local activity, completion; no timers, search attributes or queries) on its
 * own task queue and its own compiled worker process, and prints Kasir's figures beside the ceiling's.
 *
 * Kasir's main rows go through the API as in production: `POST /v1/payments`, then the Finpay
 * simulator's pay control, whose signed callback reaches `/callbacks/finpay` and becomes a signal. The
 * direct-client rows (update-with-start from a client + a signal, no API) are a second row. Figures are
 * printed, never asserted. Settings come from the environment:
 *
 * - BENCH_LATENCY          payments created and settled one at a time, per latency run (default 100)
 * - BENCH_PAYMENTS         most payments per throughput run (default 3000; the time box usually ends it)
 * - BENCH_CONCURRENCY      concurrent clients in the throughput and open-payment runs (default 50)
 * - BENCH_SECONDS          time box of each throughput run (default 20)
 * - BENCH_OPEN             open payments held at once for the memory run (default 1000; 10000 for the full figure)
 * - BENCH_OPEN_SECONDS     time box of the open-payment run (default 60)
 * - BENCH_WORKERS          Kasir worker processes for the main runs (default 1)
 * - BENCH_APIS             Kasir API processes for the main runs (default 1); clients spread over them
 * - BENCH_SCALING          throughput through the API per `<workers>x<apis>`, comma-separated
 *                          (default `1x1,2x1,2x2,1x2`; `off` skips it)
 * - BENCH_SCALING_SECONDS  time box of each scaling run (default 12)
 * - BENCH_HISTORY_SAMPLE   finished workflows whose histories are counted, per kind (default 50)
 * - BENCH_BASELINE         direct Finpay registrations through the connector, no Temporal (default 200)
 * - BENCH_CEILING_PROVIDER 1: the ceiling's first local activity does one HTTP round trip to the Finpay
 *                          simulator, as Kasir's registration does; 0: no I/O at all (default 1)
 * - BENCH_SQLITE           0 to run the dev server in memory instead of on a SQLite file (default 1)
 * - KASIR_MAX_CACHED_WORKFLOWS  the workers' cache (Kasir's and the ceiling's; default 500)
 *
 * Every run stops at its count or its time box, whichever comes first; in-flight payments then finish.
 * The defaults take about five minutes on a 2-core machine.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, WithStartWorkflowOperation } from '@temporalio/client';
import { createConnectors } from '../src/connectors/registry';
import { workflowIdOf } from '../src/ids';
import { freePort } from '../src/sandbox/temporal/dev-server';
import { ensureTemporalCli } from '../src/sandbox/temporal/cli-binary';
import { loadDevSettings } from '../src/sandbox/temporal/dev-settings';
import { startDevServer } from '../src/sandbox/temporal/dev-server';
import type { KasirConfig } from '../src/config';
import { providerCallbackSignal } from '../workflows/messages';
import { DEFAULT_TIMINGS } from '../workflows/timings';
import type { PaymentState } from '../workflows/movement-state';
import { paidCallback, simControl, startPayment, uniqueReference } from '../test/helpers/movements';
import { startStack } from '../test/helpers/stack';
import type { TestStack } from '../test/helpers/stack';
import { KasirProcess, NodeProcess, pollerReady } from '../test/helpers/processes';
import { buildCeiling } from './ceiling/build';
import { ceilingPaidSignal, ceilingRegisteredUpdate } from './ceiling/workflows';
import type { ceilingWorkflow } from './ceiling/workflows';
import type { HistoryCount } from './history';
import { countHistories, perWorkflow } from './history';
import { cpuSecondsOf, ownCpuSeconds, rssOf } from './processes';

const ROOT = path.resolve(__dirname, '..');

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
}

function scalingOf(raw: string | undefined): { workers: number; apis: number }[] {
  if (raw === 'off' || raw === '0' || raw === 'none') return [];
  return (raw || '1x1,2x1,2x2,1x2')
    .split(',')
    .map((s) => /^\s*(\d+)x(\d+)\s*$/.exec(s))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ workers: Math.max(1, Number(m[1])), apis: Math.max(1, Number(m[2])) }));
}

export const SETTINGS = {
  latency: envInt('BENCH_LATENCY', 100),
  payments: envInt('BENCH_PAYMENTS', 3000),
  concurrency: Math.max(1, envInt('BENCH_CONCURRENCY', 50)),
  seconds: Math.max(1, envInt('BENCH_SECONDS', 20)),
  open: envInt('BENCH_OPEN', 1000),
  openSeconds: Math.max(1, envInt('BENCH_OPEN_SECONDS', 60)),
  workers: Math.max(1, envInt('BENCH_WORKERS', 1)),
  apis: Math.max(1, envInt('BENCH_APIS', 1)),
  scaling: scalingOf(process.env.BENCH_SCALING),
  scalingSeconds: Math.max(1, envInt('BENCH_SCALING_SECONDS', 12)),
  historySample: envInt('BENCH_HISTORY_SAMPLE', 50),
  baseline: envInt('BENCH_BASELINE', 200),
  ceilingProvider: process.env.BENCH_CEILING_PROVIDER !== '0',
  sqlite: process.env.BENCH_SQLITE !== '0',
};

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

interface Summary {
  p50: number;
  p95: number;
  p99: number;
  n: number;
}

function summary(samples: readonly number[]): Summary {
  return {
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    n: samples.length,
  };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

function latencyLine(label: string, samples: readonly number[]): string {
  const s = summary(samples);
  return `  ${label.padEnd(58)} p50 ${ms(s.p50).padStart(10)}  p95 ${ms(s.p95).padStart(10)}  p99 ${ms(s.p99).padStart(10)}  (n=${s.n})`;
}

/** Runs `task` for indexes 0..count-1 with at most `concurrency` in flight, until `deadline`. */
async function pool(
  count: number,
  concurrency: number,
  task: (index: number, runner: number) => Promise<void>,
  deadline = Infinity
): Promise<number> {
  let next = 0;
  let done = 0;
  const runners = Array.from({ length: Math.min(concurrency, count) }, async (_, runner) => {
    while (next < count && performance.now() < deadline) {
      await task(next++, runner);
      done++;
    }
  });
  await Promise.all(runners);
  return done;
}

/** A Kasir API process from `dist/`, with its own port; providers call back the API that created the payment. */
interface RunningApi {
  process: KasirProcess;
  url: string;
}

/** Kasir's processes (compiled), started and stopped as the runs need them. */
class KasirFleet {
  readonly workers: KasirProcess[] = [];
  readonly apis: RunningApi[] = [];

  constructor(
    private readonly stack: TestStack,
    private readonly dir: string
  ) {}

  private configFile(name: string, config: KasirConfig): string {
    return KasirProcess.writeConfig(path.join(this.dir, `${name}.config.json`), config);
  }

  async resize(workers: number, apis: number): Promise<void> {
    while (this.workers.length > workers) await this.workers.pop()!.kill('SIGKILL');
    while (this.apis.length > apis) await this.apis.pop()!.process.kill('SIGKILL');
    while (this.workers.length < workers) {
      const worker = new KasirProcess(
        'dist/main-worker.js',
        this.configFile(`worker-${this.workers.length}`, this.stack.config)
      );
      worker.start();
      await worker.workerReady(this.stack.client, this.stack.config);
      this.workers.push(worker);
    }
    while (this.apis.length < apis) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const config = {
        ...this.stack.config,
        api: { ...this.stack.config.api, host: '127.0.0.1', port, publicUrl: url },
      };
      const api = new KasirProcess('dist/main-api.js', this.configFile(`api-${this.apis.length}`, config));
      api.start();
      await api.apiReady(url);
      this.apis.push({ process: api, url });
    }
  }

  workerCpu(): number {
    return this.workers.reduce((sum, w) => sum + cpuSecondsOf(w.pid), 0);
  }

  apiCpu(): number {
    return this.apis.reduce((sum, a) => sum + cpuSecondsOf(a.process.pid), 0);
  }

  workerRss(): number {
    return this.workers.reduce((sum, w) => sum + rssOf(w.pid), 0);
  }

  async stop(): Promise<void> {
    await this.resize(0, 0);
  }
}

/** CPU seconds used by each part during a run. */
interface CpuUse {
  worker: number;
  api: number;
  server: number;
  bench: number;
}

function cpuMeter(read: () => CpuUse): () => CpuUse {
  const start = read();
  return () => {
    const now = read();
    return {
      worker: now.worker - start.worker,
      api: now.api - start.api,
      server: now.server - start.server,
      bench: now.bench - start.bench,
    };
  };
}

interface ThroughputResult {
  settled: number;
  /** Payments that failed (an error answer, or not SUCCEEDED). */
  failed: number;
  firstFailure: string | undefined;
  seconds: number;
  perSecond: number;
  create: Summary;
  settle: Summary;
  cpu: CpuUse;
  /** CPU-ms per settled payment, per part. */
  cpuMsPerPayment: CpuUse;
  /** Workflow ids of payments settled in the run (for history counts). */
  finished: string[];
}

function perPayment(cpu: CpuUse, settled: number): CpuUse {
  const per = (s: number) => (s * 1000) / Math.max(1, settled);
  return { worker: per(cpu.worker), api: per(cpu.api), server: per(cpu.server), bench: per(cpu.bench) };
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kasir-bench-'));
  const cores = os.cpus().length;
  console.log('Kasir benchmark');
  console.log(
    `  machine: ${cores} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${mib(os.totalmem())} RAM, node ${process.version}, ${os.platform()} ${os.release()}`
  );
  console.log(`  settings: ${JSON.stringify(SETTINGS)}`);

  // Kasir as production runs it (dist/), and the ceiling compiled the same way.
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: ROOT, stdio: 'ignore' });
  const ceilingBuild = await buildCeiling(dir);

  // Polls far apart: callbacks settle payments, as in production; the simulators run in real time
  // (timeScale 1) so provider-side expiry never interferes; no late-payment watch after SUCCEEDED.
  const stack = await startStack({
    startWorker: false,
    timeScale: 1,
    timings: {
      // Production webhook retries (1 s doubling to 10 min), as the 503 comparison must see them.
      webhook: DEFAULT_TIMINGS.webhook,
      payment: {
        poll: { initialMs: 600_000, maxMs: 600_000, factor: 1 },
        lateWindowMs: 0,
        latePoll: { initialMs: 600_000, maxMs: 600_000, factor: 1 },
      },
    },
  });
  // startStack runs the server in memory; swap in one on a SQLite file, as `npm start` runs.
  let serverPid = stack.server.process.pid;
  let stopSqlite: (() => Promise<void>) | undefined;
  if (SETTINGS.sqlite) {
    const sqlite = await startDevServer({
      binary: await ensureTemporalCli(),
      settings: loadDevSettings(),
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

  const finpay = stack.simulators.finpay.url;
  const merchant = stack.merchants[0]!;
  const fleet = new KasirFleet(stack, dir);

  // The ceiling's worker and its client (default data converter, as the ceiling's worker has).
  const ceilingQueue = `ceiling-${randomBytes(4).toString('hex')}`;
  const ceilingIdentity = `ceiling-worker-${randomBytes(4).toString('hex')}`;
  const ceilingWorker = NodeProcess.compiled(ceilingBuild.worker, {
    CEILING_ADDRESS: stack.config.temporal.address,
    CEILING_NAMESPACE: stack.config.temporal.namespace,
    CEILING_TASK_QUEUE: ceilingQueue,
    CEILING_BUNDLE: ceilingBuild.bundle,
    CEILING_IDENTITY: ceilingIdentity,
    CEILING_PROVIDER_URL: SETTINGS.ceilingProvider ? finpay : '',
    CEILING_MAX_CACHED_WORKFLOWS: String(stack.config.worker.maxCachedWorkflows),
  });
  const ceilingClient = new Client({ connection: stack.client.connection, namespace: stack.config.temporal.namespace });

  const meterOf = (worker: () => number, api: () => number) => () =>
    cpuMeter(() => ({ worker: worker(), api: api(), server: cpuSecondsOf(serverPid), bench: ownCpuSeconds() }));

  // --- One payment of each path, as functions ---------------------------------------------------------

  /** Ceiling: update-with-start until the update's answer. */
  const ceilingCreate = async (): Promise<string> => {
    const workflowId = `ceiling:${randomBytes(8).toString('hex')}`;
    const operation = new WithStartWorkflowOperation<typeof ceilingWorkflow>('ceilingWorkflow', {
      workflowId,
      taskQueue: ceilingQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [workflowId],
    });
    await ceilingClient.workflow.executeUpdateWithStart(ceilingRegisteredUpdate, { startWorkflowOperation: operation });
    return workflowId;
  };
  /** Ceiling: the signal until completion. */
  const ceilingSettle = async (workflowId: string): Promise<string> => {
    const handle = ceilingClient.workflow.getHandle<typeof ceilingWorkflow>(workflowId);
    await handle.signal(ceilingPaidSignal, 'PAID');
    const result = await handle.result();
    if (result !== 'SUCCEEDED') throw new Error(`ceiling ${workflowId} ended ${result}`);
    return workflowId;
  };

  /** Kasir through the API: `POST /v1/payments` until the answer with instructions. */
  const apiCreate = async (apiUrl: string, reference = uniqueReference('bench')): Promise<string> => {
    const response = await fetch(`${apiUrl}/v1/payments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${merchant.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        reference,
        amount: 150_000,
        method: 'FINPAY_CODE',
        provider: 'finpay',
        customer: { name: 'Budi Santoso', email: 'budi@example.com', phone: '081286288844' },
      }),
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`POST /v1/payments answered ${response.status}: ${text}`);
    const payment = JSON.parse(text) as { id: string; instructions?: unknown };
    if (!payment.instructions) throw new Error(`payment ${payment.id} answered without instructions: ${text}`);
    return payment.id;
  };
  /**
   * Kasir through the API: the provider pays, its signed callback reaches the API, until the workflow
   * closes SUCCEEDED. `told` collects how long until the merchant's `payment.succeeded` webhook arrived.
   */
  const apiSettle = async (paymentId: string, told?: number[]): Promise<string> => {
    const started = performance.now();
    await simControl(finpay, `/_sim/orders/${paymentId}/pay`);
    const workflowId = workflowIdOf('payment', paymentId);
    const final = (await stack.client.workflow.getHandle(workflowId).result()) as PaymentState;
    if (final.status !== 'SUCCEEDED') throw new Error(`payment ${paymentId} ended ${final.status}`);
    const arrived = stack.webhooks.firstArrival.get(`${paymentId} payment.succeeded`);
    if (told && arrived !== undefined) told.push(arrived - started);
    return workflowId;
  };

  /** Kasir from a client (no API): update-with-start, as the API does it. */
  const directCreate = async (reference?: string) => {
    const { state, handle } = await startPayment(stack, {
      provider: 'finpay',
      method: 'FINPAY_CODE',
      ...(reference ? { reference } : {}),
    });
    return { state, handle };
  };
  /** Kasir from a client: the provider pays, then the verified callback's signal, until SUCCEEDED. */
  const directSettle = async ({ state, handle }: Awaited<ReturnType<typeof directCreate>>): Promise<string> => {
    await simControl(finpay, `/_sim/orders/${state.id}/pay`);
    await handle.signal(providerCallbackSignal, paidCallback(state));
    const final = await handle.result();
    if (final.status !== 'SUCCEEDED') throw new Error(`payment ${state.id} ended ${final.status}`);
    return handle.workflowId;
  };

  /** One at a time: create latency, then settle latency. */
  async function oneAtATime<T>(create: () => Promise<T>, settle: (created: T) => Promise<unknown>) {
    const createMs: number[] = [];
    const settleMs: number[] = [];
    for (let i = 0; i < SETTINGS.latency; i++) {
      const started = performance.now();
      const created = await create();
      createMs.push(performance.now() - started);
      const paid = performance.now();
      await settle(created);
      settleMs.push(performance.now() - paid);
    }
    return { create: createMs, settle: settleMs };
  }

  /** Many clients, each creating and settling payments, until the count or the time box. */
  async function throughput<T>(
    create: (runner: number) => Promise<T>,
    settle: (created: T) => Promise<string>,
    meter: () => () => CpuUse,
    seconds: number
  ): Promise<ThroughputResult> {
    const createMs: number[] = [];
    const settleMs: number[] = [];
    const finished: string[] = [];
    const failures: string[] = [];
    const used = meter();
    const started = performance.now();
    await pool(
      SETTINGS.payments,
      SETTINGS.concurrency,
      async (_, runner) => {
        try {
          const t0 = performance.now();
          const created = await create(runner);
          createMs.push(performance.now() - t0);
          const t1 = performance.now();
          finished.push(await settle(created));
          settleMs.push(performance.now() - t1);
        } catch (err) {
          // Counted and shown, not fatal: a figure with its failures beats no figure.
          failures.push(err instanceof Error ? err.message : String(err));
        }
      },
      started + seconds * 1000
    );
    const elapsed = (performance.now() - started) / 1000;
    const cpu = used();
    const settled = finished.length;
    return {
      settled,
      failed: failures.length,
      firstFailure: failures[0],
      seconds: elapsed,
      perSecond: settled / elapsed,
      create: summary(createMs),
      settle: summary(settleMs),
      cpu,
      cpuMsPerPayment: perPayment(cpu, settled),
      finished,
    };
  }

  /** Evenly spread sample of ids. */
  const sampleOf = (ids: readonly string[]) => {
    const n = Math.min(SETTINGS.historySample, ids.length);
    return Array.from({ length: n }, (_, i) => ids[Math.floor((i * ids.length) / n)]!);
  };

  try {
    ceilingWorker.start();
    await pollerReady(stack.client, ceilingQueue, ceilingIdentity, ceilingWorker);
    await fleet.resize(SETTINGS.workers, SETTINGS.apis);
    const apiOf = (runner: number) => fleet.apis[runner % fleet.apis.length]!.url;
    const kasirMeter = meterOf(
      () => fleet.workerCpu(),
      () => fleet.apiCpu()
    );
    const ceilingMeter = meterOf(
      () => cpuSecondsOf(ceilingWorker.pid),
      () => 0
    );

    // Warm-up: worker caches, connections, the JIT, on every path.
    console.log('\nwarming up…');
    await pool(30, 10, async () => void (await ceilingSettle(await ceilingCreate())));
    await pool(30, 10, async (_, runner) => void (await apiSettle(await apiCreate(apiOf(runner)))));
    await pool(20, 10, async () => void (await directSettle(await directCreate())));

    // 1. The ceiling: one at a time, then many clients.
    console.log('ceiling: one at a time…');
    const ceilingLatency = await oneAtATime(ceilingCreate, ceilingSettle);
    console.log('ceiling: throughput…');
    const ceilingRun = await throughput(() => ceilingCreate(), ceilingSettle, ceilingMeter, SETTINGS.seconds);
    const ceilingRss = rssOf(ceilingWorker.pid);
    const ceilingHistory = await countHistories(ceilingClient, sampleOf(ceilingRun.finished));

    // 2. Baseline: the same Finpay registration called directly through the connector, no Temporal.
    console.log('baseline: direct Finpay registration…');
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

    // 3. Kasir through the API, one at a time; then the same creates with the merchant's endpoint down.
    console.log('Kasir through the API: one at a time…');
    const apiTold: number[] = [];
    const apiLatency = await oneAtATime(
      () => apiCreate(apiOf(0)),
      (id) => apiSettle(id, apiTold)
    );
    console.log("Kasir through the API: creates with the merchant's webhook endpoint answering 503…");
    stack.webhooks.failNext = Number.MAX_SAFE_INTEGER;
    const downCreate: number[] = [];
    const downIds: string[] = [];
    const downStarted = performance.now();
    for (let i = 0; i < SETTINGS.latency; i++) {
      const started = performance.now();
      downIds.push(await apiCreate(apiOf(0)));
      downCreate.push(performance.now() - started);
    }
    // Every 503 the endpoint gave is one failed delivery attempt the server and worker served meanwhile.
    const downAttempts = Number.MAX_SAFE_INTEGER - stack.webhooks.failNext;
    const downSeconds = (performance.now() - downStarted) / 1000;
    stack.webhooks.failNext = 0;
    console.log(
      `  ${downAttempts} failed webhook attempts in ${fixed(downSeconds)} s (${fixed(downAttempts / downSeconds)}/s) beside ${downIds.length} creates`
    );
    await pool(downIds.length, 10, async (i) => void (await apiSettle(downIds[i]!)));

    // 4. Kasir from a client (no API), one at a time.
    console.log('Kasir from a client: one at a time…');
    const directLatency = await oneAtATime(() => directCreate(), directSettle);

    // 5. Throughput through the API, then from a client.
    console.log('Kasir through the API: throughput…');
    const apiRun = await throughput((runner) => apiCreate(apiOf(runner)), apiSettle, kasirMeter, SETTINGS.seconds);
    const kasirHistory = await countHistories(stack.client, sampleOf(apiRun.finished));
    console.log('Kasir from a client: throughput…');
    const directRun = await throughput(() => directCreate(), directSettle, kasirMeter, SETTINGS.seconds);

    // 6. Scaling: throughput through the API with more worker and API processes.
    const scaling: { workers: number; apis: number; run: ThroughputResult }[] = [];
    for (const shape of SETTINGS.scaling) {
      console.log(`scaling: ${shape.workers} worker(s), ${shape.apis} API(s)…`);
      await fleet.resize(shape.workers, shape.apis);
      await pool(20, 10, async (_, runner) => void (await apiSettle(await apiCreate(apiOf(runner)))));
      const run = await throughput(
        (runner) => apiCreate(apiOf(runner)),
        apiSettle,
        kasirMeter,
        SETTINGS.scalingSeconds
      );
      scaling.push({ ...shape, run });
    }
    await fleet.resize(SETTINGS.workers, SETTINGS.apis);

    // 7. Many open payments (through the API), left awaiting payment; worker memory as the count grows.
    console.log('open payments…');
    const samples: { open: number; workerRss: number; serverRss: number; createsPerSecond: number }[] = [];
    const step = Math.max(1, Math.round(SETTINGS.open / 10));
    samples.push({ open: 0, workerRss: fleet.workerRss(), serverRss: rssOf(serverPid), createsPerSecond: NaN });
    let stepStarted = performance.now();
    let created = 0;
    const openStarted = performance.now();
    await pool(
      SETTINGS.open,
      SETTINGS.concurrency,
      async (_, runner) => {
        await apiCreate(apiOf(runner), uniqueReference('open'));
        created++;
        if (created % step === 0) {
          const now = performance.now();
          samples.push({
            open: created,
            workerRss: fleet.workerRss(),
            serverRss: rssOf(serverPid),
            createsPerSecond: step / ((now - stepStarted) / 1000),
          });
          stepStarted = now;
        }
      },
      openStarted + SETTINGS.openSeconds * 1000
    );
    const openSeconds = (performance.now() - openStarted) / 1000;
    if (created % step !== 0)
      samples.push({ open: created, workerRss: fleet.workerRss(), serverRss: rssOf(serverPid), createsPerSecond: NaN });
    await new Promise((r) => setTimeout(r, 2_000));
    const idleRss = fleet.workerRss();
    const peakRss = Math.max(idleRss, ...samples.map((s) => s.workerRss));

    report({
      cores,
      ceiling: { latency: ceilingLatency, run: ceilingRun, history: ceilingHistory, rss: ceilingRss },
      direct,
      api: { latency: apiLatency, told: apiTold, run: apiRun, history: kasirHistory, downCreate },
      client: { latency: directLatency, run: directRun },
      scaling,
      open: { samples, created, seconds: openSeconds, idleRss, peakRss },
    });
  } finally {
    await fleet.stop();
    await ceilingWorker.kill('SIGKILL');
    await stack.stop();
    await stopSqlite?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Report {
  cores: number;
  ceiling: {
    latency: { create: number[]; settle: number[] };
    run: ThroughputResult;
    history: HistoryCount;
    rss: number;
  };
  direct: number[];
  api: {
    latency: { create: number[]; settle: number[] };
    /** Pay control until the merchant's `payment.succeeded` webhook arrived, one at a time. */
    told: number[];
    run: ThroughputResult;
    history: HistoryCount;
    downCreate: number[];
  };
  client: { latency: { create: number[]; settle: number[] }; run: ThroughputResult };
  scaling: { workers: number; apis: number; run: ThroughputResult }[];
  open: {
    samples: { open: number; workerRss: number; serverRss: number; createsPerSecond: number }[];
    created: number;
    seconds: number;
    idleRss: number;
    peakRss: number;
  };
}

function report(r: Report): void {
  const p50 = (samples: readonly number[]) => percentile(samples, 50);
  const kasirPerPayment = r.api.history.events / Math.max(1, r.api.history.workflows);
  const ceilingPerWorkflow = r.ceiling.history.events / Math.max(1, r.ceiling.history.workflows);
  const kasirActions = r.api.history.actions / Math.max(1, r.api.history.workflows);
  const ceilingActions = r.ceiling.history.actions / Math.max(1, r.ceiling.history.workflows);
  const ceilingCreate = p50(r.ceiling.latency.create);
  const apiCreate = p50(r.api.latency.create);
  const healthyCreate = apiCreate;
  const downCreate = p50(r.api.downCreate);
  const throughputRatio = r.api.run.perSecond / r.ceiling.run.perSecond;
  const full = r.open.created >= 10_000;

  const rows: [string, string, string, string, string][] = [
    [
      `settled payments/s, through the API, ${SETTINGS.concurrency} clients`,
      fixed(r.api.run.perSecond),
      fixed(r.ceiling.run.perSecond),
      fixed(throughputRatio, 2),
      `ratio ≥ 0.9: ${throughputRatio >= 0.9 ? 'met' : 'missed'}`,
    ],
    [
      'settled payments/s, from a client (no API)',
      fixed(r.client.run.perSecond),
      fixed(r.ceiling.run.perSecond),
      fixed(r.client.run.perSecond / r.ceiling.run.perSecond, 2),
      '',
    ],
    [
      'create until instructions p50, one at a time (API)',
      ms(apiCreate),
      ms(ceilingCreate),
      `+${ms(apiCreate - ceilingCreate)}`,
      `≤ ceiling + 5 ms: ${apiCreate - ceilingCreate <= 5 ? 'met' : 'missed'}`,
    ],
    [
      'create until instructions p50, one at a time (client)',
      ms(p50(r.client.latency.create)),
      ms(ceilingCreate),
      `+${ms(p50(r.client.latency.create) - ceilingCreate)}`,
      '',
    ],
    [
      "callback until the merchant's payment.succeeded webhook p50 (API)",
      ms(p50(r.api.told)),
      ms(p50(r.ceiling.latency.settle)),
      `+${ms(p50(r.api.told) - p50(r.ceiling.latency.settle))}`,
      '≤ ceiling + 5 ms',
    ],
    [
      'callback until the workflow closed SUCCEEDED p50, one at a time (API)',
      ms(p50(r.api.latency.settle)),
      ms(p50(r.ceiling.latency.settle)),
      fixed(p50(r.api.latency.settle) / p50(r.ceiling.latency.settle), 2),
      '',
    ],
    [
      'callback until SUCCEEDED p50, one at a time (client signal)',
      ms(p50(r.client.latency.settle)),
      ms(p50(r.ceiling.latency.settle)),
      fixed(p50(r.client.latency.settle) / p50(r.ceiling.latency.settle), 2),
      '',
    ],
    [
      `worker RSS, ${r.open.created} open payments (peak)`,
      mib(r.open.peakRss),
      '',
      '',
      `≤ 512 MiB${full ? '' : ' at 10,000 (not a full run)'}: ${r.open.peakRss <= 512 * 1024 * 1024 ? 'met' : 'missed'}`,
    ],
    [
      'create p50, merchant webhook 503 vs healthy',
      `${ms(downCreate)} vs ${ms(healthyCreate)}`,
      '',
      fixed(downCreate / healthyCreate, 2),
      // The target is that a merchant's endpoint being down does not slow creates: at most 10% slower.
      `at most 10% slower: ${downCreate / healthyCreate <= 1.1 ? 'met' : 'missed'}`,
    ],
    [
      'worker CPU-ms per settled payment (API run)',
      fixed(r.api.run.cpuMsPerPayment.worker),
      fixed(r.ceiling.run.cpuMsPerPayment.worker),
      fixed(r.api.run.cpuMsPerPayment.worker / r.ceiling.run.cpuMsPerPayment.worker, 2),
      '',
    ],
    [
      'Temporal server CPU-ms per settled payment',
      fixed(r.api.run.cpuMsPerPayment.server),
      fixed(r.ceiling.run.cpuMsPerPayment.server),
      fixed(r.api.run.cpuMsPerPayment.server / r.ceiling.run.cpuMsPerPayment.server, 2),
      '',
    ],
    ['API CPU-ms per settled payment', fixed(r.api.run.cpuMsPerPayment.api), '–', '', ''],
    [
      'bench process CPU-ms per payment (clients, simulators, webhook sink)',
      fixed(r.api.run.cpuMsPerPayment.bench),
      fixed(r.ceiling.run.cpuMsPerPayment.bench),
      '',
      '',
    ],
    [
      'history events per payment (all runs)',
      fixed(kasirPerPayment),
      fixed(ceilingPerWorkflow),
      fixed(kasirPerPayment / ceilingPerWorkflow, 2),
      '',
    ],
    [
      'Temporal Cloud actions per payment (from history)',
      fixed(kasirActions),
      fixed(ceilingActions),
      fixed(kasirActions / ceilingActions, 2),
      '',
    ],
    [
      "payments/s at Temporal Cloud's default 500 actions/s",
      fixed(500 / kasirActions),
      fixed(500 / ceilingActions),
      '',
      '',
    ],
  ];

  console.log('\nResults: Kasir beside the ceiling (same server, same run)');
  console.log(
    `  ${'measure'.padEnd(68)} ${'Kasir'.padStart(22)} ${'ceiling'.padStart(10)} ${'ratio'.padStart(10)}  target`
  );
  for (const [label, kasir, ceiling, ratio, target] of rows)
    console.log(`  ${label.padEnd(68)} ${kasir.padStart(22)} ${ceiling.padStart(10)} ${ratio.padStart(10)}  ${target}`);

  console.log('\nLatency');
  console.log(latencyLine('direct Finpay registration (connector, no Temporal)', r.direct));
  console.log(latencyLine('ceiling: update-with-start until the answer', r.ceiling.latency.create));
  console.log(latencyLine('ceiling: signal until completion', r.ceiling.latency.settle));
  console.log(latencyLine('API: POST /v1/payments until instructions', r.api.latency.create));
  console.log(latencyLine('API: same, merchant webhook endpoint answering 503', r.api.downCreate));
  console.log(latencyLine("API: pay control until the merchant's payment.succeeded webhook", r.api.told));
  console.log(latencyLine('API: pay control until SUCCEEDED (callback via the API)', r.api.latency.settle));
  console.log(latencyLine('client: update-with-start until instructions', r.client.latency.create));
  console.log(latencyLine('client: pay control + signal until SUCCEEDED', r.client.latency.settle));

  console.log(`\nThroughput (${SETTINGS.concurrency} clients, time box ${SETTINGS.seconds} s each)`);
  const runLine = (label: string, run: ThroughputResult) => {
    console.log(
      `  ${label.padEnd(34)} ${fixed(run.perSecond).padStart(7)}/s  (${run.settled} in ${fixed(run.seconds)} s${run.failed ? `, ${run.failed} failed: ${run.firstFailure}` : ''})  create p50 ${ms(run.create.p50)} p95 ${ms(run.create.p95)}  settle p50 ${ms(run.settle.p50)} p95 ${ms(run.settle.p95)}`
    );
    console.log(
      `  ${''.padEnd(34)} CPU-ms per payment: worker ${fixed(run.cpuMsPerPayment.worker)}, API ${fixed(run.cpuMsPerPayment.api)}, server ${fixed(run.cpuMsPerPayment.server)}, bench ${fixed(run.cpuMsPerPayment.bench)}; CPU used ${fixed(run.cpu.worker + run.cpu.api + run.cpu.server + run.cpu.bench)} s of ${fixed(run.seconds * r.cores)} s`
    );
  };
  runLine('ceiling', r.ceiling.run);
  runLine('Kasir through the API', r.api.run);
  runLine('Kasir from a client', r.client.run);
  console.log(`  ceiling worker RSS after its run: ${mib(r.ceiling.rss)}`);

  if (r.scaling.length > 0) {
    console.log(`\nScaling, through the API (time box ${SETTINGS.scalingSeconds} s each)`);
    for (const s of r.scaling) runLine(`${s.workers} worker(s), ${s.apis} API(s)`, s.run);
  }

  const historyLines = (label: string, h: HistoryCount) => {
    console.log(`  ${label}: ${h.workflows} workflows, ${h.runs} runs; per workflow:`);
    console.log(
      `    events ${fixed(h.events / Math.max(1, h.workflows))}: ${perWorkflow(h.byType, h.workflows)
        .map(([k, n]) => `${k} ${fixed(n, 2)}`)
        .join(', ')}`
    );
    console.log(
      `    actions ${fixed(h.actions / Math.max(1, h.workflows))}: ${perWorkflow(h.actionsByKind, h.workflows)
        .map(([k, n]) => `${k} ${fixed(n, 2)}`)
        .join(', ')}`
    );
  };
  console.log('\nHistories (sample of finished workflows from the throughput runs)');
  historyLines('Kasir payment (API run)', r.api.history);
  historyLines('ceiling', r.ceiling.history);
  const types = new Set([...Object.keys(r.api.history.byType), ...Object.keys(r.ceiling.history.byType)]);
  const difference = [...types]
    .map((type): [string, number] => [
      type,
      (r.api.history.byType[type] ?? 0) / Math.max(1, r.api.history.workflows) -
        (r.ceiling.history.byType[type] ?? 0) / Math.max(1, r.ceiling.history.workflows),
    ])
    .filter(([, n]) => Math.abs(n) >= 0.005)
    .sort((a, b) => b[1] - a[1]);
  console.log(
    `  Kasir minus ceiling, events per payment: ${difference.map(([k, n]) => `${k} ${n > 0 ? '+' : ''}${fixed(n, 2)}`).join(', ')}`
  );

  console.log(
    `\nOpen payments (awaiting payment, created through the API): ${r.open.created} of ${SETTINGS.open} in ${fixed(r.open.seconds)} s (${fixed(r.open.created / r.open.seconds)}/s)`
  );
  for (const s of r.open.samples) {
    console.log(
      `  open ${String(s.open).padStart(6)}  worker RSS ${mib(s.workerRss).padStart(9)}  server RSS ${mib(s.serverRss).padStart(9)}${Number.isNaN(s.createsPerSecond) ? '' : `  creates/s ${s.createsPerSecond.toFixed(1)}`}`
    );
  }
  console.log(`  after 2 s idle: worker RSS ${mib(r.open.idleRss)}`);

  const strip = (run: ThroughputResult) => {
    const { finished: _finished, ...rest } = run;
    return rest;
  };
  console.log(
    `\nJSON ${JSON.stringify({
      settings: SETTINGS,
      direct: summary(r.direct),
      ceiling: {
        create: summary(r.ceiling.latency.create),
        settle: summary(r.ceiling.latency.settle),
        throughput: strip(r.ceiling.run),
        history: r.ceiling.history,
        rss: r.ceiling.rss,
      },
      api: {
        create: summary(r.api.latency.create),
        createWebhookDown: summary(r.api.downCreate),
        settle: summary(r.api.latency.settle),
        told: summary(r.api.told),
        throughput: strip(r.api.run),
        history: r.api.history,
      },
      client: {
        create: summary(r.client.latency.create),
        settle: summary(r.client.latency.settle),
        throughput: strip(r.client.run),
      },
      scaling: r.scaling.map((s) => ({ workers: s.workers, apis: s.apis, throughput: strip(s.run) })),
      open: r.open,
    })}`
  );
}
