/** The benchmark's child processes and what it reads of them from /proc (Linux). */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { eventually } from '../test/helpers/eventually';

const ROOT = path.resolve(__dirname, '..');

/** Resident set size of a process, in bytes. */
export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used. */
export function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds of this (the benchmark's) process: clients, simulators and the merchant's webhook sink. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/** Is some worker with this identity polling the workflow task queue? */
export async function pollerReady(
  client: Client,
  taskQueue: string,
  identity: string,
  isAlive: () => void
): Promise<void> {
  await eventually(
    async () => {
      isAlive();
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

/** A compiled JavaScript file run with plain node, e.g. the ceiling's worker. */
export class NodeProcess {
  private child?: ChildProcess;
  private stderr = '';
  private exited?: Promise<void>;

  constructor(
    readonly file: string,
    readonly env: Record<string, string>
  ) {}

  start(): void {
    const child = spawn(process.execPath, ['--enable-source-maps', this.file], {
      cwd: ROOT,
      // The file is compiled outside the project; its npm packages are the project's.
      env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules'), ...this.env },
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
    if (!this.alive) throw new Error(`${this.file} exited early: ${this.stderr}`);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    this.child!.kill(signal);
    await this.exited;
  }
}
