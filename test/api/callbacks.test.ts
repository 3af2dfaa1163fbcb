import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { createApp } from '../../src/api/app';
import { createConnectors } from '../../src/connectors/registry';
import { listen } from '../../src/sandbox/simulator-kit';
import type { Connectors } from '../../src/connectors/registry';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import type { ProviderId } from '../../src/domain/provider';
import { deriveId, workflowIdOf } from '../../src/ids';
import { WEBHOOK_SIGNATURE_HEADER, WebhookSignatureError, verifyWebhookSignature } from '../../src/webhooks/signature';
import { FAST_TIMINGS, eventually, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';
import type { BillView, PaymentView, PayoutView } from '../../src/api/schemas';
import { recordHistory } from '../helpers/histories';
import { startPayment } from '../helpers/movements';
import { apiClient, countDescribes, paymentBody, uniqueRef } from './http';

const TEN_MINUTES = 10 * 60_000;

interface Attempt {
  reference: string;
  attempt: number;
  status?: number;
  answer?: string;
  acknowledged: boolean;
  forged: boolean;
}

describe('provider callbacks', function () {
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;
  let connectors: Connectors;

  before(async function () {
    this.timeout(120_000);
    // Payments and payouts never poll during these tests, so every change of state is a callback's doing.
    stack = await startStack({
      api: true,
      timings: {
        payment: { ...FAST_TIMINGS.payment, poll: { initialMs: TEN_MINUTES, maxMs: TEN_MINUTES, factor: 1 } },
        payout: { ...FAST_TIMINGS.payout, query: { initialMs: TEN_MINUTES, maxMs: TEN_MINUTES, factor: 1 } },
      },
    });
    api = apiClient(stack);
    acme = stack.merchants[0]!;
    connectors = createConnectors(stack.config.providers);
  });
  after(async () => stack?.stop());

  async function sim(provider: ProviderId, path: string, body: unknown = {}): Promise<Response> {
    const response = await fetch(`${stack.simulators[provider].url}/_sim${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(response.status < 300, `${provider} ${path}: ${response.status} ${await response.clone().text()}`);
    return response;
  }

  async function attempts(provider: ProviderId, reference: string): Promise<Attempt[]> {
    const response = await fetch(
      `${stack.simulators[provider].url}/_sim/callbacks?reference=${encodeURIComponent(reference)}`
    );
    return (await response.json()) as Attempt[];
  }

  async function attemptsAnswered(provider: ProviderId, reference: string, count: number): Promise<Attempt[]> {
    return eventually(
      async () => {
        const found = (await attempts(provider, reference)).filter((a) => a.status !== undefined);
        return found.length >= count ? found : undefined;
      },
      20_000,
      `${count} answered callback(s) from ${provider} for ${reference}`
    );
  }

  async function paymentState(id: string): Promise<PaymentView> {
    const response = await api.get<PaymentView>(`/v1/payments/${id}`, { as: acme });
    assert.equal(response.status, 200, response.text);
    return response.body;
  }

  async function paymentReaches(id: string, status: string): Promise<PaymentView> {
    return eventually(
      async () => {
        const state = await paymentState(id);
        return state.status === status ? state : undefined;
      },
      20_000,
      `payment ${id} to be ${status}`
    );
  }

  async function signalsIn(handle: WorkflowHandle): Promise<number> {
    const history = await handle.fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  }

  async function metric(name: string, labels: Record<string, string>): Promise<number> {
    const response = await fetch(`${stack.apiUrl}/metrics`, { headers: { 'Kasir-Operator-Key': stack.operatorKey } });
    assert.equal(response.status, 200);
    const text = await response.text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  async function createPayment(provider: ProviderId, method: string): Promise<string> {
    const response = await api.post<PaymentView>('/v1/payments', paymentBody({ provider, method, amount: 125_000 }), {
      as: acme,
    });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    assert.equal(response.body.status, 'PENDING');
    return response.body.id;
  }

  /**
   * `bodySigned`: the signature covers the body (Finpay), so its callbacks are `verified`; NICEPAY's covers
   * headers only and BDPay's is read as a hint, so theirs are described with every signal to hide existence.
   */
  const PAYMENT_PROVIDERS: { provider: ProviderId; method: string; ack: RegExp; bodySigned: boolean }[] = [
    { provider: 'finpay', method: 'VA_BCA', ack: /"responseCode":"2000000"/, bodySigned: true },
    { provider: 'nicepay', method: 'EWALLET_OVO', ack: /"responseCode":"2005600"/, bodySigned: false },
    { provider: 'bdpay', method: 'VA_SAMPOERNA', ack: /^SUCCESS$/, bodySigned: false },
  ];

  for (const { provider, method, ack, bodySigned } of PAYMENT_PROVIDERS) {
    describe(`${provider} payment callbacks`, () => {
      it(`signals a valid callback ${bodySigned ? 'alone, without a describe' : 'with a describe beside it'}, and answers in the provider's dialect`, async () => {
        const before = await metric('kasir_callbacks_total', { provider, result: 'accepted' });
        const id = await createPayment(provider, method);
        const describes = countDescribes(stack);
        try {
          await sim(provider, `/orders/${id}/pay`);
          await attemptsAnswered(provider, id, 1);
        } finally {
          describes.stop();
        }
        assert.equal(
          describes.count,
          bodySigned ? 0 : 1,
          bodySigned
            ? 'a verified callback to a running payment costs one call to the server'
            : 'a hint is described whatever its reference, so its cost tells nothing'
        );
        const state = await paymentReaches(id, 'SUCCEEDED');
        assert.ok(state.timeline.some((e) => e.source === 'callback' && e.status === 'SUCCEEDED'));
        const [first] = await attemptsAnswered(provider, id, 1);
        assert.equal(first!.status, 200);
        assert.match(first!.answer ?? '', ack);
        assert.equal(first!.acknowledged, true);
        assert.ok((await metric('kasir_callbacks_total', { provider, result: 'accepted' })) > before);
      });

      it('rejects a forged callback with 401 and signals nothing', async () => {
        const id = await createPayment(provider, method);
        await sim(provider, '/callback-faults', { kind: 'forge', reference: id });
        await sim(provider, `/orders/${id}/pay`);
        const [forged] = await attemptsAnswered(provider, id, 1);
        assert.equal(forged!.forged, true);
        assert.equal(forged!.status, 401);
        assert.equal(forged!.acknowledged, false);
        const handle = stack.client.workflow.getHandle(workflowIdOf('payment', id));
        assert.equal(await signalsIn(handle), 0, 'no signal reached the workflow');
        const state = await paymentState(id);
        assert.equal(state.status, 'PENDING');
        assert.ok(!state.timeline.some((e) => e.source === 'callback'));
      });

      it('treats a duplicate delivery as a no-op', async () => {
        const id = await createPayment(provider, method);
        await sim(provider, '/callback-faults', { kind: 'duplicate', reference: id });
        await sim(provider, `/orders/${id}/pay`);
        const delivered = await attemptsAnswered(provider, id, 2);
        assert.ok(delivered.every((a) => a.status === 200 && a.acknowledged));
        const state = await paymentReaches(id, 'SUCCEEDED');
        const handle = stack.client.workflow.getHandle(workflowIdOf('payment', id));
        assert.equal(await signalsIn(handle), 2, 'both deliveries were signalled');
        // Queries see every signal already in history, so this is the state after both.
        const after = await paymentState(id);
        assert.equal(after.timeline.filter((e) => e.status === 'SUCCEEDED').length, 1);
        assert.equal(after.paidAt, state.paidAt);
      });

      it('answers a reference Kasir never issued so the provider stops retrying', async () => {
        const before = await metric('kasir_callbacks_total', { provider, result: 'unknown_reference' });
        // A well-formed Kasir id with no workflow behind it, registered straight at the provider.
        const stray = deriveId('payment', 'nobody', uniqueRef('STRAY'));
        const payments = connectors[provider].payments!;
        await payments.create({
          reference: stray,
          amount: 125_000,
          method: method as 'VA_BCA',
          customer: { name: 'Stray Customer', email: 'stray@example.co.id', phone: '+6281200000000' },
          description: 'not a Kasir payment',
          expiresInMinutes: 60,
          callbackUrl: `${stack.apiUrl}/callbacks/${provider}`,
          returnUrl: 'https://merchant.example/return',
        });
        await sim(provider, `/orders/${stray}/pay`);
        const [answered] = await attemptsAnswered(provider, stray, 1);
        assert.equal(answered!.status, 200);
        assert.match(answered!.answer ?? '', ack);
        assert.equal(answered!.acknowledged, true, 'the answer stops the retries');
        await assert.rejects(stack.client.workflow.getHandle(workflowIdOf('payment', stray)).describe(), /not found/i);
        assert.ok((await metric('kasir_callbacks_total', { provider, result: 'unknown_reference' })) > before);
      });
    });
  }

  describe('finpay specifics', () => {
    it('answers unknown-reference to a reference that is not a Kasir id at all', async () => {
      const foreign = `FOREIGN${Date.now()}`;
      await connectors.finpay.payments!.create({
        reference: foreign,
        amount: 50_000,
        method: 'VA_BCA',
        customer: { name: 'Someone Else', email: 'else@example.co.id', phone: '+6281200000001' },
        description: 'another system',
        expiresInMinutes: 60,
        callbackUrl: `${stack.apiUrl}/callbacks/finpay`,
      });
      await sim('finpay', `/orders/${foreign}/pay`);
      const [answered] = await attemptsAnswered('finpay', foreign, 1);
      assert.equal(answered!.status, 200);
      assert.equal(answered!.acknowledged, true);
    });

    it("rejects a body that is not JSON in Finpay's dialect (400)", async () => {
      const response = await fetch(`${stack.apiUrl}/callbacks/finpay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: 'not json',
      });
      assert.equal(response.status, 400);
      assert.match(await response.text(), /"responseCode":"4000001"/);
    });

    it('acknowledges a callback for a closed payment and flags success it never recorded as an orphan', async () => {
      const before = await metric('kasir_orphan_callbacks_total', { provider: 'finpay' });
      const id = await createPayment('finpay', 'VA_BCA');
      const handle = stack.client.workflow.getHandle(workflowIdOf('payment', id));
      await handle.terminate('test: the workflow closed before the money arrived');
      await sim('finpay', `/orders/${id}/pay`);
      const [answered] = await attemptsAnswered('finpay', id, 1);
      assert.equal(answered!.status, 200);
      assert.match(answered!.answer ?? '', /2000000/);
      assert.equal(await metric('kasir_orphan_callbacks_total', { provider: 'finpay' }), before + 1);

      // Recorded durably, not only logged: a flagged record operators find, and the merchant is told.
      const records = await eventually(
        async () => {
          const found = [];
          for await (const execution of stack.client.workflow.list({
            query: `WorkflowType = 'lateCallbackWorkflow' AND KasirNeedsAttention = true AND KasirStatus = 'LATE_CALLBACK'`,
          })) {
            if (execution.workflowId === `${workflowIdOf('payment', id)}:late`) found.push(execution);
          }
          return found.length > 0 ? found : undefined;
        },
        20_000,
        'the late-callback record to be listed'
      );
      assert.equal(records.length, 1);
      await recordHistory(
        stack,
        stack.client.workflow.getHandle(records[0]!.workflowId),
        'late-callback',
        'payment-paid-after-close'
      );
      const told = await eventually(
        async () => stack.webhooks.eventsFor(id).find((e) => e.type === 'payment.late_payment'),
        20_000,
        'the merchant to be told of the late payment'
      );
      assert.equal(told.data.needsAttention, true);
      assert.match(String(told.data.attentionReason), /^LATE_CALLBACK/);
      // The event and the payment itself carry the corrected outcome, never the closing one.
      assert.equal(told.data.status, 'SUCCEEDED');
      assert.equal(told.data.paidAmount, 125_000);
      const corrected = await api.get<PaymentView>(`/v1/payments/${id}`, { as: acme });
      assert.equal(corrected.body.status, 'SUCCEEDED');
      assert.equal(corrected.body.needsAttention, true);

      // The provider's retry of the same callback adds no second record and no second event.
      await sim('finpay', `/orders/${id}/callback`);
      await attemptsAnswered('finpay', id, 2);
      let count = 0;
      for await (const execution of stack.client.workflow.list({
        query: `WorkflowType = 'lateCallbackWorkflow' AND KasirMerchant = 'acme'`,
      })) {
        if (execution.workflowId.startsWith(workflowIdOf('payment', id))) count++;
      }
      assert.equal(count, 1);
      assert.equal(stack.webhooks.eventsFor(id).filter((e) => e.type === 'payment.late_payment').length, 1);
      // A record is never listed as a payment; the payment's row shows the corrected outcome, as GET does.
      const listed = await api.get<{ data: PaymentView[] }>(`/v1/payments?limit=100`, { as: acme });
      assert.ok(!listed.body.data.some((p) => p.id.includes(':late')));
      const row = listed.body.data.find((p) => p.id === id);
      assert.deepEqual([row?.status, row?.needsAttention], ['SUCCEEDED', true]);
      const byReference = await api.get<{ data: PaymentView[] }>(
        `/v1/payments?reference=${encodeURIComponent(corrected.body.merchantReference)}`,
        { as: acme }
      );
      assert.deepEqual(
        byReference.body.data.map((p) => [p.id, p.status, p.needsAttention]),
        [[id, 'SUCCEEDED', true]]
      );
    });

    it('acknowledges a repeat callback for a succeeded, closed payment without calling it an orphan', async () => {
      const id = await createPayment('finpay', 'VA_BCA');
      await sim('finpay', `/orders/${id}/pay`);
      await paymentReaches(id, 'SUCCEEDED');
      const handle = stack.client.workflow.getHandle(workflowIdOf('payment', id));
      await eventually(
        async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined),
        20_000,
        'the workflow to close'
      );
      const orphansBefore = await metric('kasir_orphan_callbacks_total', { provider: 'finpay' });
      const closedBefore = await metric('kasir_callbacks_total', { provider: 'finpay', result: 'closed' });
      await sim('finpay', `/orders/${id}/callback`);
      const delivered = await attemptsAnswered('finpay', id, 2);
      assert.equal(delivered.at(-1)!.status, 200);
      assert.equal(await metric('kasir_orphan_callbacks_total', { provider: 'finpay' }), orphansBefore);
      assert.equal(await metric('kasir_callbacks_total', { provider: 'finpay', result: 'closed' }), closedBefore + 1);
    });

    it("records money a routed payment's left provider took after the payment closed paid elsewhere: the merchant can read, list and redeliver the event, and GET flags the payment", async function () {
      this.timeout(60_000);
      // Finpay answers 5xx, then "not found": the payment fails over to BDPay and is paid there.
      await sim('finpay', '/faults', { kind: 'http-5xx', path: '/pg/payment/card/initiate', status: 503, count: 4 });
      const callbackUrl = (p: ProviderId) => `${stack.apiUrl}/callbacks/${p}`;
      const { state, handle } = await startPayment(stack, {
        provider: 'finpay',
        method: 'VA_BCA',
        routing: {
          fallbacks: [{ provider: 'bdpay', callbackUrl: callbackUrl('bdpay') }],
          decision: 'routed to finpay by the VA_BCA rule; fallbacks: bdpay',
        },
      });
      const paymentId = state.id;
      const moved = await paymentReaches(paymentId, 'PENDING');
      await fetch(`${stack.simulators.finpay.url}/_sim/faults`, { method: 'DELETE' });
      assert.equal(moved.provider, 'bdpay');
      await sim('bdpay', `/orders/${paymentId}/pay`);
      await paymentReaches(paymentId, 'SUCCEEDED');
      await eventually(
        async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined),
        20_000,
        'the workflow to close'
      );
      assert.equal((await paymentState(paymentId)).needsAttention, false);

      // The registration Finpay lost lands after all, and the customer pays it there too.
      const late = await connectors.finpay.payments!.create({
        reference: paymentId,
        amount: state.amount,
        method: 'VA_BCA',
        customer: { name: 'Budi Santoso', email: 'budi@example.com', phone: '081286288844' },
        expiresInMinutes: 60,
        description: 'a registration that landed late',
        callbackUrl: callbackUrl('finpay'),
      });
      assert.equal(late.result, 'registered');
      await sim('finpay', `/orders/${paymentId}/pay`);
      const told = await eventually(
        async () => stack.webhooks.eventsFor(paymentId).find((e) => e.type === 'payment.late_payment'),
        20_000,
        'the merchant to be told of the second payment'
      );
      assert.ok(told.id.startsWith(`${workflowIdOf('payment', paymentId)}:late:finpay:`), told.id);

      const one = await api.get<{ id: string; type: string }>(`/v1/events/${encodeURIComponent(told.id)}`, {
        as: acme,
      });
      assert.equal(one.status, 200, one.text);
      assert.equal(one.body.type, 'payment.late_payment');
      const listed = await api.get<{ data: { id: string }[] }>(`/v1/events?movement=${paymentId}`, { as: acme });
      assert.ok(
        listed.body.data.some((e) => e.id === told.id),
        "listed with the payment's events"
      );
      const redelivered = await api.post(`/v1/events/${encodeURIComponent(told.id)}/redeliver`, undefined, {
        as: acme,
      });
      assert.equal(redelivered.status, 200, redelivered.text);
      const asGlobex = await api.get(`/v1/events/${encodeURIComponent(told.id)}`, { as: stack.merchants[1]! });
      assert.equal(asGlobex.status, 404);

      const payment = await paymentState(paymentId);
      assert.equal(payment.status, 'SUCCEEDED');
      assert.equal(payment.needsAttention, true, 'the customer paid twice: the payment needs attention');
      assert.match(payment.attentionReason ?? '', /finpay/);
    });
  });

  describe('bdpay payout callbacks', () => {
    it('settles a payout from its verified callback', async () => {
      const response = await api.post<PayoutView>(
        '/v1/payouts',
        {
          reference: uniqueRef('PO'),
          amount: 250_000,
          feeMode: 'merchant',
          beneficiary: { bankCode: '014', accountNumber: '1234567890', accountName: 'Siti Aminah' },
          description: 'Seller payout',
        },
        { as: acme }
      );
      assert.equal(response.status, 201, JSON.stringify(response.body));
      const id = response.body.id;
      assert.equal(response.body.status, 'PROCESSING');
      await sim('bdpay', `/payouts/${id}/settle`);
      const settled = await eventually(
        async () => {
          const current = await api.get<PayoutView>(`/v1/payouts/${id}`, { as: acme });
          return current.body.status === 'SUCCEEDED' ? current.body : undefined;
        },
        20_000,
        'payout SUCCEEDED'
      );
      assert.ok(settled.timeline.some((e) => e.source === 'callback'));
      const [answered] = await attemptsAnswered('bdpay', id, 1);
      assert.equal(answered!.answer, 'SUCCESS');
    });
  });

  describe('ayopop bill callbacks (unsigned: hints confirmed by status)', () => {
    async function processingBill(): Promise<{ id: string; total: number }> {
      const inquiry = await api.post<BillView>(
        '/v1/bills/inquiries',
        {
          reference: uniqueRef('BILL'),
          productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
          accountNumber: AYOPOP_SIM_ACCOUNTS.staysProcessing,
        },
        { as: acme }
      );
      assert.equal(inquiry.status, 201, JSON.stringify(inquiry.body));
      const id = inquiry.body.id;
      const paid = await api.post<BillView>(
        '/v1/bills/payments',
        { billId: id, expectedTotal: inquiry.body.total },
        { as: acme }
      );
      assert.equal(paid.status, 200, JSON.stringify(paid.body));
      assert.equal(paid.body.status, 'PROCESSING');
      return { id, total: inquiry.body.total! };
    }

    async function billReaches(id: string, status: string): Promise<BillView> {
      return eventually(
        async () => {
          const current = await api.get<BillView>(`/v1/bills/payments/${id}`, { as: acme });
          return current.body.status === status ? current.body : undefined;
        },
        20_000,
        `bill ${id} ${status}`
      );
    }

    it('takes an unsigned success for a closed bill that never paid as nothing: acknowledged, no record, nobody flagged', async () => {
      const inquiry = await api.post<BillView>(
        '/v1/bills/inquiries',
        {
          reference: uniqueRef('BILL'),
          productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
          accountNumber: AYOPOP_SIM_ACCOUNTS.billNotAvailable,
        },
        { as: acme }
      );
      assert.equal(inquiry.body.status, 'INQUIRY_FAILED', inquiry.text);
      const id = inquiry.body.id;
      const handle = stack.client.workflow.getHandle(workflowIdOf('bill', id));
      await eventually(
        async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined),
        20_000,
        'the bill to close'
      );
      // Anyone can send this: Ayopop's callbacks carry no signature.
      const forged = {
        responseCode: 0,
        success: true,
        message: { ID: 'Sukses', EN: 'Success' },
        data: { refNumber: id, token: 'FORGED', amount: 1 },
      };
      const closedBefore = await metric('kasir_callbacks_total', { provider: 'ayopop', result: 'closed' });
      const response = await fetch(`${stack.apiUrl}/callbacks/ayopop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(forged),
      });
      assert.equal(response.status, 200);
      assert.equal(await metric('kasir_callbacks_total', { provider: 'ayopop', result: 'closed' }), closedBefore + 1);
      await assert.rejects(stack.client.workflow.getHandle(`${handle.workflowId}:late`).describe(), /not found/i);
      assert.equal((await api.get<BillView>(`/v1/bills/payments/${id}`, { as: acme })).body.needsAttention, false);
    });

    it('signals a valid callback, answers HTTP 200, and the bill succeeds once confirmed', async () => {
      const { id } = await processingBill();
      await sim('ayopop', `/orders/${id}/succeed`);
      const bill = await billReaches(id, 'SUCCEEDED');
      assert.ok(bill.token);
      const [answered] = await attemptsAnswered('ayopop', id, 1);
      assert.equal(answered!.status, 200);
      assert.equal(answered!.acknowledged, true);
      assert.ok((await signalsIn(stack.client.workflow.getHandle(workflowIdOf('bill', id)))) >= 1);
    });

    it('never trusts a forged (unsigned) success: the bill stays PROCESSING until the provider confirms', async () => {
      const { id } = await processingBill();
      const handle = stack.client.workflow.getHandle(workflowIdOf('bill', id));
      const forged = {
        responseCode: 0,
        success: true,
        message: { ID: 'Sukses', EN: 'Success' },
        data: { refNumber: id, token: 'FORGED-TOKEN-0000' },
      };
      const response = await fetch(`${stack.apiUrl}/callbacks/ayopop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(forged),
      });
      assert.equal(response.status, 200);
      // Wait until the workflow has checked the hint with the provider (a status call after the signal).
      await eventually(
        async () => {
          const events = (await handle.fetchHistory()).events ?? [];
          const signalled = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes);
          const checked = events.findIndex(
            (e, i) => i > signalled && e.activityTaskScheduledEventAttributes?.activityType?.name === 'billStatus'
          );
          const completed = checked >= 0 && events.slice(checked).some((e) => e.activityTaskCompletedEventAttributes);
          return signalled >= 0 && completed ? true : undefined;
        },
        20_000,
        'the hint to be checked by status'
      );
      const bill = (await api.get<BillView>(`/v1/bills/payments/${id}`, { as: acme })).body;
      assert.equal(bill.status, 'PROCESSING');
      assert.equal(bill.token, undefined);

      await sim('ayopop', `/orders/${id}/succeed`);
      const succeeded = await billReaches(id, 'SUCCEEDED');
      assert.notEqual(succeeded.token, 'FORGED-TOKEN-0000');
    });

    it('treats a duplicate delivery as a no-op', async () => {
      const { id } = await processingBill();
      await sim('ayopop', '/callback-faults', { kind: 'duplicate', reference: id });
      await sim('ayopop', `/orders/${id}/succeed`);
      const delivered = await attemptsAnswered('ayopop', id, 2);
      assert.ok(delivered.every((a) => a.status === 200));
      const bill = await billReaches(id, 'SUCCEEDED');
      assert.equal(bill.timeline.filter((e) => e.status === 'SUCCEEDED').length, 1);
    });

    it('answers 200 to a callback for a bill Kasir never issued, so Ayopop stops retrying', async () => {
      const stray = deriveId('bill', 'nobody', uniqueRef('STRAY'));
      const bills = connectors.ayopop.bills!;
      const inquiry = await bills.inquire({
        productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
        accountNumber: AYOPOP_SIM_ACCOUNTS.staysProcessing,
      });
      assert.equal(inquiry.result, 'ok');
      if (inquiry.result !== 'ok') return;
      await bills.pay({
        reference: stray,
        inquiryId: inquiry.inquiryId,
        productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
        accountNumber: AYOPOP_SIM_ACCOUNTS.staysProcessing,
        amount: inquiry.amount,
        callbackUrl: `${stack.apiUrl}/callbacks/ayopop`,
      });
      await sim('ayopop', `/orders/${stray}/succeed`);
      const [answered] = await attemptsAnswered('ayopop', stray, 1);
      assert.equal(answered!.status, 200);
      assert.equal(answered!.acknowledged, true);
    });

    it('answers an unsigned callback identically, after the same Temporal round trips, whether Kasir knows the reference or not', async () => {
      const { id } = await processingBill();
      // Counts the Temporal calls each request makes (every one goes through `withDeadline`), each slowed
      // down so that a path skipping Temporal would also stand out by its time.
      let calls = 0;
      const delayMs = 150;
      const counting = new Proxy(stack.client, {
        get(target, prop) {
          if (prop === 'withDeadline') {
            return async <R>(deadline: number, fn: () => Promise<R>): Promise<R> => {
              calls++;
              await new Promise((resolve) => setTimeout(resolve, delayMs));
              return target.withDeadline(deadline, fn);
            };
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      const server = await listen(createApp({ client: counting, config: stack.config, connectors }));
      try {
        const probe = async (refNumber: string) => {
          calls = 0;
          const started = Date.now();
          const response = await fetch(`${server.url}/callbacks/ayopop`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              responseCode: 0,
              success: true,
              message: { ID: 'Sukses', EN: 'Success' },
              data: { refNumber, token: 'PROBE-TOKEN-0000' },
            }),
          });
          const answer = {
            status: response.status,
            contentType: response.headers.get('content-type'),
            body: await response.text(),
            calls,
          };
          return { answer, ms: Date.now() - started };
        };
        const known = await probe(id);
        assert.equal(known.answer.status, 200, known.answer.body);
        const probes = {
          'an unknown bill id': await probe(deriveId('bill', 'nobody', uniqueRef('STRAY'))),
          'a reference that is not a Kasir id': await probe(`FOREIGN-${Date.now()}`),
          "another kind's id": await probe(deriveId('payment', acme.id, uniqueRef('P'))),
        };
        for (const [name, { answer, ms }] of Object.entries(probes)) {
          assert.deepEqual(
            answer,
            known.answer,
            `${name}: the same answer, byte for byte, and the same Temporal calls`
          );
          assert.ok(ms >= delayMs, `${name}: answered in ${ms} ms, without the Temporal round trip`);
        }
      } finally {
        await server.close();
      }
    });

    it("rejects a body that does not parse in Ayopop's dialect (400)", async () => {
      const response = await fetch(`${stack.apiUrl}/callbacks/ayopop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"responseCode":"zero"}',
      });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { success: boolean }).success, false);
    });
  });

  it('answers 404 for a provider Kasir does not know', async () => {
    const response = await fetch(`${stack.apiUrl}/callbacks/xendit`, { method: 'POST', body: '{}' });
    assert.equal(response.status, 404);
    const body = (await response.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'unknown_provider');
  });

  describe('merchant webhooks', () => {
    it('are signed so that verifyWebhookSignature accepts them and rejects tampering, other secrets and replays', async () => {
      const id = await createPayment('finpay', 'VA_BCA');
      await sim('finpay', `/orders/${id}/pay`);
      const delivery = await eventually(
        () => stack.webhooks.received.find((r) => r.event.data.id === id && r.event.type === 'payment.succeeded'),
        20_000,
        'the payment.succeeded webhook'
      );
      const header = delivery.headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()];
      assert.equal(typeof header, 'string');
      const signature = header as string;
      assert.doesNotThrow(() => verifyWebhookSignature(delivery.rawBody, signature, acme.webhookSecret));
      assert.equal(delivery.event.merchantId, 'acme');
      // `<workflow id>:<run id>:<sequence>`: unique even after a reset or for a movement re-created after retention.
      assert.match(delivery.event.id, new RegExp(`^payment:${id}:[0-9a-f-]{36}:\\d+$`));
      assert.equal(delivery.headers['kasir-event-id'], delivery.event.id);

      const tampered = delivery.rawBody.replace('"SUCCEEDED"', '"FAILED"');
      assert.throws(() => verifyWebhookSignature(tampered, signature, acme.webhookSecret), WebhookSignatureError);
      assert.throws(
        () => verifyWebhookSignature(delivery.rawBody, signature, stack.merchants[1]!.webhookSecret),
        WebhookSignatureError
      );
      const later = Math.floor(Date.now() / 1000) + 3600;
      assert.throws(
        () => verifyWebhookSignature(delivery.rawBody, signature, acme.webhookSecret, { nowSeconds: later }),
        /tolerance/
      );
      assert.throws(() => verifyWebhookSignature(delivery.rawBody, undefined, acme.webhookSecret), /missing/);

      const ids = stack.webhooks.eventsFor(id).map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, 'event ids are unique, for deduplication');
    });
  });
});
