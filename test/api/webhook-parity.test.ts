/** Merchant webhooks carry exactly the view GET answers with (src/domain/merchant-view.ts). */
import assert from 'node:assert/strict';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';
import type { BillView } from '../../src/api/schemas';
import { apiClient, uniqueRef } from './http';

describe('merchant webhooks carry the view GET answers with', function () {
  this.timeout(120_000);
  let stack: TestStack;
  before(async () => {
    stack = await startStack({ api: true });
  });
  after(async () => stack?.stop());

  it("a bill's webhook equals its GET, total included", async () => {
    const api = apiClient(stack);
    const acme = stack.merchants[0]!;
    const body = {
      reference: uniqueRef('BILL'),
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.succeedsImmediately,
    };
    const inquiry = await api.post<BillView>('/v1/bills/inquiries', body, { as: acme });
    assert.equal(inquiry.status, 201, inquiry.text);
    const event = await eventually(
      async () => stack.webhooks.eventsFor(inquiry.body.id).find((e) => e.type === 'bill.inquired'),
      20_000,
      'the bill.inquired webhook'
    );
    const got = await api.get<BillView>(`/v1/bills/payments/${inquiry.body.id}`, { as: acme });
    assert.equal(event.data.total, got.body.total);
    assert.deepEqual(event.data, got.body);
  });
});
