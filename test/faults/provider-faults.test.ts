/**
 * Provider faults end to end, through the merchant API: missing, duplicate, late, out-of-order and
 * forged callbacks; answers slower than the client's timeout; accepted-then-dropped money movements.
 * Each scenario asserts issue 9's invariants: the movement reaches one terminal state (or is
 * explicitly flagged), money moved at the provider at most once (simulator counters), and the
 * merchant receives exactly one terminal webhook.
 */
import assert from 'node:assert/strict';
import type { BillView, PaymentView, PayoutView } from '../../src/api/schemas';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import type { ProviderId } from '../../src/domain/provider';
import { apiClient, paymentBody, uniqueRef } from '../api/http';
import { simControl, simGet } from '../helpers/movements';
import { FAST_TIMINGS, eventually, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';

/** The providers' HTTP client timeout in this file; `slow` faults hold answers back past it. */
const CLIENT_TIMEOUT_MS = 1_000;
const SLOW_MS = 2_500;
const TEN_MINUTES = 10 * 60_000;
const FAST_POLL = { initialMs: 500, maxMs: 1_000, factor: 2 };
const NO_POLL = { initialMs: TEN_MINUTES, maxMs: TEN_MINUTES, factor: 1 };

describe('provider faults through the API', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({
      api: true,
      startWorker: false,
      timings: {
        payment: { ...FAST_TIMINGS.payment, poll: FAST_POLL },
        payout: { query: { initialMs: 300, maxMs: 1_000, factor: 2 }, attentionAfterMs: 120_000 },
        bill: {
          ...FAST_TIMINGS.bill,
          firstStatusCheckMs: 500,
          statusPoll: { initialMs: 300, maxMs: 1_000, factor: 2 },
        },
      },
    });
    // A short client timeout for every provider, so `slow` answers time out in a second. The worker
    // builds its connectors from this (shared) config when it starts.
    for (const provider of Object.values(stack.config.providers) as { timeoutMs?: number }[])
      provider.timeoutMs = CLIENT_TIMEOUT_MS;
    await stack.startWorker();
    api = apiClient(stack);
    acme = stack.merchants[0]!;
  });
  after(async () => stack?.stop());
  afterEach(async () => {
    for (const s of Object.values(stack.simulators)) await fetch(`${s.url}/_sim/faults`, { method: 'DELETE' });
    stack.config.timings.payment.poll = FAST_POLL;
  });

  /** Payments created from now on poll (or never poll) at these intervals: the API bakes timings in. */
  function paymentPolls(poll: typeof FAST_POLL): void {
    stack.config.timings.payment.poll = poll;
  }

  async function sim(provider: ProviderId, path: string, body: unknown = {}): Promise<unknown> {
    return simControl(stack.simulators[provider].url, `/_sim${path}`, body);
  }

  async function createPayment(overrides: Record<string, unknown> = {}): Promise<PaymentView> {
    const response = await api.post<PaymentView>(
      '/v1/payments',
      paymentBody({ provider: 'finpay', method: 'VA_BCA', ...overrides }),
      { as: acme }
    );
    assert.ok([200, 201, 202].includes(response.status), `${response.status} ${response.text}`);
    return response.body;
  }

  async function payment(id: string): Promise<PaymentView> {
    const response = await api.get<PaymentView>(`/v1/payments/${id}`, { as: acme });
    assert.equal(response.status, 200, response.text);
    return response.body;
  }

  async function reaches<T extends { status: string }>(
    read: () => Promise<T>,
    status: string,
    what: string,
    timeoutMs = 30_000
  ): Promise<T> {
    return eventually(
      async () => {
        const state = await read();
        return state.status === status ? state : undefined;
      },
      timeoutMs,
      `${what} to be ${status}`
    );
  }

  /** Waits for the terminal webhook, lets stragglers arrive, and asserts there is exactly one. */
  async function oneTerminalWebhook(id: string, type: string): Promise<void> {
    await eventually(
      () => (stack.webhooks.eventsFor(id).some((e) => e.type === type) ? true : undefined),
      30_000,
      `${type} webhook for ${id}`
    );
    await new Promise((r) => setTimeout(r, 1_500));
    const terminal = stack.webhooks.eventsFor(id).filter((e) => e.type === type);
    assert.equal(new Set(terminal.map((e) => e.id)).size, 1, `one ${type} event for ${id}`);
  }

  async function callbackAttempts(
    provider: ProviderId,
    reference: string
  ): Promise<{ status?: number; forged: boolean; acknowledged: boolean }[]> {
    return simGet(stack.simulators[provider].url, `/_sim/callbacks?reference=${encodeURIComponent(reference)}`);
  }

  it('settles a payment whose callback never comes, by polling', async () => {
    const created = await createPayment();
    assert.equal(created.status, 'PENDING');
    await sim('finpay', '/callback-faults', { kind: 'suppress', reference: created.id });
    await sim('finpay', `/orders/${created.id}/pay`);
    const settled = await reaches(() => payment(created.id), 'SUCCEEDED', 'payment');
    assert.ok(
      settled.timeline.some((e) => e.source === 'poll' && e.status === 'SUCCEEDED'),
      JSON.stringify(settled.timeline)
    );
    assert.equal((await callbackAttempts('finpay', created.id)).length, 0, 'no callback was sent');
    await oneTerminalWebhook(created.id, 'payment.succeeded');
  });

  it('retries a status check whose answer comes after the client timeout', async () => {
    const created = await createPayment();
    await sim('finpay', '/callback-faults', { kind: 'suppress', reference: created.id });
    await sim('finpay', '/faults', { kind: 'slow', path: '/pg/payment/card/check', delayMs: SLOW_MS, count: 2 });
    await sim('finpay', `/orders/${created.id}/pay`);
    const settled = await reaches(() => payment(created.id), 'SUCCEEDED', 'payment', 45_000);
    assert.ok(settled.timeline.some((e) => e.source === 'poll' && e.status === 'SUCCEEDED'));
    await oneTerminalWebhook(created.id, 'payment.succeeded');
  });

  it('tracks the very order Finpay holds when registration answers after the client timeout', async () => {
    await sim('finpay', '/faults', { kind: 'slow', path: '/pg/payment/card/initiate', delayMs: SLOW_MS });
    const body = paymentBody({ provider: 'finpay', method: 'VA_BCA', expiresInMinutes: 1440 });
    const response = await api.post<PaymentView>('/v1/payments', body, { as: acme });
    assert.ok(response.status < 500, `${response.status} ${response.text}`);
    const id = response.body.id;
    const submissions = await simGet<Record<string, number>>(stack.simulators.finpay.url, '/_sim/submissions');
    // The slow answer is lost to the client timeout; the re-sent order id is refused as a duplicate, and
    // the status check gives the VA number back: Kasir tracks the very order the customer can pay.
    const registered = await reaches(() => payment(id), 'PENDING', 'payment');
    const order = await simGet<{ status: string; paymentCode: string }>(
      stack.simulators.finpay.url,
      `/_sim/orders/${id}`
    );
    assert.equal(registered.instructions?.vaNumber, order.paymentCode);
    await sim('finpay', `/orders/${id}/pay`);
    await reaches(() => payment(id), 'SUCCEEDED', 'payment');
    await oneTerminalWebhook(id, 'payment.succeeded');
    assert.ok((submissions[`initiate:${id}`] ?? 0) >= 1);
  });

  it('resolves an accepted-then-dropped BDPay payout by query: UNKNOWN, then settled, submitted once', async () => {
    await sim('bdpay', '/faults', { kind: 'accept-then-drop', path: '/gateway/cash' });
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
    assert.ok([200, 201, 202].includes(response.status), `${response.status} ${response.text}`);
    const id = response.body.id;
    const read = async () => (await api.get<PayoutView>(`/v1/payouts/${id}`, { as: acme })).body;
    const states = new Set<string>([response.body.status]);
    await eventually(
      async () => {
        const state = await read();
        states.add(state.status);
        return state.timeline.some((e) => e.status === 'UNKNOWN') || state.status === 'UNKNOWN' ? true : undefined;
      },
      20_000,
      'the payout to be UNKNOWN'
    );
    // The query finds it at BDPay, processing; the provider then settles it.
    await eventually(
      async () => ((await read()).status === 'PROCESSING' ? true : undefined),
      20_000,
      'the query to find the payout'
    );
    await sim('bdpay', `/payouts/${id}/settle`);
    const settled = await reaches(read, 'SUCCEEDED', 'payout');
    assert.equal(settled.needsAttention ?? false, false);
    const submissions = await simGet<Record<string, number>>(stack.simulators.bdpay.url, '/_sim/submissions');
    assert.equal(submissions[id], 1, 'the payout reached BDPay exactly once');
    await oneTerminalWebhook(id, 'payout.succeeded');
  });

  it('takes duplicate and late (after settlement by poll) callbacks as no-ops: one terminal state, one webhook', async () => {
    const created = await createPayment();
    await sim('finpay', '/callback-faults', { kind: 'duplicate', reference: created.id });
    await sim('finpay', '/callback-faults', { kind: 'delay', reference: created.id, delayMs: 4_000 });
    await sim('finpay', `/orders/${created.id}/pay`);
    // Polling settles it first; the late callback, twice, arrives after.
    const settled = await reaches(() => payment(created.id), 'SUCCEEDED', 'payment');
    assert.ok(settled.timeline.some((e) => e.source === 'poll' && e.status === 'SUCCEEDED'));
    const delivered = await eventually(
      async () => {
        const attempts = (await callbackAttempts('finpay', created.id)).filter((a) => a.status !== undefined);
        return attempts.length >= 2 ? attempts : undefined;
      },
      20_000,
      'both late deliveries'
    );
    assert.ok(
      delivered.every((a) => a.status === 200 && a.acknowledged),
      JSON.stringify(delivered)
    );
    const after = await payment(created.id);
    assert.equal(after.status, 'SUCCEEDED');
    assert.equal(after.timeline.filter((e) => e.status === 'SUCCEEDED').length, 1);
    assert.equal(after.paidAt, settled.paidAt);
    await oneTerminalWebhook(created.id, 'payment.succeeded');
  });

  it('takes a duplicated payout callback as a no-op', async () => {
    const response = await api.post<PayoutView>(
      '/v1/payouts',
      {
        reference: uniqueRef('PO'),
        amount: 120_000,
        feeMode: 'merchant',
        beneficiary: { bankCode: '014', accountNumber: '1234567891', accountName: 'Siti Aminah' },
        description: 'Seller payout',
      },
      { as: acme }
    );
    assert.ok([200, 201, 202].includes(response.status), `${response.status} ${response.text}`);
    const id = response.body.id;
    await sim('bdpay', '/callback-faults', { kind: 'duplicate', reference: id });
    await sim('bdpay', `/payouts/${id}/settle`);
    const read = async () => (await api.get<PayoutView>(`/v1/payouts/${id}`, { as: acme })).body;
    await reaches(read, 'SUCCEEDED', 'payout');
    await eventually(
      async () =>
        (await callbackAttempts('bdpay', id)).filter((a) => a.status !== undefined).length >= 2 ? true : undefined,
      20_000,
      'both deliveries'
    );
    const after = await read();
    assert.equal(after.timeline.filter((e) => e.status === 'SUCCEEDED').length, 1);
    assert.equal((await simGet<Record<string, number>>(stack.simulators.bdpay.url, '/_sim/submissions'))[id], 1);
    await oneTerminalWebhook(id, 'payout.succeeded');
  });

  it('refuses a forged callback (401, no change of state); the real one later settles the payment', async () => {
    paymentPolls(NO_POLL); // only callbacks move this payment
    const created = await createPayment();
    await sim('finpay', '/callback-faults', { kind: 'forge', reference: created.id });
    await sim('finpay', `/orders/${created.id}/pay`);
    const [forged] = await eventually(
      async () => {
        const attempts = (await callbackAttempts('finpay', created.id)).filter((a) => a.status !== undefined);
        return attempts.length >= 1 ? attempts : undefined;
      },
      20_000,
      'the forged delivery'
    );
    assert.equal(forged!.forged, true);
    assert.equal(forged!.status, 401);
    const unchanged = await payment(created.id);
    assert.equal(unchanged.status, 'PENDING');
    assert.ok(!unchanged.timeline.some((e) => e.source === 'callback'));
    assert.equal(stack.webhooks.eventsFor(created.id).filter((e) => e.type === 'payment.succeeded').length, 0);

    await sim('finpay', `/orders/${created.id}/callback`); // the provider sends the genuine callback
    const settled = await reaches(() => payment(created.id), 'SUCCEEDED', 'payment');
    assert.ok(settled.timeline.some((e) => e.source === 'callback' && e.status === 'SUCCEEDED'));
    await oneTerminalWebhook(created.id, 'payment.succeeded');
  });

  it('resolves an Ayopop bill payment whose answer was dropped by status, with one payment at Ayopop', async () => {
    const inquiry = await api.post<BillView>(
      '/v1/bills/inquiries',
      {
        reference: uniqueRef('BILL'),
        productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
        accountNumber: AYOPOP_SIM_ACCOUNTS.staysProcessing,
      },
      { as: acme }
    );
    assert.equal(inquiry.status, 201, inquiry.text);
    const id = inquiry.body.id;
    await sim('ayopop', '/faults', { kind: 'accept-then-drop', path: '/api/v2/bill/payment' });
    await sim('ayopop', '/callback-faults', { kind: 'suppress', reference: id }); // only status can settle it
    const paid = await api.post<BillView>(
      '/v1/bills/payments',
      { billId: id, expectedTotal: inquiry.body.total },
      { as: acme }
    );
    assert.ok(paid.status < 500, `${paid.status} ${paid.text}`);
    const read = async () => (await api.get<BillView>(`/v1/bills/payments/${id}`, { as: acme })).body;
    await reaches(read, 'PROCESSING', 'bill');
    await sim('ayopop', `/orders/${id}/succeed`);
    const settled = await reaches(read, 'SUCCEEDED', 'bill');
    assert.ok(settled.token);
    assert.equal((await callbackAttempts('ayopop', id)).length, 0, 'no callback: status resolved it');
    const submissions = await simGet<Record<string, number>>(stack.simulators.ayopop.url, '/_sim/submissions');
    assert.equal(submissions[id], 1, 'the bill payment reached Ayopop exactly once');
    await oneTerminalWebhook(id, 'bill.succeeded');
  });
});
