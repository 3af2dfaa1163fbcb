/**
 * Saves a finished workflow's history under test/replay/histories/<workflow>/<scenario>.json the first
 * time a scenario runs with KASIR_RECORD_HISTORIES=1, using the Temporal CLI's JSON export. Existing
 * files are never overwritten: a replay failure is fixed with patching, not by regenerating the history.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { findTemporalCli } from '../../src/sandbox/temporal/cli-binary';
import type { TestStack } from './stack';

export const HISTORIES_DIR = path.resolve(__dirname, '..', 'replay', 'histories');

export async function recordHistory(
  stack: TestStack,
  handle: WorkflowHandle,
  workflow: string,
  scenario: string
): Promise<void> {
  if (process.env.KASIR_RECORD_HISTORIES !== '1') return;
  const file = path.join(HISTORIES_DIR, workflow, `${scenario}.json`);
  if (existsSync(file)) return;
  await handle.result();
  const cli = findTemporalCli();
  if (!cli) throw new Error('no Temporal CLI to export the history with');
  const json = execFileSync(
    cli,
    [
      'workflow',
      'show',
      '--workflow-id',
      handle.workflowId,
      '--address',
      stack.server.address,
      '--namespace',
      stack.server.namespace,
      '--output',
      'json',
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }
  );
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, json.endsWith('\n') ? json : `${json}\n`);
}
