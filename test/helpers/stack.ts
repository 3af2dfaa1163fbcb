/**
 * The real stack for tests: a Temporal dev server (from the same binary as `npm start`, on a free port,
 * in memory), every provider simulator on a free port with fresh test-only credentials, a worker with
 * real activities, and a webhook sink standing in for the merchant. One stack per test file.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import express from 'express';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import type { NativeConnection, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createApp } from '../../src/api/app';
import { parseConfig } from '../../src/config';
import type { KasirConfig } from '../../src/config';
import { createConnectors } from '../../src/connectors/registry';
import { SIMULATOR_SETUPS } from '../../src/sandbox/registry';
import type { ProviderSimulator, RunningServer } from '../../src/sandbox/simulator-kit';
import { listen } from '../../src/sandbox/simulator-kit';
import type { ProviderId } from '../../src/domain/provider';
import { PROVIDER_IDS } from '../../src/domain/provider';
import { sha256Hex } from '../../src/ids';
import { ensureTemporalCli } from '../../src/sandbox/temporal/cli-binary';
import { connectClient, connectWorker } from '../../src/temporal/connection';
import { kasirWorkflowBundleOptions } from '../../src/temporal/workflow-bundle';
import { loadDevSettings } from '../../src/sandbox/temporal/dev-settings';
import type { DevServer } from '../../src/sandbox/temporal/dev-server';
import { freePort, startDevServer } from '../../src/sandbox/temporal/dev-server';
import { createKasirWorker } from '../../src/worker';
import type { WorkflowTimings } from '../../workflows/timings';
import type { EncryptionConfig } from '../../src/temporal/payload-encryption';

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('WARN') });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundles `workflows/` once per test process. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  quietRuntime();
  bundle ??= bundleWorkflowCode({ ...kasirWorkflowBundleOptions(), logger: new DefaultLogger('WARN') });
  return bundle;
}

/** Timings shortened so whole lifecycles run in seconds; tests override what they exercise. */
export const FAST_TIMINGS: WorkflowTimings = {
  payment: {
    registrationRetry: { initialMs: 200, maxMs: 1_000, factor: 2, attempts: 4 },
    poll: { initialMs: 1_000, maxMs: 4_000, factor: 2 },
    lateWindowMs: 4_000,
    latePoll: { initialMs: 1_000, maxMs: 2_000, factor: 2 },
  },
  payout: {
    query: { initialMs: 500, maxMs: 2_000, factor: 2 },
    attentionAfterMs: 60_000,
    watchAfterOperatorFailureMs: 2_000,
  },
  bill: {
    confirmWindowMs: 60_000,
    firstStatusCheckMs: 1_500,
    statusPoll: { initialMs: 500, maxMs: 2_000, factor: 2 },
    attentionAfterMs: 60_000,
  },
  webhook: { initialIntervalMs: 200, maxIntervalMs: 2_000 },
  pollsPerRun: 200,
  historyEventsPerRun: 2_000,
  hintMinIntervalMs: 300,
};

/**
 * TEST-ONLY payload encryption key, fixed so that histories recorded by the tests replay (the replay
 * test decodes them with it). It protects nothing: never use it outside tests.
 */
export const TEST_ONLY_ENCRYPTION: EncryptionConfig = {
  keys: [{ id: 'test-only-2026-11', key: '3DremYyTchoIbPNYMJ2hvoHIb7yuawgKcxkJZ0KuZ8k=' }],
};

export interface ReceivedWebhook {
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  event: {
    id: string;
    type: string;
    merchantId: string;
    data: { id: string; status: string } & Record<string, unknown>;
  };
}

/** The merchant's webhook endpoint: records every delivery; can be told to fail the next N. */
export class WebhookSink {
  readonly received: ReceivedWebhook[] = [];
  /** When each event first arrived (`performance.now()`), by `<movement id> <event type>`. */
  readonly firstArrival = new Map<string, number>();
  failNext = 0;
  server?: RunningServer;

  async start(): Promise<string> {
    const app = express();
    app.post('/webhooks', express.raw({ type: () => true }), (req, res) => {
      if (this.failNext > 0) {
        this.failNext--;
        return void res.status(503).send('merchant down');
      }
      const rawBody = (req.body as Buffer).toString('utf8');
      const event = JSON.parse(rawBody) as ReceivedWebhook['event'];
      const key = `${event.data.id} ${event.type}`;
      if (!this.firstArrival.has(key)) this.firstArrival.set(key, performance.now());
      this.received.push({ headers: req.headers, rawBody, event });
      res.status(200).send('ok');
    });
    this.server = await listen(app);
    return `${this.server.url}/webhooks`;
  }

  eventsFor(id: string): ReceivedWebhook['event'][] {
    return this.received.map((r) => r.event).filter((e) => e.data.id === id);
  }
}

export interface TestMerchant {
  id: string;
  apiKey: string;
  webhookSecret: string;
}

export interface RunningSimulator {
  simulator: ProviderSimulator;
  server: RunningServer;
  url: string;
}

export interface TestStack {
  server: DevServer;
  client: Client;
  config: KasirConfig;
  simulators: Record<ProviderId, RunningSimulator>;
  merchants: TestMerchant[];
  operatorKey: string;
  /** A test-only metrics scraper key: opens `/metrics` and nothing else. */
  metricsKey: string;
  webhooks: WebhookSink;
  workerConnection: NativeConnection;
  /** Base URL of the Kasir API, when started with `api: true` (it is also `config.api.publicUrl`). */
  apiUrl?: string;
  /** Starts a worker (there is one already unless `startWorker: false`); returns a stopper. */
  startWorker(identity?: string): Promise<{ worker: Worker; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export interface StackOptions {
  timings?: Partial<WorkflowTimings>;
  startWorker?: boolean;
  /** Public base URL for provider callbacks (the API's), when a test runs the API. */
  publicUrl?: string;
  /** Multiplier for simulators' callback schedules and timers. */
  timeScale?: number;
  /**
   * Also run the Kasir API (createApp) on a free port, with `config.api.publicUrl` pointing at it, so
   * simulators deliver real callbacks to it. Exposed as `apiUrl`.
   */
  api?: boolean;
  /** Dynamic config values for this stack's dev server, over those of temporal-dev.yml. */
  temporalDynamicConfig?: Record<string, boolean | number | string>;
}

export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  quietRuntime();
  const devSettings = loadDevSettings();
  const settings = {
    ...devSettings,
    dynamicConfig: { ...devSettings.dynamicConfig, ...(options.temporalDynamicConfig ?? {}) },
  };
  const binary = await ensureTemporalCli();
  const server = await startDevServer({ binary, settings, port: 0, uiPort: null });

  const webhooks = new WebhookSink();
  const webhookUrl = await webhooks.start();

  const simulators = {} as Record<ProviderId, RunningSimulator>;
  const providers = {} as Record<ProviderId, unknown>;
  for (const id of PROVIDER_IDS) {
    const setup = SIMULATOR_SETUPS[id]();
    const simulator = setup.createSimulator({ timeScale: options.timeScale ?? 0.001 });
    const running = await listen(simulator.app);
    simulators[id] = { simulator, server: running, url: running.url };
    providers[id] = setup.connectorConfig(running.url);
  }

  const merchants: TestMerchant[] = ['acme', 'globex'].map((id) => ({
    id,
    apiKey: `test_sk_${id}_${randomBytes(12).toString('hex')}`,
    webhookSecret: `test_whsec_${randomBytes(16).toString('hex')}`,
  }));
  const operatorKey = `test_op_${randomBytes(12).toString('hex')}`;
  const metricsKey = `test_metrics_${randomBytes(12).toString('hex')}`;
  const apiPort = options.api ? await freePort() : undefined;
  const publicUrl = apiPort !== undefined ? `http://127.0.0.1:${apiPort}` : (options.publicUrl ?? 'http://127.0.0.1:9');
  const config = parseConfig({
    temporal: {
      address: server.address,
      namespace: server.namespace,
      taskQueue: `kasir-test-${randomBytes(4).toString('hex')}`,
    },
    api: {
      publicUrl,
      operatorKeySha256: [sha256Hex(operatorKey)],
      metricsKeySha256: [sha256Hex(metricsKey)],
      ...(apiPort !== undefined ? { host: '127.0.0.1', port: apiPort } : {}),
    },
    encryption: TEST_ONLY_ENCRYPTION,
    merchants: merchants.map((m) => ({
      id: m.id,
      name: m.id.toUpperCase(),
      apiKeySha256: [sha256Hex(m.apiKey)],
      webhookUrl,
      webhookSecret: m.webhookSecret,
    })),
    providers,
    timings: { ...FAST_TIMINGS, ...(options.timings ?? {}) },
  });

  const client = await connectClient(config);
  const workerConnection = await connectWorker(config.temporal);
  const workers: { stop(): Promise<void> }[] = [];

  async function startWorker(identity?: string) {
    const worker = await createKasirWorker({
      connection: workerConnection,
      config,
      workflowBundle: await workflowBundle(),
      identity,
    });
    const running = worker.run();
    const handle = {
      worker,
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      },
    };
    workers.push(handle);
    return handle;
  }
  if (options.startWorker !== false) await startWorker();

  let api: RunningServer | undefined;
  if (apiPort !== undefined) {
    api = await listen(createApp({ client, config, connectors: createConnectors(config.providers) }), apiPort);
  }

  return {
    server,
    client,
    config,
    simulators,
    merchants,
    operatorKey,
    metricsKey,
    webhooks,
    workerConnection,
    apiUrl: api?.url,
    startWorker,
    async stop() {
      await api?.close();
      await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
      for (const s of Object.values(simulators)) {
        s.simulator.stop();
        await s.server.close();
      }
      await webhooks.server?.close();
      await client.connection.close();
      await workerConnection.close();
      await server.stop();
    },
  };
}

export { eventually } from './eventually';
