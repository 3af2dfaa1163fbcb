/**
 * The HTTP server the API runs on, with limits a slow or greedy client cannot outlast. Node's defaults
 * let a client that trickles its headers or body hold a connection for minutes (a request may take
 * 300 s, and the check runs only every 30 s) with no cap on connections; a few hundred such clients
 * would starve the API. Every Kasir API server is made by {@link createApiServer} (the app's own
 * `listen` uses it, so does `main-api.ts`).
 */
import http from 'node:http';
import type { RequestListener, Server } from 'node:http';

export interface ServerLimits {
  /** The whole request (headers and body) must arrive within this; then 408 and the connection closes. */
  requestTimeoutMs: number;
  /** The headers must arrive within this (at most `requestTimeoutMs`). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this many are refused (closed on accept). */
  maxConnections: number;
}

export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  requestTimeoutMs: 15_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_024,
};

function limitsOf(overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...overrides };
  if (!(limits.requestTimeoutMs > 0) || !(limits.headersTimeoutMs > 0) || !(limits.keepAliveTimeoutMs > 0))
    throw new RangeError('server timeouts must be positive');
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new RangeError('headersTimeoutMs must not exceed requestTimeoutMs');
  if (!Number.isInteger(limits.maxConnections) || limits.maxConnections < 1)
    throw new RangeError('maxConnections must be a positive integer');
  return limits;
}

/** How often Node checks requests against their timeouts: often enough that a timeout is kept to within a second. */
function checkingIntervalOf(limits: ServerLimits): number {
  return Math.max(50, Math.min(1_000, Math.floor(Math.min(limits.requestTimeoutMs, limits.headersTimeoutMs) / 4)));
}

/**
 * Applies the limits to an existing server. Node reads the timeout check interval only when a server is
 * created, so a server not made by {@link createApiServer} keeps its interval (30 s by default) and may
 * let a request run that much past its timeout.
 */
export function hardenServer<S extends Server>(server: S, overrides: Partial<ServerLimits> = {}): S {
  const limits = limitsOf(overrides);
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return server;
}

/** An HTTP server for `handler` (the Express app) with the limits applied, not yet listening. */
export function createApiServer(handler: RequestListener, overrides: Partial<ServerLimits> = {}): Server {
  const limits = limitsOf(overrides);
  const server = http.createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingIntervalOf(limits),
    },
    handler
  );
  return hardenServer(server, limits);
}
