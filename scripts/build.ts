/**
 * `npm run build`: the production build. Bundles the worker and API entry points to `dist/` with
 * esbuild (npm packages stay external, installed by `npm ci --omit=dev`), and prebuilds the workflow
 * bundle to `dist/workflow-bundle.js`, so `npm run worker` and `npm run api` start from compiled
 * JavaScript without tsx and the worker does not bundle workflows at start. Type checking is
 * `npm run typecheck` (part of `npm test`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { bundleWorkflowCode } from '@temporalio/worker';
import { kasirWorkflowBundleOptions } from '../src/temporal/workflow-bundle';
import { PRODUCTION_ENTRY_POINTS, productionBuildOptions } from './production-build';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

async function main(): Promise<void> {
  mkdirSync(DIST, { recursive: true });
  const started = Date.now();
  await build(productionBuildOptions(ROOT, DIST));
  console.log(`compiled ${Object.keys(PRODUCTION_ENTRY_POINTS).join(', ')} to dist/ in ${Date.now() - started} ms`);

  const bundleStarted = Date.now();
  const { code } = await bundleWorkflowCode(kasirWorkflowBundleOptions(path.join(ROOT, 'workflows', 'index.ts')));
  writeFileSync(path.join(DIST, 'workflow-bundle.js'), code);
  console.log(`prebuilt the workflow bundle to dist/workflow-bundle.js in ${Date.now() - bundleStarted} ms`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
