/**
 * Runs every provider simulator (Kasir's sandbox mode). Reads test-only credentials from
 * `KASIR_SIM_CREDENTIALS`, listens on the ports in `KASIR_SIM_PORTS` (JSON `{ "finpay": 4001, ... }`)
 * and keeps each simulator's state in `KASIR_SIM_STATE_DIR`, so a restart resumes open orders.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SIMULATOR_SETUPS } from './registry';
import type { ProviderSimulator, RunningServer } from './simulator-kit';
import { listen } from './simulator-kit';
import { PROVIDER_IDS } from '../domain/provider';
import type { ProviderId } from '../domain/provider';
import { logger } from '../logger';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function writeAtomically(file: string, content: string): void {
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
}

async function main(): Promise<void> {
  const credentials = JSON.parse(readFileSync(required('KASIR_SIM_CREDENTIALS'), 'utf8')) as Record<
    ProviderId,
    unknown
  >;
  const ports = JSON.parse(required('KASIR_SIM_PORTS')) as Record<ProviderId, number>;
  const stateDir = required('KASIR_SIM_STATE_DIR');
  const host = process.env.KASIR_SIM_HOST ?? '127.0.0.1';
  mkdirSync(stateDir, { recursive: true });

  const running: { id: ProviderId; simulator: ProviderSimulator; server: RunningServer }[] = [];
  for (const id of PROVIDER_IDS) {
    const setup = SIMULATOR_SETUPS[id](credentials[id]);
    const simulator = setup.createSimulator({ publicUrl: `http://${host}:${ports[id]}` });
    const stateFile = path.join(stateDir, `${id}.json`);
    if (existsSync(stateFile)) simulator.importState(JSON.parse(readFileSync(stateFile, 'utf8')));
    const server = await listen(simulator.app, ports[id], host);
    running.push({ id, simulator, server });
    logger.info({ provider: id, url: server.url }, 'simulator listening');
  }

  const save = () => {
    for (const { id, simulator } of running)
      writeAtomically(path.join(stateDir, `${id}.json`), JSON.stringify(simulator.exportState()));
  };
  const saver = setInterval(save, 2_000);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(saver);
    save();
    for (const { simulator, server } of running) {
      simulator.stop();
      await server.close();
    }
    logger.info('simulators stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  logger.error({ err }, 'simulators failed');
  process.exit(1);
});
