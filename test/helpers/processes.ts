/**
 * Node processes as children of a test or the benchmark, each killable with SIGKILL: Kasir's worker and
 * API (`node --import tsx src/main-worker.ts` / `src/main-api.ts`, or the compiled `dist/main-worker.js` /
 * `dist/main-api.js`) with their own temporary KASIR_CONFIG, and any other compiled file (the
 * benchmark's ceiling worker).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { KasirConfig } from '../../src/config';
import { eventually } from './eventually';

const ROOT = path.resolve(__dirname, '../..');

/** A child `node` process run from the project root; what it printed last on stderr says why it died. */
export class NodeProcess {
  private child?: ChildProcess;
  private stderr = '';
  private exited?: Promise<void>;

  constructor(
    /** What the process runs, named in errors. */
    readonly name: string,
    private readonly args: readonly string[],
    private readonly env: Record<string, string>
  ) {}

  /** A compiled JavaScript file on plain node, with the project's npm packages (e.g. the ceiling's worker). */
  static compiled(file: string, env: Record<string, string>): NodeProcess {
    return new NodeProcess(
      file,
      ['--enable-source-maps', file],
      // The file may be compiled outside the project; its npm packages are the project's.
      { NODE_PATH: path.join(ROOT, 'node_modules'), ...env }
    );
  }

  start(): void {
    const child = spawn(process.execPath, [...this.args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4_000)));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    this.child = child;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  checkAlive(): void {
    if (!this.alive) throw new Error(`${this.name} exited early: ${this.stderr}`);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    this.child!.kill(signal);
    await this.exited;
  }
}

/** Waits until a worker with `identity` polls `taskQueue`'s workflow tasks, failing early if `process` died. */
export async function pollerReady(
  client: Client,
  taskQueue: string,
  identity: string,
  process: Pick<NodeProcess, 'checkAlive'>
): Promise<void> {
  await eventually(
    async () => {
      process.checkAlive();
      const answer = await client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
      });
      return (answer.pollers ?? []).some((p) => p.identity === identity) ? true : undefined;
    },
    90_000,
    `worker ${identity} polling ${taskQueue}`
  );
}

export class KasirProcess extends NodeProcess {
  constructor(
    readonly entry: 'src/main-worker.ts' | 'src/main-api.ts' | 'dist/main-worker.js' | 'dist/main-api.js',
    readonly configFile: string,
    readonly identity = `fault-${path.basename(entry).replace(/\.[jt]s$/, '')}-${randomBytes(4).toString('hex')}`
  ) {
    super(
      entry,
      // Compiled entry points (`npm run build`) run on plain node, as in production.
      entry.endsWith('.js') ? ['--enable-source-maps', entry] : ['--import', 'tsx', entry],
      { KASIR_CONFIG: configFile, KASIR_WORKER_IDENTITY: identity, LOG_LEVEL: 'error' }
    );
  }

  /** Writes `config` to this process's KASIR_CONFIG file. */
  static writeConfig(file: string, config: KasirConfig): string {
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  /** A worker is ready once it polls the task queue (bundling the workflows takes a few seconds). */
  async workerReady(client: Client, config: KasirConfig): Promise<void> {
    await pollerReady(client, config.temporal.taskQueue, this.identity, this);
  }

  /** An API is ready once it answers /healthz. */
  async apiReady(url: string): Promise<void> {
    await eventually(
      async () => {
        this.checkAlive();
        const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
        return response.ok ? true : undefined;
      },
      60_000,
      `API at ${url}`
    );
  }
}
