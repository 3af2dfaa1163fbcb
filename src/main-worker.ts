/** Worker process: `KASIR_CONFIG=... tsx src/main-worker.ts`. Stateless; run as many as the load needs. */
import { loadConfig } from './config';
import { logger } from './logger';
import { connectWorker } from './temporal/connection';
import { createKasirWorker } from './worker';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.encryption) {
    logger.warn(
      'payload encryption is not configured (encryption.keys or KASIR_ENCRYPTION_KEYS): payloads, customer data included, are stored in Temporal in plaintext'
    );
  }
  const connection = await connectWorker(config.temporal);
  const worker = await createKasirWorker({ connection, config, identity: process.env.KASIR_WORKER_IDENTITY });
  logger.info(
    { address: config.temporal.address, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue },
    'worker started'
  );
  // Worker.run() installs its own SIGINT/SIGTERM handlers and drains in-flight tasks before resolving.
  await worker.run();
  await connection.close();
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  logger.error({ err }, 'worker failed');
  process.exit(1);
});
