/**
 * The ceiling's worker process: only the ceiling workflow and its activity on its own task queue,
 * started with plain node on a file esbuild compiled (bench/ceiling/build.ts), with a workflow bundle
 * prebuilt by `bundleWorkflowCode`, as Kasir's production worker is. Settings from the environment:
 * CEILING_ADDRESS, CEILING_NAMESPACE, CEILING_TASK_QUEUE, CEILING_BUNDLE (path of the prebuilt bundle),
 * CEILING_IDENTITY, CEILING_PROVIDER_URL (optional), CEILING_MAX_CACHED_WORKFLOWS (Kasir's default, 500).
 */
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { createCeilingActivities } from './activities';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: required('CEILING_ADDRESS') });
  const worker = await Worker.create({
    connection,
    namespace: required('CEILING_NAMESPACE'),
    taskQueue: required('CEILING_TASK_QUEUE'),
    identity: required('CEILING_IDENTITY'),
    maxCachedWorkflows: Number(process.env.CEILING_MAX_CACHED_WORKFLOWS ?? 500),
    workflowBundle: { codePath: required('CEILING_BUNDLE') },
    activities: createCeilingActivities(process.env.CEILING_PROVIDER_URL || undefined),
  });
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
