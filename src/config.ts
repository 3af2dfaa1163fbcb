/**
 * Kasir's configuration: one JSON file (`KASIR_CONFIG`), with environment overrides for everything that
 * differs per deployment (Temporal address, namespace, TLS, API key). Parsed once at process start.
 */
import { ALL_PATCH_IDS, NEW_SINCE_PREVIOUS_RELEASE } from '../workflows/patches';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EncryptionConfigSchema, encryptionFromEnv } from './temporal/payload-encryption';
import { PROVIDER_IDS } from './domain/provider';
import { RoutingConfigSchema } from './routing/rules';
import { DEFAULT_TIMINGS } from '../workflows/timings';
import type { WorkflowTimings } from '../workflows/timings';

export const MerchantSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{1,31}$/, 'lowercase letters, digits, _ and -, 2 to 32 characters'),
  name: z.string().min(1),
  /** SHA-256 (hex) of each valid API key: keys themselves are never stored. */
  apiKeySha256: z.array(z.string().regex(/^[0-9a-f]{64}$/)).min(1),
  webhookUrl: z.url().optional(),
  webhookSecret: z.string().min(16),
});
export type Merchant = z.infer<typeof MerchantSchema>;

const TlsSchema = z.object({
  serverNameOverride: z.string().optional(),
  serverRootCACertificatePath: z.string().optional(),
  clientCertPath: z.string().optional(),
  clientKeyPath: z.string().optional(),
});

export const TemporalConfigSchema = z.object({
  address: z.string().default('127.0.0.1:7233'),
  namespace: z.string().default('kasir'),
  taskQueue: z.string().default('kasir'),
  /** Temporal Cloud API key; implies TLS. */
  apiKey: z.string().optional(),
  /** `true` for TLS with system roots, or mTLS/CA paths. */
  tls: z.union([z.boolean(), TlsSchema]).optional(),
});
export type TemporalConfig = z.infer<typeof TemporalConfigSchema>;

/**
 * The hosted checkout page (`/checkout/<token>`, README "Hosted checkout"). Without this section payments
 * carry no `checkoutUrl`. The worker signs links and the API verifies them, so both need the same keys.
 */
export const CheckoutConfigSchema = z.object({
  /** HMAC keys for checkout links: the first signs, every one verifies (append the old key when rotating). */
  signingKeys: z.array(z.string().min(32, 'at least 32 characters')).min(1),
  /** Base URL customers open the page at (default: `api.publicUrl`). */
  publicUrl: z.url().optional(),
  /** How long a link keeps working after the payment can no longer be paid, to show the final screen. */
  graceMinutes: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 60)
    .default(60),
  /**
   * Sandbox mode: the page offers "simulate payment" and "expire" buttons that drive the simulators'
   * `/_sim` controls at these URLs (by provider), like a provider's test mode. Never set in production.
   */
  sandbox: z
    .object({
      simulatorUrls: z.object({ finpay: z.url().optional(), nicepay: z.url().optional(), bdpay: z.url().optional() }),
    })
    .optional(),
});
export type CheckoutConfig = z.infer<typeof CheckoutConfigSchema>;

export const KasirConfigSchema = z.object({
  temporal: TemporalConfigSchema.default({ address: '127.0.0.1:7233', namespace: 'kasir', taskQueue: 'kasir' }),
  api: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(3000),
    /** Base URL providers reach Kasir at; callback URLs are built from it. */
    publicUrl: z.url(),
    /** SHA-256 (hex) of operator keys, for operator-only endpoints. */
    operatorKeySha256: z.array(z.string().regex(/^[0-9a-f]{64}$/)).default([]),
    /** SHA-256 (hex) of metrics scraper keys: they open `/metrics` only (the operator key does too). */
    metricsKeySha256: z.array(z.string().regex(/^[0-9a-f]{64}$/)).default([]),
  }),
  worker: z
    .object({
      /**
       * Workflows kept in the worker's cache. Open payments wait on timers and callbacks and need no
       * cache (a woken one replays its short history); 250 is several times what 50 concurrent clients
       * keep in flight and bounds a worker's memory with thousands open (docs/benchmarks.md).
       */
      maxCachedWorkflows: z.number().int().min(0).default(250),
      /**
       * Patch ids this worker replays but never records on new work (Temporal's patch activation), so
       * workers of the release before can still replay every history while both run: a rollout, or a
       * rollback target. README "Deploying a release with new patches".
       */
      holdBackPatches: z
        .array(
          z.string().refine((id) => ALL_PATCH_IDS.includes(id), {
            message: `not a patch id of this release (known: ${ALL_PATCH_IDS.join(', ')})`,
          })
        )
        .default([]),
    })
    .default({ maxCachedWorkflows: 250, holdBackPatches: [] }),
  /**
   * Payload encryption (AES-256-GCM, see src/temporal/payload-encryption.ts). Every process that talks
   * to Temporal (API, workers) needs the same keys. Without it payloads are stored in plaintext, and
   * the processes say so when they start. `KASIR_ENCRYPTION_KEYS` overrides it.
   */
  encryption: EncryptionConfigSchema.optional(),
  /** The codec server (`/codec/encode`, `/codec/decode`) the Temporal UI and CLI use to read payloads. */
  codec: z
    .object({
      /** Origins allowed by CORS, e.g. the Temporal UI's `http://127.0.0.1:8233`. */
      allowedOrigins: z.array(z.url()).default([]),
      /**
       * Sandbox only: let a browser on an allowed origin decode without the operator key, because the
       * local Temporal UI cannot send one. Never set this where the API is reachable from other hosts.
       */
      trustAllowedOriginsWithoutAuth: z.boolean().default(false),
    })
    .default({ allowedOrigins: [], trustAllowedOriginsWithoutAuth: false }),
  /**
   * Daily reconciliation (workflows/reconciliation.ts): when each provider's Temporal Schedule runs, in
   * Jakarta time, and how fast a run may ask a provider. Optional; these are the defaults.
   */
  reconciliation: z
    .object({
      /** `HH:mm`, Jakarta time (WIB): each run reconciles the last complete Jakarta day. */
      runAt: z
        .string()
        .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:mm, 24-hour')
        .default('01:00'),
      /** Providers with a schedule (default: every one). */
      providers: z.array(z.enum(PROVIDER_IDS)).optional(),
      checksPerSecond: z.number().positive().max(1_000).default(5),
      batchSize: z.number().int().min(1).max(100).default(10),
      pageSize: z.number().int().min(1).max(1_000).default(100),
      checksPerRun: z.number().int().min(1).default(500),
    })
    .default({ runAt: '01:00', checksPerSecond: 5, batchSize: 10, pageSize: 100, checksPerRun: 500 }),
  /**
   * Payment routing and failover (src/routing, README "Routing"): per merchant and payment method, the
   * providers in order, with optional amount bounds and weights, and when a provider counts as unhealthy.
   * Optional: a merchant without a rule for a method is routed as before (the first provider in registry
   * order that takes it, or the one it names).
   */
  routing: RoutingConfigSchema.optional(),
  checkout: CheckoutConfigSchema.optional(),
  merchants: z.array(MerchantSchema),
  providers: z.object({ finpay: z.unknown(), nicepay: z.unknown(), bdpay: z.unknown(), ayopop: z.unknown() }),
  /** Partial overrides of DEFAULT_TIMINGS, merged section by section. */
  timings: z.record(z.string(), z.unknown()).optional(),
});
export type KasirConfigInput = z.input<typeof KasirConfigSchema>;
export type KasirConfig = Omit<z.infer<typeof KasirConfigSchema>, 'timings'> & { timings: WorkflowTimings };

function mergeTimings(overrides: Record<string, unknown> | undefined): WorkflowTimings {
  if (!overrides) return DEFAULT_TIMINGS;
  const merged = structuredClone(DEFAULT_TIMINGS) as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    const base = merged[key];
    merged[key] =
      base && typeof base === 'object' && value && typeof value === 'object' ? { ...base, ...value } : value;
  }
  return merged as unknown as WorkflowTimings;
}

/** `KASIR_HOLD_BACK_PATCHES`: comma-separated patch ids, or `new-since-previous-release` for that list. */
function patchIdsOf(raw: string): string[] {
  return raw
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean)
    .flatMap((id) => (id === 'new-since-previous-release' ? [...NEW_SINCE_PREVIOUS_RELEASE] : [id]));
}

export function parseConfig(input: unknown): KasirConfig {
  const parsed = KasirConfigSchema.parse(input);
  return { ...parsed, timings: mergeTimings(parsed.timings) };
}

/** Reads `KASIR_CONFIG` and applies environment overrides. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): KasirConfig {
  const file = env.KASIR_CONFIG;
  if (!file)
    throw new Error(
      'KASIR_CONFIG is not set: point it at a Kasir config JSON file (npm start writes .data/kasir.config.json)'
    );
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
    temporal?: Record<string, unknown>;
    api?: Record<string, unknown>;
  };
  const temporal = { ...(raw.temporal ?? {}) };
  if (env.TEMPORAL_ADDRESS) temporal.address = env.TEMPORAL_ADDRESS;
  if (env.TEMPORAL_NAMESPACE) temporal.namespace = env.TEMPORAL_NAMESPACE;
  if (env.TEMPORAL_API_KEY) temporal.apiKey = env.TEMPORAL_API_KEY;
  if (env.KASIR_TASK_QUEUE) temporal.taskQueue = env.KASIR_TASK_QUEUE;
  if (env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_KEY || env.TEMPORAL_TLS_CA) {
    temporal.tls = {
      clientCertPath: env.TEMPORAL_TLS_CERT,
      clientKeyPath: env.TEMPORAL_TLS_KEY,
      serverRootCACertificatePath: env.TEMPORAL_TLS_CA,
      serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME,
    };
  } else if (env.TEMPORAL_TLS === 'true') temporal.tls = true;
  const api = { ...(raw.api ?? {}) };
  if (env.KASIR_API_PORT) api.port = Number(env.KASIR_API_PORT);
  if (env.KASIR_PUBLIC_URL) api.publicUrl = env.KASIR_PUBLIC_URL;
  const worker = { ...((raw.worker as Record<string, unknown> | undefined) ?? {}) };
  if (env.KASIR_MAX_CACHED_WORKFLOWS) worker.maxCachedWorkflows = Number(env.KASIR_MAX_CACHED_WORKFLOWS);
  if (env.KASIR_HOLD_BACK_PATCHES !== undefined) worker.holdBackPatches = patchIdsOf(env.KASIR_HOLD_BACK_PATCHES);
  const encryption =
    encryptionFromEnv(env.KASIR_ENCRYPTION_KEYS, env.KASIR_ENCRYPTION_CURRENT_KEY_ID) ?? raw.encryption;
  return parseConfig({ ...raw, temporal, api, worker, encryption });
}
