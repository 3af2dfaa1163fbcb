/**
 * The production build: what the worker and the API are made of (never sandbox code or dev tooling),
 * and that the compiled processes, started with plain node from `dist/`, move money end to end.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { productionBuildOptions } from '../../scripts/production-build';
import { freePort } from '../../src/sandbox/temporal/dev-server';
import { KasirProcess } from '../helpers/processes';
import { simControl } from '../helpers/movements';
import { eventually, startStack } from '../helpers/stack';
import type { TestStack } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '..', '..');

/** Packages only development, tests and the sandbox use. */
const DEV_ONLY_PACKAGES = [
  'tsx',
  'esbuild',
  'mocha',
  'fast-check',
  '@temporalio/testing',
  'pino-pretty',
  'typescript',
  'playwright-core',
  'jsqr',
];

describe('production build', function () {
  this.timeout(180_000);

  it('keeps sandbox code, dev tooling and dev packages out of the worker and the API', async () => {
    const result = await build({ ...productionBuildOptions(ROOT, path.join(tmpdir(), 'kasir-graph')), write: false });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(
      inputs.includes('src/main-worker.ts') && inputs.includes('src/main-api.ts'),
      'both entry points were read'
    );
    const forbidden = inputs.filter(
      (file) =>
        file.startsWith('src/sandbox/') ||
        file.startsWith('scripts/') ||
        file.startsWith('test/') ||
        /simulator/i.test(file)
    );
    assert.deepEqual(forbidden, [], 'production modules must not include sandbox or dev code');
    const packages = Object.values(result.metafile.outputs).flatMap((output) =>
      output.imports.filter((i) => i.external).map((i) => i.path)
    );
    const devPackages = packages.filter((p) => DEV_ONLY_PACKAGES.some((dev) => p === dev || p.startsWith(`${dev}/`)));
    assert.deepEqual(devPackages, [], 'production modules must not load dev-only packages');
  });

  describe('compiled processes', () => {
    let stack: TestStack;
    const processes: KasirProcess[] = [];

    before(async () => {
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: ROOT, stdio: 'ignore' });
      stack = await startStack({ startWorker: false });
    });
    after(async () => {
      for (const p of processes) await p.kill('SIGTERM');
      await stack?.stop();
    });

    it('settle a payment: the API from dist/ takes it, the worker from dist/ runs it with the prebuilt bundle', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'kasir-dist-'));
      const port = await freePort();
      const config = {
        ...stack.config,
        api: { ...stack.config.api, host: '127.0.0.1', port, publicUrl: `http://127.0.0.1:${port}` },
      };
      const configFile = KasirProcess.writeConfig(path.join(dir, 'kasir.config.json'), config);
      const worker = new KasirProcess('dist/main-worker.js', configFile);
      const api = new KasirProcess('dist/main-api.js', configFile);
      processes.push(worker, api);
      worker.start();
      api.start();
      await worker.workerReady(stack.client, config);
      await api.apiReady(`http://127.0.0.1:${port}`);

      const merchant = stack.merchants[0]!;
      const created = await fetch(`http://127.0.0.1:${port}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${merchant.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          reference: `dist-${Date.now()}`,
          amount: 150_000,
          method: 'FINPAY_CODE',
          customer: { name: 'Budi Santoso', email: 'budi@example.com', phone: '081286288844' },
        }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      const payment = (await created.json()) as { id: string; status: string; instructions?: { paymentCode?: string } };
      assert.equal(payment.status, 'PENDING');
      assert.ok(payment.instructions?.paymentCode);

      await simControl(stack.simulators.finpay.url, `/_sim/orders/${payment.id}/pay`);
      await eventually(
        async () => {
          const read = await fetch(`http://127.0.0.1:${port}/v1/payments/${payment.id}`, {
            headers: { authorization: `Bearer ${merchant.apiKey}` },
          });
          const body = (await read.json()) as { status: string };
          return body.status === 'SUCCEEDED' ? body : undefined;
        },
        30_000,
        'the payment to settle through the compiled worker'
      );
    });
  });
});
