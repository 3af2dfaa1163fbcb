/**
 * Kasir processes as children of the test (`node --import tsx src/main-worker.ts` / `src/main-api.ts`, or
 * the compiled `dist/main-worker.js` / `dist/main-api.js`),
 * each with its own temporary KASIR_CONFIG, so a test can kill them with SIGKILL.
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

export class KasirProcess {
  private child?: ChildProcess;
  private stderr = '';
  private exited?: Promise<void>;

  constructor(
    readonly entry: 'src/main-worker.ts' | 'src/main-api.ts' | 'dist/main-worker.js' | 'dist/main-api.js',
    readonly configFile: string,
    readonly identity = `fault-${path.basename(entry).replace(/\.[jt]s$/, '')}-${randomBytes(4).toString('hex')}`
  ) {}

  /** Writes `config` to this process's KASIR_CONFIG file. */
  static writeConfig(file: string, config: KasirConfig): string {
    writeFileSync(file, JSON.stringify(config));
    return file;
  }

  start(): void {
    // Compiled entry points (`npm run build`) run on plain node, as in production.
    const args = this.entry.endsWith('.js') ? ['--enable-source-maps', this.entry] : ['--import', 'tsx', this.entry];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, KASIR_CONFIG: this.configFile, KASIR_WORKER_IDENTITY: this.identity, LOG_LEVEL: 'error' },
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

  private checkAlive(): void {
    if (!this.alive) throw new Error(`${this.entry} exited early: ${this.stderr}`);
  }

  /** A worker is ready once it polls the task queue (bundling the workflows takes a few seconds). */
  async workerReady(client: Client, config: KasirConfig): Promise<void> {
    await eventually(
      async () => {
        this.checkAlive();
        const answer = await client.workflowService.describeTaskQueue({
          namespace: config.temporal.namespace,
          taskQueue: { name: config.temporal.taskQueue },
          taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
        });
        return (answer.pollers ?? []).some((p) => p.identity === this.identity) ? true : undefined;
      },
      90_000,
      `worker ${this.identity} polling`
    );
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

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    this.child!.kill(signal);
    await this.exited;
  }
}
