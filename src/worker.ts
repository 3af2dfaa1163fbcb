/** Builds Kasir's worker: every workflow and activity on one task queue. Stateless; run as many as needed. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createReconciliationActivities } from '../activities/reconciliation';
import type { KasirConfig } from './config';
import { createConnectors } from './connectors/registry';
import { checkoutLinksOf } from './checkout/tokens';
import { dataConverterOf } from './temporal/payload-encryption';
import { kasirWorkflowBundleOptions } from './temporal/workflow-bundle';
import type { Connectors } from './connectors/registry';

export interface KasirWorkerOptions {
  connection: NativeConnection;
  config: KasirConfig;
  connectors?: Connectors;
  /** A pre-built bundle (tests bundle once per file); otherwise the worker bundles `workflows/`. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
}

/**
 * The workflow code: a bundle the caller built (tests), else the one `npm run build` prebuilt next to
 * the compiled worker (`dist/workflow-bundle.js`), else `workflows/` bundled at start (development).
 */
function workflowCode(
  bundle: WorkerOptions['workflowBundle']
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'bundlerOptions'> {
  if (bundle) return { workflowBundle: bundle };
  const prebuilt = path.join(__dirname, 'workflow-bundle.js');
  if (existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  const { workflowsPath, preloadModules } = kasirWorkflowBundleOptions(
    require.resolve(path.join(__dirname, '..', 'workflows'))
  );
  return { workflowsPath, bundlerOptions: { preloadModules } };
}

/**
 * Held-back patches are replayed where a history has their marker but never recorded on new work:
 * `patched()` answers false for them, as the release before did, so its workers can replay whatever
 * this worker records.
 */
function patchActivation(heldBack: readonly string[]): Pick<WorkerOptions, 'patchActivationCallback'> {
  if (heldBack.length === 0) return {};
  const held = new Set(heldBack);
  return { patchActivationCallback: ({ patchId }) => !held.has(patchId) };
}

export async function createKasirWorker(options: KasirWorkerOptions): Promise<Worker> {
  const { config } = options;
  const connectors = options.connectors ?? createConnectors(config.providers);
  const merchants = new Map(config.merchants.map((m) => [m.id, m]));
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(options.identity ? { identity: options.identity } : {}),
    // Open payments wait for days; beyond this many, idle ones leave the cache and replay when woken.
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    ...patchActivation(config.worker.holdBackPatches),
    dataConverter: dataConverterOf(config.encryption),
    ...workflowCode(options.workflowBundle),
    activities: {
      ...createActivities({
        connectors,
        merchantWebhook: (merchantId) => merchants.get(merchantId),
        checkout: checkoutLinksOf(config),
      }),
      ...createReconciliationActivities({ connectors, merchantWebhook: (merchantId) => merchants.get(merchantId) }),
    },
  });
}
