/**
 * Operator resolution of a payout still running the code from before the movement core: that code
 * applies a resolution without asking the provider, so the API asks the provider itself first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { callbackUrlOf } from '../../src/api/routes/route-commons';
import { deriveId, requestFingerprint, workflowIdOf } from '../../src/ids';
import { createKasirWorker } from '../../src/worker';
import { payoutStateQuery } from '../../workflows/messages';
import type { PayoutState, PayoutWorkflowInput } from '../../workflows/movement-state';
import { simControl } from '../helpers/movements';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';
import { apiClient, uniqueRef } from './http';

describe('operator resolution of a payout on the legacy code', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let stopLegacyWorker: () => Promise<void>;
  const legacyQueue = `kasir-legacy-${randomBytes(4).toString('hex')}`;

  before(async () => {
    stack = await startStack({ api: true });
    const bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../helpers/legacy-workflows'),
      logger: new DefaultLogger('WARN'),
    });
    const worker = await createKasirWorker({
      connection: stack.workerConnection,
      config: { ...stack.config, temporal: { ...stack.config.temporal, taskQueue: legacyQueue } },
      workflowBundle: bundle,
    });
    const running = worker.run();
    stopLegacyWorker = async () => {
      worker.shutdown();
      await running;
    };
  });
  after(async () => {
    await stopLegacyWorker?.();
    await stack?.stop();
  });

  it('refuses a FAILED the provider contradicts unless forced, as the movement core does', async () => {
    const bdpay = stack.simulators.bdpay.url;
    await simControl(bdpay, '/_sim/response-faults', { kind: 'unknown', path: '/gateway/cash' });
    const reference = uniqueRef('legacy');
    const payoutId = deriveId('payout', 'acme', reference);
    const input: PayoutWorkflowInput = {
      payoutId,
      merchantId: 'acme',
      merchantReference: reference,
      provider: 'bdpay',
      amount: 200_000,
      callbackUrl: callbackUrlOf(stack.config, 'bdpay'),
      requestFingerprint: requestFingerprint({ reference }),
      timings: {
        ...stack.config.timings,
        payout: { ...stack.config.timings.payout, query: { initialMs: 600_000, maxMs: 600_000, factor: 1 } },
      },
      feeMode: 'merchant',
      beneficiary: { bankCode: '014', accountNumber: '1234567890', accountName: 'Siti Aminah' },
      description: 'Legacy payout',
    };
    const handle = await stack.client.workflow.start('payoutWorkflow', {
      workflowId: workflowIdOf('payout', payoutId),
      taskQueue: legacyQueue,
      args: [input],
    });
    const unknown = await eventually(
      async () => {
        const state: PayoutState = await handle.query(payoutStateQuery);
        return state.status === 'UNKNOWN' ? state : undefined;
      },
      20_000,
      'the legacy payout to be UNKNOWN'
    );
    assert.equal(
      unknown.timeline.some((t) => t.money),
      false,
      'it runs the legacy code'
    );
    await fetch(`${bdpay}/_sim/response-faults`, { method: 'DELETE' });

    // BDPay holds the payout and reports it processing: FAILED would be a lie if it pays.
    const api = apiClient(stack);
    const operator = { 'Kasir-Operator-Key': stack.operatorKey };
    const resolution = {
      outcome: 'FAILED',
      evidence: 'Bank statement shows nothing for this payout',
      operator: 'ops@kasir',
    };
    const refused = await api.post(`/v1/operator/payouts/${payoutId}/resolve`, resolution, { headers: operator });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.error.code, 'resolution_contradicted');
    assert.equal((await handle.query(payoutStateQuery)).status, 'UNKNOWN');

    const forced = await api.post<PayoutState>(
      `/v1/operator/payouts/${payoutId}/resolve`,
      { ...resolution, force: true },
      { headers: operator }
    );
    assert.equal(forced.status, 200, forced.text);
    assert.equal(forced.body.status, 'FAILED');
  });
});
