/**
 * `npm run bench:promises`: how many promises the workflow code creates per settled payment, Kasir's
 * payment workflow beside the ceiling's (bench/ceiling/). The SDK's worker records a stack trace for
 * every promise created in workflow code (a promise hook, for the `__stack_trace` query), and that is
 * the largest share of the worker's CPU (docs/benchmarks.md), so this count is what the worker's CPU
 * per payment follows. Both workers run in this process with `debugMode` (workflows on the main
 * thread, where a promise hook of ours sees them); each payment is started by update-with-start,
 * settled by its signal and awaited, one at a time. Prints figures, asserts nothing.
 *
 * - PROMISES_PAYMENTS  payments counted per workflow (default 20, after 2 uncounted)
 * - PROMISES_SITES     creation sites printed per workflow, most frequent first (default 8)
 */
process.env.LOG_LEVEL ??= 'error';

import { randomBytes } from 'node:crypto';
import path from 'node:path';
import v8 from 'node:v8';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { WorkerOptions } from '@temporalio/worker';
import { dataConverterOf } from '../src/temporal/payload-encryption';
import { providerCallbackSignal } from '../workflows/messages';
import { paidCallback, startPayment } from '../test/helpers/movements';
import { startStack, TEST_ONLY_ENCRYPTION } from '../test/helpers/stack';
import { createCeilingActivities } from './ceiling/activities';
import { ceilingPaidSignal, ceilingRegisteredUpdate } from './ceiling/workflows';

const PAYMENTS = Number(process.env.PROMISES_PAYMENTS ?? 20);
const SITES = Number(process.env.PROMISES_SITES ?? 8);

/** Promises created in a workflow's realm (its `Promise` is not this realm's), by creation site. */
class PromiseCounter {
  private counting = false;
  total = 0;
  readonly sites = new Map<string, number>();

  constructor() {
    v8.promiseHooks.onInit((promise: Promise<unknown>) => {
      if (!this.counting || promise instanceof Promise) return;
      this.total++;
      const frames = (new Error().stack ?? '')
        .split('\n')
        .slice(2)
        .filter((line) => !/node:internal|promise_hooks/.test(line))
        .slice(0, 3)
        .map((line) => line.trim().replace(/\(.*[\\/]/, '('));
      const site = frames.join(' < ');
      this.sites.set(site, (this.sites.get(site) ?? 0) + 1);
    });
  }

  async count(run: () => Promise<void>): Promise<void> {
    this.total = 0;
    this.sites.clear();
    this.counting = true;
    try {
      await run();
    } finally {
      this.counting = false;
    }
  }
}

async function main(): Promise<void> {
  // The stack's worker runs its workflows on the main thread too, so the hook sees them.
  const create = Worker.create.bind(Worker);
  Worker.create = (options: WorkerOptions) => create({ ...options, debugMode: true });
  const stack = await startStack({ timeScale: 1 });
  const queue = `ceiling-${randomBytes(4).toString('hex')}`;
  const ceilingWorker = await Worker.create({
    connection: stack.workerConnection,
    namespace: stack.config.temporal.namespace,
    taskQueue: queue,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'ceiling', 'workflows.ts') }),
    // The stack's client encrypts payloads; the ceiling's worker must read them.
    dataConverter: dataConverterOf(TEST_ONLY_ENCRYPTION),
    activities: createCeilingActivities(undefined),
  });
  const ceilingRunning = ceilingWorker.run();

  const kasirPayment = async (): Promise<void> => {
    const { state, handle } = await startPayment(stack, { provider: 'finpay', method: 'FINPAY_CODE' });
    await handle.signal(providerCallbackSignal, paidCallback(state));
    await handle.result();
  };
  const ceilingPayment = async (): Promise<void> => {
    const workflowId = `ceiling:${randomBytes(8).toString('hex')}`;
    const operation = new WithStartWorkflowOperation('ceilingWorkflow', {
      workflowId,
      taskQueue: queue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [workflowId],
    });
    await stack.client.workflow.executeUpdateWithStart(ceilingRegisteredUpdate, { startWorkflowOperation: operation });
    const handle = stack.client.workflow.getHandle(workflowId);
    await handle.signal(ceilingPaidSignal, 'PAID');
    await handle.result();
  };

  const counter = new PromiseCounter();
  try {
    for (const [name, payment] of [
      ['ceiling', ceilingPayment],
      ['Kasir payment', kasirPayment],
    ] as const) {
      await payment();
      await payment();
      await counter.count(async () => {
        for (let i = 0; i < PAYMENTS; i++) await payment();
      });
      console.log(`${name}: ${(counter.total / PAYMENTS).toFixed(1)} promises per settled payment (n=${PAYMENTS})`);
      const bySite = [...counter.sites].sort((a, b) => b[1] - a[1]).slice(0, SITES);
      for (const [site, count] of bySite) console.log(`  ${(count / PAYMENTS).toFixed(1)}  ${site}`);
    }
  } finally {
    ceilingWorker.shutdown();
    await ceilingRunning;
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  }
);
