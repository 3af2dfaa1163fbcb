/**
 * `npm test`: every check, in order of cost. Makes sure the Temporal CLI exists (building it once if
 * needed, with progress) and Chromium for the browser tests (apt-get, once), type-checks, lints, checks formatting (`npm run format` fixes it), then runs every mocha suite against real Temporal dev
 * servers the tests start themselves. Extra arguments go to mocha (e.g. a spec path).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ensureTemporalCli } from '../src/sandbox/temporal/cli-binary';
import { PROJECT_ROOT } from '../src/sandbox/temporal/dev-settings';

function run(title: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  console.log(`\n== ${title}`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: PROJECT_ROOT, stdio: 'inherit', env: { ...process.env, ...env } });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`== ${title} failed after ${seconds}s`);
    process.exit(result.status ?? 1);
  }
  console.log(`== ${title} passed in ${seconds}s`);
}

/** Where the checkout browser tests find Chromium (test/checkout/checkout.browser.test.ts looks there too). */
const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * The browser tests drive the operating system's Chromium (browser downloads are not reachable). On a
 * fresh Debian machine it is installed once with apt-get, as the Temporal CLI is built once; elsewhere the
 * tests fail with the same hint.
 */
function ensureChromium(): void {
  if ([process.env.CHROMIUM_PATH, ...CHROMIUM_CANDIDATES].some((p) => p !== undefined && existsSync(p))) return;
  const root = process.getuid?.() === 0;
  if (!root || !existsSync('/usr/bin/apt-get')) {
    console.warn('Chromium not found: install it (`apt-get install -y chromium`) or set CHROMIUM_PATH.');
    return;
  }
  console.log('\n== Chromium for the checkout browser tests: apt-get install chromium (once per machine)');
  spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
  run('install chromium', 'apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium'], {
    DEBIAN_FRONTEND: 'noninteractive',
  });
}

async function main(): Promise<void> {
  const temporal = await ensureTemporalCli();
  ensureChromium();
  const bin = (name: string) => path.join(PROJECT_ROOT, 'node_modules', '.bin', name);
  const specs = process.argv.slice(2);
  const mochaArgs = specs.length > 0 ? specs : ['test/**/*.test.ts'];
  if (specs.length === 0) {
    run('typecheck', bin('tsc'), ['-p', 'tsconfig.json']);
    run('lint', bin('eslint'), ['.']);
    run('format', bin('prettier'), ['--check', '--log-level', 'warn', '.']);
  }
  run('tests', bin('mocha'), mochaArgs, { NODE_ENV: 'test', TEMPORAL_CLI: temporal });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
