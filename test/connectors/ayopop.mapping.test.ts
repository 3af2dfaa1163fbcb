import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import {
  CallbackPayloadError,
  ProviderAuthError,
  ProviderRequestRejectedError,
  ProviderUnavailableError,
} from '../../src/domain/errors';
import { createAyopopConnector } from '../../src/connectors/ayopop';
import {
  classifyAyopopCode,
  toBillInquiryOutcome,
  toBillPaymentOutcome,
  toBillPaymentStatus,
  toInquiryClaims,
  toPaymentClaims,
} from '../../src/connectors/ayopop/mapping';
import type { AyopopCodeClass } from '../../src/connectors/ayopop/mapping';
import {
  CallbackBody,
  InquiryData,
  InquiryRequest,
  InquiryResponse,
  PaymentRequest,
  TransactionData,
  TransactionResponse,
} from '../../src/connectors/ayopop/schemas';
import { signAyopopToken, verifyAyopopToken, versionForPath } from '../../src/connectors/ayopop/signing';

const fixtureDir = join(__dirname, '../../src/connectors/ayopop/fixtures');
const seed = (name: string): unknown => JSON.parse(readFileSync(join(fixtureDir, `${name}.json`), 'utf8'));

const vector = JSON.parse(readFileSync(join(__dirname, 'fixtures/ayopop/test-only-jwt-vector.json'), 'utf8')) as {
  apiSecret: string;
  claims: Record<string, unknown>;
};

/*
 * Computed independently of the code under test, from the committed test-only vector:
 *
 *   cd test/connectors/fixtures/ayopop && python3 -c 'import json,hmac,hashlib,base64; \
 *     v=json.load(open("test-only-jwt-vector.json")); \
 *     b=lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode(); \
 *     h=b(json.dumps({"alg":"HS256","typ":"JWT"},separators=(",",":")).encode()); \
 *     p=b(json.dumps(v["claims"],separators=(",",":")).encode()); \
 *     print(h+"."+p+"."+b(hmac.new(v["apiSecret"].encode(),(h+"."+p).encode(),hashlib.sha256).digest()))'
 */
const EXPECTED_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' +
  'eyJwYXJ0bmVySWQiOiJrYXNpci10ZXN0LXBhcnRuZXIiLCJyZWZOdW1iZXIiOiJLUDdNM1FURVNUMDAwMSIsImFjY291bnROdW1iZXIiOiI1MzAwMDAwMDAwMDEiLCJwcm9kdWN0Q29kZSI6IlBMTlBPU1QiLCJhbW91bnQiOjE1MDAwMCwiaW5xdWlyeUlkIjo1MDcwODM1LCJjYWxsYmFja1VybHMiOlsiaHR0cHM6Ly9rYXNpci5leGFtcGxlL2NhbGxiYWNrcy9heW9wb3AiXX0.' +
  'KpIkaZ2BZ_FJhAiE5hT7Hx7guBqIsDJB6793210OOko';

describe('ayopop schemas', () => {
  it('parses the seed inquiry request and response', () => {
    const request = InquiryRequest.parse(seed('inquiry-request'));
    assert.equal(request.productCode, 'product-code');
    const response = InquiryResponse.parse(seed('inquiry-response'));
    assert.equal(response.responseCode, 300);
    const data = InquiryData.parse((seed('inquiry-response') as { data: unknown }).data);
    assert.equal(data.inquiryId, 5070834);
    assert.equal(data.billDetails.length, 2);
    assert.deepEqual(data.customerDetails[2], { key: 'Nomor Pelanggan', value: '0811111111111' });
  });

  it('parses the seed payment request and its 299 answer', () => {
    const request = PaymentRequest.parse(seed('payment-request'));
    assert.equal(request.inquiryId, 4589146);
    assert.equal(request.amount, 20000);
    const response = TransactionResponse.parse(seed('payment-response'));
    assert.equal(response.responseCode, 299);
    assert.equal(response.data.transactionId, 251074);
    TransactionData.parse((seed('payment-response') as { data: unknown }).data);
  });

  it('parses the seed status answer, whose bill details have no isMandatory', () => {
    const response = TransactionResponse.parse(seed('status-response'));
    assert.equal(response.data.token, 'MNMNTOKENMNMN');
    const data = TransactionData.parse((seed('status-response') as { data: unknown }).data);
    assert.equal(data.billDetails[0]?.isMandatory, undefined);
    assert.equal(data.productDetails.length, 5);
  });

  it('refuses an inquiry answered 300 without inquiry data', () => {
    const parsed = InquiryResponse.safeParse({
      responseCode: 300,
      success: true,
      message: { ID: 'x', EN: 'x' },
      data: {},
    });
    assert.equal(parsed.success, false);
  });

  it('reads a failure with data null, {} or [] as empty data', () => {
    for (const data of [null, {}, []]) {
      const parsed = TransactionResponse.parse({
        responseCode: 188,
        success: false,
        message: { ID: 'a', EN: 'b' },
        data,
      });
      assert.deepEqual(parsed.data, {});
    }
  });
});

describe('ayopop TOKEN', () => {
  it('matches the independently computed HS256 vector', async () => {
    assert.equal(await signAyopopToken(vector.claims, vector.apiSecret), EXPECTED_TOKEN);
  });

  it('uses the header {"alg":"HS256","typ":"JWT"} and adds no claims of its own', async () => {
    const token = await signAyopopToken({ partnerId: 'p' }, vector.apiSecret);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(await verifyAyopopToken(token, vector.apiSecret), { partnerId: 'p' });
  });

  it('verifies the vector and refuses another secret, a tampered payload and alg none', async () => {
    assert.deepEqual(await verifyAyopopToken(EXPECTED_TOKEN, vector.apiSecret), vector.claims);
    assert.equal(await verifyAyopopToken(EXPECTED_TOKEN, 'another-secret'), undefined);
    const [header, , signature] = EXPECTED_TOKEN.split('.');
    const tampered = Buffer.from(JSON.stringify({ ...vector.claims, amount: 1 })).toString('base64url');
    assert.equal(await verifyAyopopToken(`${header}.${tampered}.${signature}`, vector.apiSecret), undefined);
    const none = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    const payload = EXPECTED_TOKEN.split('.')[1];
    assert.equal(await verifyAyopopToken(`${none}.${payload}.`, vector.apiSecret), undefined);
  });

  it('derives VERSION from the path', () => {
    assert.equal(versionForPath('/api/v2/bill/check'), '2.0');
    assert.equal(versionForPath('/v1/partner/balance'), '1.0');
    assert.equal(versionForPath('/bill/check'), undefined);
  });
});

describe('ayopop request claims', () => {
  it('builds payment claims in the seed order with Kasir reference as refNumber', () => {
    const claims = toPaymentClaims(
      'kasir-test-partner',
      {
        reference: 'KP7M3QTEST0001',
        inquiryId: '5070835',
        productCode: 'PLNPOST',
        accountNumber: '530000000001',
        amount: 150000,
      },
      'https://kasir.example/callbacks/ayopop'
    );
    assert.deepEqual(claims, vector.claims);
    assert.deepEqual(Object.keys(claims), Object.keys(vector.claims));
  });

  it('leaves callbackUrls out when no URL is known, and refuses a non-numeric inquiry id', () => {
    const input = { reference: 'KP1', inquiryId: '7', productCode: 'P', accountNumber: 'A', amount: 1 };
    assert.equal('callbackUrls' in toPaymentClaims('p', input), false);
    assert.throws(() => toPaymentClaims('p', { ...input, inquiryId: 'abc' }), ProviderRequestRejectedError);
  });

  it('builds inquiry claims with only the optional fields given', () => {
    assert.deepEqual(toInquiryClaims('p', { productCode: 'PC', accountNumber: 'AN' }), {
      partnerId: 'p',
      productCode: 'PC',
      accountNumber: 'AN',
    });
    assert.deepEqual(
      toInquiryClaims('p', { productCode: 'PC', accountNumber: 'AN', month: 2, zoneId: 'z', amount: 5 }),
      {
        partnerId: 'p',
        productCode: 'PC',
        accountNumber: 'AN',
        amount: 5,
        zoneId: 'z',
        month: 2,
      }
    );
  });
});

describe('ayopop response codes', () => {
  const table: Array<[number, AyopopCodeClass, 'succeeded' | 'failed' | 'processing']> = [
    [0, 'payment-succeeded', 'succeeded'],
    [1, 'payment-succeeded', 'succeeded'],
    [4, 'payment-succeeded', 'succeeded'],
    [99, 'payment-succeeded', 'succeeded'],
    [100, 'payment-failed', 'failed'],
    [101, 'payment-failed', 'failed'],
    [102, 'duplicate-reference', 'processing'],
    [103, 'payment-failed', 'failed'],
    [107, 'payment-failed', 'failed'],
    [108, 'duplicate-reference', 'processing'],
    [109, 'payment-failed', 'failed'],
    [114, 'payment-failed', 'failed'],
    [187, 'payment-failed', 'failed'],
    [188, 'processing', 'processing'],
    [189, 'payment-failed', 'failed'],
    [199, 'payment-failed', 'failed'],
    [200, 'processing', 'processing'],
    [250, 'processing', 'processing'],
    [299, 'processing', 'processing'],
    [300, 'inquiry-succeeded', 'processing'],
    [301, 'inquiry-failed', 'failed'],
    [302, 'inquiry-failed', 'failed'],
    [312, 'inquiry-failed', 'failed'],
    [313, 'inquiry-failed', 'failed'],
    [399, 'inquiry-failed', 'failed'],
    [400, 'undocumented', 'processing'],
    [401, 'undocumented', 'processing'],
    [490, 'undocumented', 'processing'],
    [502, 'undocumented', 'processing'],
    [504, 'undocumented', 'processing'],
    [600, 'undocumented', 'processing'],
    [699, 'undocumented', 'processing'],
    [-1, 'undocumented', 'processing'],
    [1.5, 'undocumented', 'processing'],
    [100000, 'undocumented', 'processing'],
  ];
  for (const [code, codeClass, status] of table) {
    it(`reads ${code} as ${codeClass} (${status})`, () => {
      assert.equal(classifyAyopopCode(code), codeClass);
      assert.equal(toBillPaymentStatus(classifyAyopopCode(code)), status);
    });
  }

  it('never reads success outside 0–99 nor failure outside 100–199/301–399, and never fails a duplicate', () => {
    for (let code = -50; code <= 1100; code++) {
      const status = toBillPaymentStatus(classifyAyopopCode(code));
      if (status === 'succeeded') assert.ok(code >= 0 && code <= 99, `succeeded at ${code}`);
      if (status === 'failed') {
        assert.ok((code >= 100 && code <= 199) || (code >= 301 && code <= 399), `failed at ${code}`);
        assert.ok(code !== 102 && code !== 108 && code !== 188, `failed at ${code}`);
      }
    }
  });
});

describe('ayopop outcomes', () => {
  const message = (en: string) => ({ ID: `id:${en}`, EN: en });

  it('maps the seed inquiry to ok with its details and the expiry given', () => {
    const expiresAt = new Date('2030-01-01T00:15:00.000Z');
    const outcome = toBillInquiryOutcome(InquiryResponse.parse(seed('inquiry-response')), expiresAt);
    assert.equal(outcome.result, 'ok');
    if (outcome.result !== 'ok') return;
    assert.equal(outcome.inquiryId, '5070834');
    assert.equal(outcome.expiresAt, '2030-01-01T00:15:00.000Z');
    assert.equal(outcome.providerCode, '300');
    assert.ok(outcome.details.some((d) => d.key === 'Harga Produk' && d.value === '0'));
  });

  it('maps 3xx and 1xx inquiry refusals to failed with both messages', () => {
    for (const code of [301, 302, 304, 312, 313, 399, 112, 184]) {
      const outcome = toBillInquiryOutcome(
        InquiryResponse.parse({ responseCode: code, success: false, message: message(`refused ${code}`), data: {} })
      );
      assert.deepEqual(outcome, {
        result: 'failed',
        providerCode: String(code),
        reason: { id: `id:refused ${code}`, en: `refused ${code}` },
      });
    }
  });

  it('throws on an inquiry answered 401 (auth) or with a non-inquiry code (unavailable)', () => {
    const parse = (code: number) =>
      InquiryResponse.parse({ responseCode: code, success: false, message: message('x'), data: {} });
    assert.throws(() => toBillInquiryOutcome(parse(401)), ProviderAuthError);
    for (const code of [0, 188, 299, 500])
      assert.throws(() => toBillInquiryOutcome(parse(code)), ProviderUnavailableError);
  });

  it('maps the seed status to succeeded with the token, and the seed payment to processing', () => {
    assert.deepEqual(toBillPaymentOutcome(TransactionResponse.parse(seed('status-response'))), {
      status: 'succeeded',
      providerCode: '0',
      message: 'Your transaction was successful',
      transactionId: '251074',
      token: 'MNMNTOKENMNMN',
      amount: 20000,
    });
    const processing = toBillPaymentOutcome(TransactionResponse.parse(seed('payment-response')));
    assert.equal(processing.status, 'processing');
    assert.equal(processing.token, undefined);
  });

  it('falls back to the voucher row when token is empty or N/A', () => {
    const status = seed('status-response') as { data: Record<string, unknown> };
    const outcome = toBillPaymentOutcome(
      TransactionResponse.parse({ ...status, data: { ...status.data, token: 'N/A' } })
    );
    assert.equal(outcome.token, '01111111111111');
  });

  it('marks a 1xx failure as refunded and a 3xx refusal as not', () => {
    const failed = toBillPaymentOutcome(
      TransactionResponse.parse({ responseCode: 100, success: false, message: message('op'), data: {} })
    );
    assert.equal(failed.status, 'failed');
    assert.equal(failed.depositRefunded, true);
    const refused = toBillPaymentOutcome(
      TransactionResponse.parse({ responseCode: 312, success: false, message: message('exp'), data: {} })
    );
    assert.equal(refused.status, 'failed');
    assert.equal(refused.depositRefunded, false);
    const duplicate = toBillPaymentOutcome(
      TransactionResponse.parse({ responseCode: 108, success: false, message: message('dup'), data: {} })
    );
    assert.equal(duplicate.status, 'processing');
    assert.equal(duplicate.depositRefunded, undefined);
  });
});

describe('ayopop callbacks', () => {
  const connector = createAyopopConnector({
    baseUrl: 'http://127.0.0.1:9',
    timeoutMs: 300,
    apiKey: 'p',
    apiSecret: 's',
  });
  const raw = (body: string) => ({ headers: { 'content-type': 'application/json' }, rawBody: Buffer.from(body) });

  it('parses a status-shaped callback as an unverified hint with a stable event id', async () => {
    const body = readFileSync(join(fixtureDir, 'status-response.json'), 'utf8');
    const first = await connector.callbacks.verifyAndParse(raw(body));
    const again = await connector.callbacks.verifyAndParse(raw(body));
    assert.equal(first.kind, 'bill');
    assert.equal(first.trust, 'hint');
    assert.equal(first.reference, 'testgplaysandboxv2');
    assert.equal(first.eventId, 'testgplaysandboxv2:0');
    assert.equal(again.eventId, first.eventId);
    assert.equal(first.outcome.status, 'succeeded');
    CallbackBody.parse(JSON.parse(body));
  });

  it('refuses a body that is not JSON or names no refNumber', async () => {
    await assert.rejects(connector.callbacks.verifyAndParse(raw('not json')), CallbackPayloadError);
    await assert.rejects(
      connector.callbacks.verifyAndParse(
        raw('{"responseCode":0,"success":true,"message":{"ID":"a","EN":"b"},"data":{}}')
      ),
      CallbackPayloadError
    );
  });

  it('answers HTTP 200 to stop retries, 400 to a bad payload', () => {
    assert.equal(connector.callbacks.answer('accepted').status, 200);
    assert.equal(connector.callbacks.answer('unknown-reference').status, 200);
    assert.equal(connector.callbacks.reject('payload').status, 400);
    assert.equal(connector.callbacks.reject('signature').status, 401);
  });
});
