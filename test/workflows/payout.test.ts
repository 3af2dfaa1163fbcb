/**
 * payoutWorkflow on the real Temporal server against the BDPay simulator. The simulator counts
 * submissions per orderNum, so every scenario proves the payout reached the provider exactly once.
 */
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { payoutStateQuery, resolvePayoutUpdate } from '../../workflows/messages';
import { recordHistory } from '../helpers/histories';
import { simControl, simGet, startPayout } from '../helpers/movements';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

describe('payoutWorkflow', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let bdpay: string;

  const submissionsOf = async (reference: string) =>
    (await simGet<Record<string, number>>(bdpay, '/_sim/submissions'))[reference] ?? 0;

  before(async () => {
    stack = await startStack({
      timings: {
        payout: {
          query: { initialMs: 300, maxMs: 1_000, factor: 2 },
          attentionAfterMs: 3_000,
          watchAfterOperatorFailureMs: 1_000,
        },
      },
    });
    bdpay = stack.simulators.bdpay.url;
  });
  after(async () => stack?.stop());
  afterEach(async () => {
    await fetch(`${bdpay}/_sim/faults`, { method: 'DELETE' });
    await fetch(`${bdpay}/_sim/response-faults`, { method: 'DELETE' });
  });

  it('resolves an UNKNOWN submission to success by query, submitting once', async () => {
    await simControl(bdpay, '/_sim/response-faults', { kind: 'unknown', path: '/gateway/cash' });
    const { state, handle } = await startPayout(stack, {});
    assert.equal(state.status, 'UNKNOWN');
    await simControl(bdpay, `/_sim/payouts/${state.id}/settle`);
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.equal(await submissionsOf(state.id), 1);
    await recordHistory(stack, handle, 'payout', 'unknown-then-succeeded');
    await recordHistory(stack, handle, 'payout', 'unknown-then-succeeded-movement-core');
    await recordHistory(stack, handle, 'payout', 'unknown-then-succeeded-local-webhooks');
    await recordHistory(stack, handle, 'payout', 'unknown-then-succeeded-consolidated-patches');
    await recordHistory(stack, handle, 'payout', 'unknown-then-succeeded-final-webhook-inline');
    await recordHistory(stack, handle, 'payout', 'unknown-then-succeeded-final-webhook-in-background');
  });

  it('resolves an UNKNOWN submission to failure by query, submitting once', async () => {
    await simControl(bdpay, '/_sim/response-faults', { kind: 'unknown', path: '/gateway/cash' });
    const { state, handle } = await startPayout(stack, {});
    assert.equal(state.status, 'UNKNOWN');
    await simControl(bdpay, `/_sim/payouts/${state.id}/fail`);
    const final = await handle.result();
    assert.equal(final.status, 'FAILED');
    assert.equal(await submissionsOf(state.id), 1);
    await recordHistory(stack, handle, 'payout', 'unknown-then-failed');
    await recordHistory(stack, handle, 'payout', 'unknown-then-failed-movement-core');
  });

  it('treats a submission the provider answered too late as unknown, never resubmitting', async () => {
    await simControl(bdpay, '/_sim/faults', { kind: 'accept-then-drop', path: '/gateway/cash' });
    const { state, handle } = await startPayout(stack, {});
    assert.equal(state.status, 'UNKNOWN');
    await simControl(bdpay, `/_sim/payouts/${state.id}/settle`);
    assert.equal((await handle.result()).status, 'SUCCEEDED');
    assert.equal(await submissionsOf(state.id), 1);
  });

  it('raises needs-attention instead of auto-failing, then takes an operator resolution with evidence', async () => {
    // A 5xx after submission: the provider never created it, but Kasir cannot know that.
    await simControl(bdpay, '/_sim/faults', { kind: 'http-5xx', path: '/gateway/cash', status: 502 });
    const { state, handle } = await startPayout(stack, {});
    assert.equal(state.status, 'UNKNOWN');
    const flagged = await eventually(
      async () => {
        const current = await handle.query(payoutStateQuery);
        return current.needsAttention ? current : undefined;
      },
      20_000,
      'needs-attention'
    );
    assert.equal(flagged.status, 'UNKNOWN');

    await assert.rejects(
      handle.executeUpdate(resolvePayoutUpdate, {
        args: [{ outcome: 'FAILED', evidence: 'short', operator: 'ops@kasir' }],
      }),
      WorkflowUpdateFailedError
    );
    const resolved = await handle.executeUpdate(resolvePayoutUpdate, {
      args: [{ outcome: 'FAILED', evidence: 'BDPay support ticket 4411: order never created', operator: 'ops@kasir' }],
    });
    assert.equal(resolved.status, 'FAILED');
    assert.equal(resolved.resolution?.by, 'ops@kasir');
    assert.equal(resolved.needsAttention, false);
    // The 502 came before the gateway handled the request, and Kasir never sent it again.
    assert.equal(await submissionsOf(state.id), 0);
    const final = await handle.result();
    assert.equal(final.status, 'FAILED');
    await recordHistory(stack, handle, 'payout', 'operator-resolved');
    await recordHistory(stack, handle, 'payout', 'operator-resolved-movement-core');
  });

  it('treats FAIL at submission as a definite failure', async () => {
    const account = await simGet<{ balance: number }>(bdpay, '/_sim/account');
    await simControl(bdpay, '/_sim/account', { balance: 0 });
    try {
      const { state, handle } = await startPayout(stack, {});
      assert.equal(state.status, 'FAILED');
      assert.match(state.failure?.message ?? '', /insufficient balance/);
      assert.equal((await handle.result()).status, 'FAILED');
      assert.equal(await submissionsOf(state.id), 1);
    } finally {
      await simControl(bdpay, '/_sim/account', { balance: account.balance });
    }
  });
});
