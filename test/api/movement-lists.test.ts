import assert from 'node:assert/strict';
import { OPERATOR_KEY_HEADER } from '../../src/api/middleware/auth';
import type { BillView, MovementList, PaymentView, PayoutView } from '../../src/api/schemas';
import type { MovementKind } from '../../src/ids';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import { eventually, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';
import { apiClient, paramsOf, paymentBody, uniqueRef } from './http';

/** The list route of each kind, as the issue names them. */
const LISTS = {
  payout: '/v1/payouts',
  bill: '/v1/bills/payments',
  payment: '/v1/payments',
  refund: '/v1/refunds',
} as const;

describe('merchant API: every movement kind is listable', function () {
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;
  let globex: TestMerchant;
  /** Before anything this file creates: `created_from` this instant finds this file's movements only. */
  let since: string;
  const tag = uniqueRef('LIST');
  const ids: Record<string, string> = {};

  function payoutBody(reference: string): Record<string, unknown> {
    return {
      reference,
      amount: 300_000,
      feeMode: 'deducted',
      beneficiary: { bankCode: '014', accountNumber: '9876543210', accountName: 'Dewi Lestari' },
      description: 'Marketplace payout',
    };
  }

  function billBody(reference: string, accountNumber: string): Record<string, unknown> {
    return { reference, productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid, accountNumber };
  }

  async function list<K extends MovementKind>(kind: K, query: string, as: TestMerchant = acme) {
    return api.get<MovementList<K>>(`${LISTS[kind]}?${query}`, { as });
  }

  /** The ids a list answers for `query` (asserting a 200 and that every row is of `kind`). */
  async function idsOf(kind: MovementKind, query: string, as: TestMerchant = acme): Promise<string[]> {
    const response = await list(kind, query, as);
    assert.equal(response.status, 200, response.text);
    assert.equal(response.body.object, 'list');
    for (const row of response.body.data) assert.equal(row.kind, kind, `${LISTS[kind]} lists ${kind}s only`);
    return response.body.data.map((row) => row.id);
  }

  const ref = (name: string) => encodeURIComponent(`${tag}-${name}`);

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({ api: true });
    api = apiClient(stack);
    [acme, globex] = stack.merchants as [TestMerchant, TestMerchant];
    since = new Date(Date.now() - 1_000).toISOString();

    const creates: [string, string, Record<string, unknown>, TestMerchant][] = [
      ['po-1', '/v1/payouts', payoutBody(`${tag}-po-1`), acme],
      ['po-2', '/v1/payouts', payoutBody(`${tag}-po-2`), acme],
      ['po-3', '/v1/payouts', payoutBody(`${tag}-po-3`), acme],
      ['po-globex', '/v1/payouts', payoutBody(`${tag}-po-globex`), globex],
      ['bill-ok', '/v1/bills/inquiries', billBody(`${tag}-bill-ok`, AYOPOP_SIM_ACCOUNTS.succeedsImmediately), acme],
      ['bill-na', '/v1/bills/inquiries', billBody(`${tag}-bill-na`, AYOPOP_SIM_ACCOUNTS.billNotAvailable), acme],
      [
        'bill-globex',
        '/v1/bills/inquiries',
        billBody(`${tag}-bill-globex`, AYOPOP_SIM_ACCOUNTS.succeedsImmediately),
        globex,
      ],
      ['pay', '/v1/payments', paymentBody({ reference: `${tag}-pay` }), acme],
    ];
    for (const [name, path, body, as] of creates) {
      const created = await api.post<PayoutView | BillView | PaymentView>(path, body, { as });
      assert.equal(created.status, 201, `${name}: ${created.text}`);
      ids[name] = created.body.id;
    }
    // The index is eventually consistent: wait until it shows every movement in its first settled status.
    await eventually(
      async () => {
        const payouts = await list('payout', `created_from=${encodeURIComponent(since)}&status=PROCESSING&limit=100`);
        const bills = await list('bill', `created_from=${encodeURIComponent(since)}&limit=100`);
        const shown = new Set([...payouts.body.data, ...bills.body.data].map((row) => `${row.id}:${row.status}`));
        const expected = [
          `${ids['po-1']}:PROCESSING`,
          `${ids['po-2']}:PROCESSING`,
          `${ids['po-3']}:PROCESSING`,
          `${ids['bill-ok']}:INQUIRED`,
          `${ids['bill-na']}:INQUIRY_FAILED`,
        ];
        return expected.every((entry) => shown.has(entry));
      },
      30_000,
      'payouts and bills in the visibility index'
    );
  });
  after(async () => stack?.stop());

  it('lists the caller’s payouts only, and nothing of another kind', async () => {
    const mine = await list('payout', 'limit=100');
    assert.equal(mine.status, 200, mine.text);
    const mineIds = mine.body.data.map((row) => row.id);
    for (const name of ['po-1', 'po-2', 'po-3']) assert.ok(mineIds.includes(ids[name]!), name);
    for (const name of ['po-globex', 'bill-ok', 'bill-na', 'pay']) assert.ok(!mineIds.includes(ids[name]!), name);
    const row = mine.body.data.find((r) => r.id === ids['po-1']);
    assert.ok(row);
    assert.equal(row.kind, 'payout');
    assert.equal(row.merchantReference, `${tag}-po-1`);
    assert.equal(row.provider, 'bdpay');
    assert.equal(row.amount, 300_000);
    assert.equal(row.status, 'PROCESSING');
    assert.equal(row.needsAttention, false);
    assert.ok(row.createdAt !== undefined && row.createdAt >= since);
    assert.equal('method' in row, false, 'a payout indexes no method');

    const theirs = await idsOf('payout', 'limit=100', globex);
    assert.ok(theirs.includes(ids['po-globex']!));
    for (const name of ['po-1', 'po-2', 'po-3']) assert.ok(!theirs.includes(ids[name]!), name);
    assert.deepEqual(await idsOf('payout', `reference=${ref('po-1')}`, globex), []);
  });

  it('lists the caller’s bills only, inquired or failed, and nothing of another kind', async () => {
    const mine = await list('bill', 'limit=100');
    assert.equal(mine.status, 200, mine.text);
    const mineIds = mine.body.data.map((row) => row.id);
    assert.ok(mineIds.includes(ids['bill-ok']!));
    assert.ok(mineIds.includes(ids['bill-na']!));
    for (const name of ['bill-globex', 'po-1', 'pay']) assert.ok(!mineIds.includes(ids[name]!), name);
    const row = mine.body.data.find((r) => r.id === ids['bill-ok']);
    assert.ok(row);
    assert.equal(row.kind, 'bill');
    assert.equal(row.provider, 'ayopop');
    assert.equal(row.merchantReference, `${tag}-bill-ok`);

    const theirs = await idsOf('bill', 'limit=100', globex);
    assert.ok(theirs.includes(ids['bill-globex']!));
    assert.ok(!theirs.includes(ids['bill-ok']!));
    // Payments keep listing payments only.
    const payments = await idsOf('payment', 'limit=100');
    assert.ok(payments.includes(ids.pay!));
    assert.ok(!payments.includes(ids['po-1']!) && !payments.includes(ids['bill-ok']!));
  });

  it('filters payouts by reference, status, provider, needs_attention and created range', async () => {
    assert.deepEqual(await idsOf('payout', `reference=${ref('po-2')}`), [ids['po-2']]);
    assert.deepEqual(await idsOf('payout', `reference=${ref('po-2')}&status=PROCESSING`), [ids['po-2']]);
    assert.deepEqual(await idsOf('payout', `reference=${ref('po-2')}&status=SUCCEEDED`), []);
    assert.deepEqual(await idsOf('payout', `reference=${ref('po-2')}&provider=bdpay`), [ids['po-2']]);
    assert.deepEqual(await idsOf('payout', `reference=${ref('po-2')}&needs_attention=false`), [ids['po-2']]);
    assert.deepEqual(await idsOf('payout', `reference=${ref('po-2')}&needs_attention=true`), []);

    const fromSince = await idsOf('payout', `created_from=${encodeURIComponent(since)}&limit=100`);
    assert.deepEqual(fromSince.sort(), [ids['po-1'], ids['po-2'], ids['po-3']].sort());
    assert.deepEqual(await idsOf('payout', `created_before=${encodeURIComponent(since)}&limit=100`), []);
    // The same instant written with an offset.
    const later = new Date(Date.now() + 3_600_000);
    const jakarta = new Date(later.getTime() + 7 * 3_600_000).toISOString().replace('Z', '+07:00');
    const window = `created_from=${encodeURIComponent(since)}&created_before=${encodeURIComponent(jakarta)}`;
    assert.equal((await idsOf('payout', `${window}&limit=100`)).length, 3);
  });

  it('filters bills by status, reference, provider and created range', async () => {
    const failed = await idsOf('bill', `status=INQUIRY_FAILED&created_from=${encodeURIComponent(since)}`);
    assert.deepEqual(failed, [ids['bill-na']]);
    assert.deepEqual(await idsOf('bill', `status=INQUIRED&reference=${ref('bill-ok')}`), [ids['bill-ok']]);
    assert.deepEqual(await idsOf('bill', `status=INQUIRED&reference=${ref('bill-na')}`), []);
    assert.deepEqual(await idsOf('bill', `provider=ayopop&reference=${ref('bill-ok')}`), [ids['bill-ok']]);
    assert.deepEqual(await idsOf('bill', `created_before=${encodeURIComponent(since)}&limit=100`), []);
  });

  it('pages through each kind with limit and page_token, every movement once', async () => {
    for (const [kind, expected] of [
      ['payout', [ids['po-1'], ids['po-2'], ids['po-3']]],
      ['bill', [ids['bill-ok'], ids['bill-na']]],
    ] as const) {
      const seen: string[] = [];
      let token: string | null = null;
      let pages = 0;
      do {
        const query: string = `created_from=${encodeURIComponent(since)}&limit=1${
          token ? `&page_token=${encodeURIComponent(token)}` : ''
        }`;
        const page = await list(kind, query);
        assert.equal(page.status, 200, page.text);
        assert.ok(page.body.data.length <= 1);
        seen.push(...page.body.data.map((row) => row.id));
        token = page.body.nextPageToken;
        assert.equal(page.body.hasMore, token !== null);
        pages++;
      } while (token !== null && pages < 10);
      assert.equal(token, null, `${kind}: the last page has no token`);
      assert.ok(pages >= expected.length, `${kind}: one movement a page`);
      assert.equal(new Set(seen).size, seen.length, `${kind}: no movement twice`);
      assert.deepEqual([...seen].sort(), [...expected].sort(), `${kind}: every movement`);
    }
  });

  it('refuses a page token on another kind’s list, another merchant’s, or with other filters', async () => {
    const first = await list('payout', 'limit=1');
    assert.equal(first.status, 200, first.text);
    const token = first.body.nextPageToken;
    assert.ok(token, 'acme has more than one payout');
    const pageToken = `page_token=${encodeURIComponent(token)}`;

    const refusals: [string, ReturnType<typeof list>][] = [
      ['bills', list('bill', `limit=1&${pageToken}`)],
      ['payments', list('payment', `limit=1&${pageToken}`)],
      ['another merchant', list('payout', `limit=1&${pageToken}`, globex)],
      ['other filters', list('payout', `limit=1&status=PROCESSING&${pageToken}`)],
    ];
    for (const [name, pending] of refusals) {
      const response = await pending;
      assert.equal(response.status, 400, name);
      assert.equal(response.error.param, 'page_token', name);
      assert.equal(response.error.errors?.[0]?.code, 'invalid_page_token', name);
    }
    const billFirst = await list('bill', `created_from=${encodeURIComponent(since)}&limit=1`);
    assert.ok(billFirst.body.nextPageToken, 'acme has two bills');
    const billOnPayouts = await list(
      'payout',
      `created_from=${encodeURIComponent(since)}&limit=1&page_token=${encodeURIComponent(billFirst.body.nextPageToken)}`
    );
    assert.equal(billOnPayouts.status, 400);
    assert.equal(billOnPayouts.error.param, 'page_token');

    const second = await list('payout', `limit=1&${pageToken}`);
    assert.equal(second.status, 200, 'the token still works where it was issued');
  });

  it('answers bad query parameters with a 400 naming each field', async () => {
    const cases: [MovementKind, string, string[]][] = [
      ['payout', 'status=PENDING', ['status']],
      ['payout', 'method=QRIS', ['method']],
      ['payout', 'provider=ayopop', ['provider']],
      ['payout', 'limit=0', ['limit']],
      ['payout', 'limit=101', ['limit']],
      ['payout', 'needs_attention=yes', ['needs_attention']],
      ['payout', 'created_from=yesterday', ['created_from']],
      ['payout', 'created_before=2026-11-30', ['created_before']],
      ['bill', 'provider=bdpay', ['provider']],
      ['bill', 'status=REGISTERING', ['status']],
      ['bill', 'colour=blue', ['colour']],
      ['bill', 'status=nope&limit=x&created_from=x', ['created_from', 'limit', 'status']],
      [
        'payout',
        `created_from=${encodeURIComponent('2026-12-01T00:00:00Z')}&created_before=${encodeURIComponent('2026-12-01T07:00:00+07:00')}`,
        ['created_before'],
      ],
    ];
    for (const [kind, query, params] of cases) {
      const response = await list(kind, query);
      assert.equal(response.status, 400, `${kind} ${query}: ${response.text}`);
      assert.equal(response.error.type, 'invalid_request_error');
      assert.deepEqual(paramsOf(response), params, `${kind} ${query}`);
      assert.ok(params.includes(response.error.param ?? ''), `${kind} ${query}: names a bad field first`);
    }
  });

  it('needs a merchant key, as the payments list does', async () => {
    for (const path of [LISTS.payout, LISTS.bill]) {
      assert.equal((await api.get(path)).status, 401, path);
      const asOperator = await api.get(path, { headers: { [OPERATOR_KEY_HEADER]: stack.operatorKey } });
      assert.equal(asOperator.status, 401, `${path} with an operator key`);
    }
  });

  it('documents each list route with its query parameters in the OpenAPI document', async () => {
    type Operation = { operationId: string; parameters?: { name: string; in: string }[] };
    const doc = (await api.get<{ paths: Record<string, Record<string, Operation>> }>('/openapi.json')).body;
    const common = ['reference', 'needs_attention', 'created_from', 'created_before', 'limit', 'page_token'];
    const expected: [string, string, string[]][] = [
      ['/v1/payments', 'listPayments', ['status', 'provider', 'method', ...common]],
      ['/v1/payouts', 'listPayouts', ['status', 'provider', ...common]],
      ['/v1/bills/payments', 'listBills', ['status', 'provider', ...common]],
    ];
    for (const [path, operationId, names] of expected) {
      const operation = doc.paths[path]?.get;
      assert.ok(operation, `GET ${path}`);
      assert.equal(operation.operationId, operationId);
      const query = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      assert.deepEqual(query, names, path);
    }
    assert.ok(doc.paths['/v1/bills/payments']?.post, 'paying a bill stays where it was');
  });
});
