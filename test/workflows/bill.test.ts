/** billWorkflow on the real Temporal server against the Ayopop simulator: inquiry, confirm, pay, status. */
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { AYOPOP_SIM_ACCOUNTS, AYOPOP_SIM_PRODUCTS } from '../../src/sandbox/ayopop';
import { billTotalOf } from '../../src/domain/bill';
import { confirmBillPaymentUpdate } from '../../workflows/messages';
import { recordHistory } from '../helpers/histories';
import { simGet, startBill } from '../helpers/movements';
import { startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

describe('billWorkflow', function () {
  this.timeout(60_000);
  let stack: TestStack;
  let ayopop: string;
  const paymentsOf = async (reference: string) =>
    (await simGet<Record<string, number>>(ayopop, '/_sim/submissions'))[reference] ?? 0;

  before(async () => {
    stack = await startStack();
    ayopop = stack.simulators.ayopop.url;
  });
  after(async () => stack?.stop());
  afterEach(async () => void (await fetch(`${ayopop}/_sim/faults`, { method: 'DELETE' })));

  it('inquires, pays once on confirmation and settles with the token', async () => {
    const { state, handle } = await startBill(stack, {
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
    });
    assert.equal(state.status, 'INQUIRED');
    assert.ok(state.inquiry && state.inquiry.amount > 0);
    const afterPay = await handle.executeUpdate(confirmBillPaymentUpdate, {
      args: [{ expectedTotal: billTotalOf(state) }],
    });
    assert.equal(afterPay.status, 'PROCESSING');
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.ok(final.token);
    assert.equal(await paymentsOf(state.id), 1);
    await recordHistory(stack, handle, 'bill', 'succeeded');
    await recordHistory(stack, handle, 'bill', 'succeeded-movement-core');
    await recordHistory(stack, handle, 'bill', 'succeeded-local-webhooks');
    await recordHistory(stack, handle, 'bill', 'succeeded-consolidated-patches');
    await recordHistory(stack, handle, 'bill', 'succeeded-final-webhook-inline');
    await recordHistory(stack, handle, 'bill', 'succeeded-final-webhook-in-background');
  });

  it('pays a voucher the biller quotes without a price for the price the merchant named, never for 0', async () => {
    const voucher = { productCode: AYOPOP_SIM_PRODUCTS.googlePlay20k, accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds };
    // No price from Ayopop (seed 004: `amount: 0`) and none from the merchant: nothing to show or pay.
    const unpriced = await startBill(stack, voucher);
    assert.equal(unpriced.state.status, 'INQUIRY_FAILED');
    assert.equal(unpriced.state.inquiryFailure?.code, 'PRICE_NOT_QUOTED');
    assert.match(unpriced.state.inquiryFailure?.reason.en ?? '', /send its price as amount/);

    const priced = await startBill(stack, { ...voucher, amount: 20_000 });
    assert.equal(priced.state.status, 'INQUIRED');
    assert.equal(billTotalOf(priced.state), 20_000);
    assert.ok(priced.state.inquiry?.details.some((line) => line.key === 'Harga Produk' && line.value === '20000'));
    await priced.handle.executeUpdate(confirmBillPaymentUpdate, { args: [{ expectedTotal: 20_000 }] });
    const paid = await priced.handle.result();
    assert.equal(paid.status, 'SUCCEEDED', JSON.stringify(paid.timeline));
    assert.ok(paid.token);

    // A wrong price is refused by the biller (114): FAILED, nothing debited.
    const mispriced = await startBill(stack, { ...voucher, amount: 15_000 });
    await mispriced.handle.executeUpdate(confirmBillPaymentUpdate, { args: [{}] });
    const refused = await mispriced.handle.result();
    assert.equal(refused.status, 'FAILED');
    assert.equal(refused.providerCode, '114');
  });

  it('rejects a confirmation whose total differs from the inquiry', async () => {
    const { state, handle } = await startBill(stack, {
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
    });
    await assert.rejects(
      handle.executeUpdate(confirmBillPaymentUpdate, { args: [{ expectedTotal: 1 }] }),
      WorkflowUpdateFailedError
    );
    assert.equal(await paymentsOf(state.id), 0);
    await handle.terminate('test cleanup');
  });

  it('reports a failed payment with the deposit refunded', async () => {
    const { state, handle } = await startBill(stack, {
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.failsAfterProcessing,
    });
    const deposit = (await simGet<{ balance: number }>(ayopop, '/_sim/deposit')).balance;
    await handle.executeUpdate(confirmBillPaymentUpdate, { args: [{}] });
    const final = await handle.result();
    assert.equal(final.status, 'FAILED');
    assert.equal(final.failure?.depositRefunded, true);
    assert.equal((await simGet<{ balance: number }>(ayopop, '/_sim/deposit')).balance, deposit);
    assert.equal(await paymentsOf(state.id), 1);
    await recordHistory(stack, handle, 'bill', 'failed');
    await recordHistory(stack, handle, 'bill', 'failed-movement-core');
  });

  it('resolves a payment that timed out by status, paying exactly once', async () => {
    const { state, handle } = await startBill(stack, {
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.succeeds,
    });
    // The payment reaches Ayopop, but the answer never comes back.
    await fetch(`${ayopop}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'accept-then-drop', path: '/api/v2/bill/payment' }),
    });
    const afterPay = await handle.executeUpdate(confirmBillPaymentUpdate, { args: [{}] });
    assert.equal(afterPay.status, 'PROCESSING');
    const final = await handle.result();
    assert.equal(final.status, 'SUCCEEDED');
    assert.equal(await paymentsOf(state.id), 1);
    await recordHistory(stack, handle, 'bill', 'payment-timeout');
    await recordHistory(stack, handle, 'bill', 'payment-timeout-movement-core');
  });

  it('ends an inquiry the provider refused with the reason the merchant can show', async () => {
    const { state, handle } = await startBill(stack, {
      productCode: AYOPOP_SIM_PRODUCTS.plnPostpaid,
      accountNumber: AYOPOP_SIM_ACCOUNTS.alreadyPaid,
    });
    assert.equal(state.status, 'INQUIRY_FAILED');
    assert.equal(state.inquiryFailure?.code, '302');
    assert.ok(state.inquiryFailure?.reason.en);
    assert.equal((await handle.result()).status, 'INQUIRY_FAILED');
  });
});
