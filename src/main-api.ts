/**
 * Entrypoint of Kasir's HTTP API: loads config (`KASIR_CONFIG`), connects to Temporal, builds the
 * connectors (for callback verification only), listens on a server with request/header timeouts and a
 * connection cap (`api/server.ts`), and shuts down gracefully on SIGINT/SIGTERM: stop accepting
 * connections, let requests in flight finish (bounded), close the Temporal connection.
 *
 * `KASIR_PAGE_TOKEN_SECRET` (optional): the secret list page tokens are signed with; without it the key
 * is derived from the secrets in the config (see `api/page-tokens.ts`).
 */
import type { AddressInfo } from 'node:net';
import { createApp } from './api/app';
import { createApiServer } from './api/server';
import { loadConfig } from './config';
import { createConnectors } from './connectors/registry';
import { logger } from './logger';
import { connectClient } from './temporal/connection';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const log = logger.child({ component: 'api' });
  const config = loadConfig();
  if (!config.encryption) {
    logger.warn(
      'payload encryption is not configured (encryption.keys or KASIR_ENCRYPTION_KEYS): payloads, customer data included, are stored in Temporal in plaintext'
    );
  }
  const client = await connectClient(config);
  const connectors = createConnectors(config.providers);
  // Page tokens are signed with a key derived from the config's secrets unless a dedicated one is given.
  const pageTokenSecret = process.env.KASIR_PAGE_TOKEN_SECRET || undefined;
  const app = createApp({ client, config, connectors, logger: log, pageTokenSecret });

  // Request, headers and keep-alive timeouts and a connection cap, so slow clients cannot hold the API.
  const server = createApiServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.api.port, config.api.host, () => {
      server.off('error', reject);
      resolve();
    });
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
