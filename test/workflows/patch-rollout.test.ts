/**
 * Rolling out (or back) a release with new patches: a worker told to hold this release's new patches
 * back records only patches the release before knows, so that release's workers can replay what it
 * records, while it still replays everything (README "Deploying a release with new patches").
 */
import assert from 'node:assert/strict';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { parseConfig } from '../../src/config';
import { dataConverterOf } from '../../src/temporal/payload-encryption';
import { providerCallbackSignal } from '../../workflows/messages';
import { CONSOLIDATED_PATCHES, NEW_SINCE_PREVIOUS_RELEASE, PREVIOUS_RELEASE_PATCH_IDS } from '../../workflows/patches';
import { paidCallback, startPayment } from '../helpers/movements';
import { startStack, TEST_ONLY_ENCRYPTION, workflowBundle } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

const TemporalChangeVersion = defineSearchAttributeKey('TemporalChangeVersion', SearchAttributeType.KEYWORD_LIST);

/**
 * The simulators run at 1/1000 of real time: an order of the default 60 minutes expires there in 3.6 s,
 * less than starting workers can take on a busy machine. A day there is 86 s.
 */
const A_PAYMENT = { provider: 'finpay', method: 'VA_BCA', expiresInMinutes: 24 * 60 } as const;

describe('patch rollout', function () {
  this.timeout(60_000);
  let stack: TestStack;

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({ startWorker: false });
  });
  after(async () => stack?.stop());

  async function settledPaymentPatches(): Promise<{ patches: string[]; workflowId: string }> {
    const { state, handle } = await startPayment(stack, A_PAYMENT);
    await handle.signal(providerCallbackSignal, paidCallback(state));
    assert.equal((await handle.result()).status, 'SUCCEEDED');
    const patches = (await handle.describe()).typedSearchAttributes.get(TemporalChangeVersion) ?? [];
    return { patches, workflowId: handle.workflowId };
  }

  it('records only the previous release’s patches while they are held back, and replays with them all in force', async () => {
    stack.config.worker.holdBackPatches = [...NEW_SINCE_PREVIOUS_RELEASE];
    const held = await stack.startWorker('held-back');
    let recorded: Awaited<ReturnType<typeof settledPaymentPatches>>;
    try {
      recorded = await settledPaymentPatches();
    } finally {
      await held.stop();
      stack.config.worker.holdBackPatches = [];
    }
    assert.ok(recorded.patches.includes('movement-core'), recorded.patches.join(','));
    // The release before replays a history only if it knows every marker in it (its list is frozen).
    for (const id of recorded.patches)
      assert.ok(PREVIOUS_RELEASE_PATCH_IDS.includes(id), `${id} is new in this release`);

    // The same history replays on this release's code with nothing held back.
    const history = await stack.client.workflow.getHandle(recorded.workflowId).fetchHistory();
    await Worker.runReplayHistory(
      { workflowBundle: await workflowBundle(), dataConverter: dataConverterOf(TEST_ONLY_ENCRYPTION) },
      history,
      recorded.workflowId
    );

    // Released from the hold, the next payment records the newest consolidation alone.
    const free = await stack.startWorker('all-patches');
    try {
      const { patches } = await settledPaymentPatches();
      assert.deepEqual(patches, [CONSOLIDATED_PATCHES[0]!.id]);
    } finally {
      await free.stop();
    }
  });

  it('keeps each execution’s patches its own in a worker whose executions share the workflow modules', async () => {
    // B is recorded patch by patch (a worker holding the new patches back), A with the consolidation;
    // one worker then runs both, B replayed between A's activations.
    stack.config.worker.holdBackPatches = [...NEW_SINCE_PREVIOUS_RELEASE];
    const held = await stack.startWorker('held-back');
    let earlier: Awaited<ReturnType<typeof startPayment>>;
    try {
      earlier = await startPayment(stack, A_PAYMENT);
    } finally {
      await held.stop();
      stack.config.worker.holdBackPatches = [];
    }
    const shared = await stack.startWorker('shared-modules');
    try {
      const newer = await startPayment(stack, A_PAYMENT);
      await earlier.handle.signal(providerCallbackSignal, paidCallback(earlier.state));
      assert.equal((await earlier.handle.result()).status, 'SUCCEEDED');
      await newer.handle.signal(providerCallbackSignal, paidCallback(newer.state));
      assert.equal((await newer.handle.result()).status, 'SUCCEEDED');

      const newerEvents = (await newer.handle.fetchHistory()).events ?? [];
      const markers = newerEvents.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
      assert.equal(markers.length, 1, 'the newer payment recorded its consolidation and nothing else');
      assert.deepEqual((await newer.handle.describe()).typedSearchAttributes.get(TemporalChangeVersion), [
        CONSOLIDATED_PATCHES[0]!.id,
      ]);
      for (const handle of [earlier.handle, newer.handle]) {
        const events = (await handle.fetchHistory()).events ?? [];
        assert.equal(
          events.filter((e) => e.workflowTaskFailedEventAttributes).length,
          0,
          `${handle.workflowId} had no failed workflow task`
        );
      }
      const earlierPatches = (await earlier.handle.describe()).typedSearchAttributes.get(TemporalChangeVersion) ?? [];
      assert.equal(earlierPatches.includes(CONSOLIDATED_PATCHES[0]!.id), false, earlierPatches.join(','));
    } finally {
      await shared.stop();
    }
  });

  it('refuses a held-back patch id the workflows do not know, naming the field', () => {
    assert.throws(
      () =>
        parseConfig({
          api: { publicUrl: 'http://127.0.0.1:3000' },
          merchants: [],
          providers: {},
          worker: { holdBackPatches: ['no-such-patch'] },
        }),
      (err: unknown) => /holdBackPatches/.test(String(err)) && /not a patch id of this release/.test(String(err))
    );
  });
});
