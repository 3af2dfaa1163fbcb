/**
 * How Kasir's workflow code is bundled, one rule for the production build (`npm run build`), the
 * development worker and the tests.
 *
 * Every Kasir workflow module is preloaded: the worker evaluates it once per V8 context and every
 * execution in that context shares it, instead of evaluating its own copy of each module when the
 * execution is created (the SDK's default, which made each cached execution carry every module's
 * functions and tables; docs/benchmarks.md has the memory figures). Sharing is safe because these
 * modules hold no state of their own: the one value kept per execution, the patches in force, lives in
 * the execution's globals (workflows/patches-in-force.ts). The SDK deep-freezes what preloaded modules
 * export, so writing to an exported object fails loudly; Maps and Sets are not frozen, so none may be
 * filled after load (the module-level ones are constant tables). test/workflows/patch-rollout.test.ts
 * runs two executions with different patches in one worker.
 */
import path from 'node:path';

export interface KasirWorkflowBundleOptions {
  workflowsPath: string;
  preloadModules: string[];
}

/** `workflows/index.ts` of this checkout. */
export function kasirWorkflowsPath(): string {
  return require.resolve(path.join(__dirname, '..', '..', 'workflows'));
}

export function kasirWorkflowBundleOptions(workflowsPath: string = kasirWorkflowsPath()): KasirWorkflowBundleOptions {
  return { workflowsPath, preloadModules: [workflowsPath] };
}
