/**
 * The lint rules that keep workflow code deterministic, exercised on probe sources: if the rule set in
 * eslint.config.mjs stopped matching `workflows/`, these would fail rather than let a Node built-in or
 * a connector slip into replayed code.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { ESLint } from 'eslint';
import type { Linter } from 'eslint';
import tseslint from 'typescript-eslint';

const ROOT = path.resolve(__dirname, '..', '..');

async function workflowLinter(): Promise<ESLint> {
  const config = (await import(path.join(ROOT, 'eslint.config.mjs'))) as { default: Linter.Config[] };
  const workflowBlock = config.default.find((block) => block.files?.includes('workflows/**/*.ts'));
  assert.ok(workflowBlock, 'eslint.config.mjs has no block for workflows/**/*.ts');
  return new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } }, workflowBlock],
  });
}

async function errorsFor(source: string, file = 'workflows/probe.ts'): Promise<string[]> {
  const [result] = await (await workflowLinter()).lintText(source, { filePath: path.join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => m.message);
}

describe('workflow determinism lint rules', () => {
  for (const [what, source] of [
    ['a Node built-in', "import { readFileSync } from 'fs';\nexport const x = readFileSync;"],
    ['a node: built-in', "import { randomUUID } from 'node:crypto';\nexport const x = randomUUID;"],
    ['a connector', "import { finpayModule } from '../src/connectors/finpay';\nexport const x = finpayModule;"],
    ['the API', "import { createApp } from '../src/api/app';\nexport const x = createApp;"],
    ['activities as a value', "import { createActivities } from '../activities';\nexport const x = createActivities;"],
    ['an HTTP client', "import ky from 'ky';\nexport const x = ky;"],
  ] as const) {
    it(`rejects ${what} in workflow code`, async () => {
      assert.notDeepEqual(await errorsFor(source), []);
    });
  }

  it('allows activities imported as types, and domain modules', async () => {
    const source = [
      "import type { KasirActivities } from '../activities';",
      "import { paymentStatusRank } from '../src/domain/payment';",
      'export type A = KasirActivities;',
      'export const rank = paymentStatusRank;',
    ].join('\n');
    assert.deepEqual(await errorsFor(source), []);
  });

  it('leaves the same imports alone outside workflow code', async () => {
    assert.deepEqual(
      await errorsFor("import { readFileSync } from 'fs';\nexport const x = readFileSync;", 'src/probe.ts'),
      []
    );
  });
});
