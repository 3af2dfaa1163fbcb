/**
 * Bad input: the merchant API fuzzed from its own OpenAPI document (GET /openapi.json). For every
 * operation that takes a body or parameters, a seeded generator sends malformed JSON, a wrong type for
 * each property (read from the schema), huge strings, unicode (emoji, RTL, null bytes), bad amounts,
 * wrong content types and missing or wrong credentials. Every answer must arrive (no hang), never be a
 * 5xx, and, on the merchant API, use the one error shape `{ error: { type, code, message, request_id } }`.
 * Inputs that are invalid by the schema must get a 4xx; inputs that may be valid (unicode in free
 * text) only must not be a 5xx. And the document must tell the truth: every answer's status is one it
 * lists for the operation, and every JSON answer matches the schema it documents for that status
 * (checked by a small OpenAPI 3.0 schema validator below, against the served document itself).
 */
import assert from 'node:assert/strict';
import { apiClient, paymentBody, uniqueRef } from '../api/http';
import { startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

const SEED = 0x6b617369; // "kasi"
const REQUEST_TIMEOUT_MS = 15_000;
const CONCURRENCY = 6;

/** mulberry32: small, fast and deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  /** OpenAPI 3.0: booleans qualifying `minimum` / `maximum`. */
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  nullable?: boolean;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
  $ref?: string;
  format?: string;
  pattern?: string;
}
interface DocumentedResponse {
  description: string;
  content?: Record<string, { schema?: Schema }>;
}
interface Parameter {
  name: string;
  in: 'query' | 'path' | 'header';
  required?: boolean;
  schema: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  security?: Record<string, unknown>[];
  responses: Record<string, DocumentedResponse>;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

type Expect = '4xx' | 'not-5xx';
interface Case {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  expect: Expect;
  /** Callbacks answer in each provider's dialect, not the merchant API's error shape. */
  errorShape: boolean;
  /** A parameter set to a value the document offers (an enum member): a 400 must not name it. */
  offered?: string;
  /** The documented operation the request is for: `paths[template][operation]`. */
  template: string;
  operation: string;
}

const HUGE = 'x'.repeat(200 * 1024);
const BIG = 'y'.repeat(10 * 1024);
const UNICODE = [
  'Budi 😀🇮🇩 Santoso',
  'مرحبا بالعالم', // RTL
  '\u202eevil\u202c',
  'nul\u0000byte',
  'zero\u200bwidth',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '\ud800', // lone surrogate
  'ÅÄÖ ñ ß ✓',
];
const BAD_AMOUNTS: { raw: string; label: string }[] = [
  { raw: '-1', label: 'negative' },
  { raw: '-150000', label: 'negative large' },
  { raw: '0', label: 'zero' },
  { raw: '0.5', label: 'fractional' },
  { raw: '150000.01', label: 'fractional large' },
  { raw: '"NaN"', label: 'NaN string' },
  { raw: '"Infinity"', label: 'Infinity string' },
  { raw: '1e309', label: 'overflow literal' },
  { raw: '1e21', label: 'huge' },
  { raw: '9007199254740993', label: 'beyond safe integer' },
  { raw: '"150000"', label: 'numeric string' },
  { raw: 'null', label: 'null' },
  { raw: '-0.0000001', label: 'tiny negative' },
];
const MALFORMED = [
  '{',
  '{"amount":',
  '{"a":1,}',
  "{'a':1}",
  'nul',
  '[1,2',
  '{"a":"\\x"}',
  '\u0000',
  '{"a":1}}',
  'true false',
];

/** encodeURIComponent, but a lone surrogate becomes its (invalid) UTF-8 bytes instead of throwing. */
function enc(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text
      .replace(/[\ud800-\udfff]/g, '%ED%A0%80')
      .split('%ED%A0%80')
      .map(encodeURIComponent)
      .join('%ED%A0%80');
  }
}

function resolve(doc: OpenApi, schema: Schema | undefined): Schema {
  if (!schema) return {};
  if (schema.$ref) return resolve(doc, doc.components.schemas[schema.$ref.split('/').pop()!]);
  return schema;
}

/** Values of the wrong JSON type for a schema. */
function wrongTypes(schema: Schema): unknown[] {
  const byType: Record<string, unknown[]> = {
    string: [12345, true, null, ['a'], { a: 'b' }],
    integer: ['150000', true, null, [1], { n: 1 }],
    number: ['150000', true, null, [1], { n: 1 }],
    boolean: ['true', 1, null],
    object: ['object', 7, [], null, true],
    array: ['array', 7, {}, null],
  };
  return byType[schema.type ?? ''] ?? [];
}

/** Whether a string has no lone surrogate (String.prototype.isWellFormed is ES2024; the project targets ES2022). */
function wellFormed(text: string): boolean {
  return !/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));
}

/** Flattens an object schema into dotted property paths with their schemas. */
function properties(doc: OpenApi, schema: Schema, prefix = ''): { path: string[]; schema: Schema }[] {
  const out: { path: string[]; schema: Schema }[] = [];
  for (const [name, raw] of Object.entries(resolve(doc, schema).properties ?? {})) {
    const s = resolve(doc, raw);
    const path = [...(prefix ? prefix.split('.') : []), name];
    out.push({ path, schema: s });
    if (s.type === 'object' && s.properties) out.push(...properties(doc, s, path.join('.')));
  }
  return out;
}

function setAt(target: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(target);
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
  return copy;
}

/** A JSON text with the value at `path` replaced by a raw JSON literal (for literals JSON.stringify cannot produce). */
function withRaw(base: Record<string, unknown>, path: string[], raw: string): string {
  const marker = '__FUZZ_RAW__';
  return JSON.stringify(setAt(base, path, marker)).replace(`"${marker}"`, raw);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Where `value` departs from an OpenAPI 3.0 schema (the subset the document uses: types, enum,
 * nullable, bounds, lengths, pattern, properties, required, additionalProperties, items, anyOf, oneOf,
 * allOf, $ref). Empty when it conforms.
 */
function schemaProblems(doc: OpenApi, raw: Schema | undefined, value: unknown, at = '$'): string[] {
  const schema = resolve(doc, raw);
  if (value === null) return schema.nullable || schema.type === undefined ? [] : [`${at}: null is not allowed`];
  const problems: string[] = [];
  for (const part of schema.allOf ?? []) problems.push(...schemaProblems(doc, part, value, at));
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const matching = alternatives.filter((alt) => schemaProblems(doc, alt, value, at).length === 0).length;
    if (matching === 0 || (schema.oneOf && matching > 1))
      problems.push(`${at}: matches ${matching} of the alternatives`);
  }
  if (schema.enum && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value)))
    problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  switch (schema.type) {
    case undefined:
      break;
    case 'string':
      if (typeof value !== 'string') return [...problems, `${at}: expected a string, got ${JSON.stringify(value)}`];
      if (schema.minLength !== undefined && value.length < schema.minLength)
        problems.push(`${at}: shorter than ${schema.minLength}`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength)
        problems.push(`${at}: longer than ${schema.maxLength}`);
      if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value))
        problems.push(`${at}: does not match ${schema.pattern}`);
      break;
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value))
        return [...problems, `${at}: expected a number, got ${JSON.stringify(value)}`];
      if (schema.type === 'integer' && !Number.isInteger(value)) problems.push(`${at}: ${value} is not an integer`);
      const { minimum, maximum } = schema;
      if (minimum !== undefined && (schema.exclusiveMinimum ? value <= minimum : value < minimum))
        problems.push(`${at}: ${value} below ${minimum}`);
      if (maximum !== undefined && (schema.exclusiveMaximum ? value >= maximum : value > maximum))
        problems.push(`${at}: ${value} above ${maximum}`);
      break;
    }
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${at}: expected a boolean, got ${JSON.stringify(value)}`);
      break;
    case 'array':
      if (!Array.isArray(value)) return [...problems, `${at}: expected an array`];
      value.forEach((item, i) => problems.push(...schemaProblems(doc, schema.items, item, `${at}[${i}]`)));
      break;
    case 'object': {
      if (!isPlainObject(value)) return [...problems, `${at}: expected an object, got ${JSON.stringify(value)}`];
      for (const name of schema.required ?? [])
        if (!(name in value)) problems.push(`${at}.${name}: required but missing`);
      for (const [name, inner] of Object.entries(value)) {
        const declared = schema.properties?.[name];
        if (declared) problems.push(...schemaProblems(doc, declared, inner, `${at}.${name}`));
        else if (schema.additionalProperties === false) problems.push(`${at}.${name}: not a documented property`);
        else if (isPlainObject(schema.additionalProperties))
          problems.push(...schemaProblems(doc, schema.additionalProperties, inner, `${at}.${name}`));
      }
      break;
    }
    default:
      problems.push(`${at}: unknown schema type ${schema.type}`);
  }
  return problems;
}

/** Whether an answer is one the document lists for the operation, with a body its schema allows. */
function documentationProblems(
  doc: OpenApi,
  c: Pick<Case, 'template' | 'operation'>,
  status: number,
  contentType: string,
  text: string
): string[] {
  const operation = doc.paths[c.template]?.[c.operation];
  if (!operation) return [`${c.operation.toUpperCase()} ${c.template} is not in the document`];
  const documented = operation.responses[String(status)] ?? operation.responses.default;
  if (!documented) return [`${status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
  if (!/[/+]json\b/i.test(contentType)) return [];
  const content = documented.content ?? {};
  const mediaType = Object.keys(content).find(
    (type) => type === 'application/json' || type === '*/*' || type === 'application/*'
  );
  if (mediaType === undefined) return [`${status} answers JSON, but the document gives it no JSON body`];
  const schema = content[mediaType]?.schema;
  if (mediaType !== 'application/json' || !schema) return [];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`${status} says JSON but its body does not parse: ${text.slice(0, 120)}`];
  }
  return schemaProblems(doc, schema, body).map((problem) => `${status} body: ${problem}`);
}

describe('merchant API fuzzing from its OpenAPI document', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let doc: OpenApi;
  const validBodies: Record<string, () => Record<string, unknown>> = {};
  let paymentId = '';
  let billId = '';

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({ api: true });
    const response = await fetch(`${stack.apiUrl}/openapi.json`);
    assert.equal(response.status, 200);
    doc = (await response.json()) as OpenApi;
    const api = apiClient(stack);
    const acme = stack.merchants[0]!;
    const payment = await api.post<{ id: string }>('/v1/payments', paymentBody(), { as: acme });
    assert.equal(payment.status, 201, payment.text);
    paymentId = payment.body.id;
    const bill = await api.post<{ id: string }>(
      '/v1/bills/inquiries',
      { reference: uniqueRef('BILL'), productCode: 'PLNPOST', accountNumber: '530000000004' },
      { as: acme }
    );
    assert.equal(bill.status, 201, bill.text);
    billId = bill.body.id;
    validBodies['post /v1/payments'] = () =>
      paymentBody({ returnUrl: 'https://merchant.example/return', metadata: { cartId: 'c_1' }, expiresInMinutes: 60 });
    validBodies['post /v1/payments/{id}/cancel'] = () => ({ reason: 'customer asked' });
    validBodies['post /v1/payouts'] = () => ({
      reference: uniqueRef('PO'),
      amount: 250_000,
      feeMode: 'merchant',
      beneficiary: { bankCode: '014', accountNumber: '1234567890', accountName: 'Siti Aminah' },
      description: 'Seller payout',
      metadata: { batch: 'b1' },
    });
    validBodies['post /v1/operator/payouts/{id}/resolve'] = () => ({
      outcome: 'SUCCEEDED',
      evidence: 'bank statement line 42',
      operator: 'ops@kasir',
    });
    validBodies['post /v1/bills/inquiries'] = () => ({
      reference: uniqueRef('BILL'),
      productCode: 'PLNPRE20',
      accountNumber: '530000000001',
      amount: 20_000,
      zoneId: 'z1',
      month: 5,
    });
    validBodies['post /v1/bills/payments'] = () => ({ billId: 'B' + 'Z'.repeat(19), expectedTotal: 100_000 });
  });
  after(async () => stack?.stop());

  function buildCases(): Case[] {
    const random = rng(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const acme = stack.merchants[0]!;
    const cases: Case[] = [];
    const idFor = (path: string) => (path.includes('/bills/') ? billId : paymentId);

    for (const [template, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const params = operation.parameters ?? [];
        const bodySchema = operation.requestBody ? Object.values(operation.requestBody.content)[0]?.schema : undefined;
        if (params.length === 0 && !bodySchema) continue;
        const key = `${method} ${template}`;
        const isCallback = template.startsWith('/callbacks/');
        const operator = (operation.security ?? []).some((s) => 'operatorKey' in s);
        const auth: Record<string, string> = isCallback
          ? {}
          : { authorization: `Bearer ${operator ? stack.operatorKey : acme.apiKey}` };
        const concretePath = template.replace('{id}', idFor(template)).replace('{provider}', 'finpay');
        const add = (name: string, c: Partial<Case> & { expect: Expect }) =>
          cases.push({
            name: `${key}: ${name}`,
            method: method.toUpperCase(),
            path: concretePath,
            headers: { ...auth },
            errorShape: !isCallback,
            template,
            operation: method,
            ...c,
          });
        const json = { 'content-type': 'application/json' };

        // Missing or wrong credentials.
        if (!isCallback) {
          const body = bodySchema ? JSON.stringify(validBodies[key]?.() ?? {}) : undefined;
          const h = bodySchema ? json : {};
          add('no credentials', { headers: { ...h }, body, expect: '4xx' });
          add('wrong bearer', { headers: { ...h, authorization: 'Bearer test_sk_nobody_0000' }, body, expect: '4xx' });
          add('basic auth', { headers: { ...h, authorization: 'Basic YWNtZTpzZWNyZXQ=' }, body, expect: '4xx' });
          add('empty bearer', { headers: { ...h, authorization: 'Bearer ' }, body, expect: '4xx' });
          add('huge bearer', { headers: { ...h, authorization: `Bearer ${BIG}` }, body, expect: '4xx' });
          add(operator ? 'merchant key on operator route' : 'operator key on merchant route', {
            headers: { ...h, authorization: `Bearer ${operator ? acme.apiKey : stack.operatorKey}` },
            body,
            expect: '4xx',
          });
        }

        // Parameters.
        for (const param of params) {
          const schema = resolve(doc, param.schema);
          if (param.in === 'path') {
            const text = pick(UNICODE.filter(wellFormed));
            // 'P' + 64 zeros: one character over the documented maxLength of an id (found by an outside probe).
            for (const bad of [
              BIG,
              '%00',
              '..%2F..%2Fetc%2Fpasswd',
              encodeURIComponent('😀'),
              enc(text),
              'P' + '0'.repeat(19),
              'P' + '0'.repeat(64),
            ]) {
              const p = template
                .replace(`{${param.name}}`, bad)
                .replace('{id}', idFor(template))
                .replace('{provider}', 'finpay');
              add(`path ${param.name}=${bad.slice(0, 20)}`, {
                path: p,
                headers: { ...auth, ...(bodySchema ? json : {}) },
                body: bodySchema ? JSON.stringify(validBodies[key]?.() ?? {}) : undefined,
                expect: isCallback ? 'not-5xx' : '4xx',
              });
            }
          } else if (param.in === 'query') {
            const bads = [BIG, '-1', '0', '1.5', 'NaN', '1e309', 'abc', '', '%00', pick(UNICODE)];
            for (const bad of bads) {
              // An empty or in-range value for an optional filter may be accepted; it must still not be a 5xx.
              const maybeValid =
                bad === '' ||
                (schema.type === 'string' &&
                  !schema.enum &&
                  bad.length <= (schema.maxLength ?? Infinity) &&
                  !bad.includes('\u0000') &&
                  bad !== BIG);
              add(`query ${param.name}=${bad.slice(0, 20)}`, {
                path: `${concretePath}?${encodeURIComponent(param.name)}=${bad === '%00' ? bad : enc(bad)}`,
                expect: maybeValid ? 'not-5xx' : '4xx',
              });
            }
            add(`query ${param.name} repeated`, {
              path: `${concretePath}?${param.name}=a&${param.name}=b`,
              expect: 'not-5xx',
            });
            // Every value the document offers is taken.
            for (const value of schema.enum ?? []) {
              add(`query ${param.name}=${String(value)} (documented)`, {
                path: `${concretePath}?${encodeURIComponent(param.name)}=${enc(String(value))}`,
                expect: 'not-5xx',
                offered: param.name,
              });
            }
          } else if (param.in === 'header') {
            for (const bad of [BIG.slice(0, 300), 'has space', 'tab\tinside', 'é-latin1', '']) {
              add(`header ${param.name}=${bad.slice(0, 12)}`, {
                headers: { ...auth, ...json, [param.name]: bad },
                body: JSON.stringify(validBodies[key]?.() ?? {}),
                expect: bad === '' ? 'not-5xx' : '4xx',
              });
            }
          }
        }

        // A valid request, so that success answers are checked against the document too.
        add('valid request', {
          headers: { ...auth, ...(bodySchema ? json : {}) },
          body: bodySchema ? JSON.stringify(validBodies[key]?.() ?? {}) : undefined,
          expect: 'not-5xx',
        });

        if (!bodySchema) continue;
        const valid = validBodies[key] ?? (() => ({}));

        // Every enum value the document offers for a body property is taken, never refused for itself
        // (a payout's provider enum once offered `ayopop`, which sends no payouts).
        if (!isCallback) {
          for (const { path, schema } of properties(doc, bodySchema)) {
            for (const value of schema.enum ?? []) {
              // Another enum (a payment's method) is tried without naming a provider, so Kasir picks one that takes it.
              const { provider: _provider, ...withoutProvider } = valid() as Record<string, unknown>;
              const base = path.join('.') === 'provider' ? valid() : withoutProvider;
              add(`${path.join('.')}=${JSON.stringify(value)} (documented)`, {
                headers: { ...auth, ...json },
                body: JSON.stringify(setAt(base, path, value)),
                expect: 'not-5xx',
                offered: path.join('.'),
              });
            }
          }
        }

        // Malformed JSON and wrong content types.
        for (const text of MALFORMED)
          add(`malformed ${JSON.stringify(text)}`, {
            headers: { ...auth, ...json },
            body: text,
            expect: isCallback ? 'not-5xx' : '4xx',
          });
        if (!isCallback) {
          for (const type of [
            'text/plain',
            'application/x-www-form-urlencoded',
            'multipart/form-data; boundary=x',
            'application/xml',
            'application/json; charset=utf-16',
            'image/png',
          ]) {
            add(`content-type ${type}`, {
              headers: { ...auth, 'content-type': type },
              body: JSON.stringify(valid()),
              expect: '4xx',
            });
          }
          add('no content-type', { headers: { ...auth }, body: JSON.stringify(valid()), expect: '4xx' });
          add('empty body', {
            headers: { ...auth, ...json },
            body: '',
            expect: key.endsWith('/cancel') ? 'not-5xx' : '4xx',
          });
          add('JSON array', { headers: { ...auth, ...json }, body: '[]', expect: '4xx' });
          add('JSON string', { headers: { ...auth, ...json }, body: '"hello"', expect: '4xx' });
          add('JSON null', { headers: { ...auth, ...json }, body: 'null', expect: '4xx' });
          add('unknown property', {
            headers: { ...auth, ...json },
            body: JSON.stringify({ ...valid(), __proto__x: 1, constructor: 'x' }),
            expect: '4xx',
          });
          add('__proto__ pollution', {
            headers: { ...auth, ...json },
            body: JSON.stringify(valid()).replace(/^\{/, '{"__proto__":{"admin":true},'),
            expect: 'not-5xx',
          });
        }
        add('200 kB body', {
          headers: { ...auth, ...json },
          body: JSON.stringify({ ...valid(), description: HUGE }),
          expect: isCallback ? 'not-5xx' : '4xx',
        });
        if (isCallback) {
          add('200 kB raw body', {
            headers: { 'content-type': 'application/octet-stream' },
            body: HUGE,
            expect: 'not-5xx',
          });
          continue;
        }

        // Per property: wrong types, huge strings, unicode, bad amounts.
        for (const { path, schema } of properties(doc, bodySchema)) {
          const name = path.join('.');
          for (const value of wrongTypes(schema)) {
            add(`${name} as ${JSON.stringify(value)}`, {
              headers: { ...auth, ...json },
              body: JSON.stringify(setAt(valid(), path, value)),
              expect: '4xx',
            });
          }
          if (schema.type === 'string') {
            add(`${name} 10 kB`, {
              headers: { ...auth, ...json },
              body: JSON.stringify(setAt(valid(), path, BIG)),
              expect: '4xx',
            });
            add(`${name} 200 kB`, {
              headers: { ...auth, ...json },
              body: JSON.stringify(setAt(valid(), path, HUGE)),
              expect: '4xx',
            });
            const text = pick(UNICODE);
            // Free text may legitimately take unicode; constrained strings (enum, pattern) must refuse it.
            const constrained =
              !!schema.enum || (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(text));
            add(`${name} unicode ${JSON.stringify(text)}`, {
              headers: { ...auth, ...json },
              body: JSON.stringify(setAt(valid(), path, text)),
              expect: constrained ? '4xx' : 'not-5xx',
            });
            const nulRefused =
              !!schema.enum || (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test('a\u0000b'));
            add(`${name} null byte`, {
              headers: { ...auth, ...json },
              body: JSON.stringify(setAt(valid(), path, 'a\u0000b')),
              expect: nulRefused ? '4xx' : 'not-5xx',
            });
          }
          if (schema.type === 'integer' || schema.type === 'number') {
            for (const amount of BAD_AMOUNTS) {
              const inRange =
                amount.raw === '0' &&
                (schema.minimum ?? 1) <= 0 &&
                (schema as { exclusiveMinimum?: boolean }).exclusiveMinimum !== true;
              add(`${name} ${amount.label}`, {
                headers: { ...auth, ...json },
                body: withRaw(valid(), path, amount.raw),
                expect: inRange ? 'not-5xx' : '4xx',
              });
            }
          }
        }
      }
    }
    return cases;
  }

  it('answers a path parameter with broken percent-encoding with a 400', async () => {
    const acme = stack.merchants[0]!;
    const failures: string[] = [];
    for (const path of [
      '/v1/payments/%zz',
      '/v1/payments/%',
      '/v1/payouts/%ED%A0%80',
      '/v1/bills/payments/%C3%28',
      '/v1/payments/%FF/cancel',
      '/callbacks/%zz',
    ]) {
      const response = await fetch(`${stack.apiUrl}${path}`, {
        method: path.includes('cancel') || path.startsWith('/callbacks') ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${acme.apiKey}`, 'content-type': 'application/json' },
        body: path.includes('cancel') || path.startsWith('/callbacks') ? '{}' : undefined,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      if (response.status !== 400) failures.push(`${path}: ${response.status}`);
      const template = Object.keys(doc.paths).find((t) =>
        new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path)
      );
      const operation = path.includes('cancel') || path.startsWith('/callbacks') ? 'post' : 'get';
      if (template === undefined) failures.push(`${path}: no documented operation`);
      else
        for (const problem of documentationProblems(
          doc,
          { template, operation },
          response.status,
          response.headers.get('content-type') ?? '',
          await response.text()
        ))
          failures.push(`${path}: ${problem}`);
    }
    assert.deepEqual(failures, []);
  });

  it('answers every bad request with a 4xx in the one error shape, never a 5xx or a hang', async () => {
    const cases = buildCases();
    assert.ok(cases.length >= 200, `generated ${cases.length} cases`);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    async function runOne(c: Case): Promise<void> {
      let response: Response;
      try {
        response = await fetch(`${stack.apiUrl}${c.path}`, {
          method: c.method,
          headers: c.headers,
          body: c.body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        failures.push(`${c.name}: no answer (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`);
        return;
      }
      const text = await response.text();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      for (const problem of documentationProblems(
        doc,
        c,
        response.status,
        response.headers.get('content-type') ?? '',
        text
      ))
        failures.push(`${c.name}: ${problem}`);
      if (response.status >= 500) return void failures.push(`${c.name}: ${response.status} ${text.slice(0, 200)}`);
      if (c.expect === '4xx' && (response.status < 400 || response.status >= 500))
        return void failures.push(`${c.name}: expected 4xx, got ${response.status} ${text.slice(0, 200)}`);
      if (c.offered !== undefined && response.status === 400) {
        let errors: { param: string }[] = [];
        try {
          errors = (JSON.parse(text) as { error?: { errors?: { param: string }[] } }).error?.errors ?? [];
        } catch {
          // not the error shape: reported below
        }
        const refused = errors.some((e) => e.param === c.offered);
        if (refused)
          failures.push(`${c.name}: the document offers this value, yet it is refused: ${text.slice(0, 200)}`);
      }
      if (response.status >= 400 && c.errorShape) {
        let body: { error?: Record<string, unknown> } | undefined;
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          return void failures.push(`${c.name}: ${response.status} error body is not JSON: ${text.slice(0, 120)}`);
        }
        const error = body?.error;
        const shaped =
          error &&
          ['type', 'code', 'message', 'request_id'].every((k) => typeof error[k] === 'string' && error[k].length > 0);
        if (!shaped) failures.push(`${c.name}: ${response.status} not the one error shape: ${text.slice(0, 200)}`);
        else if (response.headers.get('request-id') !== null && response.headers.get('request-id') !== error.request_id)
          failures.push(`${c.name}: Request-Id header differs from request_id`);
      }
    }
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < cases.length) await runOne(cases[next++]!);
      })
    );
    if (process.env.FAULTS_DEBUG) console.log(`${cases.length} cases`, Object.fromEntries(statuses));
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} fuzz cases failed:\n${failures.join('\n')}`);

    // The API is still healthy afterwards.
    const health = await fetch(`${stack.apiUrl}/healthz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    assert.equal(health.status, 200);
  });
});
