/** Connections to Temporal from config: a local dev server, a self-hosted cluster or Temporal Cloud. */
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { NativeConnection } from '@temporalio/worker';
import type { KasirConfig, TemporalConfig } from '../config';
import { dataConverterOf } from './payload-encryption';

function tlsOf(config: TemporalConfig): TLSConfig | boolean | undefined {
  if (config.tls === undefined) return config.apiKey ? true : undefined;
  if (typeof config.tls === 'boolean') return config.tls;
  const { serverNameOverride, serverRootCACertificatePath, clientCertPath, clientKeyPath } = config.tls;
  return {
    serverNameOverride,
    serverRootCACertificate: serverRootCACertificatePath ? readFileSync(serverRootCACertificatePath) : undefined,
    clientCertPair:
      clientCertPath && clientKeyPath
        ? { crt: readFileSync(clientCertPath), key: readFileSync(clientKeyPath) }
        : undefined,
  };
}

/** A client that encrypts what it sends and decrypts what it reads, with the config's keys. */
export async function connectClient(config: Pick<KasirConfig, 'temporal' | 'encryption'>): Promise<Client> {
  const { temporal } = config;
  const connection = await Connection.connect({
    address: temporal.address,
    tls: tlsOf(temporal),
    apiKey: temporal.apiKey,
  });
  return new Client({ connection, namespace: temporal.namespace, dataConverter: dataConverterOf(config.encryption) });
}

export async function connectWorker(config: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect({ address: config.address, tls: tlsOf(config), apiKey: config.apiKey });
}
