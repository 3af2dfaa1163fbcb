/** What the production build compiles, shared by `npm run build` and the test of its module graph. */
import path from 'node:path';
import type { BuildOptions } from 'esbuild';

/** Output name → source, relative to the project root. */
export const PRODUCTION_ENTRY_POINTS: Record<string, string> = {
  'main-worker': 'src/main-worker.ts',
  'main-api': 'src/main-api.ts',
};

export function productionBuildOptions(root: string, outdir: string): BuildOptions & { metafile: true } {
  return {
    entryPoints: Object.fromEntries(
      Object.entries(PRODUCTION_ENTRY_POINTS).map(([name, file]) => [name, path.join(root, file)])
    ),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    // npm packages are installed, not bundled (Temporal's native bridge cannot be bundled).
    packages: 'external',
    metafile: true,
    logLevel: 'warning',
  };
}
