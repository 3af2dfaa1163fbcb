import assert from 'node:assert/strict';
import { BILLS, PAYMENTS, PAYOUTS } from '../../src/api/movement-kinds';
import { BillViewSchema, PaymentViewSchema, PayoutViewSchema } from '../../src/api/schemas';
import { billTotalOf } from '../../src/domain/bill';
import { merchantViewOf } from '../../src/domain/merchant-view';
import type { BillState, PaymentState, PayoutState } from '../../workflows/movement-state';

const at = '2026-11-30T10:00:00.000Z';
const timeline = [{ at, status: 'PENDING', source: 'registration' as const, money: true }];

const payment: PaymentState = {
  id: 'P0000000000000000001',
  kind: 'payment',
  merchantId: 'acme',
  merchantReference: 'ORDER-1',
  provider: 'finpay',
  method: 'VA_BCA',
  amount: 150_000,
  status: 'PENDING',
  requestFingerprint: 'f'.repeat(64),
  instructions: { vaNumber: '8808123456', expiresAt: at },
  needsAttention: false,
  createdAt: at,
  updatedAt: at,
  timeline,
  metadata: { cartId: 'c_1' },
};

const payout: PayoutState = {
  id: 'O0000000000000000001',
  kind: 'payout',
  merchantId: 'acme',
  merchantReference: 'PAYOUT-1',
  provider: 'bdpay',
  amount: 300_000,
  feeMode: 'merchant',
  beneficiary: { bankCode: '014', accountNumberMasked: '******7890' },
  status: 'PROCESSING',
  requestFingerprint: 'e'.repeat(64),
  submitted: true,
  needsAttention: false,
  createdAt: at,
  updatedAt: at,
  timeline,
};

const pendingBill: BillState = {
  id: 'B0000000000000000001',
  kind: 'bill',
  merchantId: 'acme',
  merchantReference: 'BILL-1',
  provider: 'ayopop',
  productCode: 'PLNPOST',
  status: 'INQUIRED',
  requestFingerprint: 'd'.repeat(64),
  paymentSubmitted: false,
  needsAttention: false,
  createdAt: at,
  updatedAt: at,
  timeline: [],
};

const inquiredBill: BillState = {
  ...pendingBill,
  inquiry: {
    inquiryId: 'inq-1',
    customerName: 'Budi Santoso',
    amount: 250_000,
    totalAdmin: 2_500,
    processingFee: 1_000,
    expiresAt: at,
    details: [{ key: 'period', value: '2026-11' }],
  },
};

describe('merchant view: one function for API answers and webhooks', () => {
  it('shows every field of the state but the request fingerprint, without changing the state', () => {
    for (const state of [payment, payout, pendingBill]) {
      const view = merchantViewOf(state);
      const { requestFingerprint: _fingerprint, ...expected } = state;
      assert.deepEqual(view, expected);
      assert.equal('requestFingerprint' in view, false);
      assert.equal(typeof state.requestFingerprint, 'string', 'the state keeps its fingerprint');
    }
  });

  it("adds an inquired bill's total, the sum the workflow checks expectedTotal against", () => {
    const view = merchantViewOf(inquiredBill);
    assert.equal(view.total, 253_500);
    assert.equal(view.total, billTotalOf(inquiredBill));
    assert.equal('total' in merchantViewOf(pendingBill), false, 'no total before the inquiry answers');
  });

  it('is what every kind answers with, and each answer fits the schema the OpenAPI document shows', () => {
    assert.equal(PAYMENTS.view, merchantViewOf);
    assert.equal(PAYOUTS.view, merchantViewOf);
    assert.equal(BILLS.view, merchantViewOf);
    PaymentViewSchema.strict().parse(PAYMENTS.view(payment));
    PayoutViewSchema.strict().parse(PAYOUTS.view(payout));
    BillViewSchema.strict().parse(BILLS.view(inquiredBill));
  });
});
