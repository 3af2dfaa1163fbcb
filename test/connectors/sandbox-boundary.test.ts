/**
 * The sandbox stays out of production: the simulators (`src/sandbox`) import the connectors' schemas and
 * signing, never the other way round, and nothing the API or the worker loads reaches them. Checked on
 * the source: every relative import from the production entry points is followed, the way a bundler would.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SANDBOX = path.join(ROOT, 'src', 'sandbox') + path.sep;

/** `import ... from '...'`, `export ... from '...'`, `import('...')` and `require('...')` specifiers. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  const patterns = [
    /\bfrom\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) specifiers.push(match[1]!);
  return specifiers;
}

function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Every source file reachable from `entries` through relative imports. */
function moduleGraph(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = entries.map((entry) => path.join(ROOT, entry));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of importsOf(file)) {
      const resolved = resolveRelative(file, specifier);
      if (resolved?.endsWith('.ts')) queue.push(resolved);
    }
  }
  return seen;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('sandbox boundary', () => {
  it('keeps every simulator out of what the API and the worker load', () => {
    const graph = moduleGraph(['src/main-api.ts', 'src/main-worker.ts', 'src/worker.ts', 'src/connectors/registry.ts']);
    assert.ok(graph.has(path.join(ROOT, 'src/connectors/finpay/index.ts')), 'the walk reaches the connectors');
    const sandbox = [...graph].filter((file) => file.startsWith(SANDBOX)).map((file) => path.relative(ROOT, file));
    assert.deepEqual(sandbox, []);
  });

  it('has no connector import anything from the sandbox', () => {
    const offenders = filesUnder(path.join(ROOT, 'src', 'connectors')).filter((file) =>
      importsOf(file).some((specifier) => resolveRelative(file, specifier)?.startsWith(SANDBOX))
    );
    assert.deepEqual(
      offenders.map((file) => path.relative(ROOT, file)),
      []
    );
  });

  it('gives every simulator the same five files', () => {
    const providers = readdirSync(SANDBOX, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'temporal')
      .map((entry) => entry.name);
    assert.ok(providers.length > 0);
    for (const provider of providers) {
      const files = readdirSync(path.join(SANDBOX, provider)).sort();
      assert.deepEqual(files, ['controls.ts', 'credentials.ts', 'index.ts', 'routes.ts', 'state.ts'], provider);
    }
  });

  it('gives every connector the same six files', () => {
    const connectors = path.join(ROOT, 'src', 'connectors');
    const providers = readdirSync(connectors, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    assert.ok(providers.length > 0);
    for (const provider of providers) {
      const files = readdirSync(path.join(connectors, provider.name))
        .filter((name) => name.endsWith('.ts'))
        .sort();
      assert.deepEqual(
        files,
        ['client.ts', 'config.ts', 'index.ts', 'mapping.ts', 'schemas.ts', 'signing.ts'],
        provider.name
      );
    }
  });
});
