import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type express from 'express';
import { createApp } from '../../src/api/app';
import { toOpenApiPath } from '../../src/api/route';
import { createConnectors } from '../../src/connectors/registry';
import { listen } from '../../src/connectors/simulator-kit';
import type { RunningServer } from '../../src/connectors/simulator-kit';
import { PAYMENT_METHODS } from '../../src/domain/payment';
import { freePort } from '../../src/temporal/dev-server';
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
        ['limit', 'method', 'needs_attention', 'page_token', 'provider', 'reference', 'status']
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

  it('exposes Prometheus metrics: request durations by route and status, workflow starts', async () => {
    await api.get('/healthz');
    const created = await api.post<PaymentView>('/v1/payments', paymentBody(), { as: acme });
    assert.equal(created.status, 201);
    await api.get(`/v1/payments/${created.body.id}`, { as: acme });
    const response = await api.get('/metrics');
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
      child.kill('SIGTERM');
      assert.equal(await exited, 0, output);
      assert.match(output, /stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
