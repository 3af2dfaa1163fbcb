/**
 * Entrypoint of Kasir's HTTP API: loads config (`KASIR_CONFIG`), connects to Temporal, builds the
 * connectors (for callback verification only), listens, and shuts down gracefully on SIGINT/SIGTERM:
 * stop accepting connections, let requests in flight finish (bounded), close the Temporal connection.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import { loadConfig } from './config';
import { createConnectors } from './connectors/registry';
import { logger } from './logger';
import { connectClient } from './temporal/connection';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const log = logger.child({ component: 'api' });
  const config = loadConfig();
  const client = await connectClient(config.temporal);
  const connectors = createConnectors(config.providers);
  const app = createApp({ client, config, connectors, logger: log });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.api.port, config.api.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  log.info(
    {
      url: `http://${config.api.host}:${port}`,
      publicUrl: config.api.publicUrl,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
    },
    `Kasir API listening on http://${config.api.host}:${port} (docs at /docs)`
  );

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    const force = setTimeout(() => {
      log.warn('grace period over: closing remaining connections');
      server.closeAllConnections();
    }, SHUTDOWN_GRACE_MS);
    force.unref();
    server.closeIdleConnections();
    server.close(() => {
      clearTimeout(force);
      client.connection
        .close()
        .catch((err: unknown) => log.warn({ err: String(err) }, 'closing the Temporal connection failed'))
        .finally(() => {
          log.info('stopped');
          process.exit(0);
        });
    });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'Kasir API failed to start');
  process.exit(1);
});
