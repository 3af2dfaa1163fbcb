/**
 * A movement is one row in its list, however many runs its workflow has: the runs a continue-as-new
 * closed each keep a visibility record, and the list must not show them as more movements.
 */
import assert from 'node:assert/strict';
import type { PaymentList, PaymentView } from '../../src/api/schemas';
import { workflowIdOf } from '../../src/ids';
import { eventually, FAST_TIMINGS, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';
import { apiClient, paymentBody } from './http';

describe('merchant API: a list shows each movement once, whatever its runs', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;

  before(async function () {
    this.timeout(120_000);
    // Fast polls and a tiny history bound: an open payment continues as new after its first poll.
    stack = await startStack({
      api: true,
      timings: {
        payment: { ...FAST_TIMINGS.payment, poll: { initialMs: 150, maxMs: 150, factor: 1 } },
        historyEventsPerRun: 10,
      },
    });
    api = apiClient(stack);
    acme = stack.merchants[0]!;
  });
  after(async () => stack?.stop());

  /** A payment created through the API, once its workflow has had at least `runs` runs. */
  async function paymentWithRuns(minimum: number) {
    const created = await api.post<PaymentView>('/v1/payments', paymentBody(), { as: acme });
    assert.equal(created.status, 201, created.text);
    const workflowId = workflowIdOf('payment', created.body.id);
    await eventually(async () => {
      let runs = 0;
      for await (const _run of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs++;
      assert.ok(runs >= minimum, `runs so far: ${runs}`);
      return runs;
    }, 20_000);
    return { created, workflowId };
  }

  it('lists a payment that continued as new as one row', async () => {
    const { created } = await paymentWithRuns(2);
    const page = await eventually(async () => {
      const response = await api.get<PaymentList>(
        `/v1/payments?reference=${encodeURIComponent(created.body.merchantReference)}`,
        { as: acme }
      );
      assert.equal(response.status, 200, response.text);
      assert.ok(response.body.data.length > 0);
      return response.body;
    });
    assert.deepEqual(
      page.data.map((row) => row.id),
      [created.body.id]
    );
  });

  it("lists each of the merchant's events once, however many runs its movement has", async () => {
    const { workflowId } = await paymentWithRuns(3);
    const page = await eventually(async () => {
      const response = await api.get<{ data: { id: string; movementId?: string }[] }>('/v1/events?limit=50', {
        as: acme,
      });
      assert.equal(response.status, 200, response.text);
      const ours = response.body.data.filter((e) => e.id.startsWith(`${workflowId}:`));
      assert.ok(ours.length > 0, 'the payment has events');
      return response.body.data;
    });
    const ids = page.map((e) => e.id);
    assert.deepEqual(
      ids.filter((id, index) => ids.indexOf(id) !== index),
      [],
      'no event listed twice'
    );
  });
});
