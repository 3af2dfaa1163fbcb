import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OPERATOR_KEY_HEADER } from '../../src/api/middleware/auth';
import type { EventList, EventView, PaymentView, RedeliveryResult } from '../../src/api/schemas';
import { verifyWebhookSignature } from '../../src/webhooks/signature';
import { KasirWebhookFailing } from '../../workflows/search-attributes';
import { recordHistory } from '../helpers/histories';
import { eventually, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';
import { apiClient, paramsOf, paymentBody } from './http';

describe('merchant API: events and redelivery', function () {
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;
  let globex: TestMerchant;

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({
      api: true,
      timings: { webhook: { initialIntervalMs: 200, maxIntervalMs: 1_000, failingAfterMs: 1_500 } },
    });
    api = apiClient(stack);
    [acme, globex] = stack.merchants as [TestMerchant, TestMerchant];
  });
  after(async () => stack?.stop());
  afterEach(() => {
    stack.webhooks.failNext = 0;
  });

  async function createPayment(as: TestMerchant): Promise<PaymentView> {
    const created = await api.post<PaymentView>('/v1/payments', paymentBody(), { as });
    assert.equal(created.status, 201, created.text);
    return created.body;
  }

  async function pay(payment: PaymentView): Promise<void> {
    const paid = await fetch(`${stack.simulators.finpay.url}/_sim/orders/${payment.id}/pay`, { method: 'POST' });
    assert.equal(paid.status, 200, await paid.text());
  }

  /** The movement's events once every one of them reached `status`. */
  function eventsOf(payment: PaymentView, as: TestMerchant, count: number, status = 'delivered'): Promise<EventView[]> {
    return eventually(
      async () => {
        const page = await api.get<EventList>(`/v1/events?movement=${payment.id}`, { as });
        assert.equal(page.status, 200, page.text);
        const events = page.body.data;
        return events.length === count && events.every((e) => e.deliveryStatus === status) && events;
      },
      20_000,
      `${count} ${status} events of ${payment.id}`
    );
  }

  const operator = () => ({ headers: { [OPERATOR_KEY_HEADER]: stack.operatorKey } });

  it('lists the merchant’s events, filtered by type, movement and delivery status', async () => {
    const paid = await createPayment(acme);
    await pay(paid);
    const open = await createPayment(acme);
    const other = await createPayment(globex);

    const events = await eventsOf(paid, acme, 2);
    assert.deepEqual(events.map((e) => e.type).sort(), ['payment.pending', 'payment.succeeded']);
    for (const event of events) {
      assert.equal(event.object, 'event');
      assert.deepEqual(event.movement, { kind: 'payment', id: paid.id });
      assert.equal(event.merchantId, acme.id);
      assert.equal(event.data.id, paid.id);
      assert.equal(event.attemptCount, 1);
      assert.equal(event.attempts[0]?.status, 200);
      assert.ok(event.deliveredAt);
    }
    assert.ok(events[0]!.createdAt >= events[1]!.createdAt, 'newest first');
    await eventsOf(open, acme, 1);

    // Without `movement`: the merchant's recent movements, from visibility (eventually consistent).
    const all = await eventually(async () => {
      const page = await api.get<EventList>('/v1/events?limit=50', { as: acme });
      const ids = new Set(page.body.data.map((e) => e.movement.id));
      return ids.has(paid.id) && ids.has(open.id) && page.body;
    });
    assert.ok(all.data.every((e) => e.merchantId === acme.id));
    assert.ok(!all.data.some((e) => e.movement.id === other.id), 'never another merchant’s events');

    const succeeded = await api.get<EventList>('/v1/events?type=payment.succeeded&limit=50', { as: acme });
    assert.ok(succeeded.body.data.length > 0);
    assert.ok(succeeded.body.data.every((e) => e.type === 'payment.succeeded'));
    assert.ok(succeeded.body.data.some((e) => e.movement.id === paid.id));

    const delivered = await api.get<EventList>(`/v1/events?movement=${open.id}&delivery_status=delivered`, {
      as: acme,
    });
    assert.equal(delivered.body.data.length, 1);
    const failing = await api.get<EventList>(`/v1/events?movement=${open.id}&delivery_status=failing`, { as: acme });
    assert.equal(failing.body.data.length, 0);

    // Another merchant's movement lists nothing; its events are not found.
    const foreign = await api.get<EventList>(`/v1/events?movement=${other.id}`, { as: acme });
    assert.equal(foreign.status, 200);
    assert.deepEqual(foreign.body.data, []);

    // A page of one movement, then the next, with a token bound to the filters.
    const first = await api.get<EventList>('/v1/events?limit=1', { as: acme });
    assert.equal(first.status, 200);
    assert.equal(first.body.hasMore, true);
    const second = await api.get<EventList>(`/v1/events?limit=1&page_token=${first.body.nextPageToken}`, { as: acme });
    assert.equal(second.status, 200, second.text);
    const crossed = await api.get<EventList>(
      `/v1/events?limit=1&type=payment.pending&page_token=${first.body.nextPageToken}`,
      { as: acme }
    );
    assert.equal(crossed.status, 400);
    assert.deepEqual(paramsOf(crossed), ['page_token']);

    for (const [query, param] of [
      ['type=Payment%20paid', 'type'],
      ['movement=nope', 'movement'],
      ['delivery_status=lost', 'delivery_status'],
      ['limit=0', 'limit'],
    ] as const) {
      const bad = await api.get(`/v1/events?${query}`, { as: acme });
      assert.equal(bad.status, 400, query);
      assert.deepEqual(paramsOf(bad), [param], query);
    }
  });

  it('reads the attempts of an event that failed twice, then was delivered', async () => {
    stack.webhooks.failNext = 2;
    const payment = await createPayment(acme);
    const [event] = await eventsOf(payment, acme, 1);
    const read = await api.get<EventView>(`/v1/events/${event!.id}`, { as: acme });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.deliveryStatus, 'delivered');
    assert.equal(read.body.attemptCount, 3);
    assert.deepEqual(
      read.body.attempts.map((a) => a.status),
      [503, 503, 200]
    );
    assert.deepEqual(
      read.body.attempts.map((a) => a.attempt),
      [1, 2, 3]
    );
    for (const attempt of read.body.attempts) {
      assert.ok(Number.isInteger(attempt.latencyMs) && attempt.latencyMs >= 0);
      assert.ok(!Number.isNaN(Date.parse(attempt.at)));
    }

    assert.equal((await api.get(`/v1/events/${event!.id}`, { as: globex })).status, 404);
    assert.equal(
      (await api.get(`/v1/events/${event!.id}`, operator())).status,
      401,
      'the merchant route takes merchants'
    );
    assert.equal((await api.get<EventView>(`/v1/operator/events/${event!.id}`, operator())).status, 200);
    assert.equal((await api.get(`/v1/events/payment:nope:1`, { as: acme })).status, 404);
  });

  it('redelivers an event for its merchant and for an operator, never for another merchant', async () => {
    const payment = await createPayment(acme);
    const [event] = await eventsOf(payment, acme, 1);
    const before = stack.webhooks.received.length;

    const mine = await api.post<RedeliveryResult>(`/v1/events/${event!.id}/redeliver`, undefined, { as: acme });
    assert.equal(mine.status, 200, mine.text);
    assert.equal(mine.body.delivered, true);
    assert.equal(mine.body.attempt.status, 200);
    assert.equal(mine.body.recorded, true);
    const sent = stack.webhooks.received.slice(before);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.headers['kasir-event-id'], event!.id);
    assert.equal(sent[0]!.headers['kasir-redelivery'], 'true');
    assert.equal(sent[0]!.event.id, event!.id);
    verifyWebhookSignature(sent[0]!.rawBody, sent[0]!.headers['kasir-signature'] as string, acme.webhookSecret);

    assert.equal((await api.post(`/v1/events/${event!.id}/redeliver`, undefined, { as: globex })).status, 404);
    assert.equal((await api.post(`/v1/operator/events/${event!.id}/redeliver`, undefined, { as: acme })).status, 401);

    stack.webhooks.failNext = 1;
    const byOperator = await api.post<RedeliveryResult>(
      `/v1/operator/events/${event!.id}/redeliver`,
      undefined,
      operator()
    );
    assert.equal(byOperator.status, 200, byOperator.text);
    assert.equal(byOperator.body.delivered, false);
    assert.equal(byOperator.body.attempt.status, 503);

    const read = await api.get<EventView>(`/v1/events/${event!.id}`, { as: acme });
    assert.equal(read.body.attemptCount, 3);
    assert.deepEqual(
      read.body.attempts.map((a) => [a.status, a.redelivery ?? false]),
      [
        [200, false],
        [200, true],
        [503, true],
      ]
    );
    assert.equal(read.body.deliveryStatus, 'delivered');
  });

  it('flags the movement while the merchant’s endpoint fails, and clears the flag once delivered', async function () {
    this.timeout(60_000);
    stack.webhooks.failNext = 1_000_000;
    const payment = await createPayment(acme);
    const handle = stack.client.workflow.getHandle(`payment:${payment.id}`);

    await eventually(
      async () => (await handle.describe()).typedSearchAttributes.get(KasirWebhookFailing) === true,
      20_000,
      'KasirWebhookFailing = true'
    );
    const [event] = await eventsOf(payment, acme, 1, 'failing');
    // Between two retries (not while one runs), the next one's time is known too.
    const failing = await eventually(async () => {
      const read = await api.get<EventView>(`/v1/events/${event!.id}`, { as: acme });
      return read.body.nextAttemptAt !== undefined && read.body;
    });
    assert.equal(failing.deliveryStatus, 'failing');
    assert.ok(failing.attemptCount >= 2, JSON.stringify(failing));
    assert.ok(failing.attempts.length >= 1 && failing.attempts.every((a) => a.status === 503));

    const flagged = await eventually(async () => {
      const list = await api.get<{ data: { merchantId: string; movements: string[] }[] }>(
        '/v1/operator/webhooks/failing',
        operator()
      );
      return list.body.data.find((m) => m.merchantId === acme.id && m.movements.includes(handle.workflowId));
    });
    assert.ok(flagged);

    stack.webhooks.failNext = 0;
    await eventually(
      async () => (await handle.describe()).typedSearchAttributes.get(KasirWebhookFailing) === false,
      20_000,
      'KasirWebhookFailing = false'
    );
    const [delivered] = await eventsOf(payment, acme, 1);
    assert.equal(delivered!.attempts.at(-1)?.status, 200);
    assert.ok(delivered!.attemptCount >= 3);
    // One count across the delivery that raised the flag and the one after it: no number repeats or is skipped.
    const numbers = delivered!.attempts.map((a) => a.attempt);
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => delivered!.attemptCount - numbers.length + 1 + i),
      JSON.stringify(delivered!.attempts)
    );

    await pay(payment);
    await recordHistory(stack, handle, 'payment', 'webhook-failing-flag');
    await recordHistory(stack, handle, 'payment', 'webhook-failing-raised-by-attempts');
  });

  it('keeps the attempts of the delivery that raised the failing flag, and numbers on from them', async function () {
    this.timeout(30_000);
    // An endpoint that answers 503 only after 2 s: the first attempt ends past the 1.5 s deadline, and the
    // next delivery's first attempt runs just as long before it has anything of its own to show.
    const slow = http.createServer(
      (_req, res) => void setTimeout(() => res.writeHead(503).end('slow and down'), 2_000)
    );
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const target = stack.config.merchants.find((m) => m.id === acme.id)!;
    const sinkUrl = target.webhookUrl;
    target.webhookUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/webhooks`;
    try {
      const payment = await createPayment(acme);
      const handle = stack.client.workflow.getHandle(`payment:${payment.id}`);
      await eventually(
        async () => (await handle.describe()).typedSearchAttributes.get(KasirWebhookFailing) === true,
        30_000,
        'KasirWebhookFailing = true'
      );
      const [failing] = await eventsOf(payment, acme, 1, 'failing');
      assert.ok(failing!.attemptCount >= 1, JSON.stringify(failing));
      assert.equal(failing!.attempts[0]?.status, 503, JSON.stringify(failing));

      target.webhookUrl = sinkUrl;
      const [delivered] = await eventsOf(payment, acme, 1);
      const numbers = delivered!.attempts.map((a) => a.attempt);
      assert.equal(numbers[0], 1, JSON.stringify(delivered!.attempts));
      assert.deepEqual(
        numbers,
        numbers.map((_, i) => i + 1),
        'one count across both deliveries'
      );
      assert.equal(delivered!.attempts.at(-1)?.status, 200);
    } finally {
      target.webhookUrl = sinkUrl;
      slow.closeAllConnections();
      slow.close();
    }
  });
});
