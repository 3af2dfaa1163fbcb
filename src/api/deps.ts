/** What every route handler may use. Built once per app by `createApp`. */
import type { Client } from '@temporalio/client';
import type { KasirConfig } from '../config';
import type { Connectors } from '../connectors/registry';
import type { Logger } from '../logger';
import type { ApiMetrics } from './metrics';
import type { PageTokenCodec } from './page-tokens';

export interface ApiTimeouts {
  /** How long a create may wait for its workflow's first answer (registration, submission, inquiry). */
  createMs: number;
  /** Deadline for queries, signals and other short Temporal calls. */
  shortCallMs: number;
  /** Deadline for an operator's or merchant's update (cancel, confirm, resolve). */
  updateMs: number;
  /** Deadline for the readiness probe. */
  readinessMs: number;
}

export const DEFAULT_TIMEOUTS: ApiTimeouts = {
  createMs: 30_000,
  shortCallMs: 10_000,
  updateMs: 30_000,
  readinessMs: 2_000,
};

export interface ApiDeps {
  client: Client;
  config: KasirConfig;
  connectors: Connectors;
  metrics: ApiMetrics;
  log: Logger;
  timeouts: ApiTimeouts;
  /** Signs and checks list page tokens (see `page-tokens.ts` for where the key comes from). */
  pageTokens: PageTokenCodec;
}
