import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  CallbackPayloadError,
  CallbackSignatureError,
  OperationNotSupportedError,
  OutcomeUnknownError,
  ProviderRequestRejectedError,
  ProviderResponseInvalidError,
  ProviderUnavailableError,
} from '../../src/domain/errors';
import type { CreatePaymentInput } from '../../src/domain/payment';
import type { SubmitPayoutInput } from '../../src/domain/payout';
import { bdpayModule, createBdpayConnector } from '../../src/connectors/bdpay';
import {
  toCashRequest,
  toDisplayName,
  toLocalPhone,
  toParsedCallback,
  toPaymentOutcome,
  toPaymentRegistration,
  toPaymentStatus,
  toPayInRequest,
  toPayoutOutcome,
  toPayoutStatus,
  toPayoutSubmission,
  toProviderBalance,
  toWireDateTime,
} from '../../src/connectors/bdpay/mapping';
import {
  BalanceResponseSchema,
  CashRequestSchema,
  CashResponseSchema,
  PayInResponseSchema,
  PayRequestSchema,
  PrepaidOrderRequestSchema,
  QueryResponseSchema,
  type CashResponse,
  type PayInResponse,
  type QueryResponse,
} from '../../src/connectors/bdpay/schemas';
import {
  buildStringA,
  signFields,
  toPrivateKey,
  toPublicKey,
  verifyFieldSignature,
} from '../../src/connectors/bdpay/signing';
import { applyPatch, FIELD_RULE_CASES, VALID_BODIES } from './fixtures/bdpay/field-rules';

const fixtureDir = join(__dirname, '../../src/connectors/bdpay/fixtures');
const testKeyDir = join(__dirname, 'fixtures/bdpay');
/** Each fixture names its source next to the sample: a JSON `body`, a form string, or signing fields. */
const FixtureSchema = z.object({
  source: z.string(),
  body: z.record(z.string(), z.unknown()).optional(),
  form: z.string().optional(),
  fields: z.record(z.string(), z.string()).optional(),
  stringA: z.string().optional(),
});
const readFixture = (name: string) => FixtureSchema.parse(JSON.parse(readFileSync(join(fixtureDir, name), 'utf8')));

// TEST-ONLY 1024-bit key pair, generated once with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024`.
const TEST_PRIVATE_PEM = readFileSync(join(testKeyDir, 'test-only-merchant-private-key.pem'), 'utf8');
const TEST_PUBLIC_PEM = readFileSync(join(testKeyDir, 'test-only-merchant-public-key.pem'), 'utf8');
const testPrivateKey = toPrivateKey(TEST_PRIVATE_PEM);
const testPublicKey = toPublicKey(TEST_PUBLIC_PEM);
const otherPrivateKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;

/** A payout body whose StringA (144 bytes) needs two 117-byte chunks. */
const TWO_CHUNK_FIELDS = {
  merchantCode: 'S820190712000002',
  orderNum: 'KP7M3QTEST0001',
  money: '150000',
  feeType: '0',
  bankCode: '014',
  number: '1234567890',
  name: 'Budi Santoso',
  description: 'Payout for invoice INV 2024 001',
  notifyUrl: 'https://kasir.example/callbacks/bdpay',
  dateTime: '20240105143000',
  sign: 'ignored',
  remark: '',
};

/*
 * Expected values computed with OpenSSL 3.0, independently of the code under test:
 *   python3: StringA = "".join(v for k, v in sorted(fields.items()) if k != "sign" and v != "")
 *   head -c 117 stringA > c1; tail -c +118 stringA > c2
 *   openssl rsautl -sign -inkey test-only-merchant-private-key.pem -in c1 > s1   (PKCS#1 v1.5 type 1)
 *   openssl rsautl -sign -inkey test-only-merchant-private-key.pem -in c2 > s2   (pkeyutl -pkeyopt rsa_padding_mode:pkcs1 gives the same)
 *   cat s1 s2 | base64 -w0
 */
const TWO_CHUNK_STRING_A =
  '01420240105143000Payout for invoice INV 2024 0010S820190712000002150000Budi Santosohttps://kasir.example/callbacks/bdpay1234567890KP7M3QTEST0001';
const TWO_CHUNK_SIGN =
  'Pmy9jjLw6zWPt7t9Q50OaZwP17GgLCEJGi9rAb6e7JFwUA5rCbQtydPZMCHbreC0bYsK93ySG4NgnBHOtctCSjtdwPEzx8kpsge3OANR6VhvVr7moSX9XWUN6JN81BBMUb31i8lzZ7col94cDqYVkfExde4qNAmBG+zAyFnZeW5O5nCXLU8lD6eXQuRaO+s/vS+wDbi0+ukAgbJoFf78FaILpXYEpC+ALxGMRofpN6E2fnYOktQqwQrjR1542rZNVEsHp+3Zqw7d5ElFI3qLp4fzeKVgStWFW2joaV74T5cP4qfLSK0NjEaMDPQIkW0OmgMb++SNB+XmUrn8jRF5dg==';
/* printf '0S82019071200000220000T1' | openssl pkeyutl -sign -inkey test-only-merchant-private-key.pem -pkeyopt rsa_padding_mode:pkcs1 | base64 -w0 */
const ONE_CHUNK_SIGN =
  'rPIJnscV0Uxse6Fg2qB6/795FcnDa7TLFazyROYCRBPj3EvtpdYeuul9U/WHgijiTfGJTGDsVeSzfZ7gwxfMIWhv9kELijWlOcPj9WF5KWULAamqjJJxBY1+zMSSN895h6DDb3abkpj19DY1XdCp9Bym3WJB23IFZlb6Stt0qXw=';

describe('bdpay signing', () => {
  it('builds StringA exactly as the reference illustration (values only, sorted by key, no separator)', () => {
    const illustration = readFixture('string-a-illustration.json');
    assert.equal(buildStringA(illustration.fields!), illustration.stringA);
  });

  it('leaves out sign, platSign and empty values from StringA', () => {
    assert.equal(buildStringA(TWO_CHUNK_FIELDS), TWO_CHUNK_STRING_A);
    assert.equal(buildStringA({ b: '2', a: '1', platSign: 'x', sign: 'y', c: '', d: null }), '12');
  });

  it('signs a one-chunk StringA exactly as openssl does', () => {
    assert.equal(signFields(readFixture('string-a-illustration.json').fields!, testPrivateKey), ONE_CHUNK_SIGN);
  });

  it('signs in 117-byte chunks exactly as openssl does', () => {
    assert.equal(Buffer.byteLength(TWO_CHUNK_STRING_A), 144);
    assert.equal(signFields(TWO_CHUNK_FIELDS, testPrivateKey), TWO_CHUNK_SIGN);
  });

  it('verifies the openssl signature with the public key, block by block', () => {
    assert.equal(verifyFieldSignature({ ...TWO_CHUNK_FIELDS, sign: TWO_CHUNK_SIGN }, 'sign', testPublicKey), true);
    assert.equal(
      verifyFieldSignature({ ...TWO_CHUNK_FIELDS, platSign: TWO_CHUNK_SIGN }, 'platSign', testPublicKey),
      true
    );
  });

  it('rejects a changed field, a changed signature, a truncated or a missing signature', () => {
    assert.equal(
      verifyFieldSignature({ ...TWO_CHUNK_FIELDS, money: '150001', sign: TWO_CHUNK_SIGN }, 'sign', testPublicKey),
      false
    );
    const flipped = Buffer.from(TWO_CHUNK_SIGN, 'base64');
    flipped[200] = flipped[200]! ^ 0x01;
    assert.equal(
      verifyFieldSignature({ ...TWO_CHUNK_FIELDS, sign: flipped.toString('base64') }, 'sign', testPublicKey),
      false
    );
    const firstBlockOnly = Buffer.from(TWO_CHUNK_SIGN, 'base64').subarray(0, 128).toString('base64');
    assert.equal(verifyFieldSignature({ ...TWO_CHUNK_FIELDS, sign: firstBlockOnly }, 'sign', testPublicKey), false);
    assert.equal(verifyFieldSignature({ ...TWO_CHUNK_FIELDS, sign: '' }, 'sign', testPublicKey), false);
    assert.equal(verifyFieldSignature({ ...TWO_CHUNK_FIELDS, sign: 'not base64!' }, 'sign', testPublicKey), false);
  });

  it('rejects a signature made with another key', () => {
    const sign = signFields(TWO_CHUNK_FIELDS, otherPrivateKey);
    assert.equal(verifyFieldSignature({ ...TWO_CHUNK_FIELDS, sign }, 'sign', testPublicKey), false);
  });

  it('reads keys as bare base64 DER, the way the merchant dashboard shows them', () => {
    const bareDer = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    assert.equal(signFields(TWO_CHUNK_FIELDS, toPrivateKey(bareDer(TEST_PRIVATE_PEM))), TWO_CHUNK_SIGN);
    assert.equal(
      verifyFieldSignature(
        { ...TWO_CHUNK_FIELDS, sign: TWO_CHUNK_SIGN },
        'sign',
        toPublicKey(bareDer(TEST_PUBLIC_PEM))
      ),
      true
    );
  });
});

describe('bdpay request schemas', () => {
  const schemaFor = {
    '/gateway/pay': PayRequestSchema,
    '/gateway/prepaidOrder': PrepaidOrderRequestSchema,
    '/gateway/cash': CashRequestSchema,
  } as const;

  it('accepts the valid body of every endpoint', () => {
    for (const [endpoint, body] of Object.entries(VALID_BODIES)) {
      const parsed = schemaFor[endpoint as keyof typeof schemaFor].safeParse({ ...body, sign: 'x' });
      assert.equal(parsed.success, true, `${endpoint}: ${JSON.stringify(parsed.error?.issues)}`);
    }
  });

  it('accepts an OVO order with an OVO mobile number and the expiry bounds themselves', () => {
    const base = { ...VALID_BODIES['/gateway/pay'], sign: 'x' };
    assert.equal(PayRequestSchema.safeParse({ ...base, method: 'EWALLET_OVO' }).success, true);
    assert.equal(PayRequestSchema.safeParse({ ...base, expiryPeriod: '15' }).success, true);
    assert.equal(PayRequestSchema.safeParse({ ...base, expiryPeriod: '97200' }).success, true);
  });

  for (const rule of FIELD_RULE_CASES) {
    it(`rejects: ${rule.endpoint} ${rule.rule}`, () => {
      const body = applyPatch({ ...VALID_BODIES[rule.endpoint], sign: 'x' }, rule.patch);
      const parsed = schemaFor[rule.endpoint].safeParse(body);
      assert.ok(!parsed.success);
      assert.ok(
        parsed.error.issues.some((issue) => issue.path[0] === rule.field),
        `expected an issue on ${rule.field}, got ${JSON.stringify(parsed.error.issues)}`
      );
    });
  }
});

describe('bdpay status maps', () => {
  it('maps every ORDER_QUERY status, and an unknown one to pending', () => {
    const table: [string | undefined, string][] = [
      ['INIT_ORDER', 'pending'],
      ['NO_PAY', 'pending'],
      ['OPEN_PAY_URL', 'pending'],
      ['SUCCESS', 'succeeded'],
      ['PAY_CANCEL', 'expired'],
      ['PAY_ERROR', 'failed'],
      ['REFUNDING', 'pending'],
      [undefined, 'pending'],
    ];
    for (const [status, expected] of table) assert.equal(toPaymentStatus(status), expected, String(status));
  });

  it('maps every CASH_QUERY status (2 success, 3 and 4 failure), and anything else to processing', () => {
    const table: [string | undefined, string][] = [
      ['0', 'processing'],
      ['1', 'processing'],
      ['5', 'processing'],
      ['2', 'succeeded'],
      ['3', 'failed'],
      ['4', 'failed'],
      ['6', 'processing'],
      ['SUCCESS', 'processing'],
      [undefined, 'processing'],
    ];
    for (const [status, expected] of table) assert.equal(toPayoutStatus(status), expected, String(status));
  });

  it('maps a payout submission by platRespCode: only SUCCESS accepts, only FAIL fails, all else is unknown', () => {
    const answer = (platRespCode: string): CashResponse =>
      ({ platRespCode, platSign: 'x', orderNum: 'KP1' }) as CashResponse;
    const table: [string, string][] = [
      ['SUCCESS', 'accepted'],
      ['FAIL', 'failed'],
      ['UNKNOWN', 'unknown'],
      ['ERROR', 'unknown'],
      ['NOTEXIST', 'unknown'],
      ['PROCESSING', 'unknown'],
      ['success', 'unknown'],
    ];
    for (const [code, expected] of table) assert.equal(toPayoutSubmission(answer(code), 'KP1').result, expected, code);
  });

  it('maps a FAIL that says the order already exists to unknown DUPLICATE_ORDER: it is evidence the payout exists', () => {
    const fail = (platRespMessage?: string): CashResponse =>
      ({ platRespCode: 'FAIL', platRespMessage, platSign: 'x', orderNum: 'KP1' }) as CashResponse;
    for (const message of [
      'orderNum already exists',
      'OrderNum Already Exists',
      'order already exist',
      'The order number exists',
      'Duplicate order number',
    ]) {
      assert.deepEqual(
        toPayoutSubmission(fail(message), 'KP1'),
        { result: 'unknown', providerCode: 'DUPLICATE_ORDER', message },
        message
      );
    }
    // Any other FAIL still proves nothing was created, "exist" alone (the merchant) included.
    for (const message of [
      'insufficient balance',
      'sign error',
      'merchant does not exist',
      'bankCode: invalid',
      undefined,
    ]) {
      assert.deepEqual(
        [toPayoutSubmission(fail(message), 'KP1').result, toPayoutSubmission(fail(message), 'KP1').providerCode],
        ['failed', 'FAIL'],
        String(message)
      );
    }
  });

  it('refuses a payout answer that names another order', () => {
    const answer = { platRespCode: 'FAIL', platSign: 'x', orderNum: 'KP2' } as CashResponse;
    assert.throws(() => toPayoutSubmission(answer, 'KP1'), ProviderResponseInvalidError);
  });

  it('reads query answers: NOTEXIST is not_found for payouts and payments alike; FAIL and UNKNOWN throw', () => {
    const notExist = { platRespCode: 'NOTEXIST', platSign: 'x' } as QueryResponse;
    assert.equal(toPayoutOutcome(notExist, 'KP1').status, 'not_found');
    assert.deepEqual(toPaymentOutcome(notExist, 'KP1'), { status: 'not_found', providerStatus: 'NOTEXIST' });
    assert.throws(
      () => toPayoutOutcome({ platRespCode: 'FAIL', platSign: 'x' } as QueryResponse, 'KP1'),
      ProviderRequestRejectedError
    );
    assert.throws(
      () => toPayoutOutcome({ platRespCode: 'UNKNOWN', platSign: 'x' } as QueryResponse, 'KP1'),
      ProviderUnavailableError
    );
    assert.throws(
      () => toPaymentOutcome({ platRespCode: 'ERROR', platSign: 'x' } as QueryResponse, 'KP1'),
      ProviderUnavailableError
    );
  });
});

describe('bdpay fixtures', () => {
  it('parses a direct VA answer into VA instructions', () => {
    const response = PayInResponseSchema.parse(readFixture('pay-response.json').body);
    const now = new Date('2024-01-05T07:30:00Z');
    const registration = toPaymentRegistration(response, paymentInput({ reference: 'KP7M3QX2A9' }), now);
    assert.equal(registration.result, 'registered');
    assert.ok(registration.result === 'registered');
    assert.equal(registration.instructions.vaNumber, '8808123456789012');
    assert.equal(registration.providerReference, 'PRE1628752958934786048');
    assert.equal(registration.instructions.expiresAt, '2024-01-06T07:30:00.000Z');
  });

  it('parses a cashier answer (with a numeric payMoney) into a redirect for DANA', () => {
    const response = PayInResponseSchema.parse(readFixture('prepaid-order-response.json').body);
    assert.equal(response.payMoney, 150000);
    const registration = toPaymentRegistration(
      response,
      paymentInput({ reference: 'KP7M3QX2B1', method: 'EWALLET_DANA' }),
      new Date()
    );
    assert.ok(registration.result === 'registered');
    assert.equal(
      registration.instructions.redirectUrl,
      'https://dev-openapi.bdpay.co.id/cashier/PRE1628752958934786049'
    );
  });

  it('declines on FAIL and treats UNKNOWN on an order as an unknown outcome', () => {
    const fail = { platRespCode: 'FAIL', platRespMessage: 'payMoney: too small', platSign: 'x' } as PayInResponse;
    assert.deepEqual(toPaymentRegistration(fail, paymentInput(), new Date()), {
      result: 'declined',
      failure: { code: 'FAIL', message: 'payMoney: too small' },
    });
    const unknown = { platRespCode: 'UNKNOWN', platSign: 'x' } as PayInResponse;
    assert.throws(() => toPaymentRegistration(unknown, paymentInput(), new Date()), OutcomeUnknownError);
  });

  it('treats a FAIL saying the order already exists as an unknown outcome (DUPLICATE_ORDER), never a decline', () => {
    for (const platRespMessage of ['orderNum already exists', 'ORDER ALREADY EXIST', 'duplicate orderNum']) {
      const duplicate = { platRespCode: 'FAIL', platRespMessage, platSign: 'x', orderNum: 'KP1' } as PayInResponse;
      assert.throws(
        () => toPaymentRegistration(duplicate, paymentInput({ reference: 'KP1' }), new Date()),
        (err: unknown) => {
          assert.ok(err instanceof OutcomeUnknownError, String(err));
          assert.equal(err.providerCode, 'DUPLICATE_ORDER');
          assert.equal(err.provider, 'bdpay');
          assert.match(err.message, new RegExp(platRespMessage));
          return true;
        },
        platRespMessage
      );
    }
    const merchant = {
      platRespCode: 'FAIL',
      platRespMessage: 'merchant does not exist',
      platSign: 'x',
    } as PayInResponse;
    assert.equal(toPaymentRegistration(merchant, paymentInput(), new Date()).result, 'declined');
  });

  it('refuses a VA answer without a vaNumber', () => {
    const response = { platRespCode: 'SUCCESS', platSign: 'x', orderNum: 'KP1' } as PayInResponse;
    assert.throws(
      () => toPaymentRegistration(response, paymentInput({ reference: 'KP1' }), new Date()),
      ProviderResponseInvalidError
    );
  });

  it('parses the payout answers', () => {
    const success = CashResponseSchema.parse(readFixture('cash-response-success.json').body);
    assert.deepEqual(toPayoutSubmission(success, 'KP7M3QX2C3'), {
      result: 'accepted',
      providerReference: 'CASH1628752958934786050',
      fee: 2500,
      providerCode: 'SUCCESS',
      message: 'Request success',
    });
    assert.equal(
      toPayoutSubmission(CashResponseSchema.parse(readFixture('cash-response-unknown.json').body), 'KP7M3QX2C3').result,
      'unknown'
    );
    assert.equal(
      toPayoutSubmission(CashResponseSchema.parse(readFixture('cash-response-fail.json').body), 'KP7M3QX2C3').result,
      'failed'
    );
  });

  it('parses the query answers', () => {
    const cash = toPayoutOutcome(QueryResponseSchema.parse(readFixture('cash-query-response.json').body), 'KP7M3QX2C3');
    assert.deepEqual(cash, {
      status: 'succeeded',
      providerStatus: '2',
      providerReference: 'CASH1628752958934786050',
      amount: 150000,
      fee: 2500,
      failure: undefined,
    });
    const order = toPaymentOutcome(
      QueryResponseSchema.parse(readFixture('order-query-response.json').body),
      'KP7M3QX2A9'
    );
    assert.equal(order.status, 'succeeded');
    assert.equal(order.paidAmount, 150000);
    assert.equal(
      toPayoutOutcome(QueryResponseSchema.parse(readFixture('query-response-notexist.json').body), 'KP7M3QX2Z0').status,
      'not_found'
    );
  });

  it('parses the balance answer, with numbers', () => {
    assert.deepEqual(toProviderBalance(BalanceResponseSchema.parse(readFixture('balance-response.json').body)), {
      available: 98500000,
      frozen: 150000,
    });
  });

  it('maps both callback fixtures', () => {
    const fields = (name: string) => Object.fromEntries(new URLSearchParams(readFixture(name).form));
    const payin = toParsedCallback(fields('payin-callback.json'));
    assert.equal(payin.kind, 'payment');
    assert.equal(payin.reference, 'P7M3QX2A9KP4D8N0R6T1');
    assert.equal(payin.trust, 'hint');
    assert.deepEqual(payin.outcome, {
      status: 'succeeded',
      providerStatus: 'SUCCESS',
      providerReference: 'PRE1628752958934786048',
      paidAmount: 150000,
    });
    const payout = toParsedCallback(fields('payout-callback.json'));
    assert.equal(payout.kind, 'payout');
    assert.equal(payout.eventId, 'payout:CASH1628752958934786050:2');
    assert.equal(payout.reference, 'O7M3QX2C3KP4D8N0R6T1');
    assert.equal(payout.trust, 'hint');
    assert.equal(payout.outcome.status, 'succeeded');
  });

  it('refuses a pay-in callback code BDPay does not document (only 00 is), and maps a payout callback with status 4 failed', () => {
    for (const code of ['01', '99']) {
      assert.throws(
        () =>
          toParsedCallback({
            code,
            orderNum: 'P7M3QX2A9KP4D8N0R6T1',
            payMoney: '1000',
            platOrderNum: 'PRE1',
            platSign: 'x',
          }),
        CallbackPayloadError,
        code
      );
    }
    const payout = toParsedCallback({
      money: '1000',
      orderNum: 'O7M3QX2C3KP4D8N0R6T1',
      platOrderNum: 'CASH1',
      status: '4',
      statusMsg: 'Bank rejected',
      platSign: 'x',
    });
    assert.equal(payout.outcome.status, 'failed');
    assert.ok(payout.kind === 'payout');
    assert.deepEqual(payout.outcome.failure, { code: '4', message: 'Bank rejected' });
  });
});

function paymentInput(overrides: Partial<CreatePaymentInput> = {}): CreatePaymentInput {
  return {
    reference: 'KP7M3QX2A9',
    amount: 150000,
    method: 'VA_BCA',
    customer: { name: 'Budi Santoso', email: 'budi@example.co.id', phone: '+6282113086611' },
    description: 'Invoice 2024 001',
    expiresInMinutes: 1440,
    callbackUrl: 'https://kasir.example/callbacks/bdpay',
    returnUrl: 'https://shop.example/return',
    ...overrides,
  };
}

function payoutInput(overrides: Partial<SubmitPayoutInput> = {}): SubmitPayoutInput {
  return {
    reference: 'KP7M3QX2C3',
    amount: 150000,
    feeMode: 'deducted',
    beneficiary: { bankCode: '014', accountNumber: '1234567890', accountName: 'Budi Santoso' },
    description: 'Payout for invoice INV 2024 001',
    callbackUrl: 'https://kasir.example/callbacks/bdpay',
    ...overrides,
  };
}

describe('bdpay request mapping', () => {
  const ctx = { merchantCode: 'S820190712000002', now: new Date('2024-01-05T07:30:00Z') };

  it('builds a pay-in body the simulator schema accepts, with Jakarta dateTime and a local phone', () => {
    const fields = toPayInRequest(
      paymentInput({
        customer: { name: "José O'Brien-Şahin & Co. 🎉", email: 'jose@example.co.id', phone: '+62 821-1308-6611' },
      }),
      ctx
    );
    assert.equal(fields.dateTime, '20240105143000');
    assert.equal(fields.phone, '082113086611');
    assert.equal(fields.name, 'Jose OBrienSahin Co');
    assert.equal(fields.payMoney, '150000');
    assert.equal(fields.expiryPeriod, '1440');
    assert.equal(PayRequestSchema.safeParse({ ...fields, sign: 'x' }).success, true);
  });

  it('keeps display names within 30 characters of letters, digits and spaces', () => {
    assert.equal(toDisplayName('A'.repeat(40)), 'A'.repeat(30));
    assert.equal(toDisplayName('王小明'), 'Customer');
    assert.equal(toLocalPhone('6281286288844'), '081286288844');
    assert.throws(() => toLocalPhone('08x'), ProviderRequestRejectedError);
  });

  it('refuses, before sending, what BDPay would refuse', () => {
    assert.throws(() => toPayInRequest(paymentInput({ expiresInMinutes: 14 }), ctx), ProviderRequestRejectedError);
    assert.throws(() => toPayInRequest(paymentInput({ expiresInMinutes: 97_201 }), ctx), ProviderRequestRejectedError);
    assert.throws(() => toPayInRequest(paymentInput({ amount: 1000.5 }), ctx), ProviderRequestRejectedError);
    assert.throws(
      () => toPayInRequest(paymentInput({ customer: { name: 'Budi', email: 'b@x.co' } }), ctx),
      ProviderRequestRejectedError
    );
    assert.throws(() => toPayInRequest(paymentInput({ method: 'RETAIL_INDOMARET' }), ctx), OperationNotSupportedError);
  });

  it('builds a payout body with feeType 0 for a deducted fee and 1 for a merchant-paid fee', () => {
    const deducted = toCashRequest(payoutInput(), ctx);
    assert.equal(deducted.feeType, '0');
    assert.equal(CashRequestSchema.safeParse({ ...deducted, sign: 'x' }).success, true);
    assert.equal(toCashRequest(payoutInput({ feeMode: 'merchant' }), ctx).feeType, '1');
    assert.equal(toWireDateTime(new Date('2024-12-31T17:00:00Z')), '20250101000000');
  });
});

describe('bdpay callbacks', () => {
  // The fixed test key plays the platform here; the simulator tests cover fresh keys.
  const connector = createBdpayConnector({
    baseUrl: 'http://127.0.0.1:9',
    timeoutMs: 300,
    merchantCode: 'S820190712000002',
    privateKeyPem: TEST_PRIVATE_PEM,
    platformPublicKeyPem: TEST_PUBLIC_PEM,
  });
  const payoutFields = {
    bankCode: '014',
    description: 'Payout for invoice INV 2024 001',
    fee: '2500',
    feeType: '0',
    money: '150000',
    name: 'Budi Santoso',
    number: '1234567890',
    orderNum: 'O7M3QX2C3KP4D8N0R6T1',
    platOrderNum: 'CASH1628752958934786050',
    status: '2',
    statusMsg: 'Payment success',
  };
  const payinFields = {
    code: '00',
    email: 'budi@example.co.id',
    method: 'VA_BCA',
    msg: 'SUCCESS',
    name: 'Budi Santoso',
    orderNum: 'P7M3QX2A9KP4D8N0R6T1',
    payFee: '4000',
    payMoney: '150000',
    platOrderNum: 'PRE1628752958934786048',
    vaNumber: '8808123456789012',
  };
  const form = (fields: Record<string, string>) => ({
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    contentType: 'application/x-www-form-urlencoded',
    rawBody: Buffer.from(new URLSearchParams(fields).toString()),
  });

  const signed = (fields: Record<string, string>) => form({ ...fields, platSign: signFields(fields, testPrivateKey) });

  it('verifies a signed form callback, and takes it only as a hint the workflow confirms by query', async () => {
    const payout = await connector.callbacks.verifyAndParse(signed(payoutFields));
    assert.equal(payout.kind, 'payout');
    assert.equal(payout.reference, 'O7M3QX2C3KP4D8N0R6T1');
    assert.equal(payout.trust, 'hint');
    const payin = await connector.callbacks.verifyAndParse(signed(payinFields));
    assert.equal(payin.kind, 'payment');
    assert.equal(payin.reference, 'P7M3QX2A9KP4D8N0R6T1');
    assert.equal(payin.trust, 'hint');
    assert.deepEqual(payin.outcome, {
      status: 'succeeded',
      providerStatus: 'SUCCESS',
      providerReference: 'PRE1628752958934786048',
      paidAmount: 150000,
    });
  });

  it('takes the documented forms: optional fields absent, a zero fee, either feeType, every CASH_QUERY status, JSON', async () => {
    const { email, method, msg, name, payFee, vaNumber, ...bare } = payinFields;
    assert.ok(email && method && msg && name && payFee && vaNumber);
    assert.equal((await connector.callbacks.verifyAndParse(signed(bare))).kind, 'payment');
    assert.equal((await connector.callbacks.verifyAndParse(signed({ ...payinFields, payFee: '0' }))).kind, 'payment');
    assert.equal(
      (await connector.callbacks.verifyAndParse(signed({ ...payinFields, method: 'QRIS', vaNumber: '' }))).kind,
      'payment'
    );
    assert.equal(
      (await connector.callbacks.verifyAndParse(signed({ ...payinFields, orderNum: 'B7M3QX2A9KP4D8N0R6T1' })))
        .reference,
      'B7M3QX2A9KP4D8N0R6T1'
    );
    assert.equal(
      (await connector.callbacks.verifyAndParse(signed({ ...payinFields, platOrderNum: 'BK_1563278763273' }))).kind,
      'payment'
    );
    for (const status of ['0', '1', '2', '3', '4', '5']) {
      const parsed = await connector.callbacks.verifyAndParse(signed({ ...payoutFields, status, feeType: '1' }));
      assert.equal(parsed.kind, 'payout', status);
    }
    const json = { ...payoutFields, platSign: signFields(payoutFields, testPrivateKey) };
    const fromJson = await connector.callbacks.verifyAndParse({
      headers: {},
      contentType: 'application/json',
      rawBody: Buffer.from(JSON.stringify({ ...json, money: 150000, fee: 2500 })),
    });
    assert.equal(fromJson.kind, 'payout');
  });

  /** Each callback field outside its documented format, signed with the genuine key all the same. */
  const MALFORMED: { kind: 'pay-in' | 'payout'; field: string; values: string[] }[] = [
    {
      kind: 'pay-in',
      field: 'payMoney',
      values: ['0150000', '150000.00', '+150000', ' 150000', '150,000', '1e5', '0', '-1', '1000000001', ''],
    },
    { kind: 'pay-in', field: 'payFee', values: ['04000', '4000.0', '-4000', '00', 'x'] },
    { kind: 'pay-in', field: 'code', values: ['0', '000', '01', 'OO', ' 00', ''] },
    { kind: 'pay-in', field: 'method', values: ['VA_XXX', 'va_bca', 'VA_BCA '] },
    {
      kind: 'pay-in',
      field: 'orderNum',
      values: [
        'KP7M3QX2A9',
        'p7m3qx2a9kp4d8n0r6t1',
        'P7M3QX2A9KP4D8N0R6T10',
        'P7M3QX2A9KP4D8N0R6T',
        'P7M3QX2A9KP4D8N0R6TI',
        'X7M3QX2A9KP4D8N0R6T1',
        '',
      ],
    },
    {
      kind: 'pay-in',
      field: 'platOrderNum',
      values: ['0PRE1628752958934786048', '1628752958934786048', 'PRE 1628', 'PRE-1628', 'P'.repeat(65), ''],
    },
    { kind: 'pay-in', field: 'email', values: ['budi', 'budi@example', 'budi @example.co.id'] },
    { kind: 'pay-in', field: 'name', values: ['Budi <b>', 'A'.repeat(31)] },
    { kind: 'pay-in', field: 'vaNumber', values: ['8808-1234', '8808 1234', '8'.repeat(65)] },
    { kind: 'pay-in', field: 'msg', values: ['line\nbreak', 'x'.repeat(257)] },
    { kind: 'payout', field: 'money', values: ['0', '0150000', '150000.00', '1000000001', ''] },
    { kind: 'payout', field: 'fee', values: ['02500', '2500.5', '-2500'] },
    { kind: 'payout', field: 'feeType', values: ['2', '00', 'x'] },
    { kind: 'payout', field: 'status', values: ['02', '6', 'SUCCESS', ''] },
    { kind: 'payout', field: 'bankCode', values: ['0 14', 'B'] },
    { kind: 'payout', field: 'number', values: ['12-34', '123', 'x1234567890'] },
    { kind: 'payout', field: 'name', values: ['Budi@Santoso', 'N'.repeat(101)] },
    { kind: 'payout', field: 'description', values: ['Pembayaran \u2713', 'd'.repeat(101)] },
    { kind: 'payout', field: 'orderNum', values: ['KP7M3QX2C3', 'O7M3QX2C3KP4D8N0R6TU'] },
    { kind: 'payout', field: 'platOrderNum', values: ['0CASH1628752958934786050', '2CASH'] },
    { kind: 'payout', field: 'statusMsg', values: ['tab\there'] },
  ];

  for (const { kind, field, values } of MALFORMED) {
    it(`refuses a signed ${kind} callback whose ${field} is outside its documented format`, async () => {
      const base: Record<string, string> = kind === 'pay-in' ? payinFields : payoutFields;
      for (const value of values) {
        const fields = { ...base, [field]: value };
        await assert.rejects(
          connector.callbacks.verifyAndParse(signed(fields)),
          CallbackPayloadError,
          `${field}=${JSON.stringify(value)}`
        );
      }
    });
  }

  it('refuses a signed callback carrying a field no callback documents (it could absorb digits)', async () => {
    const extras: Record<string, string>[] = [{ payMoneyX: '0' }, { version: '1' }, { dateTime: '20240105143000' }];
    for (const extra of extras) {
      await assert.rejects(
        connector.callbacks.verifyAndParse(signed({ ...payinFields, ...extra })),
        CallbackPayloadError
      );
    }
    await assert.rejects(
      connector.callbacks.verifyAndParse(signed({ ...payoutFields, moneyX: '0' })),
      CallbackPayloadError
    );
  });

  it('accepts a platSign whose + arrived as a space', async () => {
    const platSign = signFields(payoutFields, testPrivateKey);
    // Deterministic (type-1 padding), and this one contains a `+`.
    assert.ok(platSign.includes('+'));
    const raw = `${new URLSearchParams(payoutFields).toString()}&platSign=${platSign.replace(/\//g, '%2F')}`;
    const parsed = await connector.callbacks.verifyAndParse({
      headers: {},
      contentType: 'application/x-www-form-urlencoded',
      rawBody: Buffer.from(raw),
    });
    assert.equal(parsed.kind, 'payout');
  });

  it('rejects a changed field, a forged or a missing platSign', async () => {
    const platSign = signFields(payoutFields, testPrivateKey);
    await assert.rejects(
      connector.callbacks.verifyAndParse(form({ ...payoutFields, status: '4', platSign })),
      CallbackSignatureError
    );
    const forged = signFields(payoutFields, otherPrivateKey);
    await assert.rejects(
      connector.callbacks.verifyAndParse(form({ ...payoutFields, platSign: forged })),
      CallbackSignatureError
    );
    await assert.rejects(connector.callbacks.verifyAndParse(form(payoutFields)), CallbackSignatureError);
  });

  it('rejects a signed body that is neither kind, and a body with a repeated field', async () => {
    const odd = { orderNum: 'KP1', note: 'hello' };
    await assert.rejects(
      connector.callbacks.verifyAndParse(form({ ...odd, platSign: signFields(odd, testPrivateKey) })),
      CallbackPayloadError
    );
    const repeated = {
      headers: {},
      contentType: 'application/x-www-form-urlencoded',
      rawBody: Buffer.from('orderNum=KP1&orderNum=KP2'),
    };
    await assert.rejects(connector.callbacks.verifyAndParse(repeated), CallbackPayloadError);
  });

  it('answers SUCCESS as plain text for accepted and unknown-reference, and never SUCCESS on reject', () => {
    for (const outcome of ['accepted', 'unknown-reference'] as const) {
      assert.deepEqual(connector.callbacks.answer(outcome), {
        status: 200,
        contentType: 'text/plain; charset=utf-8',
        body: 'SUCCESS',
      });
    }
    const signature = connector.callbacks.reject('signature');
    assert.equal(signature.status, 401);
    assert.notEqual(signature.body, 'SUCCESS');
    const payload = connector.callbacks.reject('payload');
    assert.equal(payload.status, 400);
    assert.notEqual(payload.body, 'SUCCESS');
  });
});

describe('bdpay module', () => {
  it('defaults to the BDPay sandbox', () => {
    const config = bdpayModule.configSchema.parse({
      merchantCode: 'S8',
      privateKeyPem: 'x',
      platformPublicKeyPem: 'y',
    });
    assert.equal(config.baseUrl, 'https://dev-openapi.bdpay.co.id');
    assert.equal(config.timeoutMs, 10_000);
  });
});
