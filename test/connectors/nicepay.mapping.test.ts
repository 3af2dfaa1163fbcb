import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OperationNotSupportedError, ProviderRequestRejectedError } from '../../src/domain/errors';
import type { CreatePaymentInput, ProviderPaymentStatus } from '../../src/domain/payment';
import {
  classifyResponseCode,
  fieldFromResponseMessage,
  toDebitPaymentRequest,
  toDebitStatusRequest,
  toParsedCallback,
  toPaymentOutcome,
  toProviderPaymentStatus,
} from '../../src/connectors/nicepay/mapping';
import type { SnapCodeMeaning } from '../../src/connectors/nicepay/mapping';
import {
  AccessTokenResponseSchema,
  DebitNotificationSchema,
  DebitPaymentRequestSchema,
  DebitPaymentResponseSchema,
  DebitRefundResponseSchema,
  DebitStatusRequestSchema,
  DebitStatusResponseSchema,
  SnapAmountSchema,
  SnapResponseEnvelopeSchema,
} from '../../src/connectors/nicepay/schemas';
import {
  newExternalId,
  parseSnapTimestamp,
  sha256LowerHex,
  signClientTimestamp,
  signTransaction,
  toSnapTimestamp,
  verifyClientTimestamp,
  verifyTransactionSignature,
} from '../../src/connectors/nicepay/signing';
import { nicepayConfigSchema } from '../../src/connectors/nicepay';

const fixtureDir = join(__dirname, '../../src/connectors/nicepay/fixtures');
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(fixtureDir, name), 'utf8'));
const testKeyDir = join(__dirname, 'fixtures/nicepay');
const merchantPrivateKey = readFileSync(join(testKeyDir, 'TEST-ONLY-merchant-private.pem'), 'utf8');
const merchantPublicKey = readFileSync(join(testKeyDir, 'TEST-ONLY-merchant-public.pem'), 'utf8');

describe('nicepay schemas against the seed and doc samples', () => {
  it('parses the seed amount sample verbatim', () => {
    assert.deepEqual(SnapAmountSchema.parse(fixture('seed-amount.json')), { value: '12345678.00', currency: 'IDR' });
  });

  it('parses a registration request assembled from the seed tables and their example values', () => {
    const request = DebitPaymentRequestSchema.parse(fixture('seed-registration-request.json'));
    assert.equal(request.additionalInfo.mitraCd, 'OVOE');
    assert.equal(request.urlParam.length, 2);
  });

  it('takes the seed header examples: Jakarta timestamp and CHANNEL-ID = client id + 01', () => {
    const headers = fixture('seed-registration-headers.json') as Record<string, string>;
    assert.ok(parseSnapTimestamp(headers['X-TIMESTAMP']!));
    assert.equal(headers['CHANNEL-ID'], `${headers['X-PARTNER-ID']}01`);
  });

  it('rejects a registration request without a mandatory field, naming it', () => {
    const request = fixture('seed-registration-request.json') as { additionalInfo: Record<string, unknown> };
    delete request.additionalInfo.cartData;
    const parsed = DebitPaymentRequestSchema.safeParse(request);
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues[0]?.path, ['additionalInfo', 'cartData']);
  });

  it('rejects values outside the seed formats', () => {
    const base = fixture('seed-registration-request.json') as Record<string, unknown>;
    const variants: Array<[string, Record<string, unknown>]> = [
      ['amount without decimals', { ...base, amount: { value: '12345', currency: 'IDR' } }],
      ['foreign currency', { ...base, amount: { value: '1.00', currency: 'USD' } }],
      ['merchantId over 10 chars', { ...base, merchantId: 'IONPAYTEST1' }],
      ['isDeeplink other than Y', { ...base, urlParam: [{ url: 'https://x', type: 'PAY_NOTIFY', isDeeplink: 'N' }] }],
      ['unknown url type', { ...base, urlParam: [{ url: 'https://x', type: 'PAY_CANCEL', isDeeplink: 'Y' }] }],
      ['validUpTo not in +07:00', { ...base, validUpTo: '2022-03-21T03:11:40Z' }],
      ['unknown mitraCd', { ...base, additionalInfo: { ...(base.additionalInfo as object), mitraCd: 'GOPY' } }],
      ['cartData not JSON', { ...base, additionalInfo: { ...(base.additionalInfo as object), cartData: 'items' } }],
    ];
    for (const [name, variant] of variants)
      assert.equal(DebitPaymentRequestSchema.safeParse(variant).success, false, name);
  });

  it('parses the documented responses and the notification', () => {
    assert.equal(AccessTokenResponseSchema.parse(fixture('access-token-response.json')).expiresIn, '900');
    assert.equal(
      DebitPaymentResponseSchema.parse(fixture('registration-response.json')).referenceNo,
      'IONPAYTEST05202408221416277395'
    );
    assert.equal(DebitStatusResponseSchema.parse(fixture('status-response.json')).latestTransactionStatus, '00');
    assert.equal(DebitRefundResponseSchema.parse(fixture('refund-response.json')).refundAmount?.value, '2500.00');
    assert.equal(
      DebitNotificationSchema.parse(fixture('notification.json')).originalPartnerReferenceNo,
      'ORD20240822141627'
    );
    assert.equal(SnapResponseEnvelopeSchema.parse(fixture('notification-answer.json')).responseCode, '2005600');
  });
});

describe('nicepay signing', () => {
  // Expected value computed independently with the openssl CLI and the committed TEST-ONLY key:
  //   printf '%s' 'IONPAYTEST|2022-03-21T10:11:40+07:00' \
  //     | openssl dgst -sha256 -sign test/connectors/fixtures/nicepay/TEST-ONLY-merchant-private.pem | openssl base64 -A
  const expectedTokenSignature =
    'oz66600EviNAS/DNMOTrhUAgR6OLyD57MgeWqMWOwJdTaK1rPWdMPqxnkkLmp8QT1Kh8pM79IWLIIx82kMZ0mp4IKZO3UR//o1deaRmdI+00d8RNOcdkXtrJ3vwEXpXUydQ8uBLJGvQ66sXILkzpl45TcZzE3UVRNPIrSjlKDmTctQ3AS/63NLllKRFa64CYHN8Na1fkkwhUQvSYYMAbdcqtCMLX+CP23Snjc70RvcEetZI0AoGOHyD2YiKk+tav1U5NfFw0bi0zTANjsqQ4/I7bprBH2dlXCSC7PsDcfqKgtSNZyyv/VfGzJFx0nZuRwWOQytlb2wU5C9BwtEWP5w==';

  it('signs the access-token request like openssl (SHA256withRSA over clientId|timestamp)', () => {
    assert.equal(
      signClientTimestamp(merchantPrivateKey, 'IONPAYTEST', '2022-03-21T10:11:40+07:00'),
      expectedTokenSignature
    );
  });

  it('verifies that signature with the public key and refuses it for another timestamp or client', () => {
    assert.equal(
      verifyClientTimestamp(merchantPublicKey, 'IONPAYTEST', '2022-03-21T10:11:40+07:00', expectedTokenSignature),
      true
    );
    assert.equal(
      verifyClientTimestamp(merchantPublicKey, 'IONPAYTEST', '2022-03-21T10:11:41+07:00', expectedTokenSignature),
      false
    );
    assert.equal(
      verifyClientTimestamp(merchantPublicKey, 'IONPAYTESX', '2022-03-21T10:11:40+07:00', expectedTokenSignature),
      false
    );
    assert.equal(
      verifyClientTimestamp(merchantPublicKey, 'IONPAYTEST', '2022-03-21T10:11:40+07:00', 'not base64!'),
      false
    );
  });

  // Expected values computed independently with the openssl CLI:
  //   BODY='{"merchantId":"IONPAYTEST","originalPartnerReferenceNo":"KP7M3Q8Z2XW4","serviceCode":"54","amount":{"value":"12345.00","currency":"IDR"}}'
  //   HASH=$(printf '%s' "$BODY" | openssl dgst -sha256 -r | cut -d' ' -f1)
  //   printf '%s' "POST:/api/v1.0/debit/status:TEST-ONLY-access-token-8d1f:$HASH:2022-03-21T10:11:40+07:00" \
  //     | openssl dgst -sha512 -hmac 'TEST-ONLY-33F49GnCMS1mFYlGXisbUDzVf2ATWCl9k3R++d5hDd3F' -binary | openssl base64 -A
  const body =
    '{"merchantId":"IONPAYTEST","originalPartnerReferenceNo":"KP7M3Q8Z2XW4","serviceCode":"54","amount":{"value":"12345.00","currency":"IDR"}}';
  const secret = 'TEST-ONLY-33F49GnCMS1mFYlGXisbUDzVf2ATWCl9k3R++d5hDd3F';
  const parts = {
    method: 'POST',
    relativePath: '/api/v1.0/debit/status',
    accessToken: 'TEST-ONLY-access-token-8d1f',
    body,
    timestamp: '2022-03-21T10:11:40+07:00',
  };
  const expectedTransactionSignature =
    'Xfe7DUlLfTt0/zs7esEDOjbwy229cIe+nKVwgKK4O7EgdCBuZdwJx8lgL035C2MOoCJWPTepRJuc41AUEURe2g==';

  it('hashes the minified body as lower-case hex SHA-256 like openssl', () => {
    assert.equal(sha256LowerHex(body), '9b1c357fdad323ccef42530d6490865b8d94dfea38765e7f5020b8ad36fa12ed');
  });

  it('signs a transactional call like openssl (HMAC-SHA512 keyed with the client secret as-is)', () => {
    assert.equal(signTransaction(secret, parts), expectedTransactionSignature);
  });

  it('verifies the transaction signature and refuses any change to body, path, token or key', () => {
    assert.equal(verifyTransactionSignature(secret, parts, expectedTransactionSignature), true);
    assert.equal(
      verifyTransactionSignature(
        secret,
        { ...parts, body: body.replace('12345', '12346') },
        expectedTransactionSignature
      ),
      false
    );
    assert.equal(
      verifyTransactionSignature(
        secret,
        { ...parts, relativePath: `/nicepay${parts.relativePath}` },
        expectedTransactionSignature
      ),
      false
    );
    assert.equal(
      verifyTransactionSignature(secret, { ...parts, accessToken: 'other' }, expectedTransactionSignature),
      false
    );
    assert.equal(verifyTransactionSignature(`${secret}x`, parts, expectedTransactionSignature), false);
    assert.equal(verifyTransactionSignature(secret, parts, 'AAAA'), false);
  });

  it('formats timestamps in Jakarta time with a literal +07:00 and parses them back', () => {
    const instant = new Date(Date.UTC(2022, 2, 21, 3, 11, 40));
    assert.equal(toSnapTimestamp(instant), '2022-03-21T10:11:40+07:00');
    assert.equal(parseSnapTimestamp('2022-03-21T10:11:40+07:00')?.getTime(), instant.getTime());
    assert.equal(toSnapTimestamp(new Date(Date.UTC(2022, 11, 31, 20, 0, 0))), '2023-01-01T03:00:00+07:00');
    assert.equal(parseSnapTimestamp('2022-02-30T10:11:40+07:00'), undefined);
    assert.equal(parseSnapTimestamp('2022-03-21T10:11:40Z'), undefined);
  });

  it('makes numeric X-EXTERNAL-IDs of at most 40 digits that do not repeat', () => {
    const now = new Date();
    const ids = Array.from({ length: 20_000 }, () => newExternalId(now));
    for (const id of ids.slice(0, 50)) assert.match(id, /^\d{1,40}$/);
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe('nicepay mapping', () => {
  const input: CreatePaymentInput = {
    reference: 'KP7M3Q8Z2XW4',
    amount: 12345,
    method: 'EWALLET_DANA',
    customer: { name: 'Budi Santoso', phone: '+62 812-8628-8844' },
    description: 'Order KP7M3Q8Z2XW4',
    expiresInMinutes: 15,
    callbackUrl: 'https://kasir.example/callbacks/nicepay',
    returnUrl: 'https://shop.example/return',
  };
  const now = new Date(Date.UTC(2024, 7, 22, 7, 0, 0));

  it('builds a service 54 body that passes the seed schema', () => {
    const body = toDebitPaymentRequest(input, { merchantId: 'IONPAYTEST', now });
    assert.deepEqual(DebitPaymentRequestSchema.parse(body), body);
    assert.equal(body.partnerReferenceNo, 'KP7M3Q8Z2XW4');
    assert.deepEqual(body.amount, { value: '12345.00', currency: 'IDR' });
    assert.equal(body.validUpTo, '2024-08-22T14:15:00+07:00');
    assert.equal(body.additionalInfo.billingPhone, '+6281286288844');
    assert.equal(body.additionalInfo.dbProcessUrl, input.callbackUrl);
    assert.equal(body.additionalInfo.callBackUrl, input.returnUrl);
    assert.deepEqual(
      body.urlParam.map((u) => u.type),
      ['PAY_NOTIFY', 'PAY_RETURN']
    );
  });

  it('maps each Kasir e-wallet to its seed mitraCd', () => {
    const expected = {
      EWALLET_OVO: 'OVOE',
      EWALLET_DANA: 'DANA',
      EWALLET_LINKAJA: 'LINK',
      EWALLET_SHOPEEPAY: 'ESHP',
    } as const;
    for (const [method, mitraCd] of Object.entries(expected)) {
      const body = toDebitPaymentRequest(
        { ...input, method: method as keyof typeof expected },
        { merchantId: 'IONPAYTEST', now }
      );
      assert.equal(body.additionalInfo.mitraCd, mitraCd);
    }
  });

  it('refuses methods NICEPAY e-wallet does not take, and payments without a phone', () => {
    assert.throws(
      () => toDebitPaymentRequest({ ...input, method: 'VA_BCA' }, { merchantId: 'IONPAYTEST', now }),
      OperationNotSupportedError
    );
    assert.throws(
      () => toDebitPaymentRequest({ ...input, customer: { name: 'Budi' } }, { merchantId: 'IONPAYTEST', now }),
      (err: unknown) => err instanceof ProviderRequestRejectedError && err.field === 'additionalInfo.billingPhone'
    );
  });

  it('builds a status request that passes its schema, with an empty referenceNo when Kasir has none', () => {
    const body = toDebitStatusRequest(
      { reference: 'KP7M3Q8Z2XW4', amount: 12345, method: 'EWALLET_DANA', createdAt: now.toISOString() },
      'IONPAYTEST'
    );
    assert.deepEqual(DebitStatusRequestSchema.parse(body), body);
    assert.equal(body.originalReferenceNo, '');
    assert.equal(body.serviceCode, '54');
  });

  it('maps every documented latestTransactionStatus, and anything else to pending', () => {
    const table: Array<[string, ProviderPaymentStatus]> = [
      ['00', 'succeeded'],
      ['01', 'pending'],
      ['03', 'pending'],
      ['04', 'refunded'],
      ['05', 'cancelled'],
      ['06', 'failed'],
      ['02', 'pending'],
      ['07', 'pending'],
      ['99', 'pending'],
      ['X', 'pending'],
    ];
    for (const [code, status] of table) assert.equal(toProviderPaymentStatus(code), status, code);
  });

  it('reads the status answer, taking transAmount when amount is absent', () => {
    const response = DebitStatusResponseSchema.parse(fixture('status-response.json'));
    const { amount, ...withoutAmount } = response;
    const outcome = toPaymentOutcome({ ...withoutAmount, transAmount: amount, paidTime: '2024-08-22T14:20:00+07:00' });
    assert.equal(outcome.status, 'succeeded');
    assert.equal(outcome.paidAmount, 1);
    assert.equal(outcome.paidAt, '2024-08-22T07:20:00.000Z');
    assert.equal(outcome.providerReference, 'IONPAYTEST05202408221416277395');
    const failed = toPaymentOutcome({ ...response, latestTransactionStatus: '06', transactionStatusDesc: 'Failed' });
    assert.deepEqual(failed.failure, { code: '06', message: 'Failed' });
  });

  it('turns the notification into a hint with a stable event id', () => {
    const parsed = toParsedCallback(DebitNotificationSchema.parse(fixture('notification.json')));
    assert.equal(parsed.kind, 'payment');
    assert.equal(parsed.reference, 'ORD20240822141627');
    assert.equal(parsed.trust, 'hint');
    assert.equal(parsed.eventId, '00:IONPAYTEST05202408221416277395');
    assert.equal(parsed.outcome.status, 'succeeded');
  });

  it('classifies SNAP response codes by HTTP status and case', () => {
    const table: Array<[string, SnapCodeMeaning]> = [
      ['2005400', 'success'],
      ['2025400', 'in-progress'],
      ['4005401', 'invalid-field-format'],
      ['4005402', 'invalid-mandatory-field'],
      ['4015400', 'unauthorized'],
      ['4015401', 'token-invalid'],
      ['4035401', 'unauthorized'],
      ['4035402', 'declined'],
      ['4035405', 'declined'],
      ['4035414', 'declined'],
      ['4045411', 'declined'],
      ['4045408', 'unauthorized'],
      ['4045501', 'not-found'],
      ['4095401', 'duplicate-reference'],
      ['4095400', 'conflict'],
      ['5005400', 'provider-error'],
      ['5045400', 'provider-error'],
      ['3025400', 'unknown'],
    ];
    for (const [code, meaning] of table) assert.equal(classifyResponseCode(code), meaning, code);
  });

  it('reads the field a 400 message names', () => {
    assert.equal(
      fieldFromResponseMessage('Invalid Mandatory Field {additionalInfo.mitraCd}'),
      'additionalInfo.mitraCd'
    );
    assert.equal(fieldFromResponseMessage('Invalid Field Format [X-TIMESTAMP]'), 'X-TIMESTAMP');
    assert.equal(fieldFromResponseMessage('Invalid Mandatory Field partnerReferenceNo'), 'partnerReferenceNo');
    assert.equal(fieldFromResponseMessage('Unauthorized. Signature'), undefined);
  });

  it('defaults config to the NICEPAY sandbox with an explicit timeout', () => {
    const config = nicepayConfigSchema.parse({
      clientId: 'IONPAYTEST',
      clientSecret: 'secret',
      privateKeyPem: merchantPrivateKey,
      nicepayPublicKeyPem: merchantPublicKey,
    });
    assert.equal(config.baseUrl, 'https://dev.nicepay.co.id/nicepay');
    assert.equal(config.timeoutMs, 10_000);
    assert.equal(config.tokenRenewalMarginSeconds, 60);
  });
});
