/**
 * Finds the Temporal CLI, or builds it once with Go.
 *
 * Order: `$TEMPORAL_CLI`, then `temporal` on PATH, then the git-ignored tools folder from
 * `temporal-dev.yml`; failing all three, `go install <module>@<version>` into that folder.
 * Temporal's release downloads are not reachable everywhere Kasir is built, the Go module proxy is.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadDevSettings, PROJECT_ROOT } from './dev-settings';

export class TemporalCliUnavailableError extends Error {
  override readonly name = 'TemporalCliUnavailableError';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(binary: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function toolsDir(): string {
  return path.resolve(PROJECT_ROOT, loadDevSettings().cli.toolsDir);
}

export interface CliLookup {
  env?: NodeJS.ProcessEnv;
  /** Where a built CLI lives; defaults to `cli.toolsDir` of temporal-dev.yml. */
  toolsDir?: string;
}

/** The CLI if one is already available, without building. */
export function findTemporalCli(lookup: CliLookup = {}): string | undefined {
  const env = lookup.env ?? process.env;
  const fromEnv = env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv))
      throw new TemporalCliUnavailableError(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return fromPath;
  const built = path.join(lookup.toolsDir ?? toolsDir(), 'temporal');
  return isExecutable(built) ? built : undefined;
}

/** Returns the CLI, building it with Go (showing progress on stderr) when none is found. */
export async function ensureTemporalCli(
  progress: NodeJS.WritableStream = process.stderr,
  lookup: CliLookup = {}
): Promise<string> {
  const found = findTemporalCli(lookup);
  if (found) return found;

  const env = lookup.env ?? process.env;
  const { module, version } = loadDevSettings().cli;
  const go = onPath('go', env);
  if (!go) {
    throw new TemporalCliUnavailableError(
      [
        'No Temporal CLI found and Go is not installed, so it cannot be built.',
        `Install Go 1.23 or newer (https://go.dev/dl/), then run \`npm run temporal:ensure\`; it runs`,
        `  go install ${module}@${version}`,
        'Or install the Temporal CLI yourself and put `temporal` on PATH, or set TEMPORAL_CLI=/path/to/temporal.',
      ].join('\n')
    );
  }

  const target = lookup.toolsDir ?? toolsDir();
  mkdirSync(target, { recursive: true });
  progress.write(
    `Building the Temporal CLI ${version} with ${go} into ${path.relative(process.cwd(), target) || target}.\n`
  );
  progress.write('This happens once per machine and takes a few minutes; later runs reuse the binary.\n');
  const goVersion = spawnSync(go, ['version'], { encoding: 'utf8' }).stdout.trim();
  progress.write(`${goVersion}\n`);

  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', '-v', `${module}@${version}`], {
      env: { ...env, GOBIN: target },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let downloaded = 0;
    let compiled = 0;
    let tail = '';
    const report = () => {
      const seconds = Math.round((Date.now() - started) / 1000);
      progress.write(`  [${seconds}s] modules downloaded: ${downloaded}, packages compiled: ${compiled}\n`);
    };
    const ticker = setInterval(report, 10_000);
    const onLine = (line: string) => {
      if (line.startsWith('go: downloading')) downloaded++;
      else if (line.trim() && !line.startsWith('go:')) compiled++;
      tail = `${tail}\n${line}`.slice(-4000);
    };
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (code) => {
      clearInterval(ticker);
      report();
      if (code === 0) resolve();
      else reject(new TemporalCliUnavailableError(`go install failed with exit code ${code}:${tail}`));
    });
  });

  const binary = path.join(target, 'temporal');
  if (!isExecutable(binary)) throw new TemporalCliUnavailableError(`go install finished but ${binary} is missing`);
  progress.write(`Temporal CLI ready: ${binary}\n`);
  return binary;
}
