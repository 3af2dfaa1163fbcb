/**
 * Compiles the ceiling like Kasir's production build (scripts/build.ts): the worker entry bundled by
 * esbuild with npm packages external, and the workflow bundle prebuilt by `bundleWorkflowCode`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

export interface CeilingBuild {
  /** The compiled worker entry, run with plain node. */
  worker: string;
  /** The prebuilt workflow bundle. */
  bundle: string;
}

export async function buildCeiling(outdir: string): Promise<CeilingBuild> {
  await build({
    entryPoints: { 'ceiling-worker': path.join(__dirname, 'worker.ts') },
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    packages: 'external',
    logLevel: 'warning',
  });
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'workflows.ts'),
    logger: new DefaultLogger('WARN'),
  });
  const bundle = path.join(outdir, 'ceiling-workflow-bundle.js');
  writeFileSync(bundle, code);
  return { worker: path.join(outdir, 'ceiling-worker.js'), bundle };
}
