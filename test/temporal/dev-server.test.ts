/** The dev server gets the namespace settings of temporal-dev.yml, retention included, explicitly. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { ensureTemporalCli } from '../../src/sandbox/temporal/cli-binary';
import { loadDevSettings, parseDurationSeconds } from '../../src/sandbox/temporal/dev-settings';
import type { DevServer } from '../../src/sandbox/temporal/dev-server';
import { applyNamespaceRetention, startDevServer } from '../../src/sandbox/temporal/dev-server';

const DAY_SECONDS = 86_400;

describe('Temporal dev server settings', () => {
  describe('durations in temporal-dev.yml', () => {
    it('reads days, hours, minutes and seconds, and refuses anything else', () => {
      assert.equal(parseDurationSeconds('30d'), 30 * DAY_SECONDS);
      assert.equal(parseDurationSeconds('72h'), 72 * 3_600);
      assert.equal(parseDurationSeconds('90m'), 90 * 60);
      assert.equal(parseDurationSeconds('3600s'), 3_600);
      for (const bad of ['30', '0d', '-1d', '1w', '1.5d', 'd', '']) {
        assert.throws(() => parseDurationSeconds(bad), /not a duration/, bad);
      }
    });

    it('sets the retention explicitly: 30 days', () => {
      const { retention } = loadDevSettings().server;
      assert.equal(retention.text, '30d');
      assert.equal(retention.seconds, 30 * DAY_SECONDS);
    });
  });

  describe('namespace retention', function () {
    let server: DevServer | undefined;
    let connection: Connection | undefined;

    before(async function () {
      this.timeout(120_000);
      const settings = loadDevSettings();
      // Started exactly as test/helpers/stack.ts starts it.
      server = await startDevServer({ binary: await ensureTemporalCli(), settings, port: 0, uiPort: null });
      connection = await Connection.connect({ address: server.address });
    });
    after(async () => {
      await connection?.close();
      await server?.stop();
    });

    async function retentionSeconds(): Promise<number | undefined> {
      const described = await connection!.workflowService.describeNamespace({ namespace: server!.namespace });
      const ms = optionalTsToMs(described.config?.workflowExecutionRetentionTtl);
      return ms === undefined ? undefined : ms / 1000;
    }

    it("keeps closed workflows for temporal-dev.yml's retention (the dev server's own default is 1 day)", async () => {
      assert.equal(server!.namespace, loadDevSettings().server.namespace);
      assert.equal(await retentionSeconds(), loadDevSettings().server.retention.seconds);
    });

    it('changes the retention of an existing namespace, and applying it again is harmless', async () => {
      const { address, namespace } = server!;
      await applyNamespaceRetention(address, namespace, 7 * DAY_SECONDS);
      assert.equal(await retentionSeconds(), 7 * DAY_SECONDS);
      await applyNamespaceRetention(address, namespace, 30 * DAY_SECONDS);
      await applyNamespaceRetention(address, namespace, 30 * DAY_SECONDS);
      assert.equal(await retentionSeconds(), 30 * DAY_SECONDS);
    });
  });

  describe('a persisted server from an earlier release', function () {
    this.timeout(120_000);
    let dir: string | undefined;
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    it('starts with search attributes added since: the missing ones are registered, not waited for', async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'kasir-dev-server-'));
      const dbFilename = path.join(dir, 'temporal.sqlite');
      const settings = loadDevSettings();
      const binary = await ensureTemporalCli();
      // An earlier release's settings: its database has none of the search attributes added since.
      const [added, ...earlier] = Object.keys(settings.searchAttributes).reverse();
      const older = {
        ...settings,
        searchAttributes: Object.fromEntries(earlier.map((name) => [name, settings.searchAttributes[name]!])),
      };
      const first = await startDevServer({ binary, settings: older, port: 0, uiPort: null, dbFilename });
      await first.stop();

      const upgraded = await startDevServer({
        binary,
        settings,
        port: 0,
        uiPort: null,
        dbFilename,
        readyTimeoutMs: 30_000,
      });
      try {
        const connection = await Connection.connect({ address: upgraded.address });
        try {
          const listed = await connection.operatorService.listSearchAttributes({ namespace: upgraded.namespace });
          const known = Object.keys(listed.customAttributes ?? {});
          assert.ok(known.includes(added!), `${added} registered on the persisted server`);
          for (const name of Object.keys(settings.searchAttributes)) assert.ok(known.includes(name), name);
        } finally {
          await connection.close();
        }
      } finally {
        await upgraded.stop();
      }
    });
  });

  it('says why when the server stops while starting: what it printed (here, its port is taken)', async function () {
    this.timeout(60_000);
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      await assert.rejects(
        startDevServer({ binary: await ensureTemporalCli(), settings: loadDevSettings(), port, uiPort: null }),
        (err: unknown) => /exited with code \d+ while starting; it printed: .*\S/s.test(String(err))
      );
    } finally {
      taken.close();
    }
  });
});
