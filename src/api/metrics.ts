/**
 * Prometheus metrics of one API instance, on its own registry (so several apps in one process, as in
 * tests, never collide): HTTP durations by route and status, callbacks by provider and result, orphan
 * callbacks, and workflow starts by kind and outcome.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What happened to a provider callback. */
export type CallbackResult =
  | 'accepted'
  | 'closed'
  | 'orphan'
  | 'unknown_reference'
  | 'rejected_signature'
  | 'rejected_payload'
  | 'unknown_provider'
  | 'error';

/** What a create request did to its workflow. */
export type StartOutcome = 'created' | 'replayed' | 'conflict' | 'pending' | 'error';

export interface ApiMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  callbacks: Counter<'provider' | 'result'>;
  orphanCallbacks: Counter<'provider'>;
  workflowStarts: Counter<'kind' | 'outcome'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'kasir_api_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'kasir_http_request_duration_seconds',
      help: 'Duration of HTTP requests to the Kasir API, by route template and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    callbacks: new Counter({
      name: 'kasir_callbacks_total',
      help: 'Provider callbacks received, by provider and result.',
      labelNames: ['provider', 'result'],
      registers: [registry],
    }),
    orphanCallbacks: new Counter({
      name: 'kasir_orphan_callbacks_total',
      help: 'Callbacks reporting success for a payment whose workflow had already closed without success: money arrived for a closed payment.',
      labelNames: ['provider'],
      registers: [registry],
    }),
    workflowStarts: new Counter({
      name: 'kasir_workflow_starts_total',
      help: 'Create requests by movement kind and outcome (created, replayed, conflict, pending, error).',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
  };
}
