import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CallbackPayloadError, CallbackSignatureError } from '../../src/domain/errors';
import { finpayModule } from '../../src/connectors/finpay';
import {
  PhpJsonSyntaxError,
  encodePhpJson,
  formatPhpFloat,
  parsePhpJson,
  phpCanonicalWithout,
  signFinpayObject,
  toPhpJsonValue,
  verifyFinpayCallbackSignature,
} from '../../src/connectors/finpay/signing';

const fixtures = join(__dirname, 'fixtures/finpay');
/** Test-only key (see fixtures/finpay/README.md); never a real credential. */
const TEST_MERCHANT_KEY = readFileSync(join(fixtures, 'TEST-ONLY-merchant-key.txt'), 'utf8').trim();
const readRaw = (name: string) => readFileSync(join(fixtures, name));

/*
 * Computed independently of signing.ts by fixtures/finpay/make-vectors.py (Python json + hmac), and
 * cross-checked with openssl:
 *   python3 -c "import json;d=json.load(open('callback-php-encoded.json'));d.pop('signature');\
 *     print(json.dumps(d,ensure_ascii=True,separators=(',',':')).replace('/','\\\\/'),end='')" > canon.txt
 *   openssl dgst -sha512 -hmac "$(cat TEST-ONLY-merchant-key.txt)" canon.txt
 */
const SIGNATURE_PHP_DEFAULT =
  'ca2faf075a69332e9da4b7d450d27655d8469772bf75a9972fcdb7fb67fc2768fbd84d9fe5f8cd9236c3bd9d16ca1a3bb6c4dad0306f646b5b567d02b3e596e9';
/* Same fields, signed over json_encode(..., JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE) by make-vectors.py. */
const SIGNATURE_UNESCAPED =
  '91cdd0f64e0b100dfac76e07b0b0e20e4570c2e6217d20dc9ec144520477d3538d74aa928115191e568176ce80eef77ad404e5cf1359f8f676f880dc8f151476';

describe('finpay PHP json_encode compatibility', () => {
  it('re-encodes a decoded callback exactly as Python computed PHP default json_encode', () => {
    const raw = readRaw('callback-php-encoded.json').toString('utf8');
    const expectedCanonical = raw.replace(`,"signature":"${SIGNATURE_PHP_DEFAULT}"}`, '}');
    assert.notEqual(expectedCanonical, raw);
    assert.equal(phpCanonicalWithout(parsePhpJson(raw), 'signature'), expectedCanonical);
  });

  it('reaches the same canonical form from a pretty-printed, unescaped UTF-8 layout of the same data', () => {
    const php = parsePhpJson(readRaw('callback-php-encoded.json').toString('utf8'));
    const pretty = parsePhpJson(readRaw('callback-pretty-utf8.json').toString('utf8'));
    assert.equal(encodePhpJson(pretty), encodePhpJson(php));
  });

  it('escapes like PHP: slashes, non-ASCII as lowercase UTF-16 units, control characters', () => {
    assert.equal(encodePhpJson(toPhpJsonValue('a/b')), '"a\\/b"');
    assert.equal(encodePhpJson(toPhpJsonValue('é🚀')), '"\\u00e9\\ud83d\\ude80"');
    assert.equal(encodePhpJson(toPhpJsonValue('\b\f\n\r\t\u0000\u001f"\\')), '"\\b\\f\\n\\r\\t\\u0000\\u001f\\"\\\\"');
    // PHP leaves DEL (0x7f) alone: only characters below 0x20 are control escapes.
    assert.equal(encodePhpJson(toPhpJsonValue('\u007f')), '"\u007f"');
    assert.equal(encodePhpJson(toPhpJsonValue('\u2028')), '"\\u2028"');
    assert.equal(encodePhpJson(toPhpJsonValue('a/é'), { unescapedSlashes: true, unescapedUnicode: true }), '"a/é"');
  });

  it('formats floats as PHP does with serialize_precision -1', () => {
    const table: [number, string][] = [
      [0.1, '0.1'],
      [2.5, '2.5'],
      [-0.5, '-0.5'],
      [0.023665189743041992, '0.023665189743041992'],
      [0.0001, '0.0001'],
      [0.00001, '1.0e-5'],
      [1.5e-7, '1.5e-7'],
      [1e16, '10000000000000000'],
      [1e17, '1.0e+17'],
      [1e25, '1.0e+25'],
      [1.2345678901234568e20, '1.2345678901234568e+20'],
      [123.456, '123.456'],
    ];
    for (const [value, expected] of table) assert.equal(formatPhpFloat(value), expected, String(value));
  });

  it('decodes numbers as PHP does: integer lexemes stay ints, others become floats', () => {
    assert.equal(
      encodePhpJson(parsePhpJson('[1000, 1000.0, 1e2, -0, 12345678901234567890, 9223372036854775807]')),
      '[1000,1000,100,0,1.2345678901234567e+19,9223372036854775807]'
    );
  });

  it('keeps member order, numeric-looking keys and empty objects as sent', () => {
    assert.equal(encodePhpJson(parsePhpJson('{"b":1,"1":2,"a":{},"c":[]}')), '{"b":1,"1":2,"a":{},"c":[]}');
    assert.equal(encodePhpJson(parsePhpJson('{"a":1,"b":2,"a":3}')), '{"a":3,"b":2}');
  });

  it('rejects what PHP json_decode rejects', () => {
    for (const bad of ['{"a":1}x', '{"a":"\\ud800"}', "{'a':1}", '{"a":01}', '[1,]', '"\u0001"']) {
      assert.throws(() => parsePhpJson(bad), PhpJsonSyntaxError, bad);
    }
  });
});

describe('finpay callback signature', () => {
  it('signs the Python vector fields to the Python signature', () => {
    const raw = JSON.parse(readRaw('callback-php-encoded.json').toString('utf8')) as Record<string, unknown>;
    const { signature: _signature, ...fields } = raw;
    assert.equal(signFinpayObject(fields, TEST_MERCHANT_KEY).signature, SIGNATURE_PHP_DEFAULT);
  });

  it('verifies the PHP-encoded body, its pretty-printed twin and an unescaped-flags signature', () => {
    assert.equal(verifyFinpayCallbackSignature(readRaw('callback-php-encoded.json'), TEST_MERCHANT_KEY).valid, true);
    assert.equal(verifyFinpayCallbackSignature(readRaw('callback-pretty-utf8.json'), TEST_MERCHANT_KEY).valid, true);
    const unescaped = readRaw('callback-unescaped-signed.json');
    assert.ok(unescaped.toString('utf8').includes(SIGNATURE_UNESCAPED));
    assert.equal(verifyFinpayCallbackSignature(unescaped, TEST_MERCHANT_KEY).valid, true);
  });

  it('refuses a tampered body, a wrong key and a missing signature', () => {
    const raw = readRaw('callback-php-encoded.json').toString('utf8');
    const tampered = Buffer.from(raw.replace('"amount":150000,"currency"', '"amount":150001,"currency"'));
    assert.notEqual(tampered.toString('utf8'), raw);
    assert.deepEqual(verifyFinpayCallbackSignature(tampered, TEST_MERCHANT_KEY), { valid: false, reason: 'mismatch' });
    assert.deepEqual(verifyFinpayCallbackSignature(Buffer.from(raw), `${TEST_MERCHANT_KEY}x`), {
      valid: false,
      reason: 'mismatch',
    });
    const unsigned = Buffer.from(raw.replace(/,"signature":"[0-9a-f]+"/, ''));
    assert.deepEqual(verifyFinpayCallbackSignature(unsigned, TEST_MERCHANT_KEY), {
      valid: false,
      reason: 'no-signature',
    });
    assert.deepEqual(verifyFinpayCallbackSignature(Buffer.from('not json'), TEST_MERCHANT_KEY), {
      valid: false,
      reason: 'not-json',
    });
  });

  describe('connector callbacks', () => {
    const connector = finpayModule.createConnector(
      finpayModule.configSchema.parse({ merchantId: 'FINPAY770', merchantKey: TEST_MERCHANT_KEY })
    );

    it('defaults to the Finpay sandbox host', () => {
      assert.equal(
        finpayModule.configSchema.parse({ merchantId: 'M', merchantKey: 'K' }).baseUrl,
        'https://devo.finnet.co.id'
      );
    });

    it('verifies and parses a signed callback into a verified payment event', async () => {
      const parsed = await connector.callbacks.verifyAndParse({
        headers: {},
        rawBody: readRaw('callback-php-encoded.json'),
      });
      assert.equal(parsed.kind, 'payment');
      assert.equal(parsed.reference, 'KP7M3QX2A9');
      assert.equal(parsed.trust, 'verified');
      assert.equal(parsed.eventId, 'KP7M3QX2A9:PAID:2024-01-15 10:30:00');
      assert.deepEqual(parsed.outcome, {
        status: 'succeeded',
        providerStatus: 'PAID',
        providerReference: '17000000000000000001',
        paidAmount: 150000,
        paidAt: '2024-01-15T03:30:00.000Z',
      });
    });

    it('throws CallbackSignatureError for a body signed with another key', async () => {
      const forged = readRaw('callback-php-encoded.json')
        .toString('utf8')
        .replace(SIGNATURE_PHP_DEFAULT, 'a'.repeat(128));
      await assert.rejects(
        connector.callbacks.verifyAndParse({ headers: {}, rawBody: Buffer.from(forged) }),
        CallbackSignatureError
      );
    });

    it('throws CallbackPayloadError for a signed body that is not a Finpay callback', async () => {
      const body = Buffer.from(JSON.stringify(signFinpayObject({ hello: 'world' }, TEST_MERCHANT_KEY)));
      await assert.rejects(connector.callbacks.verifyAndParse({ headers: {}, rawBody: body }), CallbackPayloadError);
      await assert.rejects(
        connector.callbacks.verifyAndParse({ headers: {}, rawBody: Buffer.from('[') }),
        CallbackPayloadError
      );
    });

    it('answers in Finpay dialect', () => {
      const accepted = connector.callbacks.answer('accepted');
      assert.equal(accepted.status, 200);
      assert.deepEqual(JSON.parse(accepted.body), { responseCode: '2000000', responseMessage: 'Success' });
      assert.deepEqual(connector.callbacks.answer('unknown-reference'), accepted);
      assert.equal(connector.callbacks.reject('signature').status, 401);
      assert.equal(
        (JSON.parse(connector.callbacks.reject('signature').body) as { responseCode: string }).responseCode,
        '4010000'
      );
      assert.equal(connector.callbacks.reject('payload').status, 400);
    });
  });
});
