/**
 * Finpay request authentication and callback signatures.
 *
 * Requests carry Basic auth with the merchant id and key (docs/providers/finpay.md §2.1).
 *
 * Callback signatures: lowercase hex HMAC-SHA512, keyed with the Merchant Key, over PHP
 * `json_encode($fields)` where `$fields` is the callback without its `signature` member
 * (docs/providers/finpay.md §2.2).
 *
 * Because the signed text is PHP's re-encoding of the decoded body, not the bytes on the wire, this file
 * carries a small JSON parser that keeps what PHP's `json_decode` keeps (member order, integer versus
 * float) and an encoder that writes what PHP's default `json_encode` writes: `/` as `\/`, every
 * non-ASCII character as a lowercase `\uXXXX` (UTF-16 units), control characters as `\b \f \n \r \t` or
 * `\u00XX`, floats in PHP's shortest round-trip form (`0.1`, `1.0e+25`, `1.0e-5`), `{}` kept as `{}`.
 * The simulator signs with the same encoder, so its canonical form is PHP's default `json_encode`.
 */
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../../constant-time';

/** `Authorization: Basic base64(merchantId:merchantKey)` (docs/providers/finpay.md §2.1). */
export function basicAuthorization(credentials: { merchantId: string; merchantKey: string }): string {
  return `Basic ${Buffer.from(`${credentials.merchantId}:${credentials.merchantKey}`).toString('base64')}`;
}

/** A decoded JSON value as PHP's `json_decode` sees it (objects keep member order; ints are not floats). */
export type PhpJsonValue =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'array'; items: PhpJsonValue[] }
  | { kind: 'object'; members: [string, PhpJsonValue][] };

/** Flags of PHP's `json_encode` that verifiers in the wild use. Defaults are PHP's defaults. */
export interface PhpJsonEncodeFlags {
  /** `JSON_UNESCAPED_SLASHES` */
  unescapedSlashes?: boolean;
  /** `JSON_UNESCAPED_UNICODE` */
  unescapedUnicode?: boolean;
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Thrown when text is not JSON that PHP's `json_decode` would accept. */
export class PhpJsonSyntaxError extends Error {
  override readonly name = 'PhpJsonSyntaxError';
}

/** Parses JSON text into the values PHP's `json_decode` (objects, not assoc arrays) would produce. */
export function parsePhpJson(text: string): PhpJsonValue {
  let pos = 0;

  const fail = (what: string): never => {
    throw new PhpJsonSyntaxError(`${what} at offset ${pos}`);
  };
  const skipWhitespace = () => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos]!)) pos++;
  };
  const expect = (literal: string) => {
    if (!text.startsWith(literal, pos)) fail(`expected ${literal}`);
    pos += literal.length;
  };

  const parseString = (): string => {
    expect('"');
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const ch = text[pos]!;
      if (ch === '"') {
        pos++;
        break;
      }
      if (ch.charCodeAt(0) < 0x20) fail('control character in string');
      if (ch !== '\\') {
        out += ch;
        pos++;
        continue;
      }
      const escape = text[pos + 1] ?? '';
      pos += 2;
      switch (escape) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          fail('bad escape');
      }
    }
    // PHP rejects unpaired surrogates (JSON_ERROR_UTF16) instead of decoding them.
    if (UNPAIRED_SURROGATE.test(out)) fail('unpaired UTF-16 surrogate');
    return out;
  };

  const parseNumber = (): PhpJsonValue => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos));
    if (!match) return fail('bad number');
    pos += match[0].length;
    const isInteger = match[2] === undefined && match[3] === undefined;
    if (isInteger) {
      const value = BigInt(match[0]);
      // Beyond int64 PHP falls back to a float (without JSON_BIGINT_AS_STRING).
      if (value <= INT64_MAX && value >= INT64_MIN) return { kind: 'int', value };
    }
    return { kind: 'float', value: Number(match[0]) };
  };

  /** The items of an object or array, the opening bracket at `pos`, up to and including `close`. */
  const parseSequence = <T>(close: '}' | ']', parseItem: () => T): T[] => {
    pos++;
    const items: T[] = [];
    skipWhitespace();
    if (text[pos] === close) {
      pos++;
      return items;
    }
    for (;;) {
      items.push(parseItem());
      skipWhitespace();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      expect(close);
      return items;
    }
  };

  const parseMember = (): [string, PhpJsonValue] => {
    skipWhitespace();
    const key = parseString();
    skipWhitespace();
    expect(':');
    return [key, parseValue()];
  };

  const parseValue = (): PhpJsonValue => {
    skipWhitespace();
    switch (text[pos] ?? '') {
      case '{': {
        const members: [string, PhpJsonValue][] = [];
        for (const [key, value] of parseSequence('}', parseMember)) {
          // A repeated key keeps its first position and takes the last value, as PHP properties do.
          const existing = members.find(([k]) => k === key);
          if (existing) existing[1] = value;
          else members.push([key, value]);
        }
        return { kind: 'object', members };
      }
      case '[':
        return { kind: 'array', items: parseSequence(']', parseValue) };
      case '"':
        return { kind: 'string', value: parseString() };
      case 't':
        expect('true');
        return { kind: 'bool', value: true };
      case 'f':
        expect('false');
        return { kind: 'bool', value: false };
      case 'n':
        expect('null');
        return { kind: 'null' };
      default:
        return parseNumber();
    }
  };

  const value = parseValue();
  skipWhitespace();
  if (pos !== text.length) fail('trailing characters');
  return value;
}

/** Converts a plain JS value (as the simulator builds it) to PHP's view: safe integers are ints. */
export function toPhpJsonValue(value: unknown): PhpJsonValue {
  if (value === null) return { kind: 'null' };
  switch (typeof value) {
    case 'boolean':
      return { kind: 'bool', value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('PHP json_encode cannot encode INF or NAN');
      return Number.isSafeInteger(value) ? { kind: 'int', value: BigInt(value) } : { kind: 'float', value };
    case 'string':
      return { kind: 'string', value };
    case 'object':
      if (Array.isArray(value)) return { kind: 'array', items: value.map(toPhpJsonValue) };
      return {
        kind: 'object',
        members: Object.entries(value as Record<string, unknown>)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, toPhpJsonValue(v)]),
      };
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      break;
  }
  throw new TypeError(`cannot encode a ${typeof value} as JSON`);
}

/** Writes a value exactly as PHP's `json_encode($value, $flags)` would. */
export function encodePhpJson(value: PhpJsonValue, flags: PhpJsonEncodeFlags = {}): string {
  switch (value.kind) {
    case 'null':
      return 'null';
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'int':
      return value.value.toString();
    case 'float':
      return formatPhpFloat(value.value);
    case 'string':
      return encodePhpString(value.value, flags);
    case 'array':
      return `[${value.items.map((item) => encodePhpJson(item, flags)).join(',')}]`;
    case 'object':
      return `{${value.members.map(([k, v]) => `${encodePhpString(k, flags)}:${encodePhpJson(v, flags)}`).join(',')}}`;
  }
}

function encodePhpString(value: string, flags: PhpJsonEncodeFlags): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const ch = value[i]!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '/':
        out += flags.unescapedSlashes ? '/' : '\\/';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
    }
    if (code < 0x20 || (code > 0x7f && !flags.unescapedUnicode)) {
      // PHP writes UTF-16 code units in lowercase hex, so astral characters become surrogate pairs.
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else {
      out += ch;
    }
  }
  return `${out}"`;
}

/**
 * PHP's float formatting under the default `serialize_precision = -1` (`php_gcvt` with mode 0): the
 * shortest digits that round-trip, exponential when the decimal exponent is below -4 or above 17, and
 * exponential mantissas always carry a fraction (`1.0e+25`).
 */
export function formatPhpFloat(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError('PHP json_encode cannot encode INF or NAN');
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  // toExponential() without an argument gives exactly the shortest round-trip digits.
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const decpt = Number(exponentText) + 1; // position of the decimal point relative to the digits
  if (decpt < -3 || decpt > 17) {
    const exponent = decpt - 1;
    const fraction = digits.length > 1 ? digits.slice(1) : '0';
    return `${sign}${digits[0]}.${fraction}e${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
  }
  if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (digits.length <= decpt) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** PHP `json_encode` of a JSON object with one top-level member removed (the signed form). */
export function phpCanonicalWithout(value: PhpJsonValue, member: string, flags: PhpJsonEncodeFlags = {}): string {
  if (value.kind !== 'object') throw new TypeError('expected a JSON object');
  return encodePhpJson({ kind: 'object', members: value.members.filter(([k]) => k !== member) }, flags);
}

/** `hash_hmac('sha512', $text, $merchantKey)`: lowercase hex, 128 characters. */
export function hmacSha512Hex(text: string, merchantKey: string): string {
  return createHmac('sha512', merchantKey).update(text, 'utf8').digest('hex');
}

/**
 * Signs a callback (or status `data`) object the way Finpay does and returns it with `signature`
 * appended as its last member.
 */
export function signFinpayObject<T extends Record<string, unknown>>(
  fields: T,
  merchantKey: string
): T & { signature: string } {
  const { signature: _ignored, ...unsigned } = fields;
  const signature = hmacSha512Hex(encodePhpJson(toPhpJsonValue(unsigned)), merchantKey);
  return { ...(unsigned as T), signature };
}

export type CallbackSignatureCheck =
  | { valid: true; decoded: PhpJsonValue }
  | { valid: false; reason: 'not-json' | 'not-an-object' | 'no-signature' | 'mismatch' };

/**
 * Verifies a Finpay callback over its raw bytes.
 *
 * The primary form is PHP's default `json_encode` (Finpay's own sample verifier). Public verifiers also
 * use `JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE` (docs/providers/finpay.md §2.3); since
 * both are the same HMAC over the same decoded fields, accepting either trusts nothing more.
 */
export function verifyFinpayCallbackSignature(rawBody: Buffer, merchantKey: string): CallbackSignatureCheck {
  let decoded: PhpJsonValue;
  try {
    decoded = parsePhpJson(new TextDecoder('utf-8', { fatal: true }).decode(rawBody));
  } catch {
    return { valid: false, reason: 'not-json' };
  }
  if (decoded.kind !== 'object') return { valid: false, reason: 'not-an-object' };
  const signatureMember = decoded.members.find(([k]) => k === 'signature')?.[1];
  if (signatureMember?.kind !== 'string' || !/^[0-9a-fA-F]{128}$/.test(signatureMember.value)) {
    return { valid: false, reason: 'no-signature' };
  }
  const received = Buffer.from(signatureMember.value.toLowerCase(), 'hex');
  const variants: PhpJsonEncodeFlags[] = [{}, { unescapedSlashes: true, unescapedUnicode: true }];
  for (const flags of variants) {
    const expected = Buffer.from(hmacSha512Hex(phpCanonicalWithout(decoded, 'signature', flags), merchantKey), 'hex');
    if (constantTimeEqual(expected, received)) return { valid: true, decoded };
  }
  return { valid: false, reason: 'mismatch' };
}
