import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ProviderRequestRejectedError } from '../../src/domain/errors';
import { PAYMENT_METHODS } from '../../src/domain/payment';
import type { CreatePaymentInput, ProviderPaymentStatus } from '../../src/domain/payment';
import {
  FINPAY_METHODS,
  fieldFromFinpayMessage,
  toE164Phone,
  toInitiateRequest,
  toLocalPhone,
  toParsedCallback,
  toPaymentInstructions,
  toPaymentOutcome,
  toProviderPaymentStatus,
  toWib,
  wibToIso,
} from '../../src/connectors/finpay/mapping';
import type { FinpayMethod } from '../../src/connectors/finpay/mapping';
import {
  FINPAY_PAYMENT_STATUSES,
  FinpayCallback,
  FinpayCodeInitiateResponse,
  InitiateRequest,
  InitiateResponse,
  PaymentCodeInitiateResponse,
  StatusCheckResponse,
} from '../../src/connectors/finpay/schemas';
import type { FinpayPaymentStatus } from '../../src/connectors/finpay/schemas';

const seedFixtures = join(__dirname, '../../src/connectors/finpay/fixtures');
const testFixtures = join(__dirname, 'fixtures/finpay');
const readJson = (dir: string, name: string): unknown => JSON.parse(readFileSync(join(dir, name), 'utf8'));

function paymentInput(overrides: Partial<CreatePaymentInput> = {}): CreatePaymentInput {
  return {
    reference: 'KP7M3QX2A9B4',
    amount: 150_000,
    method: 'FINPAY_CODE',
    customer: { name: 'Hajar Ismail', email: 'hajar.finnet@gmail.com', phone: '081286288844' },
    description: 'Order 42',
    expiresInMinutes: 60,
    callbackUrl: 'https://kasir.example/callbacks/finpay',
    ...overrides,
  };
}

describe('finpay schemas', () => {
  it("parses Finpay's published Payment Code request and response verbatim (docs/providers/finpay.md §3.2, §3.3)", () => {
    const request = InitiateRequest.parse(readJson(seedFixtures, 'seed001-finpaycode-initiate-request.json'));
    assert.equal(request.order.id, '1680576995412');
    assert.equal(request.order.amount, '1000');
    assert.equal(request.sourceOfFunds.type, 'finpaycode');
    const response = FinpayCodeInitiateResponse.parse(
      readJson(seedFixtures, 'seed001-finpaycode-initiate-response.json')
    );
    assert.equal(response.redirecturl, 'https://devo.finpay.id/widgetpg/pending/5613');
    assert.equal(response.expiryLink, '2023-04-05 09:56:35');
  });

  it("turns Finpay's published answer into instructions with the expiry converted from WIB", () => {
    const response = FinpayCodeInitiateResponse.parse(
      readJson(seedFixtures, 'seed001-finpaycode-initiate-response.json')
    );
    assert.deepEqual(toPaymentInstructions('finpaycode', response), {
      expiresAt: '2023-04-05T02:56:35.000Z',
      redirectUrl: 'https://devo.finpay.id/widgetpg/pending/5613',
      paymentCode: '8802700000076850',
    });
  });

  it('parses the reference status-check sample and maps CAPTURED to succeeded', () => {
    const response = StatusCheckResponse.parse(readJson(testFixtures, 'status-check-reference-sample.json'));
    assert.deepEqual(toPaymentOutcome(response.data), {
      status: 'succeeded',
      providerStatus: 'CAPTURED',
      providerReference: '16624481877591000000000',
      paidAmount: 1000,
    });
  });

  it('holds the Finpay Payment Code answer to its docs (docs/providers/finpay.md §3.3): paymentCode, redirecturl and expiryLink are mandatory', () => {
    const sample = readJson(seedFixtures, 'seed001-finpaycode-initiate-response.json') as Record<string, unknown>;
    for (const field of ['paymentCode', 'redirecturl', 'expiryLink', 'processingTime', 'responseCode']) {
      const { [field]: _dropped, ...rest } = sample;
      assert.equal(FinpayCodeInitiateResponse.safeParse(rest).success, false, `${field} should be mandatory`);
    }
    assert.equal(FinpayCodeInitiateResponse.safeParse({ ...sample, expiryLink: '2023-04-05T09:56:35' }).success, false);
    assert.equal(FinpayCodeInitiateResponse.safeParse({ ...sample, responseCode: '200000' }).success, false);
    assert.equal(FinpayCodeInitiateResponse.safeParse({ ...sample, accountList: [1, 2, 3, 4, 5] }).success, false);
  });

  it('lets QRIS and e-wallet answers omit paymentCode but not VA or retail answers', () => {
    const qris = {
      responseCode: '2000000',
      responseMessage: 'Success',
      expiryLink: '2023-04-05 09:56:35',
      processingTime: 0.1,
    };
    assert.equal(InitiateResponse.safeParse({ ...qris, imageurl: 'https://devo.finpay.id/qr.png' }).success, true);
    assert.equal(PaymentCodeInitiateResponse.safeParse(qris).success, false);
  });

  it('enforces the seed tables: mandatory objects and member counts', () => {
    const sample = readJson(seedFixtures, 'seed001-finpaycode-initiate-request.json') as Record<
      string,
      Record<string, unknown>
    >;
    for (const object of ['order', 'customer', 'url', 'sourceOfFunds']) {
      const { [object]: _dropped, ...rest } = sample;
      assert.equal(InitiateRequest.safeParse(rest).success, false, `${object} should be mandatory`);
    }
    const thirteenMembers = {
      ...sample.order,
      ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`extra${i}`, 'x'])),
    };
    assert.equal(InitiateRequest.safeParse({ ...sample, order: thirteenMembers }).success, false);
    const twelveMembers = {
      ...sample.order,
      ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`extra${i}`, 'x'])),
    };
    assert.equal(InitiateRequest.safeParse({ ...sample, order: twelveMembers }).success, true);
    assert.equal(InitiateRequest.safeParse({ ...sample, billing: { a: 1, b: 2 } }).success, false);
    assert.equal(InitiateRequest.safeParse({ ...sample, url: {} }).success, false);
  });

  it('enforces field rules: alpha-dash order id, E.164 phone, known sourceOfFunds type', () => {
    const sample = readJson(seedFixtures, 'seed001-finpaycode-initiate-request.json') as Record<
      string,
      Record<string, unknown>
    >;
    const withOrder = (order: Record<string, unknown>) =>
      InitiateRequest.safeParse({ ...sample, order: { ...sample.order, ...order } }).success;
    assert.equal(withOrder({ id: 'KP.7' }), false);
    assert.equal(withOrder({ id: 'x'.repeat(31) }), false);
    assert.equal(withOrder({ id: 'KP_7-x' }), true);
    assert.equal(withOrder({ amount: '10.5' }), false);
    assert.equal(withOrder({ amount: 1000 }), true);
    assert.equal(withOrder({ description: 'd'.repeat(128) }), false);
    const withPhone = (mobilePhone: string) =>
      InitiateRequest.safeParse({ ...sample, customer: { ...sample.customer, mobilePhone } }).success;
    assert.equal(withPhone('081286288844'), false);
    assert.equal(withPhone('+6281286288844'), true);
    assert.equal(InitiateRequest.safeParse({ ...sample, sourceOfFunds: { type: 'bitcoin' } }).success, false);
  });

  it('parses a callback and keeps an unknown status for the status map', () => {
    const callback = FinpayCallback.parse({
      order: { id: 'KP1', reference: 'R1', amount: 1000, currency: 'IDR' },
      customer: { id: 'c' },
      result: { payment: { amount: 1000, status: 'SOMETHING_NEW', statusDesc: null } },
      signature: 'a'.repeat(128),
    });
    assert.equal(toParsedCallback(callback).outcome.status, 'pending');
    assert.equal(FinpayCallback.safeParse({ ...callback, signature: 'abc' }).success, false);
  });
});

describe('finpay status mapping', () => {
  const expected: Record<FinpayPaymentStatus, ProviderPaymentStatus> = {
    PAID: 'succeeded',
    CAPTURED: 'succeeded',
    PARTIALLY_REFUNDED: 'succeeded',
    REFUNDED: 'refunded',
    VOIDED: 'refunded',
    CANCELLED: 'cancelled',
    EXPIRED: 'expired',
    FAILURE: 'failed',
    REQUEST_INITIATED: 'pending',
    PENDING: 'pending',
    INITIATED: 'pending',
    AUTHENTICATION_INITIATED: 'pending',
    AUTHENTICATED: 'pending',
    AUTHORIZED: 'pending',
    PARTIALLY_CAPTURED: 'pending',
  };

  it('has a row for every known Finpay status', () => {
    assert.deepEqual(Object.keys(expected).sort(), [...FINPAY_PAYMENT_STATUSES].sort());
  });

  for (const [status, mapped] of Object.entries(expected)) {
    it(`maps ${status} to ${mapped}`, () => {
      assert.equal(toProviderPaymentStatus(status), mapped);
    });
  }

  for (const unknown of ['SETTLED', 'paid', '', 'SUCCESS']) {
    it(`maps the unknown status ${JSON.stringify(unknown)} to pending`, () => {
      assert.equal(toProviderPaymentStatus(unknown), 'pending');
    });
  }

  it('reports a failure with Finpay status and description', () => {
    const outcome = toPaymentOutcome({
      order: { id: 'KP1', amount: 1000 },
      result: { payment: { status: 'FAILURE', statusDesc: 'Insufficient balance' } },
    });
    assert.deepEqual(outcome, {
      status: 'failed',
      providerStatus: 'FAILURE',
      failure: { code: 'FAILURE', message: 'Insufficient balance' },
    });
  });

  it('treats a callback without result as pending', () => {
    assert.deepEqual(toPaymentOutcome({ order: { id: 'KP1', amount: 1000 } }), {
      status: 'pending',
      providerStatus: 'UNKNOWN',
    });
  });

  it('reads the payment time as WIB', () => {
    const outcome = toPaymentOutcome({
      order: { id: 'KP1', amount: '1000', reference: 'R' },
      result: { payment: { status: 'PAID', amount: 1000, datetime: '2024-01-01 06:59:59' } },
    });
    assert.equal(outcome.paidAt, '2023-12-31T23:59:59.000Z');
    assert.equal(outcome.paidAmount, 1000);
  });
});

describe('finpay request mapping', () => {
  it('sends Kasir reference as order.id, rupiah as a string and the timeout in minutes', () => {
    const request = toInitiateRequest({ ...paymentInput(), method: 'FINPAY_CODE' });
    assert.deepEqual(request, {
      order: { id: 'KP7M3QX2A9B4', amount: '150000', currency: 'IDR', description: 'Order 42', timeout: 60 },
      customer: {
        email: 'hajar.finnet@gmail.com',
        firstName: 'Hajar',
        lastName: 'Ismail',
        mobilePhone: '+6281286288844',
      },
      url: { callbackUrl: 'https://kasir.example/callbacks/finpay' },
      sourceOfFunds: { type: 'finpaycode' },
    });
    assert.equal(InitiateRequest.safeParse(request).success, true);
  });

  it('falls back to the 1440-minute default when no lifetime is given', () => {
    const request = toInitiateRequest({ ...paymentInput({ expiresInMinutes: 0 }), method: 'FINPAY_CODE' });
    assert.equal(request.order.timeout, 1440);
  });

  it('builds a schema-valid request for every Finpay method', () => {
    const expectedTypes: Record<FinpayMethod, string> = {
      FINPAY_CODE: 'finpaycode',
      VA_BCA: 'vabca',
      VA_MANDIRI: 'vamandiri',
      VA_BNI: 'vabni',
      VA_BRI: 'vabri',
      VA_PERMATA: 'vapermata',
      VA_CIMB: 'vacimb',
      VA_BNC: 'vabnc',
      VA_MAYBANK: 'vamaybank',
      VA_DANAMON: 'vadanamon',
      QRIS: 'qris',
      RETAIL_ALFAMART: 'alfamart',
      RETAIL_INDOMARET: 'idm',
      EWALLET_OVO: 'ovo',
      EWALLET_DANA: 'dana',
      EWALLET_LINKAJA: 'linkaja',
      EWALLET_SHOPEEPAY: 'shopeepay',
    };
    assert.deepEqual([...FINPAY_METHODS].sort(), Object.keys(expectedTypes).sort());
    for (const method of FINPAY_METHODS) {
      assert.ok((PAYMENT_METHODS as readonly string[]).includes(method));
      const request = toInitiateRequest({ ...paymentInput({ method }), method });
      assert.equal(request.sourceOfFunds.type, expectedTypes[method]);
      assert.equal(InitiateRequest.safeParse(request).success, true, method);
    }
  });

  it('adds what OVO, DANA and LinkAja need (docs/providers/finpay.md §7.3)', () => {
    assert.equal(
      toInitiateRequest({ ...paymentInput(), method: 'EWALLET_OVO' }).sourceOfFunds.accountId,
      '081286288844'
    );
    const dana = toInitiateRequest({ ...paymentInput(), method: 'EWALLET_DANA' });
    assert.deepEqual(dana.order.item, [{ name: 'Order 42', quantity: 1, unitPrice: '150000', category: 'general' }]);
    assert.ok(toInitiateRequest({ ...paymentInput(), method: 'EWALLET_LINKAJA' }).order.item);
    assert.equal(toInitiateRequest({ ...paymentInput(), method: 'VA_BCA' }).order.item, undefined);
  });

  it('sends return URLs when the caller has one', () => {
    const request = toInitiateRequest({ ...paymentInput({ returnUrl: 'https://shop.example/done' }), method: 'QRIS' });
    assert.deepEqual(request.url, {
      callbackUrl: 'https://kasir.example/callbacks/finpay',
      successUrl: 'https://shop.example/done',
      failUrl: 'https://shop.example/done',
      backUrl: 'https://shop.example/done',
    });
  });

  it('refuses to build a request without a phone, naming the field', () => {
    assert.throws(
      () => toInitiateRequest({ ...paymentInput({ customer: { name: 'Budi' } }), method: 'FINPAY_CODE' }),
      (err: unknown) => err instanceof ProviderRequestRejectedError && err.field === 'customer.mobilePhone'
    );
  });

  it('normalises phones to E.164 and to the local form', () => {
    assert.equal(toE164Phone('0812-8628-8844'), '+6281286288844');
    assert.equal(toE164Phone('6281286288844'), '+6281286288844');
    assert.equal(toE164Phone('+6281286288844'), '+6281286288844');
    assert.equal(toLocalPhone('+6281286288844'), '081286288844');
  });

  it('converts between WIB wall-clock and ISO instants', () => {
    assert.equal(wibToIso('2023-04-05 09:56:35'), '2023-04-05T02:56:35.000Z');
    assert.equal(toWib(new Date('2023-04-05T02:56:35.000Z')), '2023-04-05 09:56:35');
    assert.equal(toWib(new Date('2023-12-31T20:00:00Z')), '2024-01-01 03:00:00');
    assert.throws(() => wibToIso('2023-04-05T09:56:35'));
  });

  it('reads the field back out of Finpay validation messages', () => {
    assert.equal(fieldFromFinpayMessage('Invalid Mandatory Field customer.mobile phone'), 'customer.mobilePhone');
    assert.equal(
      fieldFromFinpayMessage('Invalid Field Format. The customer.mobile phone format is invalid'),
      'customer.mobilePhone'
    );
    assert.equal(fieldFromFinpayMessage('Invalid Mandatory Field order.item.0.category'), 'order.item.0.category');
    assert.equal(fieldFromFinpayMessage('Feature Not Allowed'), undefined);
  });
});

describe('finpay callback mapping', () => {
  it('names Kasir reference and gives a stable event id', () => {
    const body = {
      order: { id: 'KP7M3QX2A9B4', reference: '170000000001', amount: 150000, currency: 'IDR' },
      customer: { id: 'hajar.finnet@gmail.com' },
      result: { payment: { amount: 150000, status: 'PAID', statusDesc: null, datetime: '2024-01-15 10:30:00' } },
      signature: 'f'.repeat(128),
    };
    const first = toParsedCallback(FinpayCallback.parse(body));
    const again = toParsedCallback(FinpayCallback.parse(structuredClone(body)));
    assert.equal(first.reference, 'KP7M3QX2A9B4');
    assert.equal(first.eventId, again.eventId);
    assert.equal(first.trust, 'verified');
    assert.deepEqual(first.outcome, {
      status: 'succeeded',
      providerStatus: 'PAID',
      providerReference: '170000000001',
      paidAmount: 150000,
      paidAt: '2024-01-15T03:30:00.000Z',
    });
    const refunded = toParsedCallback(
      FinpayCallback.parse({ ...body, result: { payment: { ...body.result.payment, status: 'REFUNDED' } } })
    );
    assert.notEqual(refunded.eventId, first.eventId);
  });
});
