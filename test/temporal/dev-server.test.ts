/** The dev server gets the namespace settings of temporal-dev.yml, retention included, explicitly. */
import assert from 'node:assert/strict';
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
});
