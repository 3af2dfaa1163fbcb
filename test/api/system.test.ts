import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type express from 'express';
import { createApp } from '../../src/api/app';
import { toOpenApiPath } from '../../src/api/route';
import { DEFAULT_SERVER_LIMITS, createApiServer, hardenServer } from '../../src/api/server';
import { createConnectors } from '../../src/connectors/registry';
import { listen } from '../../src/sandbox/simulator-kit';
import type { RunningServer } from '../../src/sandbox/simulator-kit';
import { PAYMENT_METHODS } from '../../src/domain/payment';
import { freePort } from '../../src/sandbox/temporal/dev-server';
import { eventually, startStack } from '../helpers/stack';
import type { TestMerchant, TestStack } from '../helpers/stack';
import type { PaymentView } from '../../src/api/schemas';
import { apiClient, paymentBody } from './http';

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function objOf(value: unknown): Obj {
  return isObj(value) ? value : {};
}
function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}
/** The value at a path of object keys, or undefined. */
function at(value: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>((current, key) => (isObj(current) ? current[key] : undefined), value);
}

/** Every route mounted on an Express 5 app: walks `app.router.stack`. */
function expressRoutes(app: express.Express): { method: string; path: string }[] {
  const stack = (
    app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }
  ).router.stack;
  return stack.flatMap((layer) =>
    layer.route ? Object.keys(layer.route.methods).map((method) => ({ method, path: layer.route!.path })) : []
  );
}

/** Structural checks of an OpenAPI 3.0 document: what a validator would insist on, for this API's subset. */
function validateOpenApi(doc: unknown): string[] {
  const problems: string[] = [];
  const version = at(doc, 'openapi');
  if (typeof version !== 'string' || !/^3\.0\.\d+$/.test(version)) problems.push(`openapi version ${String(version)}`);
  if (typeof at(doc, 'info', 'title') !== 'string' || typeof at(doc, 'info', 'version') !== 'string')
    problems.push('info.title/version');
  if (!isObj(at(doc, 'paths'))) problems.push('paths');
  const schemes = Object.keys(objOf(at(doc, 'components', 'securitySchemes')));
  const schemas = objOf(at(doc, 'components', 'schemas'));
  const refs: string[] = [];
  const collectRefs = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(collectRefs);
    else if (isObj(value)) {
      for (const [key, inner] of Object.entries(value)) {
        if (key === '$ref' && typeof inner === 'string') refs.push(inner);
        else collectRefs(inner);
      }
    }
  };
  collectRefs(doc);
  for (const ref of refs) {
    const match = /^#\/components\/schemas\/(.+)$/.exec(ref);
    if (!match || !(match[1]! in schemas)) problems.push(`unresolved $ref ${ref}`);
  }
  const operationIds = new Set<string>();
  for (const [path, item] of Object.entries(objOf(at(doc, 'paths')))) {
    if (!path.startsWith('/')) problems.push(`path ${path} does not start with /`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(objOf(item))) {
      const where = `${method} ${path}`;
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) problems.push(`${where}: unknown method`);
      const operationId = at(op, 'operationId');
      if (typeof operationId !== 'string' || operationIds.has(operationId)) problems.push(`${where}: operationId`);
      else operationIds.add(operationId);
      const responses = Object.entries(objOf(at(op, 'responses')));
      if (responses.length === 0) problems.push(`${where}: no responses`);
      for (const [status, response] of responses) {
        if (!/^[1-5]\d\d$|^default$/.test(status)) problems.push(`${where}: status ${status}`);
        if (typeof at(response, 'description') !== 'string') problems.push(`${where} ${status}: description`);
      }
      const parameters = listOf(at(op, 'parameters'));
      for (const name of templated) {
        const declared = parameters.find((p) => at(p, 'in') === 'path' && at(p, 'name') === name);
        if (at(declared, 'required') !== true)
          problems.push(`${where}: path parameter ${String(name)} undeclared or optional`);
      }
      for (const p of parameters) {
        const location = at(p, 'in');
        if (
          typeof location !== 'string' ||
          !['path', 'query', 'header', 'cookie'].includes(location) ||
          typeof at(p, 'name') !== 'string' ||
          !isObj(at(p, 'schema'))
        ) {
          problems.push(`${where}: parameter ${JSON.stringify(p)}`);
        }
      }
      for (const requirement of listOf(at(op, 'security'))) {
        for (const scheme of Object.keys(objOf(requirement)))
          if (!schemes.includes(scheme)) problems.push(`${where}: security ${scheme}`);
      }
    }
  }
  return problems;
}

/** Resolves `{$ref}` against the document's component schemas. */
function deref(doc: unknown, schema: unknown): unknown {
  const ref = at(schema, '$ref');
  return typeof ref === 'string' ? deref(doc, at(doc, 'components', 'schemas', ref.split('/').pop()!)) : schema;
}

/** Every numeric schema inside a request schema, with a path for messages. */
function numbersIn(doc: unknown, schema: unknown, where: string): { where: string; schema: Obj }[] {
  const s = objOf(deref(doc, schema));
  const out: { where: string; schema: Obj }[] = [];
  if (s.type === 'integer' || s.type === 'number') out.push({ where, schema: s });
  for (const [name, inner] of Object.entries(objOf(s.properties)))
    out.push(...numbersIn(doc, inner, `${where}.${name}`));
  if (s.items) out.push(...numbersIn(doc, s.items, `${where}[]`));
  if (isObj(s.additionalProperties)) out.push(...numbersIn(doc, s.additionalProperties, `${where}{}`));
  for (const key of ['anyOf', 'oneOf', 'allOf'])
    listOf(s[key]).forEach((inner, i) => out.push(...numbersIn(doc, inner, `${where}<${key}${i}>`)));
  return out;
}

/** Sends raw bytes on a socket; resolves with what came back and when the server closed it (or -1 after `waitMs`). */
async function trickle(
  url: string,
  head: string,
  next: () => string | undefined,
  everyMs: number,
  waitMs: number
): Promise<{ closedAfterMs: number; received: string }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const started = Date.now();
  socket.write(head);
  const ticker = setInterval(() => {
    const piece = next();
    if (piece !== undefined && !socket.destroyed && socket.writable) socket.write(piece);
  }, everyMs);
  try {
    const closedAfterMs = await new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(-1), waitMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - started);
      });
    });
    return { closedAfterMs, received };
  } finally {
    clearInterval(ticker);
    socket.destroy();
  }
}

describe('API documentation, health and metrics', function () {
  let stack: TestStack;
  let api: ReturnType<typeof apiClient>;
  let acme: TestMerchant;
  const extraServers: RunningServer[] = [];

  before(async function () {
    this.timeout(120_000);
    stack = await startStack({ api: true });
    api = apiClient(stack);
    acme = stack.merchants[0]!;
  });
  after(async () => {
    for (const server of extraServers) await server.close();
    await stack?.stop();
  });

  describe('GET /openapi.json', () => {
    let doc: unknown;
    before(async () => {
      const response = await api.get('/openapi.json');
      assert.equal(response.status, 200);
      doc = response.body;
    });

    it('is a structurally valid OpenAPI 3.0 document', () => {
      assert.deepEqual(validateOpenApi(doc), []);
      assert.equal(at(listOf(at(doc, 'servers'))[0], 'url'), stack.config.api.publicUrl);
    });

    it('documents exactly the routes the app mounts, with their methods', () => {
      const app = createApp({
        client: stack.client,
        config: stack.config,
        connectors: createConnectors(stack.config.providers),
      });
      const mounted = expressRoutes(app)
        .map((r) => `${r.method.toUpperCase()} ${toOpenApiPath(r.path)}`)
        .sort();
      const documented = Object.entries(objOf(at(doc, 'paths')))
        .flatMap(([path, item]) => Object.keys(objOf(item)).map((method) => `${method.toUpperCase()} ${path}`))
        .sort();
      assert.deepEqual(documented, mounted);
      for (const required of [
        'POST /v1/payments',
        'GET /v1/payments',
        'GET /v1/payments/{id}',
        'POST /v1/payments/{id}/cancel',
        'POST /v1/payouts',
        'GET /v1/payouts/{id}',
        'POST /v1/bills/inquiries',
        'POST /v1/bills/payments',
        'GET /v1/bills/payments/{id}',
        'POST /v1/operator/payouts/{id}/resolve',
        'POST /callbacks/{provider}',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
        'GET /docs',
      ]) {
        assert.ok(documented.includes(required), `${required} is documented`);
      }
    });

    it('describes bodies with the same zod schemas that validate them', async () => {
      const create = at(doc, 'components', 'schemas', 'PaymentCreateRequest');
      const required = listOf(at(create, 'required')).map(String).sort();
      assert.deepEqual(required, ['amount', 'customer', 'method', 'reference']);
      assert.deepEqual(at(create, 'properties', 'method', 'enum'), [...PAYMENT_METHODS]);
      assert.equal(at(create, 'properties', 'amount', 'type'), 'integer');
      assert.equal(at(create, 'additionalProperties'), false);
      const post = at(doc, 'paths', '/v1/payments', 'post');
      assert.equal(
        at(post, 'requestBody', 'content', 'application/json', 'schema', '$ref'),
        '#/components/schemas/PaymentCreateRequest'
      );
      assert.ok(
        listOf(at(post, 'parameters')).some((p) => at(p, 'in') === 'header' && at(p, 'name') === 'Idempotency-Key')
      );
      assert.deepEqual(
        listOf(at(doc, 'paths', '/v1/payments', 'get', 'parameters'))
          .map((p) => String(at(p, 'name')))
          .sort(),
        [
          'created_before',
          'created_from',
          'limit',
          'method',
          'needs_attention',
          'page_token',
          'provider',
          'reference',
          'status',
        ]
      );
      assert.deepEqual(at(doc, 'paths', '/v1/operator/payouts/{id}/resolve', 'post', 'security'), [
        { operatorKey: [] },
      ]);
      assert.deepEqual(at(post, 'security'), [{ merchantKey: [] }]);
      assert.equal(
        at(post, 'responses', '400', 'content', 'application/json', 'schema', '$ref'),
        '#/components/schemas/Error'
      );

      // What the document says is required is what validation requires.
      const response = await api.post('/v1/payments', {}, { as: acme });
      assert.equal(response.status, 400);
      const missing = (response.error.errors ?? [])
        .filter((e) => e.code === 'required')
        .map((e) => e.param)
        .sort();
      assert.deepEqual(missing, required);
    });
  });

  describe('OpenAPI precision', () => {
    let doc: unknown;
    const connectors = () => createConnectors(stack.config.providers);
    before(async () => {
      doc = (await api.get('/openapi.json')).body;
    });

    it('offers per operation only the providers whose connector has the capability', () => {
      const all = connectors();
      const having = (capability: 'payments' | 'payouts' | 'bills') =>
        Object.values(all)
          .filter((c) => c[capability] !== undefined)
          .map((c) => c.id);
      const enumOf = (component: string) =>
        at(deref(doc, at(doc, 'components', 'schemas', component, 'properties', 'provider')), 'enum');
      assert.deepEqual(enumOf('PaymentCreateRequest'), having('payments'));
      assert.deepEqual(enumOf('PayoutCreateRequest'), having('payouts'));
      assert.deepEqual(enumOf('BillInquiryRequest'), having('bills'));
      const listProvider = listOf(at(doc, 'paths', '/v1/payments', 'get', 'parameters')).find(
        (p) => at(p, 'name') === 'provider'
      );
      assert.deepEqual(at(deref(doc, at(listProvider, 'schema')), 'enum'), having('payments'));
      assert.ok(!having('payouts').includes('ayopop'), 'the case the fuzzer found: no payouts at ayopop');
    });

    it('bounds every number a request may carry, above and below', () => {
      const unbounded: string[] = [];
      for (const [path, item] of Object.entries(objOf(at(doc, 'paths')))) {
        for (const [method, op] of Object.entries(objOf(item))) {
          const where = `${method.toUpperCase()} ${path}`;
          const numbers = [
            ...listOf(at(op, 'parameters')).flatMap((p) =>
              numbersIn(doc, at(p, 'schema'), `${where} ${String(at(p, 'name'))}`)
            ),
            ...Object.values(objOf(at(op, 'requestBody', 'content'))).flatMap((c) =>
              numbersIn(doc, at(c, 'schema'), `${where} body`)
            ),
          ];
          for (const { where: at_, schema } of numbers) {
            if (typeof schema.minimum !== 'number' || typeof schema.maximum !== 'number') unbounded.push(at_);
          }
        }
      }
      assert.deepEqual(unbounded, []);
      const expectedTotal = at(doc, 'components', 'schemas', 'BillPaymentRequest', 'properties', 'expectedTotal');
      assert.equal(typeof at(expectedTotal, 'maximum'), 'number');
    });

    it('documents 400 wherever a parameter or body is validated, 500 everywhere, 401 wherever a key is required', () => {
      const missing: string[] = [];
      for (const [path, item] of Object.entries(objOf(at(doc, 'paths')))) {
        for (const [method, op] of Object.entries(objOf(item))) {
          const where = `${method.toUpperCase()} ${path}`;
          const statuses = Object.keys(objOf(at(op, 'responses')));
          const validated = listOf(at(op, 'parameters')).length > 0 || at(op, 'requestBody') !== undefined;
          if (validated && !statuses.includes('400')) missing.push(`${where} 400`);
          if (!statuses.includes('500')) missing.push(`${where} 500`);
          if (listOf(at(op, 'security')).length > 0 && !statuses.includes('401')) missing.push(`${where} 401`);
        }
      }
      assert.deepEqual(missing, []);
      for (const path of ['/v1/payments/{id}', '/v1/payouts/{id}', '/v1/bills/payments/{id}']) {
        assert.ok(isObj(at(doc, 'paths', path, 'get', 'responses', '400')), `GET ${path} documents 400`);
      }
    });
  });

  it('serves a self-contained, readable docs page', async () => {
    const response = await api.get('/docs');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = response.text;
    assert.match(html, /<title>Kasir merchant API<\/title>/);
    for (const path of [
      '/v1/payments',
      '/v1/payouts/{id}',
      '/v1/bills/inquiries',
      '/v1/operator/payouts/{id}/resolve',
      '/callbacks/{provider}',
    ]) {
      assert.ok(html.includes(path), `docs mention ${path}`);
    }
    assert.ok(html.includes('PaymentCreateRequest'));
    assert.doesNotMatch(html, /<script|<link|src=/i, 'no scripts or external resources');
  });

  it('answers /healthz and /readyz', async () => {
    const health = await api.get('/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const ready = await api.get<{ status: string }>('/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.status, 'ready');
  });

  it('is not ready, and answers 503 rather than hanging, when Temporal is unreachable', async function () {
    this.timeout(30_000);
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const client = new Client({ connection, namespace: stack.config.temporal.namespace });
    const app = createApp({
      client,
      config: stack.config,
      connectors: createConnectors(stack.config.providers),
      timeouts: { readinessMs: 500, shortCallMs: 1_000, createMs: 1_000 },
    });
    const server = await listen(app);
    extraServers.push(server);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(at(await ready.json(), 'error', 'code'), 'temporal_unreachable');
    const get = await fetch(`${server.url}/v1/payments/P0000000000000000000`, {
      headers: { authorization: `Bearer ${acme.apiKey}` },
    });
    assert.equal(get.status, 503);
    assert.equal(at(await get.json(), 'error', 'code'), 'temporarily_unavailable');
    assert.equal(get.headers.get('retry-after'), '2');
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
  });

  it('never leaks a stack trace or internal message in a 5xx', async () => {
    const failing = {
      workflow: {
        getHandle() {
          throw new Error('SECRET internal detail at /srv/kasir/secret.ts:42');
        },
      },
      withDeadline: <R>(_deadline: number, fn: () => Promise<R>) => fn(),
    } as unknown as Client;
    const app = createApp({
      client: failing,
      config: stack.config,
      connectors: createConnectors(stack.config.providers),
    });
    const server = await listen(app);
    extraServers.push(server);
    const response = await fetch(`${server.url}/v1/payments/P0000000000000000000`, {
      headers: { authorization: `Bearer ${acme.apiKey}` },
    });
    assert.equal(response.status, 500);
    const text = await response.text();
    assert.doesNotMatch(text, /SECRET|secret\.ts|\bat \//);
    const body: unknown = JSON.parse(text);
    assert.deepEqual(Object.keys(objOf(at(body, 'error'))).sort(), ['code', 'message', 'request_id', 'type']);
    assert.equal(at(body, 'error', 'code'), 'internal_error');
    assert.equal(at(body, 'error', 'request_id'), response.headers.get('request-id'));
  });

  it('serves /metrics to a scraper key or an operator only, while /healthz and /readyz stay public', async () => {
    const anonymous = await api.get('/metrics');
    assert.equal(anonymous.status, 401, anonymous.text);
    assert.equal(anonymous.error.code, 'invalid_metrics_key');
    assert.doesNotMatch(anonymous.text, /kasir_/);
    const merchant = await api.get('/metrics', { as: acme });
    assert.equal(merchant.status, 401);
    const wrong = await api.get('/metrics', { headers: { 'Kasir-Operator-Key': 'test_op_guess' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.error.code, 'invalid_operator_key');
    const operator = await api.get('/metrics', { headers: { 'Kasir-Operator-Key': stack.operatorKey } });
    assert.equal(operator.status, 200);
    assert.match(operator.text, /# HELP kasir_callbacks_total /);
    // The scraper's own key opens metrics, and nothing an operator can do.
    const scraper = await api.get('/metrics', { headers: { authorization: `Bearer ${stack.metricsKey}` } });
    assert.equal(scraper.status, 200);
    const resolve = await api.post(
      '/v1/operator/payouts/O0000000000000000000/resolve',
      { outcome: 'FAILED', evidence: 'scraper tries to resolve', operator: 'x' },
      { headers: { 'Kasir-Operator-Key': stack.metricsKey } }
    );
    assert.equal(resolve.status, 401);
    assert.equal((await api.get('/healthz')).status, 200);
    assert.equal((await api.get('/readyz')).status, 200);
    const doc = (await api.get('/openapi.json')).body;
    assert.deepEqual(at(doc, 'paths', '/metrics', 'get', 'security'), [{ metricsKey: [] }, { operatorKey: [] }]);
    assert.ok(isObj(at(doc, 'paths', '/metrics', 'get', 'responses', '401')));
    assert.deepEqual(at(doc, 'paths', '/healthz', 'get', 'security'), []);
    assert.deepEqual(at(doc, 'paths', '/readyz', 'get', 'security'), []);
  });

  it('exposes Prometheus metrics: request durations by route and status, workflow starts', async () => {
    await api.get('/healthz');
    const created = await api.post<PaymentView>('/v1/payments', paymentBody(), { as: acme });
    assert.equal(created.status, 201);
    await api.get(`/v1/payments/${created.body.id}`, { as: acme });
    const response = await api.get('/metrics', { headers: { 'Kasir-Operator-Key': stack.operatorKey } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    const text = response.text;
    assert.match(text, /kasir_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/);
    assert.match(
      text,
      /kasir_http_request_duration_seconds_count\{method="GET",route="\/v1\/payments\/:id",status="200"\} \d+/
    );
    assert.match(
      text,
      /kasir_http_request_duration_seconds_count\{method="POST",route="\/v1\/payments",status="201"\} \d+/
    );
    assert.match(text, /kasir_workflow_starts_total\{kind="payment",outcome="created"\} \d+/);
    assert.match(text, /# HELP kasir_callbacks_total /);
    assert.match(text, /# HELP kasir_orphan_callbacks_total /);
    assert.doesNotMatch(text, new RegExp(created.body.id), 'ids never become labels');
  });

  describe('slow and greedy clients', () => {
    const short = { requestTimeoutMs: 1_500, headersTimeoutMs: 1_000 };
    async function shortLimitedApi(limits: Parameters<typeof createApiServer>[1]): Promise<RunningServer> {
      const server = await listen(
        createApp({
          client: stack.client,
          config: stack.config,
          connectors: createConnectors(stack.config.providers),
          serverLimits: limits,
        })
      );
      extraServers.push(server);
      return server;
    }

    it('applies the limits: 15 s per request, 10 s for headers, 5 s keep-alive, at most 1024 connections', () => {
      assert.deepEqual(DEFAULT_SERVER_LIMITS, {
        requestTimeoutMs: 15_000,
        headersTimeoutMs: 10_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: 1_024,
      });
      for (const server of [createApiServer(() => undefined), hardenServer(http.createServer())]) {
        assert.equal(server.requestTimeout, 15_000);
        assert.equal(server.headersTimeout, 10_000);
        assert.equal(server.keepAliveTimeout, 5_000);
        assert.equal(server.maxConnections, 1_024);
      }
      assert.throws(
        () => createApiServer(() => undefined, { requestTimeoutMs: 1_000, headersTimeoutMs: 2_000 }),
        RangeError
      );
    });

    it('cuts off a callback whose body trickles in one byte a second, within the request timeout (408)', async function () {
      this.timeout(20_000);
      const server = await shortLimitedApi(short);
      const { closedAfterMs, received } = await trickle(
        server.url,
        'POST /callbacks/ayopop HTTP/1.1\r\nHost: kasir\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
        () => ' ',
        1_000,
        8_000
      );
      assert.ok(closedAfterMs > 0, 'the server closed the connection');
      assert.ok(closedAfterMs < short.requestTimeoutMs + 1_500, `closed after ${closedAfterMs} ms`);
      assert.match(received, /^HTTP\/1\.1 408/);
    });

    it('cuts off a client that trickles its headers, within the headers timeout', async function () {
      this.timeout(20_000);
      const server = await shortLimitedApi(short);
      const { closedAfterMs } = await trickle(
        server.url,
        'GET /healthz HTTP/1.1\r\nHost: kasir\r\n',
        () => 'X',
        300,
        8_000
      );
      assert.ok(closedAfterMs > 0, 'the server closed the connection');
      assert.ok(closedAfterMs < short.headersTimeoutMs + 1_500, `closed after ${closedAfterMs} ms`);
    });

    it('never cuts off an answer that takes longer than the request timeout once the request has arrived', async function () {
      this.timeout(10_000);
      // A create may wait 30 s for its workflow: the timeouts bound receiving the request, not answering it.
      const server = createApiServer(
        (req, res) => {
          req.resume();
          req.on('end', () => setTimeout(() => res.end('late but whole'), 1_500));
        },
        { requestTimeoutMs: 500, headersTimeoutMs: 400 }
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as { port: number };
        const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x'.repeat(1_000) });
        assert.equal(response.status, 200);
        assert.equal(await response.text(), 'late but whole');
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('refuses connections beyond maxConnections and serves again once one closes', async function () {
      this.timeout(20_000);
      const server = await shortLimitedApi({ maxConnections: 2 });
      const { hostname, port } = new URL(server.url);
      const held = await Promise.all(
        [0, 1].map(async () => {
          const socket = net.connect(Number(port), hostname);
          socket.on('error', () => undefined);
          await once(socket, 'connect');
          return socket;
        })
      );
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await assert.rejects(fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5_000) }));
      } finally {
        for (const socket of held) socket.destroy();
      }
      const health = await eventually(
        async () => {
          const response = await fetch(`${server.url}/healthz`).catch(() => undefined);
          return response?.status === 200 ? response : undefined;
        },
        5_000,
        'the API to take connections again'
      );
      assert.equal(health.status, 200);
    });
  });

  it('runs as a process (src/main-api.ts): listens on config.api, serves, and exits cleanly on SIGTERM', async function () {
    this.timeout(60_000);
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'kasir-api-'));
    const file = path.join(dir, 'kasir.config.json');
    writeFileSync(file, JSON.stringify({ ...stack.config, api: { ...stack.config.api, host: '127.0.0.1', port } }));
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../src/main-api.ts')], {
      env: { ...process.env, KASIR_CONFIG: file, LOG_LEVEL: 'info', NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const ready = await eventually(
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return response?.status === 200 ? response : undefined;
        },
        30_000,
        'the API process to be ready'
      );
      assert.equal(ready.status, 200);
      assert.match(output, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
      // Its server has the limits too: a client trickling its headers is cut off after the 10 s headers timeout.
      const { closedAfterMs } = await trickle(
        `http://127.0.0.1:${port}`,
        'GET /healthz HTTP/1.1\r\nHost: kasir\r\n',
        () => 'X',
        500,
        DEFAULT_SERVER_LIMITS.headersTimeoutMs + 5_000
      );
      assert.ok(closedAfterMs > 0, 'the process cut the slow client off');
      assert.ok(closedAfterMs < DEFAULT_SERVER_LIMITS.headersTimeoutMs + 2_000, `closed after ${closedAfterMs} ms`);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      assert.match(output, /stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
