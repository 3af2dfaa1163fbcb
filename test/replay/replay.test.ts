/**
 * Replays every committed workflow history against today's workflow code. A failure here means a
 * change would break workflows already in flight: fix it with `patched()`, never by re-recording.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import type { ReplayResult } from '@temporalio/worker';
import { HISTORIES_DIR } from '../helpers/histories';
import { TEST_ONLY_ENCRYPTION, workflowBundle } from '../helpers/stack';
import { dataConverterOf } from '../../src/temporal/payload-encryption';

function committedHistories(): { file: string; workflowId: string; history: ReturnType<typeof historyFromJSON> }[] {
  return readdirSync(HISTORIES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((dir) =>
      readdirSync(path.join(HISTORIES_DIR, dir.name))
        .filter((f) => f.endsWith('.json'))
        .map((f) => path.join(HISTORIES_DIR, dir.name, f))
    )
    .map((file) => ({
      file: path.relative(HISTORIES_DIR, file),
      workflowId: path.relative(HISTORIES_DIR, file),
      history: historyFromJSON(JSON.parse(readFileSync(file, 'utf8'))),
    }));
}

async function replayAll(
  bundle: Awaited<ReturnType<typeof workflowBundle>>,
  histories: ReturnType<typeof committedHistories>
): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: bundle, dataConverter: dataConverterOf(TEST_ONLY_ENCRYPTION) },
    histories
  ))
    results.push(result);
  return results;
}

describe('replay of committed histories', function () {
  this.timeout(120_000);

  it('has a history for every workflow scenario the tests name', () => {
    const files = committedHistories().map((h) => h.file);
    for (const expected of [
      'payment/finpay-code-paid.json',
      'payment/expired.json',
      'payment/cancelled.json',
      'payment/duplicate-callback.json',
      'payment/out-of-order-callback.json',
      'payment/late-payment.json',
      // Recorded with the code before registration retries existed: proves the patched() guard.
      'payment/registration-unknown-before-retries.json',
      'payment/hint-confirmed-by-inquiry.json',
      // Recorded after registration and webhooks became local activities: the patched side.
      'payment/finpay-code-paid-local-activities.json',
      'payout/unknown-then-succeeded-local-webhooks.json',
      'bill/succeeded-local-webhooks.json',
      'payout/unknown-then-succeeded.json',
      'payout/unknown-then-failed.json',
      'payout/operator-resolved.json',
      'bill/succeeded.json',
      'bill/failed.json',
      'bill/payment-timeout.json',
      // Recorded after patches-2026-12-01: one marker puts every patch of that date in force.
      'payment/finpay-code-paid-consolidated-patches.json',
      'payment/webhook-failing-raised-by-attempts.json',
      'payout/unknown-then-succeeded-consolidated-patches.json',
      'bill/succeeded-consolidated-patches.json',
      'refund/full-refund-succeeded-consolidated-patches.json',
      // Recorded after patches-2026-12-01-b: a closing movement's webhook tried inside the workflow task.
      'payment/final-webhook-inline.json',
      'payment/final-webhook-inline-fallback.json',
      'payout/unknown-then-succeeded-final-webhook-inline.json',
      'bill/succeeded-final-webhook-inline.json',
      // Recorded after patches-2026-12-01-c: closing webhooks back in the background (inline histories above keep replaying).
      'payment/final-webhook-in-background.json',
      'payout/unknown-then-succeeded-final-webhook-in-background.json',
      'bill/succeeded-final-webhook-in-background.json',
    ]) {
      assert.ok(files.includes(expected), `missing committed history ${expected}`);
    }
  });

  it('replays every committed history with the current workflow code', async () => {
    const histories = committedHistories();
    const results = await replayAll(await workflowBundle(), histories);
    assert.equal(results.length, histories.length);
    const failures = results.filter((r) => r.error).map((r) => `${r.workflowId}: ${String(r.error)}`);
    assert.deepEqual(failures, []);
  });

  it('fails when the workflow code changes incompatibly', async () => {
    const incompatible = await bundleWorkflowCode({
      workflowsPath: require.resolve('./incompatible-workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const paid = committedHistories().filter((h) => h.file === 'payment/finpay-code-paid.json');
    const [result] = await replayAll(incompatible, paid);
    assert.ok(
      result?.error instanceof DeterminismViolationError,
      `expected a determinism violation, got ${String(result?.error)}`
    );
  });
});
