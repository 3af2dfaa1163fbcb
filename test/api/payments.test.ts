import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { eventually, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';
import { createApp } from '../../src/api/app';
import { createConnectors } from '../../src/connectors/registry';
import { listen } from '../../src/sandbox/simulator-kit';
import { deriveId, requestFingerprint, workflowIdOf } from '../../src/ids';
import { cancelPaymentUpdate, paymentStateQuery } from '../../workflows/messages';
import type { PaymentWorkflowInput } from '../../workflows/movement-state';
import { PaymentCreateSchema } from '../../src/api/routes/payments';
import { callbackUrlOf } from '../../src/api/routes/route-commons';
import type { PaymentList, PaymentView } from '../../src/api/schemas';
import { apiClient, countDescribes, paramsOf, paymentBody, uniqueRef } from './http';
import type { ApiResponse } from './http';

describe('merchant API: payments', function () {
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;
  let globex: TestMerchant;

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({ api: true });
    api = apiClient(stack);
    [acme, globex] = stack.merchants as [TestMerchant, TestMerchant];
  });
  after(async () => stack?.stop());

  function assertErrorShape(response: ApiResponse<unknown>, status: number, code: string): void {
    assert.equal(response.status, status, response.text);
    assert.equal(response.error.code, code);
    assert.equal(typeof response.error.type, 'string');
    assert.equal(typeof response.error.message, 'string');
    assert.equal(response.error.request_id, response.headers.get('request-id'));
  }

  describe('auth', () => {
    it('refuses a request without an API key with 401 and a Bearer challenge', async () => {
      const response = await api.post<PaymentView>('/v1/payments', paymentBody());
      assertErrorShape(response, 401, 'missing_api_key');
      assert.equal(response.error.type, 'authentication_error');
      assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
    });

    it('refuses an unknown key and a malformed Authorization header', async () => {
      const unknown = await api.get('/v1/payments', { headers: { authorization: 'Bearer test_sk_not_a_real_key' } });
      assertErrorShape(unknown, 401, 'invalid_api_key');
      const malformed = await api.get('/v1/payments', { headers: { authorization: `Basic ${acme.apiKey}` } });
      assertErrorShape(malformed, 401, 'invalid_authorization');
    });

    it('checks the key before reading the body, so a bad body without a key is still 401', async () => {
      const response = await api.post<PaymentView>('/v1/payments', '{not json');
      assertErrorShape(response, 401, 'missing_api_key');
    });
  });

  describe('POST /v1/payments', () => {
    it('creates a payment (201) with instructions and without internals', async () => {
      const body = paymentBody();
      const response = await api.post<PaymentView>('/v1/payments', body, { as: acme });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      const payment = response.body;
      assert.match(payment.id, /^P[0-9A-Z]{19}$/);
      assert.equal(response.headers.get('location'), `/v1/payments/${payment.id}`);
      assert.equal(response.headers.get('idempotent-replayed'), null);
      assert.equal(payment.status, 'PENDING');
      assert.equal(payment.merchantReference, body.reference);
      assert.equal(payment.provider, 'finpay');
      assert.ok(payment.instructions?.vaNumber, 'a VA number');
      assert.ok(payment.instructions?.expiresAt);
      assert.equal('requestFingerprint' in payment, false);

      const fetched = await api.get<PaymentView>(`/v1/payments/${payment.id}`, { as: acme });
      assert.equal(fetched.status, 200);
      assert.equal(fetched.body.id, payment.id);
      assert.equal('requestFingerprint' in fetched.body, false);

      const description = await stack.client.workflow.getHandle(workflowIdOf('payment', payment.id)).describe();
      assert.equal(description.taskQueue, stack.config.temporal.taskQueue);
    });

    it('picks the first registry provider that takes the method when none is named', async () => {
      const viaFinpay = await api.post<PaymentView>(
        '/v1/payments',
        paymentBody({ provider: undefined, method: 'QRIS', amount: 50_000 }),
        { as: acme }
      );
      assert.equal(viaFinpay.status, 201, JSON.stringify(viaFinpay.body));
      assert.equal(viaFinpay.body.provider, 'finpay');
      const viaBdpay = await api.post<PaymentView>(
        '/v1/payments',
        paymentBody({ provider: undefined, method: 'VA_SAMPOERNA' }),
        { as: acme }
      );
      assert.equal(viaBdpay.status, 201, JSON.stringify(viaBdpay.body));
      assert.equal(viaBdpay.body.provider, 'bdpay');
    });

    it('returns the same payment for the same body (200, Idempotent-Replayed), whatever the key order', async () => {
      const body = paymentBody({ metadata: { cart: 'c1' } });
      const first = await api.post<PaymentView>('/v1/payments', body, { as: acme });
      assert.equal(first.status, 201);
      const reordered = Object.fromEntries(Object.entries(body).reverse());
      const again = await api.post<PaymentView>('/v1/payments', reordered, { as: acme });
      assert.equal(again.status, 200);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.body.id, first.body.id);
      assert.deepEqual(again.body.instructions, first.body.instructions);
    });

    it("tells its own create (201) from a replay (200) by the workflow's answer, without describing the workflow", async () => {
      const describes = countDescribes(stack);
      try {
        const body = paymentBody();
        const first = await api.post<PaymentView>('/v1/payments', body, { as: acme });
        assert.equal(first.status, 201, first.text);
        const again = await api.post<PaymentView>('/v1/payments', body, { as: acme });
        assert.equal(again.status, 200, again.text);
        assert.equal(again.body.id, first.body.id);
        assert.equal('createdByRequest' in first.body, false, "Kasir's bookkeeping stays out of the view");
        assert.equal('createdByRequest' in again.body, false);
        assert.equal(describes.count, 0, 'no describe call per create');
      } finally {
        describes.stop();
      }
    });

    it('replays a payment started by an API of an earlier release (no request named in its state) with 200', async () => {
      // What an earlier API started: the same input without `createdByRequest`, the request in the memo.
      const body = paymentBody();
      const parsed = PaymentCreateSchema.parse(body);
      const paymentId = deriveId('payment', acme.id, body.reference);
      const input: PaymentWorkflowInput = {
        paymentId,
        merchantId: acme.id,
        merchantReference: body.reference,
        provider: 'finpay',
        amount: parsed.amount,
        method: parsed.method,
        customer: parsed.customer,
        description: parsed.description ?? `Payment ${body.reference}`,
        expiresInMinutes: parsed.expiresInMinutes,
        callbackUrl: callbackUrlOf(stack.config, 'finpay'),
        requestFingerprint: requestFingerprint(parsed),
        timings: stack.config.timings,
      };
      const handle = await stack.client.workflow.start('paymentWorkflow', {
        workflowId: workflowIdOf('payment', paymentId),
        taskQueue: stack.config.temporal.taskQueue,
        args: [input],
        memo: { kasirCreatedByRequest: 'req_of_an_earlier_release' },
      });
      await eventually(
        async () => ((await handle.query(paymentStateQuery)).status === 'PENDING' ? true : undefined),
        20_000,
        'the earlier payment to be registered'
      );
      const replay = await api.post<PaymentView>('/v1/payments', body, { as: acme });
      assert.equal(replay.status, 200, replay.text);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(replay.body.id, paymentId);
    });

    it('answers 409 idempotency_key_reused when a reference is reused with a different body', async () => {
      const body = paymentBody();
      const first = await api.post<PaymentView>('/v1/payments', body, { as: acme });
      assert.equal(first.status, 201);
      const conflict = await api.post<PaymentView>('/v1/payments', { ...body, amount: 175_000 }, { as: acme });
      assertErrorShape(conflict, 409, 'idempotency_key_reused');
      assert.equal(conflict.error.type, 'idempotency_error');
      assert.equal(conflict.error.param, 'reference');
      assert.match(conflict.error.message, new RegExp(`${body.reference}.*different request body`));
      const unchanged = await api.get<PaymentView>(`/v1/payments/${first.body.id}`, { as: acme });
      assert.equal(unchanged.body.amount, 150_000);
    });

    it('identifies a payment by its reference: the Idempotency-Key header only replays, whatever its value', async () => {
      const key = `idem-${uniqueRef()}`;
      const body = paymentBody();
      const first = await api.post<PaymentView>('/v1/payments', body, {
        as: acme,
        headers: { 'Idempotency-Key': key },
      });
      assert.equal(first.status, 201);
      const replay = await api.post<PaymentView>('/v1/payments', body, {
        as: acme,
        headers: { 'Idempotency-Key': key },
      });
      assert.equal(replay.status, 200);
      assert.equal(replay.body.id, first.body.id);
      const otherKey = await api.post<PaymentView>('/v1/payments', body, {
        as: acme,
        headers: { 'Idempotency-Key': `${key}-2` },
      });
      assert.equal(otherKey.status, 200, otherKey.text);
      assert.equal(otherKey.headers.get('idempotent-replayed'), 'true');
      assert.equal(otherKey.body.id, first.body.id);
      const noKey = await api.post<PaymentView>('/v1/payments', body, { as: acme });
      assert.equal(noKey.status, 200);
      assert.equal(noKey.body.id, first.body.id);
      const conflict = await api.post<PaymentView>(
        '/v1/payments',
        { ...body, amount: 175_000 },
        {
          as: acme,
          headers: { 'Idempotency-Key': `${key}-3` },
        }
      );
      assertErrorShape(conflict, 409, 'idempotency_key_reused');
      assert.equal(conflict.error.param, 'reference');
      assert.match(conflict.error.message, new RegExp(`${body.reference}.*different request body`));
      const badKey = await api.post<PaymentView>('/v1/payments', paymentBody(), {
        as: acme,
        headers: { 'Idempotency-Key': 'has space' },
      });
      assertErrorShape(badKey, 400, 'validation_failed');
      assert.equal(badKey.error.param, 'Idempotency-Key');
    });

    it('answers 202 (or 201, never a replay) when the provider is slower than the create deadline, then the same payment once it answers', async () => {
      // A second app on the same stack with a short create deadline; Finpay's initiate is held back longer than that.
      const impatient = await listen(
        createApp({
          client: stack.client,
          config: stack.config,
          connectors: createConnectors(stack.config.providers),
          timeouts: { createMs: 500 },
        })
      );
      try {
        await fetch(`${stack.simulators.finpay.url}/_sim/faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ kind: 'slow', path: '/pg/payment/card/initiate', delayMs: 2_500 }),
        });
        const body = paymentBody();
        const response = await fetch(`${impatient.url}/v1/payments`, {
          method: 'POST',
          headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        // 202 while registration is still out; with registration as a local activity the fallback read
        // can also wait for the provider's answer, and then carries the instructions already: still this
        // request's create (201), never a replay.
        assert.ok([201, 202].includes(response.status), await response.clone().text());
        assert.equal(response.headers.get('idempotent-replayed'), null);
        const accepted = (await response.json()) as PaymentView;
        assert.equal(accepted.status, response.status === 202 ? 'REGISTERING' : 'PENDING');
        if (response.status === 202) assert.equal(response.headers.get('location'), `/v1/payments/${accepted.id}`);

        const registered = await eventually(
          async () => {
            const current = await api.get<PaymentView>(`/v1/payments/${accepted.id}`, { as: acme });
            return current.body.status === 'PENDING' ? current.body : undefined;
          },
          20_000,
          'registration to finish'
        );
        assert.ok(registered.instructions?.vaNumber);
        const replay = await api.post<PaymentView>('/v1/payments', body, { as: acme });
        assert.equal(replay.status, 200);
        assert.equal(replay.body.id, accepted.id);
      } finally {
        await impatient.close();
      }
    });

    it('never mixes merchants: the same reference at two merchants is two payments', async () => {
      const body = paymentBody();
      const atAcme = await api.post<PaymentView>('/v1/payments', body, { as: acme });
      const atGlobex = await api.post<PaymentView>('/v1/payments', body, { as: globex });
      assert.equal(atAcme.status, 201);
      assert.equal(atGlobex.status, 201);
      assert.notEqual(atAcme.body.id, atGlobex.body.id);
      assert.equal(atGlobex.body.merchantId, 'globex');
    });
  });

  describe('validation', () => {
    it('lists every bad field in one 400', async () => {
      const response = await api.post(
        '/v1/payments',
        {
          amount: 1500.5,
          method: 'BITCOIN',
          customer: { name: '', email: 'not-an-email', phone: '12' },
          expiresInMinutes: 0,
          returnUrl: 'javascript:alert(1)',
          metadata: { key: 42 },
          colour: 'blue',
        },
        { as: acme }
      );
      assertErrorShape(response, 400, 'validation_failed');
      assert.equal(response.error.type, 'invalid_request_error');
      const errors = response.error.errors ?? [];
      const params = new Set(paramsOf(response));
      for (const param of [
        'reference',
        'amount',
        'method',
        'customer.name',
        'customer.email',
        'customer.phone',
        'expiresInMinutes',
        'returnUrl',
        'metadata.key',
        'colour',
      ]) {
        assert.ok(params.has(param), `expected an error for ${param}, got ${[...params].join(', ')}`);
      }
      assert.equal(errors.find((e) => e.param === 'reference')?.code, 'required');
      assert.equal(errors.find((e) => e.param === 'colour')?.code, 'unknown_parameter');
      assert.equal(response.error.param, errors[0]?.param);
    });

    it("answers 400 naming the field a provider's own rules would refuse, before starting anything", async () => {
      const cases: { body: Record<string, unknown>; param: string }[] = [
        {
          body: paymentBody({ provider: 'finpay', customer: { name: 'Budi', email: 'budi@example.co.id' } }),
          param: 'customer.phone',
        },
        {
          body: paymentBody({ provider: 'bdpay', customer: { name: 'Budi', phone: '081286288844' } }),
          param: 'customer.email',
        },
        { body: paymentBody({ provider: 'bdpay', expiresInMinutes: 10 }), param: 'expiresInMinutes' },
      ];
      for (const { body, param } of cases) {
        const response = await api.post<PaymentView>('/v1/payments', body, { as: acme });
        assertErrorShape(response, 400, 'validation_failed');
        assert.equal(response.error.param, param, JSON.stringify(response.error));
        assert.equal(response.error.errors?.[0]?.code, 'rejected_by_provider');
        // Nothing was started, so the same reference is still free once the body is right.
        const fixed = await api.post<PaymentView>(
          '/v1/payments',
          paymentBody({ reference: body.reference, provider: body.provider }),
          { as: acme }
        );
        assert.equal(fixed.status, 201);
      }
    });

    it('answers 400 naming `method` when the provider does not take the method', async () => {
      const response = await api.post<PaymentView>(
        '/v1/payments',
        paymentBody({ provider: 'nicepay', method: 'VA_BCA' }),
        { as: acme }
      );
      assertErrorShape(response, 400, 'validation_failed');
      assert.equal(response.error.param, 'method');
      assert.equal(response.error.errors?.[0]?.code, 'method_not_supported');
    });

    it('answers 400 naming `provider` for an unknown provider or one without payments', async () => {
      const unknown = await api.post<PaymentView>('/v1/payments', paymentBody({ provider: 'xendit' }), { as: acme });
      assertErrorShape(unknown, 400, 'validation_failed');
      assert.equal(unknown.error.param, 'provider');
      const billsOnly = await api.post<PaymentView>('/v1/payments', paymentBody({ provider: 'ayopop' }), { as: acme });
      assertErrorShape(billsOnly, 400, 'validation_failed');
      assert.equal(billsOnly.error.param, 'provider');
    });

    it("answers 400 naming `amount` outside the provider's limits for the method", async () => {
      const response = await api.post<PaymentView>(
        '/v1/payments',
        paymentBody({ method: 'QRIS', amount: 15_000_000 }),
        { as: acme }
      );
      assertErrorShape(response, 400, 'validation_failed');
      assert.equal(response.error.param, 'amount');
      assert.equal(response.error.errors?.[0]?.code, 'amount_out_of_range');
      assert.match(response.error.message, /10000000/);
    });

    it('answers 400 to malformed JSON and 415 to another content type, never 500', async () => {
      const malformed = await api.post<PaymentView>('/v1/payments', '{"reference": "x",', { as: acme });
      assertErrorShape(malformed, 400, 'invalid_json');
      const scalar = await api.post<PaymentView>('/v1/payments', '"just a string"', { as: acme });
      assertErrorShape(scalar, 400, 'invalid_json');
      const array = await api.post<PaymentView>('/v1/payments', '[1,2]', { as: acme });
      assertErrorShape(array, 400, 'validation_failed');
      const form = await api.post<PaymentView>('/v1/payments', 'reference=x&amount=1', {
        as: acme,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assertErrorShape(form, 415, 'unsupported_media_type');
      const empty = await api.call('POST', '/v1/payments', { as: acme });
      assertErrorShape(empty, 400, 'validation_failed');
    });

    it('answers unknown routes with 404 and wrong methods with 405, in the same error shape', async () => {
      const missing = await api.get('/v1/nothing-here', { as: acme });
      assertErrorShape(missing, 404, 'route_not_found');
      const wrongMethod = await api.call('DELETE', '/v1/payments', { as: acme });
      assertErrorShape(wrongMethod, 405, 'method_not_allowed');
      assert.match(wrongMethod.headers.get('allow') ?? '', /GET/);
    });
  });

  describe('GET, cancel and merchant isolation', () => {
    it("answers 404 for another merchant's payment, exactly as for one that does not exist", async () => {
      const created = await api.post<PaymentView>('/v1/payments', paymentBody(), { as: acme });
      assert.equal(created.status, 201);
      const id = created.body.id;

      const asGlobex = await api.get<PaymentView>(`/v1/payments/${id}`, { as: globex });
      assertErrorShape(asGlobex, 404, 'resource_missing');
      const nonexistent = await api.get<PaymentView>('/v1/payments/P0000000000000000000', { as: globex });
      assertErrorShape(nonexistent, 404, 'resource_missing');
      assert.equal(
        asGlobex.error.message.replace(id, 'X'),
        nonexistent.error.message.replace('P0000000000000000000', 'X')
      );
      const malformed = await api.get<PaymentView>('/v1/payments/not-an-id', { as: globex });
      assertErrorShape(malformed, 404, 'resource_missing');
      const payoutId = await api.get<PaymentView>(`/v1/payments/${id.replace(/^P/, 'O')}`, { as: acme });
      assertErrorShape(payoutId, 404, 'resource_missing');

      const cancelAsGlobex = await api.post<PaymentView>(`/v1/payments/${id}/cancel`, {}, { as: globex });
      assertErrorShape(cancelAsGlobex, 404, 'resource_missing');
      const still = await api.get<PaymentView>(`/v1/payments/${id}`, { as: acme });
      assert.equal(still.body.status, 'PENDING');
    });

    it('cancels a PENDING payment, then refuses a second cancel with 409', async () => {
      const created = await api.post<PaymentView>('/v1/payments', paymentBody(), { as: acme });
      const id = created.body.id;
      const badBody = await api.post<PaymentView>(
        `/v1/payments/${id}/cancel`,
        { reason: 'x', extra: true },
        { as: acme }
      );
      assertErrorShape(badBody, 400, 'validation_failed');
      assert.equal(badBody.error.param, 'extra');

      const cancelled = await api.post<PaymentView>(
        `/v1/payments/${id}/cancel`,
        { reason: 'customer changed their mind' },
        { as: acme }
      );
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.equal(cancelled.body.status, 'CANCELLED');
      const again = await api.call('POST', `/v1/payments/${id}/cancel`, { as: acme });
      assertErrorShape(again, 409, 'invalid_state');
      assert.equal(again.error.type, 'state_error');
      assert.match(again.error.message, /CANCELLED; only a PENDING payment can be cancelled/);
    });

    for (const { provider, method } of [
      { provider: 'bdpay', method: 'VA_SAMPOERNA' },
      { provider: 'nicepay', method: 'EWALLET_OVO' },
    ]) {
      it(`refuses to cancel a ${provider} ${method} payment with 409 cancel_not_supported: ${provider} has no cancel API`, async () => {
        const created = await api.post<PaymentView>('/v1/payments', paymentBody({ provider, method }), { as: acme });
        assert.equal(created.status, 201, created.text);
        assert.equal(created.body.status, 'PENDING');
        const { id, instructions } = created.body;
        assert.ok(instructions?.expiresAt);

        const refused = await api.post<PaymentView>(
          `/v1/payments/${id}/cancel`,
          { reason: 'changed mind' },
          { as: acme }
        );
        assertErrorShape(refused, 409, 'cancel_not_supported');
        assert.equal(refused.error.type, 'state_error');
        assert.match(refused.error.message, new RegExp(`^${provider} offers no cancel API`));
        assert.ok(
          refused.error.message.includes(`until it expires at ${instructions.expiresAt}`),
          refused.error.message
        );
        assert.match(refused.error.message, /a payment arriving before then will still be recorded/);

        // Refused before the workflow was asked: no update in its history, and the payment is still PENDING.
        const history = await stack.client.workflow.getHandle(workflowIdOf('payment', id)).fetchHistory();
        const updates = (history.events ?? []).map(
          (e) =>
            e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ??
            e.workflowExecutionUpdateAdmittedEventAttributes?.request?.input?.name
        );
        assert.ok(!updates.includes(cancelPaymentUpdate.name), 'no cancel update reached the workflow');
        const still = await api.get<PaymentView>(`/v1/payments/${id}`, { as: acme });
        assert.equal(still.body.status, 'PENDING');
      });
    }

    it('replays a payment whose workflow has closed, and still refuses a different body', async () => {
      const body = paymentBody();
      const created = await api.post<PaymentView>('/v1/payments', body, { as: acme });
      const id = created.body.id;
      await api.post<PaymentView>(`/v1/payments/${id}/cancel`, {}, { as: acme });
      const handle = stack.client.workflow.getHandle(workflowIdOf('payment', id));
      await eventually(
        async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined),
        30_000,
        'the workflow to close'
      );

      const replay = await api.post<PaymentView>('/v1/payments', body, { as: acme });
      assert.equal(replay.status, 200, JSON.stringify(replay.body));
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(replay.body.id, id);
      assert.equal(replay.body.status, 'CANCELLED');
      const conflict = await api.post<PaymentView>('/v1/payments', { ...body, amount: 1_000 }, { as: acme });
      assertErrorShape(conflict, 409, 'idempotency_key_reused');
      const fetched = await api.get<PaymentView>(`/v1/payments/${id}`, { as: acme });
      assert.equal(fetched.body.status, 'CANCELLED');
      const cancelClosed = await api.post<PaymentView>(`/v1/payments/${id}/cancel`, {}, { as: acme });
      assertErrorShape(cancelClosed, 409, 'invalid_state');
      // A closed workflow takes no update: the answer names the status it closed in.
      assert.match(cancelClosed.error.message, new RegExp(`^payment ${id} is CANCELLED`));
    });
  });

  describe('GET /v1/payments', () => {
    const tag = uniqueRef('LIST');
    const ids: Record<string, string> = {};

    before(async function () {
      this.timeout(60_000);
      const specs = [
        { name: 'a', body: paymentBody({ reference: `${tag}-a`, method: 'VA_BCA', provider: 'finpay' }) },
        { name: 'b', body: paymentBody({ reference: `${tag}-b`, method: 'VA_SAMPOERNA', provider: 'bdpay' }) },
        { name: 'c', body: paymentBody({ reference: `${tag}-c`, method: 'QRIS', provider: 'finpay', amount: 20_000 }) },
      ];
      for (const spec of specs) {
        const response = await api.post<PaymentView>('/v1/payments', spec.body, { as: acme });
        assert.equal(response.status, 201, JSON.stringify(response.body));
        ids[spec.name] = response.body.id;
      }
      // Visibility is eventually consistent: wait until every payment shows as PENDING there.
      await eventually(
        async () => {
          const response = await api.get<PaymentList>(`/v1/payments?status=PENDING&limit=100`, { as: acme });
          const found = new Set(response.body.data.map((p) => p.id));
          return Object.values(ids).every((id) => found.has(id)) ? true : undefined;
        },
        20_000,
        'payments in the visibility index'
      );
    });

    it('lists only the caller’s payments, with summaries from the index', async () => {
      const mine = await api.get<PaymentList>('/v1/payments?limit=100', { as: acme });
      assert.equal(mine.status, 200);
      assert.equal(mine.body.object, 'list');
      const row = mine.body.data.find((p) => p.id === ids.a);
      assert.ok(row);
      assert.equal(row.merchantReference, `${tag}-a`);
      assert.equal(row.provider, 'finpay');
      assert.equal(row.method, 'VA_BCA');
      assert.equal(row.amount, 150_000);
      assert.equal(row.needsAttention, false);

      const theirs = await api.get<PaymentList>('/v1/payments?limit=100', { as: globex });
      const theirIds = new Set(theirs.body.data.map((p) => p.id));
      for (const id of Object.values(ids)) assert.equal(theirIds.has(id), false);
      const byReference = await api.get<PaymentList>(`/v1/payments?reference=${encodeURIComponent(`${tag}-a`)}`, {
        as: globex,
      });
      assert.deepEqual(byReference.body.data, []);
      const injection = await api.get<PaymentList>(
        `/v1/payments?reference=${encodeURIComponent("x' OR KasirMerchant = 'acme")}`,
        { as: globex }
      );
      assert.equal(injection.status, 200);
      assert.deepEqual(injection.body.data, []);
    });

    it('filters by provider, method, reference, status and needs_attention', async () => {
      const byProvider = await api.get<PaymentList>(`/v1/payments?provider=bdpay&limit=100`, { as: acme });
      const providerIds = byProvider.body.data.map((p) => p.id);
      assert.ok(providerIds.includes(ids.b!));
      assert.ok(!providerIds.includes(ids.a!));
      const byMethod = await api.get<PaymentList>(`/v1/payments?method=QRIS&limit=100`, { as: acme });
      assert.ok(byMethod.body.data.every((p) => p.method === 'QRIS'));
      assert.ok(byMethod.body.data.some((p) => p.id === ids.c));
      const byReference = await api.get<PaymentList>(`/v1/payments?reference=${encodeURIComponent(`${tag}-c`)}`, {
        as: acme,
      });
      assert.deepEqual(
        byReference.body.data.map((p) => p.id),
        [ids.c]
      );
      const attention = await api.get<PaymentList>(
        `/v1/payments?needs_attention=true&reference=${encodeURIComponent(`${tag}-c`)}`,
        { as: acme }
      );
      assert.deepEqual(attention.body.data, []);
      const noAttention = await api.get<PaymentList>(
        `/v1/payments?needs_attention=false&reference=${encodeURIComponent(`${tag}-c`)}`,
        { as: acme }
      );
      assert.equal(noAttention.body.data.length, 1);
      const succeeded = await api.get<PaymentList>(
        `/v1/payments?status=SUCCEEDED&reference=${encodeURIComponent(`${tag}-a`)}`,
        { as: acme }
      );
      assert.deepEqual(succeeded.body.data, []);
    });

    it('pages with limit and page_token, bound to the same filters', async () => {
      const seen: string[] = [];
      let token: string | null = null;
      let pages = 0;
      do {
        const query: string = `status=PENDING&limit=1${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
        const page = await api.get<PaymentList>(`/v1/payments?${query}`, { as: acme });
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.ok(page.body.data.length <= 1);
        seen.push(...page.body.data.map((p) => p.id));
        token = page.body.nextPageToken;
        assert.equal(page.body.hasMore, token !== null);
        pages++;
      } while (token !== null && pages < 100);
      for (const id of Object.values(ids)) assert.ok(seen.includes(id), `page walk found ${id}`);
      assert.equal(new Set(seen).size, seen.length, 'no payment twice');

      const first = await api.get<PaymentList>('/v1/payments?status=PENDING&limit=1', { as: acme });
      const firstToken = first.body.nextPageToken;
      assert.ok(firstToken !== null, 'more than one PENDING payment, so a second page');
      const crossFilter = await api.get(
        `/v1/payments?status=CANCELLED&limit=1&page_token=${encodeURIComponent(firstToken)}`,
        { as: acme }
      );
      assertErrorShape(crossFilter, 400, 'validation_failed');
      assert.equal(crossFilter.error.param, 'page_token');
      const crossMerchant = await api.get(
        `/v1/payments?status=PENDING&limit=1&page_token=${encodeURIComponent(firstToken)}`,
        { as: globex }
      );
      assertErrorShape(crossMerchant, 400, 'validation_failed');
    });

    it('accepts only page tokens Kasir signed: a forged or tampered token is a fast 400 naming page_token', async function () {
      this.timeout(30_000);
      const first = await api.get<PaymentList>('/v1/payments?status=PENDING&limit=1', { as: acme });
      const token = first.body.nextPageToken;
      assert.ok(token !== null, 'a second page');
      const query = `KasirKind = 'payment' AND KasirMerchant = 'acme' AND KasirStatus = 'PENDING'`;
      const forged = (inner: Buffer) =>
        Buffer.from(
          JSON.stringify({
            q: createHash('sha256').update(query).digest('hex').slice(0, 32),
            t: inner.toString('base64'),
          })
        ).toString('base64url');
      const flipped = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
      // A token from another Kasir API (another signing secret) is not one of this API's tokens.
      const other = await listen(
        createApp({
          client: stack.client,
          config: stack.config,
          connectors: createConnectors(stack.config.providers),
          pageTokenSecret: 'another deployment entirely',
        })
      );
      let foreign: string | null;
      try {
        const response = await fetch(`${other.url}/v1/payments?status=PENDING&limit=1`, {
          headers: { authorization: `Bearer ${acme.apiKey}` },
        });
        foreign = ((await response.json()) as PaymentList).nextPageToken;
      } finally {
        await other.close();
      }
      assert.ok(foreign !== null);
      const candidates: Record<string, string> = {
        'garbage inner token in a well-formed wrapper': forged(randomBytes(48)),
        'empty inner token': forged(Buffer.alloc(0)),
        'a real token with one character changed': flipped,
        'a real token with its signature cut off': token.split('.')[0]!,
        'a token signed by another deployment': foreign,
        'not base64 at all': '!!!.???',
      };
      for (const [name, candidate] of Object.entries(candidates)) {
        const started = Date.now();
        const response = await api.get(
          `/v1/payments?status=PENDING&limit=1&page_token=${encodeURIComponent(candidate)}`,
          { as: acme }
        );
        const ms = Date.now() - started;
        assertErrorShape(response, 400, 'validation_failed');
        assert.equal(response.error.param, 'page_token', name);
        assert.ok(ms < 2_000, `${name}: answered in ${ms} ms`);
      }
      // The genuine token still works.
      const second = await api.get<PaymentList>(
        `/v1/payments?status=PENDING&limit=1&page_token=${encodeURIComponent(token)}`,
        { as: acme }
      );
      assert.equal(second.status, 200, second.text);
    });

    it('rejects unknown filters and bad values with 400 naming them', async () => {
      const response = await api.get<PaymentList>(
        '/v1/payments?status=PAID&limit=1000&needs_attention=maybe&colour=red',
        { as: acme }
      );
      assertErrorShape(response, 400, 'validation_failed');
      assert.deepEqual(paramsOf(response), ['colour', 'limit', 'needs_attention', 'status']);
    });
  });
});
