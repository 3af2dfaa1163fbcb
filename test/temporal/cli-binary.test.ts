/** How Kasir finds the Temporal CLI: $TEMPORAL_CLI, then PATH, then the tools folder; else build, else say what to install. */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureTemporalCli, findTemporalCli, TemporalCliUnavailableError } from '../../src/sandbox/temporal/cli-binary';

function fakeBinary(dir: string, name = 'temporal'): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, '#!/bin/sh\necho fake\n');
  chmodSync(file, 0o755);
  return file;
}

describe('Temporal CLI resolution', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), 'kasir-cli-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('prefers $TEMPORAL_CLI over PATH and the tools folder', () => {
    const named = fakeBinary(path.join(root, 'named'));
    fakeBinary(path.join(root, 'bin'));
    const tools = path.join(root, 'tools');
    fakeBinary(tools);
    assert.equal(
      findTemporalCli({ env: { TEMPORAL_CLI: named, PATH: path.join(root, 'bin') }, toolsDir: tools }),
      named
    );
  });

  it('refuses a $TEMPORAL_CLI that is not executable', () => {
    assert.throws(
      () => findTemporalCli({ env: { TEMPORAL_CLI: path.join(root, 'missing') } }),
      TemporalCliUnavailableError
    );
  });

  it('uses `temporal` on PATH before the tools folder', () => {
    const onPath = fakeBinary(path.join(root, 'bin'));
    const tools = path.join(root, 'tools');
    fakeBinary(tools);
    assert.equal(findTemporalCli({ env: { PATH: path.join(root, 'bin') }, toolsDir: tools }), onPath);
  });

  it('reuses a binary already built into the tools folder', () => {
    const tools = path.join(root, 'tools');
    const built = fakeBinary(tools);
    assert.equal(findTemporalCli({ env: { PATH: path.join(root, 'empty') }, toolsDir: tools }), built);
  });

  it('says exactly what to install when there is neither a binary nor Go', async () => {
    await assert.rejects(
      ensureTemporalCli(process.stderr, {
        env: { PATH: path.join(root, 'empty') },
        toolsDir: path.join(root, 'tools'),
      }),
      (err: unknown) =>
        err instanceof TemporalCliUnavailableError &&
        /Install Go/.test(err.message) &&
        /go install github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1/.test(err.message) &&
        /TEMPORAL_CLI/.test(err.message)
    );
  });
});
