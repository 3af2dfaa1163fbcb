import assert from 'node:assert/strict';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import { defaultPayloadConverter } from '@temporalio/common';
import { callbackUrlOf } from '../../src/api/routes/route-commons';
import { deriveId, requestFingerprint, workflowIdOf } from '../../src/ids';
import type { ProviderId } from '../../src/domain/provider';
import { KasirKind, KasirMerchant, KasirMerchantReference } from '../../workflows/search-attributes';
import { payoutStateQuery } from '../../workflows/messages';
import type { PayoutWorkflowInput } from '../../workflows/movement-state';
import { EncryptionCodec } from '../../src/temporal/payload-encryption';
import { recordHistory } from '../helpers/histories';
import { eventually, startStack, TEST_ONLY_ENCRYPTION } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';
import type { BillView, PayoutView } from '../../src/api/schemas';
import { apiClient, paramsOf, uniqueRef } from './http';

describe('merchant API: payouts, bills and the operator endpoint', function () {
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

  /** How often each order (by Kasir id) reached the provider's simulator. */
  async function submissions(provider: ProviderId): Promise<Record<string, number>> {
    return (await (await fetch(`${stack.simulators[provider].url}/_sim/submissions`)).json()) as Record<string, number>;
  }

  function payoutBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      reference: uniqueRef('PO'),
      amount: 300_000,
      feeMode: 'deducted',
      beneficiary: { bankCode: '014', accountNumber: '9876543210', accountName: 'Dewi Lestari' },
      description: 'Marketplace payout',
      ...overrides,
    };
  }

  describe('payouts', () => {
    it('submits a payout (201), masks the account number, and reads it back', async () => {
      const body = payoutBody();
      const created = await api.post<PayoutView>('/v1/payouts', body, { as: acme });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const payout = created.body;
      assert.match(payout.id, /^O[0-9A-Z]{19}$/);
      assert.equal(created.headers.get('location'), `/v1/payouts/${payout.id}`);
      assert.equal(payout.provider, 'bdpay');
      assert.equal(payout.status, 'PROCESSING');
      assert.equal(payout.submitted, true);
      assert.equal(payout.beneficiary.accountNumberMasked, '******3210');
      assert.ok(!created.text.includes('9876543210'), 'the full account number never appears');
      assert.equal('requestFingerprint' in payout, false);

      const fetched = await api.get<PayoutView>(`/v1/payouts/${payout.id}`, { as: acme });
      assert.equal(fetched.status, 200);
      assert.equal(fetched.body.id, payout.id);

      const replay = await api.post<PayoutView>('/v1/payouts', body, { as: acme });
      assert.equal(replay.status, 200);
      assert.equal(replay.headers.get('idempotent-replayed'), 'true');
      assert.equal(replay.body.id, payout.id);
      const conflict = await api.post<PayoutView>('/v1/payouts', { ...body, amount: 999_000 }, { as: acme });
      assert.equal(conflict.status, 409);
      assert.equal(conflict.error.code, 'idempotency_key_reused');

      const asGlobex = await api.get<PayoutView>(`/v1/payouts/${payout.id}`, { as: globex });
      assert.equal(asGlobex.status, 404);
      assert.equal(asGlobex.error.code, 'resource_missing');
    });

    it('sends one payout per reference: a new Idempotency-Key with the same reference replays it, never pays twice', async () => {
      const body = payoutBody();
      const first = await api.post<PayoutView>('/v1/payouts', body, {
        as: acme,
        headers: { 'Idempotency-Key': `first-${uniqueRef()}` },
      });
      assert.equal(first.status, 201, first.text);
      const id = first.body.id;
      assert.equal(id, deriveId('payout', acme.id, body.reference as string), 'the id comes from the reference alone');

      const secondKey = await api.post<PayoutView>('/v1/payouts', body, {
        as: acme,
        headers: { 'Idempotency-Key': `second-${uniqueRef()}` },
      });
      assert.equal(secondKey.status, 200, secondKey.text);
      assert.equal(secondKey.headers.get('idempotent-replayed'), 'true');
      assert.equal(secondKey.body.id, id);
      assert.equal(secondKey.headers.get('location'), `/v1/payouts/${id}`);
      const noKey = await api.post<PayoutView>('/v1/payouts', body, { as: acme });
      assert.equal(noKey.status, 200, noKey.text);
      assert.equal(noKey.body.id, id);

      const conflict = await api.post<PayoutView>(
        '/v1/payouts',
        { ...body, amount: 350_000 },
        {
          as: acme,
          headers: { 'Idempotency-Key': `third-${uniqueRef()}` },
        }
      );
      assert.equal(conflict.status, 409, conflict.text);
      assert.equal(conflict.error.type, 'idempotency_error');
      assert.equal(conflict.error.code, 'idempotency_key_reused');
      assert.equal(conflict.error.param, 'reference');
      assert.match(
        conflict.error.message,
        new RegExp(`reference '${body.reference as string}'.*different request body`)
      );

      assert.equal((await submissions('bdpay'))[id], 1, 'submitted to the provider exactly once');
      const fetched = await api.get<PayoutView>(`/v1/payouts/${id}`, { as: acme });
      assert.equal(fetched.body.amount, 300_000);
    });

    it('replays a payout created before ids came from the reference, whatever Idempotency-Key the retry sends', async () => {
      // What the API used to start for a request with an Idempotency-Key: a payout whose id came from the
      // key, with the search attributes every movement has carried from the start.
      const key = `legacy-${uniqueRef()}`;
      const body: Record<string, unknown> & { reference: string } = {
        ...payoutBody(),
        reference: `inv-'quoted'-${uniqueRef()}`,
      };
      const legacyId = deriveId('payout', acme.id, key);
      const input: PayoutWorkflowInput = {
        payoutId: legacyId,
        merchantId: acme.id,
        merchantReference: body.reference,
        provider: 'bdpay',
        amount: body.amount as number,
        callbackUrl: callbackUrlOf(stack.config, 'bdpay'),
        requestFingerprint: requestFingerprint(body),
        timings: stack.config.timings,
        feeMode: 'deducted',
        beneficiary: body.beneficiary as PayoutWorkflowInput['beneficiary'],
        description: body.description as string,
      };
      const handle = await stack.client.workflow.start('payoutWorkflow', {
        workflowId: workflowIdOf('payout', legacyId),
        taskQueue: stack.config.temporal.taskQueue,
        args: [input],
        typedSearchAttributes: [
          { key: KasirKind, value: 'payout' },
          { key: KasirMerchant, value: acme.id },
          { key: KasirMerchantReference, value: body.reference },
        ],
      });
      await eventually(
        async () => ((await handle.query(payoutStateQuery)).status !== 'SUBMITTING' ? true : undefined),
        20_000,
        'the legacy payout to be submitted'
      );
      await eventually(
        async () => {
          for await (const found of stack.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` }))
            return found;
          return undefined;
        },
        20_000,
        'the legacy payout to be visible'
      );

      const retries: Record<string, string>[] = [
        { 'Idempotency-Key': key },
        { 'Idempotency-Key': `another-${key}` },
        {},
      ];
      for (const headers of retries) {
        const replay = await api.post<PayoutView>('/v1/payouts', body, { as: acme, headers });
        assert.equal(replay.status, 200, replay.text);
        assert.equal(replay.headers.get('idempotent-replayed'), 'true');
        assert.equal(replay.body.id, legacyId);
        assert.equal(replay.headers.get('location'), `/v1/payouts/${legacyId}`);
      }
      // Another body: with the key that made the old id, the key is named (found exactly by it); without
      // it, the reference is (found by search).
      const byKey = await api.post<PayoutView>(
        '/v1/payouts',
        { ...body, amount: 350_000 },
        { as: acme, headers: { 'Idempotency-Key': key } }
      );
      assert.equal(byKey.status, 409, byKey.text);
      assert.equal(byKey.error.code, 'idempotency_key_reused');
      assert.equal(byKey.error.param, 'Idempotency-Key');
      assert.match(byKey.error.message, new RegExp(`${legacyId}.*different request body`));
      const byReference = await api.post<PayoutView>('/v1/payouts', { ...body, amount: 350_000 }, { as: acme });
      assert.equal(byReference.status, 409, byReference.text);
      assert.equal(byReference.error.param, 'reference');
      assert.match(byReference.error.message, new RegExp(`${legacyId}.*different request body`));

      const counts = await submissions('bdpay');
      assert.equal(counts[legacyId], 1, 'the legacy payout was sent once');
      assert.equal(counts[deriveId('payout', acme.id, body.reference)], undefined, 'and no second payout');
      // The same reference at another merchant is another merchant's business: nothing is shared.
      const atGlobex = await api.post<PayoutView>('/v1/payouts', body, {
        as: globex,
        headers: { 'Idempotency-Key': key },
      });
      assert.equal(atGlobex.status, 201, atGlobex.text);
      assert.notEqual(atGlobex.body.id, legacyId);
    });

    it('validates the body, naming each bad field, and refuses a provider without payouts', async () => {
      const invalid = await api.post(
        '/v1/payouts',
        {
          reference: uniqueRef('PO'),
          amount: -5,
          beneficiary: { bankCode: 'BCA!', accountNumber: '12', accountName: '' },
        },
        { as: acme }
      );
      assert.equal(invalid.status, 400);
      const params = paramsOf(invalid);
      assert.deepEqual(params, [
        'amount',
        'beneficiary.accountName',
        'beneficiary.accountNumber',
        'beneficiary.bankCode',
        'description',
        'feeMode',
      ]);
      const finpay = await api.post<PayoutView>('/v1/payouts', payoutBody({ provider: 'finpay' }), { as: acme });
      assert.equal(finpay.status, 400);
      assert.equal(finpay.error.param, 'provider');
    });
  });

  describe('POST /v1/operator/payouts/:id/resolve', () => {
    let payoutId: string;
    const resolution = {
      outcome: 'SUCCEEDED',
      evidence: 'BCA statement line 2024-11-21 #88123, Rp 300.000 credited',
      operator: 'ops@kasir',
    };

    /**
     * The provider takes the payout but the answer never arrives: UNKNOWN. Its own queries come only after
     * ten minutes (they would find it PROCESSING), so it stays UNKNOWN until an operator resolves it, however
     * slowly these tests run.
     */
    async function unknownPayout(): Promise<PayoutView> {
      await fetch(`${stack.simulators.bdpay.url}/_sim/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'accept-then-drop', path: '/gateway/cash' }),
      });
      const timings = stack.config.timings.payout;
      stack.config.timings.payout = { ...timings, query: { initialMs: 600_000, maxMs: 600_000, factor: 1 } };
      try {
        const created = await api.post<PayoutView>('/v1/payouts', payoutBody(), { as: acme });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        assert.equal(created.body.status, 'UNKNOWN');
        return created.body;
      } finally {
        stack.config.timings.payout = timings;
      }
    }

    before(async () => {
      payoutId = (await unknownPayout()).id;
    });

    it('is closed to callers without the operator key, merchant keys included', async () => {
      const none = await api.post<PayoutView>(`/v1/operator/payouts/${payoutId}/resolve`, resolution);
      assert.equal(none.status, 401);
      assert.equal(none.error.code, 'missing_operator_key');
      const merchantBearer = await api.post<PayoutView>(`/v1/operator/payouts/${payoutId}/resolve`, resolution, {
        as: acme,
      });
      assert.equal(merchantBearer.status, 401);
      const merchantAsOperator = await api.post<PayoutView>(`/v1/operator/payouts/${payoutId}/resolve`, resolution, {
        headers: { 'Kasir-Operator-Key': acme.apiKey },
      });
      assert.equal(merchantAsOperator.status, 401);
      assert.equal(merchantAsOperator.error.code, 'invalid_operator_key');
    });

    it('validates the resolution and answers 404 for an unknown payout', async () => {
      const operator = { 'Kasir-Operator-Key': stack.operatorKey };
      const invalid = await api.post<PayoutView>(
        `/v1/operator/payouts/${payoutId}/resolve`,
        { outcome: 'MAYBE', evidence: 'short' },
        { headers: operator }
      );
      assert.equal(invalid.status, 400);
      assert.deepEqual(paramsOf(invalid), ['evidence', 'operator', 'outcome']);
      const missing = await api.post('/v1/operator/payouts/O0000000000000000000/resolve', resolution, {
        headers: operator,
      });
      assert.equal(missing.status, 404);
      const badForce = await api.post<PayoutView>(
        `/v1/operator/payouts/${payoutId}/resolve`,
        { ...resolution, force: 'yes' },
        { headers: operator }
      );
      assert.equal(badForce.status, 400);
      assert.deepEqual(paramsOf(badForce), ['force']);
    });

    it('passes `force` through to the workflow with the resolution, recorded in its history', async () => {
      const operator = { 'Kasir-Operator-Key': stack.operatorKey };
      const payout = await unknownPayout();
      const forced = await api.post<PayoutView>(
        `/v1/operator/payouts/${payout.id}/resolve`,
        { ...resolution, outcome: 'FAILED', force: true },
        { headers: operator }
      );
      assert.equal(forced.status, 200, forced.text);
      assert.equal(forced.body.status, 'FAILED');
      const history = await stack.client.workflow.getHandle(workflowIdOf('payout', payout.id)).fetchHistory();
      // History holds the request sealed; the test-only key opens it, as an operator's codec server would.
      const codec = new EncryptionCodec(TEST_ONLY_ENCRYPTION);
      const sealed = (history.events ?? [])
        .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest)
        .filter((r) => r?.input?.name === 'resolvePayout')
        .map((r) => r!.input!.args!.payloads![0]!);
      const requests = (await codec.decode(sealed)).map((p) =>
        defaultPayloadConverter.fromPayload<Record<string, unknown>>(p)
      );
      assert.deepEqual(requests, [{ ...resolution, outcome: 'FAILED', force: true }]);
    });

    it('refuses a resolution the provider contradicts (409), settles it with `force` and the evidence recorded, then refuses a second', async () => {
      const operator = { 'Kasir-Operator-Key': stack.operatorKey };
      // The provider still reports the payout as processing: SUCCEEDED contradicts it.
      const contradicted = await api.post<PayoutView>(`/v1/operator/payouts/${payoutId}/resolve`, resolution, {
        headers: operator,
      });
      assert.equal(contradicted.status, 409, contradicted.text);
      assert.equal(contradicted.error.type, 'state_error');
      assert.equal(contradicted.error.code, 'resolution_contradicted');
      assert.equal(contradicted.error.param, 'outcome');
      assert.match(contradicted.error.message, /^provider contradicts/);
      const unresolved = await api.get<PayoutView>(`/v1/payouts/${payoutId}`, { as: acme });
      assert.equal(unresolved.body.status, 'UNKNOWN');

      const resolved = await api.post<PayoutView>(
        `/v1/operator/payouts/${payoutId}/resolve`,
        { ...resolution, force: true },
        { headers: operator }
      );
      assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
      assert.equal(resolved.body.status, 'SUCCEEDED');
      assert.equal(resolved.body.resolution?.by, 'ops@kasir');
      assert.equal(resolved.body.resolution?.evidence, resolution.evidence);
      assert.equal(resolved.body.resolution?.forced, true);
      const merchantView = await api.get<PayoutView>(`/v1/payouts/${payoutId}`, { as: acme });
      assert.equal(merchantView.body.status, 'SUCCEEDED');
      const again = await api.post<PayoutView>(
        `/v1/operator/payouts/${payoutId}/resolve`,
        { ...resolution, outcome: 'FAILED' },
        { headers: operator }
      );
      assert.equal(again.status, 409);
      assert.equal(again.error.code, 'invalid_state');
    });
  });

  describe('bills', () => {
    function inquiryBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
      return {
        reference: uniqueRef('BILL'),
        productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
        accountNumber: AYOPOP_SIM_ACCOUNTS.succeedsImmediately,
        ...overrides,
      };
    }

    it('inquires (201), replays (200), refuses a reused key (409) and hides the bill from other merchants', async () => {
      const body = inquiryBody();
      const inquiry = await api.post<BillView>('/v1/bills/inquiries', body, { as: acme });
      assert.equal(inquiry.status, 201, JSON.stringify(inquiry.body));
      const bill = inquiry.body;
      assert.match(bill.id, /^B[0-9A-Z]{19}$/);
      assert.equal(bill.status, 'INQUIRED');
      assert.equal(bill.provider, 'ayopop');
      assert.ok(bill.inquiry?.customerName);
      assert.equal(bill.total, bill.inquiry.amount + bill.inquiry.totalAdmin + bill.inquiry.processingFee);
      assert.equal(inquiry.headers.get('location'), `/v1/bills/payments/${bill.id}`);

      const replay = await api.post<BillView>('/v1/bills/inquiries', body, { as: acme });
      assert.equal(replay.status, 200);
      assert.equal(replay.body.id, bill.id);
      const withKey = await api.post<BillView>('/v1/bills/inquiries', body, {
        as: acme,
        headers: { 'Idempotency-Key': `bill-key-${uniqueRef()}` },
      });
      assert.equal(withKey.status, 200, withKey.text);
      assert.equal(withKey.headers.get('idempotent-replayed'), 'true');
      assert.equal(withKey.body.id, bill.id, 'a key never makes a second bill for a reference');
      const conflict = await api.post<BillView>(
        '/v1/bills/inquiries',
        { ...body, accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds },
        { as: acme, headers: { 'Idempotency-Key': `bill-key-${uniqueRef()}` } }
      );
      assert.equal(conflict.status, 409);
      assert.equal(conflict.error.code, 'idempotency_key_reused');
      assert.equal(conflict.error.param, 'reference');

      const asGlobex = await api.get<BillView>(`/v1/bills/payments/${bill.id}`, { as: globex });
      assert.equal(asGlobex.status, 404);
      const payAsGlobex = await api.post<BillView>('/v1/bills/payments', { billId: bill.id }, { as: globex });
      assert.equal(payAsGlobex.status, 404);
      const still = await api.get<BillView>(`/v1/bills/payments/${bill.id}`, { as: acme });
      assert.equal(still.body.status, 'INQUIRED');
      assert.equal(still.body.paymentSubmitted, false);
    });

    it('pays only for the inquired total, once; a repeat confirmation returns the bill', async () => {
      const inquiry = await api.post<BillView>('/v1/bills/inquiries', inquiryBody(), { as: acme });
      const bill = inquiry.body;
      const mismatch = await api.post<BillView>(
        '/v1/bills/payments',
        { billId: bill.id, expectedTotal: bill.total! + 1 },
        { as: acme }
      );
      assert.equal(mismatch.status, 409, JSON.stringify(mismatch.body));
      assert.equal(mismatch.error.code, 'invalid_state');
      assert.match(mismatch.error.message, /does not match the inquiry total/);

      const paid = await api.post<BillView>(
        '/v1/bills/payments',
        { billId: bill.id, expectedTotal: bill.total },
        { as: acme }
      );
      assert.equal(paid.status, 200, JSON.stringify(paid.body));
      assert.equal(paid.body.status, 'SUCCEEDED');
      assert.ok(paid.body.token);

      const repeat = await api.post<BillView>('/v1/bills/payments', { billId: bill.id }, { as: acme });
      assert.equal(repeat.status, 200);
      assert.equal(repeat.headers.get('idempotent-replayed'), 'true');
      assert.equal(repeat.body.status, 'SUCCEEDED');
      const repeatMismatch = await api.post<BillView>(
        '/v1/bills/payments',
        { billId: bill.id, expectedTotal: 1 },
        { as: acme }
      );
      assert.equal(repeatMismatch.status, 409);
      assert.equal(repeatMismatch.error.code, 'invalid_state');

      const fetched = await api.get<BillView>(`/v1/bills/payments/${bill.id}`, { as: acme });
      assert.equal(fetched.body.status, 'SUCCEEDED');
      assert.equal(fetched.body.token, paid.body.token);
      const submissions = (await (await fetch(`${stack.simulators.ayopop.url}/_sim/submissions`)).json()) as Record<
        string,
        number
      >;
      assert.equal(submissions[bill.id], 1, 'paid exactly once');
    });

    it('answers identical confirmations sent together with the one payment: one 200, the others 200 Idempotent-Replayed', async () => {
      for (let round = 0; round < 2; round++) {
        // A bill that stays PROCESSING keeps the confirmations' window open: the first answer comes
        // while the payment is still being resolved.
        const inquiry = await api.post<BillView>(
          '/v1/bills/inquiries',
          inquiryBody({ accountNumber: AYOPOP_SIM_ACCOUNTS.staysProcessing }),
          { as: acme }
        );
        const bill = inquiry.body;
        const bodies = [{ billId: bill.id, expectedTotal: bill.total }, { billId: bill.id }, { billId: bill.id }];
        const answers = await Promise.all(
          bodies.map((body) => api.post<BillView>('/v1/bills/payments', body, { as: acme }))
        );
        assert.deepEqual(
          answers.map((a) => a.status),
          [200, 200, 200],
          answers.map((a) => a.text).join('\n')
        );
        const replayed = answers.filter((a) => a.headers.get('idempotent-replayed') === 'true');
        assert.equal(replayed.length, 2, 'every confirmation but the one that paid is a replay');
        for (const answer of answers) {
          assert.equal(answer.body.paymentSubmitted, true);
          assert.equal('confirmedByRequest' in answer.body, false);
        }
        const submissions = (await (await fetch(`${stack.simulators.ayopop.url}/_sim/submissions`)).json()) as Record<
          string,
          number
        >;
        assert.equal(submissions[bill.id], 1, 'paid exactly once');
      }
    });

    /** A bill paid at Ayopop, which keeps it processing: flagged UNRESOLVED a second after (instead of a minute). */
    async function processingBill(): Promise<string> {
      const timings = stack.config.timings;
      stack.config.timings = { ...timings, bill: { ...timings.bill, attentionAfterMs: 1_000 } };
      let billId: string;
      try {
        const inquiry = await api.post<BillView>(
          '/v1/bills/inquiries',
          inquiryBody({ accountNumber: AYOPOP_SIM_ACCOUNTS.staysProcessing }),
          { as: acme }
        );
        billId = inquiry.body.id;
        const paid = await api.post<BillView>('/v1/bills/payments', { billId }, { as: acme });
        assert.equal(paid.status, 200, paid.text);
        assert.equal(paid.body.status, 'PROCESSING');
      } finally {
        stack.config.timings = timings;
      }
      return billId;
    }

    const flagged = (billId: string) =>
      eventually(async () => {
        const bill = (await api.get<BillView>(`/v1/bills/payments/${billId}`, { as: acme })).body;
        return bill.needsAttention && /^UNRESOLVED/.test(bill.attentionReason ?? '') ? bill : undefined;
      });

    it('tells the merchant a flagged bill the provider then settles without the flag it no longer has', async () => {
      const billId = await processingBill();
      await flagged(billId);
      await fetch(`${stack.simulators.ayopop.url}/_sim/orders/${billId}/succeed`, { method: 'POST' });
      const told = await eventually(() => stack.webhooks.eventsFor(billId).find((e) => e.type === 'bill.succeeded'));
      const shown = (await api.get<BillView>(`/v1/bills/payments/${billId}`, { as: acme })).body;
      assert.deepEqual(
        [told.data.status, told.data.needsAttention, shown.status, shown.needsAttention],
        ['SUCCEEDED', false, 'SUCCEEDED', false]
      );
    });

    it('lets an operator settle a bill whose payment the provider leaves unresolved, checked with the provider first', async () => {
      const billId = await processingBill();
      const path = `/v1/operator/bills/payments/${billId}/resolve`;
      const operator = { 'Kasir-Operator-Key': stack.operatorKey };
      const failed = {
        outcome: 'FAILED',
        evidence: 'Ayopop support ticket 4412: the payment never reached the biller',
        operator: 'ops@kasir',
      };
      const early = await api.post<BillView>(path, failed, { headers: operator });
      assert.equal(early.status, 409, early.text);
      assert.equal(early.error.code, 'invalid_state', 'a bill still being resolved by status needs no operator');
      await flagged(billId);

      assert.equal((await api.post(path, failed, { as: acme })).status, 401, 'merchant keys are refused');
      // Ayopop still shows the payment processing: a FAILED is contradicted unless forced.
      const contradicted = await api.post<BillView>(path, failed, { headers: operator });
      assert.equal(contradicted.status, 409, contradicted.text);
      assert.equal(contradicted.error.code, 'resolution_contradicted');
      const forced = await api.post<BillView>(path, { ...failed, force: true }, { headers: operator });
      assert.equal(forced.status, 200, forced.text);
      assert.equal(forced.body.status, 'FAILED');
      assert.equal(forced.body.needsAttention, false);
      assert.equal(forced.body.failure?.code, 'OPERATOR_RESOLVED');
      assert.deepEqual(
        [forced.body.resolution?.by, forced.body.resolution?.outcome, forced.body.resolution?.forced],
        ['ops@kasir', 'FAILED', true]
      );
      const told = await eventually(() => stack.webhooks.eventsFor(billId).find((e) => e.type === 'bill.failed'));
      assert.deepEqual(
        [told.data.status, told.data.needsAttention, told.data.attentionReason],
        ['FAILED', false, undefined],
        'the event carries the flag as GET does'
      );
      const handle = stack.client.workflow.getHandle(`bill:${billId}`);
      await recordHistory(stack, handle, 'bill', 'final-event-clears-attention');
      const again = await api.post<BillView>(path, failed, { headers: operator });
      assert.equal(again.status, 409, again.text);
      // It watches Ayopop for a while after an operator's FAILED (next test); not for the rest of this file.
      await handle.terminate('test cleanup');
    });

    it("keeps asking Ayopop after an operator's resolution: a success after a forced FAILED, a failure, another amount or a token after a forced SUCCEEDED", async () => {
      const operator = { 'Kasir-Operator-Key': stack.operatorKey };
      const resolve = async (billId: string, outcome: 'SUCCEEDED' | 'FAILED') => {
        await flagged(billId);
        const evidence = `ops checked the biller portal for ${billId}`;
        const answer = await api.post<BillView>(
          `/v1/operator/bills/payments/${billId}/resolve`,
          { outcome, evidence, operator: 'ops@kasir', force: true },
          { headers: operator }
        );
        assert.equal(answer.status, 200, answer.text);
        assert.equal(answer.body.status, outcome);
      };
      const ayopop = stack.simulators.ayopop.url;
      const settle = (billId: string, how: 'succeed' | 'fail', body: Record<string, unknown> = {}) =>
        fetch(`${ayopop}/_sim/orders/${billId}/${how}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const bill = async (billId: string, ready: (b: BillView) => boolean) =>
        eventually(async () => {
          const shown = (await api.get<BillView>(`/v1/bills/payments/${billId}`, { as: acme })).body;
          return ready(shown) ? shown : undefined;
        });
      const [paidAfterAll, failedAfterAll, tokenAfterAll, otherAmount] = [
        await processingBill(),
        await processingBill(),
        await processingBill(),
        await processingBill(),
      ];
      const bills = [paidAfterAll, failedAfterAll, tokenAfterAll, otherAmount];
      try {
        await resolve(paidAfterAll, 'FAILED');
        await resolve(failedAfterAll, 'SUCCEEDED');
        await resolve(tokenAfterAll, 'SUCCEEDED');
        await resolve(otherAmount, 'SUCCEEDED');
        // Still open: the bills watch Ayopop (and so read its callbacks themselves, no late record needed).
        for (const id of bills) {
          assert.equal((await stack.client.workflow.getHandle(`bill:${id}`).describe()).status.name, 'RUNNING');
        }
        await settle(paidAfterAll, 'succeed');
        await settle(failedAfterAll, 'fail');
        await settle(tokenAfterAll, 'succeed', { token: '1234-5678-9012-3456-7890' });
        const due = (await api.get<BillView>(`/v1/bills/payments/${otherAmount}`, { as: acme })).body.inquiry!.amount;
        await settle(otherAmount, 'succeed', { amount: due + 1_000 });

        const paid = await bill(paidAfterAll, (b) => b.status === 'SUCCEEDED');
        assert.match(paid.attentionReason ?? '', /^PAID_AFTER_FAILURE/);
        await eventually(() =>
          stack.webhooks.eventsFor(paidAfterAll).find((e) => e.type === 'bill.paid_after_failure')
        );
        const contradicted = await bill(failedAfterAll, (b) => b.needsAttention);
        assert.equal(contradicted.status, 'SUCCEEDED');
        assert.match(contradicted.attentionReason ?? '', /^FAILED_AFTER_FORCED_SUCCESS/);
        await eventually(() => stack.webhooks.eventsFor(failedAfterAll).find((e) => e.type === 'bill.contradicted'));
        const withToken = await bill(tokenAfterAll, (b) => b.token !== undefined);
        assert.deepEqual([withToken.status, withToken.token], ['SUCCEEDED', '1234-5678-9012-3456-7890']);
        const mismatched = await bill(otherAmount, (b) => b.needsAttention);
        assert.match(mismatched.attentionReason ?? '', /^AMOUNT_MISMATCH_AFTER_FORCED_SUCCESS/);
        await eventually(() => stack.webhooks.eventsFor(otherAmount).find((e) => e.type === 'bill.contradicted'));
        await recordHistory(
          stack,
          stack.client.workflow.getHandle(`bill:${paidAfterAll}`),
          'bill',
          'operator-resolution-watched'
        );
      } finally {
        for (const id of bills) {
          await stack.client.workflow
            .getHandle(`bill:${id}`)
            .terminate('test cleanup: the watch would ask Ayopop for 72 h')
            .catch(() => undefined);
        }
      }
    });

    it('reports a biller refusal as INQUIRY_FAILED and refuses to pay it with 409', async () => {
      const inquiry = await api.post<BillView>(
        '/v1/bills/inquiries',
        inquiryBody({ accountNumber: AYOPOP_SIM_ACCOUNTS.billNotAvailable }),
        { as: acme }
      );
      assert.equal(inquiry.status, 201, JSON.stringify(inquiry.body));
      assert.equal(inquiry.body.status, 'INQUIRY_FAILED');
      assert.ok(inquiry.body.inquiryFailure?.code);
      const handle = stack.client.workflow.getHandle(`bill:${inquiry.body.id}`);
      await eventually(
        async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined),
        20_000,
        'the bill workflow to close'
      );
      const pay = await api.post<BillView>('/v1/bills/payments', { billId: inquiry.body.id }, { as: acme });
      assert.equal(pay.status, 409);
      assert.match(pay.error.message, /INQUIRY_FAILED/);
    });

    it('validates inquiries and payments, naming each bad field', async () => {
      const invalid = await api.post<BillView>(
        '/v1/bills/inquiries',
        { reference: '', productCode: 'PLN POST', month: 13, provider: 'bdpay' },
        { as: acme }
      );
      assert.equal(invalid.status, 400);
      const params = paramsOf(invalid);
      // `bdpay` pays no bills: the document offers only bill providers, and validation refuses the others with the rest.
      assert.deepEqual(params, ['accountNumber', 'month', 'productCode', 'provider', 'reference']);
      const noBills = await api.post<BillView>('/v1/bills/inquiries', inquiryBody({ provider: 'bdpay' }), { as: acme });
      assert.equal(noBills.status, 400);
      assert.equal(noBills.error.param, 'provider');
      const noBillId = await api.post<BillView>('/v1/bills/payments', { expectedTotal: 'ten' }, { as: acme });
      assert.equal(noBillId.status, 400);
      assert.deepEqual(paramsOf(noBillId), ['billId', 'expectedTotal']);
      const unknownBill = await api.post<BillView>(
        '/v1/bills/payments',
        { billId: 'B0000000000000000000' },
        { as: acme }
      );
      assert.equal(unknownBill.status, 404);
    });
  });
});
