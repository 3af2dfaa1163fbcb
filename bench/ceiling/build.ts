/**
 * Compiles the ceiling like Kasir's production build (scripts/build.ts): the worker entry bundled by
 * esbuild with npm packages external, and the workflow bundle prebuilt by `bundleWorkflowCode`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { productionBuildOptions } from '../../scripts/production-build';

export interface CeilingBuild {
  /** The compiled worker entry, run with plain node. */
  worker: string;
  /** The prebuilt workflow bundle. */
  bundle: string;
}

export async function buildCeiling(outdir: string): Promise<CeilingBuild> {
  // Kasir's own production build options, with the ceiling's worker as the only entry point.
  await build({
    ...productionBuildOptions(path.resolve(__dirname, '..', '..'), outdir),
    entryPoints: { 'ceiling-worker': path.join(__dirname, 'worker.ts') },
  });
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'workflows.ts'),
    logger: new DefaultLogger('WARN'),
  });
  const bundle = path.join(outdir, 'ceiling-workflow-bundle.js');
  writeFileSync(bundle, code);
  return { worker: path.join(outdir, 'ceiling-worker.js'), bundle };
}
