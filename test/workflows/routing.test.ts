/**
 * Routing and failover in paymentWorkflow (issue #15), on the real Temporal server with real
 * activities against the provider simulators. The workflow input carries the routing decision the API
 * computes (src/routing); these scenarios build it directly, so each controls exactly which provider
 * fails and how.
 */
import assert from 'node:assert/strict';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { createConnectors } from '../../src/connectors/registry';
import type { PaymentMethod } from '../../src/domain/payment';
import type { ProviderId } from '../../src/domain/provider';
import { deriveId, requestFingerprint, workflowIdOf } from '../../src/ids';
import { paymentWorkflow } from '../../workflows';
import { paymentRegisteredUpdate, paymentStateQuery } from '../../workflows/messages';
import type { PaymentRoutingInput, PaymentState } from '../../workflows/movement-state';
import { KasirProvider } from '../../workflows/search-attributes';
import { simControl, uniqueReference } from '../helpers/movements';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

const INITIATE = '/pg/payment/card/initiate';
const CHECK = '/pg/payment/card/check';

describe('paymentWorkflow routing and failover', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let finpay: string;
  let bdpay: string;

  before(async () => {
    stack = await startStack();
    finpay = stack.simulators.finpay.url;
    bdpay = stack.simulators.bdpay.url;
  });
  after(async () => stack?.stop());
  afterEach(async () => {
    for (const url of [finpay, bdpay]) await fetch(`${url}/_sim/faults`, { method: 'DELETE' });
  });

  function callbackUrl(provider: ProviderId): string {
    return `${stack.config.api.publicUrl}/callbacks/${provider}`;
  }

  function routed(fallbacks: ProviderId[], pinned = false): PaymentRoutingInput {
    return {
      ...(pinned ? { pinned: true } : {}),
      fallbacks: fallbacks.map((provider) => ({ provider, callbackUrl: callbackUrl(provider) })),
      decision: pinned
        ? 'finpay pinned by the merchant'
        : `routed to finpay by the VA_BCA rule; fallbacks: ${fallbacks.join(', ')}`,
    };
  }

  async function start(
    routing: PaymentRoutingInput | undefined,
    method: PaymentMethod = 'VA_BCA'
  ): Promise<{ first: PaymentState; handle: WorkflowHandle<typeof paymentWorkflow> }> {
    const merchantId = stack.merchants[0]!.id;
    const merchantReference = uniqueReference('routed');
    const paymentId = deriveId('payment', merchantId, merchantReference);
    const operation = new WithStartWorkflowOperation(paymentWorkflow, {
      workflowId: workflowIdOf('payment', paymentId),
      taskQueue: stack.config.temporal.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [
        {
          paymentId,
          merchantId,
          merchantReference,
          provider: 'finpay',
          method,
          amount: 150_000,
          customer: { name: 'Budi Santoso', email: 'budi@example.com', phone: '081286288844' },
          description: `Order ${merchantReference}`,
          expiresInMinutes: 60,
          callbackUrl: callbackUrl('finpay'),
          requestFingerprint: requestFingerprint({ merchantReference }),
          timings: stack.config.timings,
          ...(routing ? { routing } : {}),
        },
      ],
    });
    const first = await stack.client.workflow.executeUpdateWithStart(paymentRegisteredUpdate, {
      startWorkflowOperation: operation,
    });
    return { first, handle: await operation.workflowHandle() };
  }

  async function orderAt(url: string, reference: string): Promise<{ status?: string; state?: string } | undefined> {
    const response = await fetch(`${url}/_sim/orders/${reference}`);
    if (response.status === 404) return undefined;
    assert.equal(response.status, 200);
    return (await response.json()) as { status?: string };
  }

  function notes(state: PaymentState, money = true): string[] {
    return state.timeline.filter((e) => !money || e.money).map((e) => e.note ?? '');
  }

  it('fails over to the next provider, under the same id, when the first answers 5xx and then "not found"', async () => {
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: INITIATE, status: 503, count: 4 });
    const { handle } = await start(routed(['bdpay']));
    const state = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.equal(s.status, 'PENDING');
      return s;
    });
    assert.equal(state.provider, 'bdpay');
    assert.ok(state.instructions?.vaNumber, 'the second provider gave instructions');
    assert.equal(state.needsAttention, false);
    assert.deepEqual(
      state.routing?.tried.map((t) => [t.provider, t.reason]),
      [['finpay', 'unknown_then_not_found']]
    );
    const money = notes(state);
    assert.ok(
      money.some((n) => n.startsWith('routing: routed to finpay')),
      'the routing decision is recorded'
    );
    assert.ok(
      money.some((n) => n.startsWith('failed over from finpay to bdpay (unknown_then_not_found')),
      'the failover is a money event'
    );
    // The same id is BDPay's order reference; Finpay holds no order for it.
    assert.ok(await orderAt(bdpay, state.id), 'BDPay holds the order under the payment id');
    assert.equal(await orderAt(finpay, state.id), undefined, 'Finpay holds no order');
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(KasirProvider), 'bdpay');

    // Paid at the second provider: the left provider is asked once more as the payment closes.
    await simControl(bdpay, `/_sim/orders/${state.id}/pay`, {});
    const paid = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.equal(s.status, 'SUCCEEDED');
      assert.equal(s.routing?.leftChecked, true);
      return s;
    });
    assert.equal(paid.needsAttention, false, 'Finpay holds nothing: nothing to flag');
  });

  it('does not fail over while the first provider cannot be asked, and does once it answers "not found"', async () => {
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: INITIATE, status: 502, count: 100 });
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: CHECK, status: 502, count: 100_000 });
    const { handle, first } = await start(routed(['bdpay']));
    assert.equal(first.status, 'REGISTERING');
    // Every registration's outcome is unknown and Finpay cannot be asked: the payment asks on.
    const waiting = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.ok(notes(s, false).some((n) => n.includes('could not be asked about the order')));
      return s;
    }, 60_000);
    assert.equal(waiting.status, 'REGISTERING');
    assert.equal(waiting.provider, 'finpay');
    assert.deepEqual(waiting.routing?.tried, []);
    assert.equal(await orderAt(bdpay, waiting.id), undefined, 'nothing was sent to BDPay');

    await fetch(`${finpay}/_sim/faults`, { method: 'DELETE' });
    const moved = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.equal(s.status, 'PENDING');
      return s;
    }, 20_000);
    assert.equal(moved.provider, 'bdpay');
    assert.ok(await orderAt(bdpay, moved.id));
  });

  it('never fails over an e-wallet payment after an unknown outcome: the first provider may have pushed it to the customer', async () => {
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: INITIATE, status: 503, count: 4 });
    const { handle } = await start(routed(['bdpay']), 'EWALLET_OVO');
    const state = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.notEqual(s.status, 'REGISTERING');
      return s;
    });
    assert.equal(state.provider, 'finpay');
    assert.deepEqual(state.routing?.tried, []);
    assert.equal(await orderAt(bdpay, state.id), undefined, 'nothing was sent to BDPay');
  });

  it('never fails over a pinned provider', async () => {
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: INITIATE, status: 503, count: 4 });
    const { handle } = await start(routed([], true));
    const state = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.equal(s.status, 'FAILED');
      return s;
    });
    assert.equal(state.provider, 'finpay');
    assert.equal(state.failure?.code, 'REGISTRATION_OUTCOME_UNKNOWN');
    assert.equal(state.routing?.pinned, true);
    assert.ok(notes(state).some((n) => n.includes('pinned by the merchant')));
    assert.equal(await orderAt(bdpay, state.id), undefined);
  });

  it('behaves as before without routing: a 5xx and "not found" fail the payment at its provider', async () => {
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: INITIATE, status: 503, count: 4 });
    const { handle } = await start(undefined);
    const state = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.equal(s.status, 'FAILED');
      return s;
    });
    assert.equal(state.provider, 'finpay');
    assert.equal(state.routing, undefined);
    assert.equal(await orderAt(bdpay, state.id), undefined);
    // The merchant's event carries the flag and its reason, as the payment itself does.
    assert.match(state.attentionReason ?? '', /^REGISTRATION_OUTCOME_UNKNOWN/);
    const failed = await eventually(() => stack.webhooks.eventsFor(state.id).find((e) => e.type === 'payment.failed'));
    assert.deepEqual([failed.data.needsAttention, failed.data.attentionReason], [true, state.attentionReason]);
  });

  it('flags money the left provider took after all (a registration still in flight that landed late)', async () => {
    await simControl(finpay, '/_sim/faults', { kind: 'http-5xx', path: INITIATE, status: 503, count: 4 });
    const { handle } = await start(routed(['bdpay']));
    const moved = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.equal(s.status, 'PENDING');
      return s;
    });
    assert.equal(moved.provider, 'bdpay');
    // The lost request lands at Finpay after its "not found", and the customer pays it there.
    const connectors = createConnectors(stack.config.providers);
    const late = await connectors.finpay.payments!.create({
      reference: moved.id,
      amount: moved.amount,
      method: 'VA_BCA',
      customer: { name: 'Budi Santoso', email: 'budi@example.com', phone: '081286288844' },
      description: 'late',
      expiresInMinutes: 60,
      callbackUrl: callbackUrl('finpay'),
    });
    assert.equal(late.result, 'registered');
    await simControl(finpay, `/_sim/orders/${moved.id}/pay`, {});
    // The payment at BDPay expires; closing, the workflow asks Finpay again and flags the money there.
    await simControl(bdpay, `/_sim/orders/${moved.id}/expire`, {});
    const flagged = await eventually(async () => {
      const s = await handle.query(paymentStateQuery);
      assert.equal(s.routing?.leftChecked, true);
      return s;
    }, 30_000);
    assert.equal(flagged.needsAttention, true);
    assert.match(flagged.attentionReason ?? '', /^PAID_AT_LEFT_PROVIDER: finpay/);
  });
});
