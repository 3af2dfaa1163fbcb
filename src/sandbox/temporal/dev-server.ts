/**
 * Starts the Temporal dev server (the real server, SQLite-backed) as a child process, with the
 * namespace, its retention, search attributes and dynamic config from `temporal-dev.yml`. Used by
 * `npm start`, the tests and the benchmark alike.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { msNumberToTs, optionalTsToMs } from '@temporalio/common/lib/time';
import type { DevSettings } from './dev-settings';

export interface DevServerOptions {
  binary: string;
  settings: DevSettings;
  /** Overrides `settings.server.port`; 0 picks a free port. */
  port?: number;
  /** The Web UI port; `null` runs headless. */
  uiPort?: number | null;
  /** SQLite file to persist into; absent keeps everything in memory. */
  dbFilename?: string;
  /** Where the server's own output goes; discarded when absent. */
  logFile?: string;
  /** The codec server the Web UI decodes payloads with (Kasir's `/codec`), when payloads are encrypted. */
  uiCodecEndpoint?: string;
  readyTimeoutMs?: number;
}

export interface DevServer {
  readonly address: string;
  readonly namespace: string;
  readonly uiUrl?: string;
  readonly process: ChildProcess;
  /** Stops the server gracefully (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function devServerArgs(options: {
  settings: DevSettings;
  port: number;
  uiPort: number | null;
  dbFilename?: string;
  uiCodecEndpoint?: string;
}): string[] {
  const { settings, port, uiPort, dbFilename, uiCodecEndpoint } = options;
  const args = [
    'server',
    'start-dev',
    '--ip',
    settings.server.ip,
    '--port',
    String(port),
    '--namespace',
    settings.server.namespace,
    '--log-level',
    settings.server.logLevel,
    '--log-format',
    'json',
  ];
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (uiPort !== null && uiCodecEndpoint) args.push('--ui-codec-endpoint', uiCodecEndpoint);
  if (dbFilename) {
    args.push('--db-filename', dbFilename);
    for (const [pragma, value] of Object.entries(settings.server.sqlitePragmas))
      args.push('--sqlite-pragma', `${pragma}=${value}`);
  }
  for (const [name, type] of Object.entries(settings.searchAttributes))
    args.push('--search-attribute', `${name}=${type}`);
  for (const [key, value] of Object.entries(settings.dynamicConfig))
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  return args;
}

/** Thrown when the server process ends before it is ready; `output` is the end of what it printed. */
class DevServerExitedError extends Error {}

/** Starts it a few times over when the port was picked here: another process may take it first. */
const AUTO_PORT_STARTS = 3;

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  for (let start = 1; ; start++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (!(err instanceof DevServerExitedError) || options.port !== 0 || start >= AUTO_PORT_STARTS) throw err;
    }
  }
}

async function startOnce(options: DevServerOptions): Promise<DevServer> {
  const { settings } = options;
  const port = options.port === 0 ? await freePort(settings.server.ip) : (options.port ?? settings.server.port);
  const uiPort = options.uiPort === undefined ? settings.server.uiPort : options.uiPort;
  if (options.dbFilename) mkdirSync(path.dirname(options.dbFilename), { recursive: true });

  const child = spawn(
    options.binary,
    devServerArgs({ settings, port, uiPort, dbFilename: options.dbFilename, uiCodecEndpoint: options.uiCodecEndpoint }),
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    }
  );
  if (options.logFile) {
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  // The end of what the server printed, kept to say why it stopped if it stops while starting.
  let tail = '';
  const keep = (chunk: Buffer) => void (tail = (tail + chunk.toString('utf8')).slice(-2_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const address = `${settings.server.ip}:${port}`;
  try {
    await waitUntilReady(
      address,
      settings.server.namespace,
      settings.searchAttributes,
      exited,
      options.readyTimeoutMs ?? 60_000
    );
    await applyNamespaceRetention(address, settings.server.namespace, settings.server.retention.seconds);
  } catch (err) {
    child.kill('SIGKILL');
    if (err instanceof DevServerExitedError)
      throw new DevServerExitedError(`${err.message}; it printed: ${tail.trim()}`);
    throw err;
  }

  return {
    address,
    namespace: settings.server.namespace,
    uiUrl: uiPort === null ? undefined : `http://${settings.server.ip}:${uiPort}`,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Sets the namespace's workflow execution retention (`server.retention`): `temporal server start-dev`
 * creates its namespaces with a fixed default and has no flag for it, so it is set through the
 * frontend once the namespace exists. Skipped when the namespace already has it (a persisted server).
 */
export async function applyNamespaceRetention(address: string, namespace: string, seconds: number): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5_000 });
  try {
    const described = await connection.workflowService.describeNamespace({ namespace });
    if (optionalTsToMs(described.config?.workflowExecutionRetentionTtl) === seconds * 1000) return;
    await connection.workflowService.updateNamespace({
      namespace,
      config: { workflowExecutionRetentionTtl: msNumberToTs(seconds * 1000) },
    });
  } finally {
    await connection.close();
  }
}

const IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const INDEXED_VALUE_TYPES: Record<DevSettings['searchAttributes'][string], temporal.api.enums.v1.IndexedValueType> = {
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KeywordList: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Waits until the server answers and has every search attribute of `temporal-dev.yml`. A server
 * persisted by an earlier release (`.data/temporal/`) ignores `--search-attribute` for attributes
 * added since, so those are registered here through the operator service, as `temporal operator
 * search-attribute create` would.
 */
async function waitUntilReady(
  address: string,
  namespace: string,
  searchAttributes: DevSettings['searchAttributes'],
  exited: Promise<number | null>,
  timeoutMs: number
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitCode !== undefined)
      throw new DevServerExitedError(`Temporal dev server exited with code ${exitCode} while starting`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        const info = await connection.operatorService.listSearchAttributes({ namespace });
        const known = Object.keys(info.customAttributes ?? {});
        const missing = Object.keys(searchAttributes).filter((name) => !known.includes(name));
        if (missing.length === 0) return;
        await connection.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(
            missing.map((name) => [name, INDEXED_VALUE_TYPES[searchAttributes[name]!]])
          ),
        });
        lastError = new Error(`search attributes not registered yet: ${missing.join(', ')}`);
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Temporal dev server at ${address} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}
