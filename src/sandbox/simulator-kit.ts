/**
 * Shared machinery of the provider simulators (Kasir's sandbox): injectable faults, callback delivery on
 * a provider's retry schedule, submission counters, timers that survive long expiries, a listen helper,
 * and the assembly every simulator shares. Each provider's folder under `src/sandbox/` composes these
 * with its own state machine (`state.ts`), endpoints (`routes.ts`) and controls (`controls.ts`).
 *
 * Nothing in production imports this folder; the simulators import the connectors' schemas and signing.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { Request, Response, NextFunction } from 'express';
import { z } from 'zod';
import type { ProviderId } from '../domain/provider';
import { logger } from '../logger';

/**
 * Faults a test or an operator can inject into the next matching requests.
 * - `http-5xx`: answer with `status` (default 500) without touching state;
 * - `slow`: handle the request, but hold the answer back `delayMs`, so a client timeout fires first;
 * - `accept-then-drop`: handle the request fully, then destroy the socket instead of answering;
 * - `drop`: destroy the socket without handling the request.
 */
export const FaultSchema = z.object({
  kind: z.enum(['http-5xx', 'slow', 'accept-then-drop', 'drop']),
  /** A path prefix the fault applies to, e.g. `/gateway/cash`; all paths when absent. */
  path: z.string().optional(),
  status: z.number().int().min(500).max(599).optional(),
  delayMs: z.number().int().min(0).max(600_000).optional(),
  /** How many matching requests it affects. */
  count: z.number().int().min(1).default(1),
});
export type Fault = z.infer<typeof FaultSchema>;
export type FaultInput = z.input<typeof FaultSchema>;

/**
 * Takes the first fault in `faults` that `matches`, counting it down and dropping it once used up: how
 * every simulator's scripted faults and answers are consumed.
 */
export function takeFault<F extends { count: number }>(faults: F[], matches: (fault: F) => boolean): F | undefined {
  const index = faults.findIndex(matches);
  if (index < 0) return undefined;
  const fault = faults[index]!;
  fault.count -= 1;
  if (fault.count <= 0) faults.splice(index, 1);
  return fault;
}

export class FaultInjector {
  private faults: Fault[] = [];

  add(fault: FaultInput): void {
    this.faults.push(FaultSchema.parse(fault));
  }

  clear(): void {
    this.faults = [];
  }

  pending(): readonly Fault[] {
    return this.faults;
  }

  private take(path: string): Fault | undefined {
    return takeFault(this.faults, (f) => f.path === undefined || path.startsWith(f.path));
  }

  /** Express middleware; mount it before the provider's routes and after the control routes. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const fault = this.take(req.path);
      if (!fault) return next();
      switch (fault.kind) {
        case 'http-5xx':
          res
            .status(fault.status ?? 500)
            .type('text/plain')
            .send('Simulated provider failure');
          return;
        case 'drop':
          req.socket.destroy();
          return;
        case 'slow': {
          // Handle the request now (state changes) but hold the answer back, as a slow provider does.
          // Delaying the handler instead would let the client give up before the body was even read.
          const end = res.end.bind(res) as (...args: unknown[]) => Response;
          res.end = ((...args: unknown[]) => {
            setTimeout(() => {
              if (!req.socket.destroyed) end(...args);
            }, fault.delayMs ?? 30_000).unref();
            return res;
          }) as typeof res.end;
          next();
          return;
        }
        case 'accept-then-drop': {
          // Let the handler change state, then cut the connection instead of sending its answer.
          const destroy = () => req.socket.destroy();
          res.json = (() => (destroy(), res)) as typeof res.json;
          res.send = (() => (destroy(), res)) as typeof res.send;
          res.end = (() => (destroy(), res)) as typeof res.end;
          next();
          return;
        }
      }
    };
  }
}

/**
 * Faults applied to outgoing callbacks. Each applies to the next `count` callbacks created
 * (optionally only for one reference).
 * - `duplicate`: deliver each attempt twice;
 * - `suppress`: never send it (a missing callback);
 * - `forge`: sign with a wrong key, so verification must fail;
 * - `delay`: hold the first attempt back by `delayMs` (a late callback).
 */
export const CallbackFaultSchema = z.object({
  kind: z.enum(['duplicate', 'suppress', 'forge', 'delay']),
  reference: z.string().optional(),
  delayMs: z.number().int().min(0).optional(),
  count: z.number().int().min(1).default(1),
});
export type CallbackFault = z.infer<typeof CallbackFaultSchema>;

export interface OutgoingCallback {
  url: string;
  /** The reference the callback is about, for matching faults and counting. */
  reference: string;
  /** Builds the request; `forged` asks for a signature made with the wrong key. */
  build(forged: boolean): { headers: Record<string, string>; body: string };
}

export interface CallbackAttempt {
  reference: string;
  url: string;
  attempt: number;
  at: string;
  status?: number;
  answer?: string;
  error?: string;
  acknowledged: boolean;
  forged: boolean;
}

export interface CallbackDispatcherOptions {
  /**
   * Delays before each attempt, in ms of provider time: e.g. BDPay's `[1s, 30s, 60s, 90s, 1h, 2h]`
   * (docs/providers/bdpay.md §5).
   * The first entry is the wait before the first delivery.
   */
  scheduleMs: readonly number[];
  /** Multiplies every delay; tests use e.g. 0.001 to compress hours into seconds. */
  timeScale: number;
  /** Whether an answer stops the retries (BDPay: body exactly `SUCCESS`; others: HTTP 200). */
  isAcknowledged(status: number, body: string): boolean;
  /** Per-attempt HTTP timeout. */
  timeoutMs?: number;
  provider: ProviderId;
}

/** Sends callbacks and retries them on the provider's schedule until acknowledged. */
export class CallbackDispatcher {
  private faults: CallbackFault[] = [];
  private timers = new Set<NodeJS.Timeout>();
  readonly attempts: CallbackAttempt[] = [];
  private stopped = false;
  private readonly log;

  constructor(private readonly options: CallbackDispatcherOptions) {
    this.log = logger.child({ simulator: options.provider });
  }

  addFault(fault: z.input<typeof CallbackFaultSchema>): void {
    this.faults.push(CallbackFaultSchema.parse(fault));
  }

  clearFaults(): void {
    this.faults = [];
  }

  private takeFaults(reference: string): CallbackFault[] {
    const taken: CallbackFault[] = [];
    for (const fault of [...this.faults]) {
      if (fault.reference !== undefined && fault.reference !== reference) continue;
      taken.push(fault);
      fault.count -= 1;
      if (fault.count <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    }
    return taken;
  }

  /** Queues a callback. Delivery happens in the background on the schedule. */
  dispatch(callback: OutgoingCallback): void {
    const faults = this.takeFaults(callback.reference);
    if (faults.some((f) => f.kind === 'suppress')) {
      this.log.info({ reference: callback.reference }, 'callback suppressed by fault');
      return;
    }
    const forged = faults.some((f) => f.kind === 'forge');
    const copies = faults.some((f) => f.kind === 'duplicate') ? 2 : 1;
    const extraDelay = faults.find((f) => f.kind === 'delay')?.delayMs ?? 0;
    this.schedule(callback, 0, forged, copies, extraDelay);
  }

  private schedule(
    callback: OutgoingCallback,
    index: number,
    forged: boolean,
    copies: number,
    extraDelayMs: number
  ): void {
    if (this.stopped || index >= this.options.scheduleMs.length) return;
    const delay = Math.round((this.options.scheduleMs[index] ?? 0) * this.options.timeScale) + extraDelayMs;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(callback, index, forged, copies);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private async attempt(callback: OutgoingCallback, index: number, forged: boolean, copies: number): Promise<void> {
    let acknowledged = false;
    for (let copy = 0; copy < copies; copy++) {
      acknowledged = (await this.deliverOnce(callback, index + 1, forged)) || acknowledged;
    }
    // A forged callback is never acknowledged by a correct receiver, and retrying it proves nothing more.
    if (!acknowledged && !forged) this.schedule(callback, index + 1, forged, 1, 0);
  }

  private async deliverOnce(callback: OutgoingCallback, attempt: number, forged: boolean): Promise<boolean> {
    const record: CallbackAttempt = {
      reference: callback.reference,
      url: callback.url,
      attempt,
      at: new Date().toISOString(),
      acknowledged: false,
      forged,
    };
    this.attempts.push(record);
    try {
      const { headers, body } = callback.build(forged);
      const response = await fetch(callback.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      const answer = await response.text();
      record.status = response.status;
      record.answer = answer.slice(0, 200);
      record.acknowledged = this.options.isAcknowledged(response.status, answer);
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
    }
    this.log.debug(record, 'callback attempt');
    return record.acknowledged;
  }

  attemptsFor(reference: string): CallbackAttempt[] {
    return this.attempts.filter((a) => a.reference === reference);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** Counts requests that move money, so tests can prove a payout or bill payment reached the provider once. */
export class SubmissionCounter {
  private readonly counts = new Map<string, number>();

  increment(key: string): number {
    const next = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, next);
    return next;
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}

/** Reads the body as raw bytes and keeps them, so signatures can be checked over exactly what was sent. */
export function rawBody(limit = '1mb') {
  return express.raw({ type: () => true, limit });
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Listens on `port` (0 picks a free one) on loopback and resolves with the base URL. */
export async function listen(app: express.Express, port = 0, host = '127.0.0.1'): Promise<RunningServer> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${actual}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Entries a test scripts into a simulator (faults, forced answers), used up as matching requests arrive. */
export interface Script<T> {
  add(entry: T): void;
  pending(): readonly T[];
  clear(): void;
}

/**
 * The control routes of one {@link Script}: `POST path` adds the entry in the body (400 when it does not parse,
 * else 201 with every entry still pending), `DELETE path` drops them all (204).
 */
export function scriptRoutes<T>(router: express.Router, path: string, schema: z.ZodType<T>, script: Script<T>): void {
  router.post(path, (req, res) => {
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    script.add(parsed.data);
    res.status(201).json({ pending: script.pending() });
  });
  router.delete(path, (_req, res) => {
    script.clear();
    res.status(204).end();
  });
}

/**
 * Control routes every simulator mounts under `/_sim`: faults, callback faults, counters and
 * callback attempts. Provider-specific controls (pay, expire, fail) are added by each simulator.
 */
export function controlRouter(parts: {
  faults: FaultInjector;
  callbacks: CallbackDispatcher;
  submissions: SubmissionCounter;
}): express.Router {
  const router = express.Router();
  router.use(express.json());
  scriptRoutes(router, '/faults', FaultSchema, {
    add: (fault) => parts.faults.add(fault),
    pending: () => parts.faults.pending(),
    clear() {
      parts.faults.clear();
      parts.callbacks.clearFaults();
    },
  });
  router.post('/callback-faults', (req, res) => {
    const parsed = CallbackFaultSchema.safeParse(req.body);
    if (!parsed.success) return void res.status(400).json({ error: parsed.error.issues });
    parts.callbacks.addFault(parsed.data);
    res.status(201).end();
  });
  router.get('/submissions', (_req, res) => void res.json(parts.submissions.snapshot()));
  router.get('/callbacks', (req, res) => {
    const reference = typeof req.query.reference === 'string' ? req.query.reference : undefined;
    res.json(reference ? parts.callbacks.attemptsFor(reference) : parts.callbacks.attempts);
  });
  return router;
}

/** Options every simulator takes besides its provider's credentials. */
export interface SimulatorCommonOptions {
  /** Multiplies callback retry delays and state-machine timers; tests use small values. Default 1. */
  timeScale?: number;
  /** The simulator's own public base URL, for the redirect and QR links it hands out. */
  publicUrl?: string;
}

/** A running provider simulator: an Express app (never listening by itself) plus its controls. */
export interface ProviderSimulator {
  readonly provider: ProviderId;
  readonly app: express.Express;
  readonly faults: FaultInjector;
  readonly callbacks: CallbackDispatcher;
  readonly submissions: SubmissionCounter;
  /** The simulator's state as plain JSON, so `npm start` can persist it across restarts. */
  exportState(): unknown;
  importState(state: unknown): void;
  /** Stops timers and callback retries. */
  stop(): void;
}

/** A simulator's own state: its orders and timers, as plain JSON for `npm start` to persist. */
export interface SimulatorState {
  exportState(): unknown;
  importState(state: unknown): void;
  /** Stops the state's timers. */
  stop(): void;
}

/** The shared machinery each simulator is built around: its faults, submission counts and callbacks. */
export interface SimulatorParts {
  faults: FaultInjector;
  callbacks: CallbackDispatcher;
  submissions: SubmissionCounter;
}

/** Fresh {@link SimulatorParts}, callbacks sent as the provider sends them (`callbacks`). */
export function createSimulatorParts(callbacks: CallbackDispatcherOptions): SimulatorParts {
  return {
    faults: new FaultInjector(),
    submissions: new SubmissionCounter(),
    callbacks: new CallbackDispatcher(callbacks),
  };
}

/**
 * Puts a simulator together the same way for every provider: the shared `/_sim` controls, the
 * provider's own controls, the fault middleware, then the provider's endpoints (which get every fault).
 */
export function assembleSimulator(parts: {
  provider: ProviderId;
  faults: FaultInjector;
  callbacks: CallbackDispatcher;
  submissions: SubmissionCounter;
  state: SimulatorState;
  controls: express.Router;
  routes: express.Router;
}): ProviderSimulator {
  const { provider, faults, callbacks, submissions, state } = parts;
  const app = express();
  app.disable('x-powered-by');
  app.use('/_sim', controlRouter({ faults, callbacks, submissions }));
  app.use('/_sim', parts.controls);
  app.use(faults.middleware());
  app.use(parts.routes);
  return {
    provider,
    app,
    faults,
    callbacks,
    submissions,
    exportState: () => state.exportState(),
    importState: (saved) => state.importState(saved),
    stop() {
      state.stop();
      callbacks.stop();
    },
  };
}

/**
 * How `npm start`, the test stack and the contract suite run one provider's simulator: TEST-ONLY
 * credentials for both sides, the connector config that talks to a simulator with them, and the simulator.
 */
export interface SimulatorSetup<
  Config,
  Credentials = unknown,
  Simulator extends ProviderSimulator = ProviderSimulator,
  Options extends SimulatorCommonOptions = SimulatorCommonOptions,
> {
  /**
   * Freshly generated (or restored) TEST-ONLY credentials as plain JSON: keys, secrets, ids for both
   * sides. Persisting this lets `npm start` restart with the same keys.
   */
  readonly credentials: Credentials;
  /** The connector's config for talking to a simulator at `baseUrl` with these credentials. */
  connectorConfig(baseUrl: string): Config;
  /** A simulator holding these credentials; `options` are the provider's simulator options but them. */
  createSimulator(options?: Options): Simulator;
}

/** Generates new test-only credentials, or restores ones from a previous `credentials` value. */
export type SimulatorSetupFactory<Config> = (saved?: unknown) => SimulatorSetup<Config>;

/**
 * A provider's {@link SimulatorSetupFactory}: the credentials are restored from `saved` (held to
 * `provider.schema`) or, without it, freshly generated; `provider.simulator` is the provider's
 * simulator, created with them; `setup` gives the connector config for them and may watch the options
 * each simulator is created with (`creating`), when the config depends on them.
 */
export function simulatorSetupFactory<
  Config,
  Credentials,
  Simulator extends ProviderSimulator,
  AllOptions extends SimulatorCommonOptions & { credentials: Credentials },
>(
  provider: {
    schema: z.ZodType<Credentials>;
    generate(): Credentials;
    simulator(options: AllOptions): Simulator;
  },
  setup: (credentials: Credentials) => {
    connectorConfig: (baseUrl: string) => Config;
    creating?: (options: Omit<AllOptions, 'credentials'>) => void;
  }
): (saved?: unknown) => SimulatorSetup<Config, Credentials, Simulator, Omit<AllOptions, 'credentials'>> {
  return (saved) => {
    const credentials = saved === undefined ? provider.generate() : provider.schema.parse(saved);
    const { connectorConfig, creating } = setup(credentials);
    return {
      credentials,
      connectorConfig,
      createSimulator(options = {} as Omit<AllOptions, 'credentials'>) {
        creating?.(options);
        // The caller's options with the credentials put back: exactly the provider's own options.
        return provider.simulator({ ...options, credentials } as AllOptions);
      },
    };
  };
}

/** `setTimeout` caps delays at about 24.8 days; longer waits (a 67-day BDPay expiry) are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Timers by key (an order, a payout), each firing at an instant however far away, never keeping the process alive. */
export class KeyedTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  at(key: string, dueAtMs: number, fire: () => void): void {
    this.cancel(key);
    const remaining = dueAtMs - Date.now();
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        if (Date.now() >= dueAtMs) fire();
        else this.at(key, dueAtMs, fire);
      },
      Math.max(0, Math.min(remaining, MAX_TIMER_MS))
    );
    timer.unref();
    this.timers.set(key, timer);
  }

  cancel(key: string): void {
    const timer = this.timers.get(key);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(key);
  }

  stopAll(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/** Escapes text for the small HTML pages simulators serve (checkout, cashier). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A fresh TEST-ONLY RSA key pair as PEM (SPKI public, PKCS#8 private), for simulator credentials and forgeries. */
export function generateTestRsaKeyPair(modulusLength: number): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * A reconciliation control's silent change: the body, checked by `schema`, is applied to `record`
 * without a callback and the record answered; a body that fails the check is a 400 listing the issues.
 */
export function applySilentChange<R, C>(
  req: Request,
  res: Response,
  record: R,
  schema: z.ZodType<C>,
  apply: (record: R, change: C) => void
): void {
  const change = schema.safeParse(req.body ?? {});
  if (!change.success) return void res.status(400).json({ error: change.error.issues });
  apply(record, change.data);
  res.json(record);
}
