/**
 * Refunds on the real stack: the merchant API, the payment's ledger and each refund's workflow on a
 * real Temporal dev server, the Finpay simulator (which counts refund submissions per order and keeps
 * what was refunded, refusing more than remains).
 */
import assert from 'node:assert/strict';
import type { PaymentView, RefundView } from '../../src/api/schemas';
import { recordHistory } from '../helpers/histories';
import { simControl, simGet } from '../helpers/movements';
import { workflowIdOf } from '../../src/ids';
import { refundLedgerQuery } from '../../workflows/messages';
import { eventually, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';
import { apiClient, paymentBody, uniqueRef } from './http';

interface SimOrder {
  status: string;
  amount: number;
  refundedAmount: number;
}

describe('merchant API: refunds', function () {
  this.timeout(90_000);
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;
  let globex: TestMerchant;
  let finpay: string;

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({
      api: true,
      timings: {
        refund: { query: { initialMs: 300, maxMs: 1_000, factor: 2 }, attentionAfterMs: 3_000 },
      },
    });
    api = apiClient(stack);
    [acme, globex] = stack.merchants as [TestMerchant, TestMerchant];
    finpay = stack.simulators.finpay.url;
  });
  after(async () => stack?.stop());
  afterEach(async () => void (await fetch(`${finpay}/_sim/faults`, { method: 'DELETE' })));

  const refundSubmissions = async (paymentId: string) =>
    (await simGet<Record<string, number>>(finpay, '/_sim/submissions'))[`refund:${paymentId}`] ?? 0;
  const simOrder = (paymentId: string) => simGet<SimOrder>(finpay, `/_sim/orders/${paymentId}`);

  /** A payment (by default a Finpay VA) the customer paid in full: SUCCEEDED in Kasir. */
  async function paidPayment(
    amount = 150_000,
    as: TestMerchant = acme,
    at: { provider: 'finpay' | 'nicepay'; method: string } = { provider: 'finpay', method: 'VA_BCA' }
  ): Promise<PaymentView> {
    const created = await api.post<PaymentView>('/v1/payments', paymentBody({ amount, ...at }), { as });
    assert.equal(created.status, 201, created.text);
    await simControl(stack.simulators[at.provider].url, `/_sim/orders/${created.body.id}/pay`);
    return eventually(async () => {
      const current = await api.get<PaymentView>(`/v1/payments/${created.body.id}`, { as });
      assert.equal(current.body.status, 'SUCCEEDED');
      return current.body;
    });
  }

  /** The ledger learns a refund succeeded by signal: a later refund is asked for once it has. */
  const ledgerRefunded = (paymentId: string, amount: number) =>
    eventually(async () => {
      const ledger = await stack.client.workflow
        .getHandle(`${workflowIdOf('payment', paymentId)}:refunds`)
        .query(refundLedgerQuery);
      return ledger.refundedAmount === amount;
    });

  /** The refund as GET shows it to its merchant, once `ready` holds. */
  const refundOnce = (refundId: string, ready: (refund: RefundView) => boolean) =>
    eventually(async () => {
      const current = (await api.get<RefundView>(`/v1/refunds/${refundId}`, { as: acme })).body;
      return ready(current) ? current : undefined;
    });

  const refund = (paymentId: string, body: Record<string, unknown>, as: TestMerchant = acme) =>
    api.post<RefundView>(`/v1/payments/${paymentId}/refunds`, { reference: uniqueRef('RF'), ...body }, { as });

  it('refunds a paid payment in full, once, and the payment shows what was returned', async () => {
    const payment = await paidPayment();
    const response = await refund(payment.id, { reason: 'customer returned the goods' });
    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.kind, 'refund');
    assert.equal(response.body.status, 'SUCCEEDED');
    assert.equal(response.body.amount, payment.amount);
    assert.equal(response.body.paymentId, payment.id);
    assert.equal(response.headers.get('location'), `/v1/refunds/${response.body.id}`);
    assert.equal(await refundSubmissions(payment.id), 1);
    assert.equal((await simOrder(payment.id)).status, 'REFUNDED');

    const shown = await eventually(async () => {
      const current = await api.get<PaymentView>(`/v1/payments/${payment.id}`, { as: acme });
      assert.equal(current.body.refundedAmount, payment.amount);
      return current.body;
    });
    assert.deepEqual(
      shown.refunds?.map((r) => [r.id, r.amount, r.status]),
      [[response.body.id, payment.amount, 'SUCCEEDED']]
    );
    const event = await eventually(() => {
      const found = stack.webhooks.eventsFor(response.body.id).find((e) => e.type === 'refund.succeeded');
      assert.ok(found, 'refund.succeeded webhook');
      return found;
    });
    assert.equal(event.data.status, 'SUCCEEDED');
    const handle = stack.client.workflow.getHandle(workflowIdOf('refund', response.body.id));
    await recordHistory(stack, handle, 'refund', 'full-refund-succeeded');
    await recordHistory(stack, handle, 'refund', 'full-refund-succeeded-consolidated-patches');
  });

  it('takes several partial refunds up to the amount paid and refuses one more, naming amount', async () => {
    const payment = await paidPayment(100_000);
    const first = await refund(payment.id, { amount: 30_000 });
    const second = await refund(payment.id, { amount: 70_000 });
    assert.equal(first.status, 201, first.text);
    assert.equal(second.status, 201, second.text);
    assert.equal(first.body.status, 'SUCCEEDED');
    assert.equal(second.body.status, 'SUCCEEDED');
    const third = await refund(payment.id, { amount: 1_000 });
    assert.equal(third.status, 409, third.text);
    assert.equal(third.error.code, 'refund_exceeds_refundable');
    assert.equal(third.error.param, 'amount');
    assert.equal((await simOrder(payment.id)).refundedAmount, 100_000);
    assert.equal(await refundSubmissions(payment.id), 2);
  });

  it('lets only one of two concurrent refunds through when together they exceed what was paid', async () => {
    const payment = await paidPayment(100_000);
    const answers = await Promise.all([refund(payment.id, { amount: 60_000 }), refund(payment.id, { amount: 60_000 })]);
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 409], answers.map((a) => a.text).join('\n'));
    const refused = answers.find((a) => a.status === 409)!;
    assert.equal(refused.error.code, 'refund_exceeds_refundable');
    assert.equal((await simOrder(payment.id)).refundedAmount, 60_000);
    assert.equal(await refundSubmissions(payment.id), 1);
  });

  it('answers a repeated request with the same refund and refuses the reference for another body', async () => {
    const payment = await paidPayment(100_000);
    const reference = uniqueRef('RF');
    const first = await refund(payment.id, { reference, amount: 10_000 });
    const again = await refund(payment.id, { reference, amount: 10_000 });
    assert.equal(first.status, 201, first.text);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.id, first.body.id);
    const other = await refund(payment.id, { reference, amount: 20_000 });
    assert.equal(other.status, 409, other.text);
    assert.equal(other.error.param, 'reference');
    assert.equal(await refundSubmissions(payment.id), 1);
  });

  it('names the reference, whatever it reads, when requests sent together reuse it for another body', async () => {
    const payment = await paidPayment(100_000);
    for (const reference of [uniqueRef('remains'), uniqueRef('RF')]) {
      // Sent together, both pass the API's own check and the ledger refuses the one that comes second.
      const answers = await Promise.all([
        refund(payment.id, { reference, amount: 10_000 }),
        refund(payment.id, { reference, amount: 20_000 }),
      ]);
      const refused = answers.filter((a) => a.status !== 201);
      assert.equal(refused.length, 1, answers.map((a) => a.text).join('\n'));
      assert.equal(refused[0]!.status, 409, refused[0]!.text);
      assert.equal(refused[0]!.error.code, 'idempotency_conflict', refused[0]!.text);
      assert.equal(refused[0]!.error.param, 'reference', refused[0]!.text);
    }
  });

  it('answers refund_window_over once the window is over, also while a refund in flight keeps the ledger open', async () => {
    const timings = stack.config.timings;
    stack.config.timings = { ...timings, refund: { ...timings.refund!, windowMs: 4_000 } };
    let payment: PaymentView;
    let lost: Awaited<ReturnType<typeof refund>>;
    try {
      payment = await paidPayment(100_000);
      // A partial refund whose answer is lost stays UNKNOWN (in flight): the ledger stays open past its window.
      await simControl(finpay, '/_sim/faults', { kind: 'accept-then-drop', path: '/pg/payment/card/refund' });
      lost = await refund(payment.id, { amount: 25_000 });
      assert.equal(lost.body.status, 'UNKNOWN', lost.text);
    } finally {
      stack.config.timings = timings;
    }
    const ledger = stack.client.workflow.getHandle(`${workflowIdOf('payment', payment.id)}:refunds`);
    try {
      await eventually(async () => Date.now() >= (await ledger.query(refundLedgerQuery)).openUntil);
      const late = await refund(payment.id, { amount: 10_000 });
      assert.equal(late.status, 409, late.text);
      assert.equal(late.error.code, 'refund_window_over', late.text);
      assert.equal((await ledger.describe()).status.name, 'RUNNING', 'the ledger is still open');
    } finally {
      // The lost refund would keep asking Finpay, taking the status faults later tests set.
      await stack.client.workflow.getHandle(workflowIdOf('refund', lost.body.id)).terminate('test cleanup');
      await ledger.terminate('test cleanup');
    }
  });

  it('answers identical refund requests sent together with one 201 and the others 200 Idempotent-Replayed', async () => {
    const payment = await paidPayment(150_000);
    for (let round = 0; round < 4; round++) {
      const body = { reference: uniqueRef('RF'), amount: 10_000 };
      const first = await Promise.all([0, 1, 2].map(() => refund(payment.id, body)));
      // A 503 (`temporarily_unavailable`) tells the merchant to send the same request again, and that is
      // what it gets here. It happens when Temporal stalls the ledger's workflow task (seen once in five
      // full runs: the SDK evicted the ledger's run with a task still buffered, and its next task came
      // after the 10 s workflow-task timeout). A retry is a new request: a 200 replay.
      const unavailable = first.filter((a) => a.status === 503).length;
      const answers = await Promise.all(first.map(async (a) => (a.status === 503 ? refund(payment.id, body) : a)));
      const statuses = answers.map((a) => a.status).sort();
      if (unavailable === 0) assert.deepEqual(statuses, [200, 200, 201], answers.map((a) => a.text).join('\n'));
      else {
        assert.ok(
          statuses.every((status) => status === 200 || status === 201),
          answers.map((a) => a.text).join('\n')
        );
        assert.ok(statuses.filter((status) => status === 201).length <= 1, 'at most one creation');
      }
      for (const replay of answers.filter((a) => a.status === 200))
        assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(new Set(answers.map((a) => a.body.id)).size, 1, 'one refund');
      assert.equal('createdByRequest' in answers[0]!.body, false);
    }
    assert.equal(await refundSubmissions(payment.id), 4, 'one refund sent per reference');
  });

  it('resolves a full refund whose answer was lost by inquiry, never refunding again', async () => {
    const payment = await paidPayment();
    await simControl(finpay, '/_sim/faults', { kind: 'accept-then-drop', path: '/pg/payment/card/refund' });
    const response = await refund(payment.id, {});
    assert.equal(response.status, 201, response.text);
    assert.equal(response.body.status, 'UNKNOWN');
    const settled = await refundOnce(response.body.id, (r) => r.status === 'SUCCEEDED');
    assert.equal(settled.needsAttention, false);
    assert.equal(await refundSubmissions(payment.id), 1);
    const handle = stack.client.workflow.getHandle(workflowIdOf('refund', response.body.id));
    await recordHistory(stack, handle, 'refund', 'lost-answer-proven-by-inquiry');
  });

  it('resolves the refund of the remainder whose answer was lost by inquiry, once earlier parts succeeded', async () => {
    const payment = await paidPayment(100_000);
    const first = await refund(payment.id, { amount: 40_000 });
    assert.equal(first.body.status, 'SUCCEEDED', first.text);
    await ledgerRefunded(payment.id, 40_000);
    await simControl(finpay, '/_sim/faults', { kind: 'accept-then-drop', path: '/pg/payment/card/refund' });
    const rest = await refund(payment.id, { amount: 60_000 });
    assert.equal(rest.body.status, 'UNKNOWN', rest.text);
    // The payment now shows refunded in full: with the 40,000 already returned, that proves these 60,000.
    const settled = await refundOnce(rest.body.id, (r) => r.status === 'SUCCEEDED');
    assert.equal(settled.needsAttention, false);
    assert.equal(await refundSubmissions(payment.id), 2);
    assert.equal((await simOrder(payment.id)).refundedAmount, 100_000);
  });

  it('flags a partial refund whose answer was lost instead of failing it or sending it again', async () => {
    const payment = await paidPayment(100_000);
    await simControl(finpay, '/_sim/faults', { kind: 'accept-then-drop', path: '/pg/payment/card/refund' });
    const response = await refund(payment.id, { amount: 25_000 });
    assert.equal(response.body.status, 'UNKNOWN', response.text);
    const flagged = await refundOnce(response.body.id, (r) => r.needsAttention);
    assert.equal(flagged.status, 'UNKNOWN');
    assert.match(flagged.attentionReason ?? '', /UNRESOLVED/);
    assert.equal(await refundSubmissions(payment.id), 1);
    // It still counts against what remains: only 75,000 more may be refunded.
    const more = await refund(payment.id, { amount: 75_001 });
    assert.equal(more.status, 409, more.text);

    // An operator settles it with evidence (here wrongly: the provider did refund it). A FAILED frees its
    // amount on the ledger, and the provider's own limit on what remains is then the last defence.
    const operator = { 'kasir-operator-key': stack.operatorKey };
    const path = `/v1/operator/refunds/${response.body.id}/resolve`;
    const wrong = { outcome: 'FAILED', evidence: 'no such refund in the provider dashboard', operator: 'ops-1' };
    assert.equal((await api.post(path, wrong, { as: acme })).status, 401);
    const resolved = await api.post<RefundView>(path, wrong, { headers: operator });
    assert.equal(resolved.status, 200, resolved.text);
    assert.equal(resolved.body.status, 'FAILED');
    assert.equal(resolved.body.resolution?.by, 'ops-1');
    const twice = await api.post(path, { ...wrong, outcome: 'SUCCEEDED' }, { headers: operator });
    assert.equal(twice.status, 409, twice.text);
    const overRefund = await eventually(async () => {
      const again = await refund(payment.id, { amount: 100_000 });
      assert.equal(again.status, 201, again.text);
      return again.body;
    });
    assert.equal(overRefund.status, 'FAILED', 'the provider refused more than remains');
    assert.equal((await simOrder(payment.id)).refundedAmount, 25_000);
  });

  for (const part of ['a full refund', 'the refund of the remainder'] as const) {
    it(`checks an operator's FAILED for ${part} with the provider first: a payment it shows refunded proves the refund, and the FAILED is refused`, async () => {
      const payment = await paidPayment(60_000);
      let refundedBefore = 0;
      if (part === 'the refund of the remainder') {
        const first = await refund(payment.id, { amount: 15_000 });
        assert.equal(first.body.status, 'SUCCEEDED', first.text);
        await ledgerRefunded(payment.id, 15_000);
        refundedBefore = 15_000;
      }
      await simControl(finpay, '/_sim/faults', { kind: 'accept-then-drop', path: '/pg/payment/card/refund' });
      // This refund's own inquiries come only after ten minutes: the operator's resolution is what asks.
      const timings = stack.config.timings.refund;
      stack.config.timings.refund = {
        query: { initialMs: 600_000, maxMs: 600_000, factor: 1 },
        attentionAfterMs: 600_000,
      };
      let response;
      try {
        response = await refund(payment.id, { amount: 60_000 - refundedBefore });
      } finally {
        stack.config.timings.refund = timings;
      }
      assert.equal(response.body.status, 'UNKNOWN', response.text);
      assert.equal((await simOrder(payment.id)).refundedAmount, 60_000, 'the provider did refund it');

      const wrong = { outcome: 'FAILED', evidence: 'no such refund in the provider dashboard', operator: 'ops-2' };
      const resolve = () =>
        api.post<RefundView>(`/v1/operator/refunds/${response.body.id}/resolve`, wrong, {
          headers: { 'kasir-operator-key': stack.operatorKey },
        });
      // While the provider cannot be asked, a FAILED (which would free the amount) is refused, not applied.
      await simControl(finpay, '/_sim/faults', {
        kind: 'http-5xx',
        path: '/pg/payment/card/check',
        status: 503,
        count: 3,
      });
      const unasked = await resolve();
      assert.equal(unasked.status, 409, unasked.text);
      assert.match(unasked.error.message, /could not be asked/);
      assert.equal((await api.get<RefundView>(`/v1/refunds/${response.body.id}`, { as: acme })).body.status, 'UNKNOWN');

      const resolved = await resolve();
      assert.equal(resolved.status, 409, resolved.text);
      assert.match(resolved.error.message, /SUCCEEDED/);
      const settled = await api.get<RefundView>(`/v1/refunds/${response.body.id}`, { as: acme });
      assert.equal(settled.body.status, 'SUCCEEDED');
      assert.equal(settled.body.resolution, undefined);
      const more = await refund(payment.id, { amount: 1_000 });
      assert.equal(more.status, 409, 'nothing of the payment remains to refund');
    });
  }

  it('refunds a NICEPAY e-wallet payment in two parts through its refund API (service 58), once each', async () => {
    const nicepay = stack.simulators.nicepay.url;
    const payment = await paidPayment(80_000, acme, { provider: 'nicepay', method: 'EWALLET_OVO' });
    const first = await refund(payment.id, { amount: 30_000 });
    const rest = await refund(payment.id, {});
    assert.equal(first.status, 201, first.text);
    assert.equal(rest.status, 201, rest.text);
    assert.deepEqual([first.body.status, rest.body.status], ['SUCCEEDED', 'SUCCEEDED']);
    assert.equal(rest.body.amount, 50_000, 'by default, all that remains');
    const order = await simGet<{ refunds: { partnerRefundNo: string; amount: number }[] }>(
      nicepay,
      `/_sim/orders/${payment.id}`
    );
    assert.deepEqual(
      order.refunds.map((r) => [r.partnerRefundNo, r.amount]),
      [
        [first.body.id, 30_000],
        [rest.body.id, 50_000],
      ]
    );
  });

  it('does not take a NICEPAY payment shown refunded as proof of a remainder whose answer was lost: its statuses tell no partial refund', async () => {
    const nicepay = stack.simulators.nicepay.url;
    const payment = await paidPayment(80_000, acme, { provider: 'nicepay', method: 'EWALLET_OVO' });
    const first = await refund(payment.id, { amount: 30_000 });
    assert.equal(first.body.status, 'SUCCEEDED', first.text);
    await ledgerRefunded(payment.id, 30_000);
    await simControl(nicepay, '/_sim/faults', { kind: 'accept-then-drop', path: '/nicepay/api/v1.0/debit/refund' });
    try {
      const rest = await refund(payment.id, {});
      assert.equal(rest.body.status, 'UNKNOWN', rest.text);
      const flagged = await refundOnce(rest.body.id, (r) => r.needsAttention);
      assert.equal(flagged.status, 'UNKNOWN');
      assert.match(flagged.attentionReason ?? '', /UNRESOLVED/);
    } finally {
      await fetch(`${nicepay}/_sim/faults`, { method: 'DELETE' });
    }
  });

  it('refuses what cannot be refunded with a clear 4xx', async () => {
    const unpaid = await api.post<PaymentView>('/v1/payments', paymentBody(), { as: acme });
    const notPaid = await refund(unpaid.body.id, {});
    assert.equal(notPaid.status, 409, notPaid.text);
    assert.equal(notPaid.error.code, 'payment_not_refundable');

    const bdpay = await api.post<PaymentView>('/v1/payments', paymentBody({ provider: 'bdpay', method: 'QRIS' }), {
      as: acme,
    });
    const noRefunds = await refund(bdpay.body.id, {});
    assert.equal(noRefunds.status, 422, noRefunds.text);
    assert.equal(noRefunds.error.code, 'refund_not_supported');

    const bill = await api.post(`/v1/bills/payments/B0000000000000000000/refunds`, {}, { as: acme });
    assert.equal(bill.status, 422, bill.text);
    assert.equal(bill.error.code, 'refund_not_supported');

    const badAmount = await refund(unpaid.body.id, { amount: -5 });
    assert.equal(badAmount.status, 400, badAmount.text);
    assert.equal(badAmount.error.param, 'amount');
  });

  it("keeps a merchant's refunds its own: another merchant can neither refund, read nor list them", async () => {
    const payment = await paidPayment(50_000);
    const mine = await refund(payment.id, { amount: 5_000 });
    assert.equal(mine.status, 201, mine.text);
    assert.equal((await refund(payment.id, { amount: 5_000 }, globex)).status, 404);
    assert.equal((await api.get(`/v1/refunds/${mine.body.id}`, { as: globex })).status, 404);
    const listed = await eventually(async () => {
      const page = await api.get<{ data: { id: string }[] }>(
        `/v1/refunds?reference=${encodeURIComponent(mine.body.merchantReference)}`,
        { as: acme }
      );
      assert.equal(page.status, 200, page.text);
      assert.deepEqual(
        page.body.data.map((r) => r.id),
        [mine.body.id]
      );
      return page.body;
    });
    assert.equal(listed.data.length, 1);
    const theirs = await api.get<{ data: unknown[] }>(
      `/v1/refunds?reference=${encodeURIComponent(mine.body.merchantReference)}`,
      { as: globex }
    );
    assert.equal(theirs.body.data.length, 0);
  });
});
