/**
 * Provider health, as one API process sees it: a circuit breaker per provider. Registration failures
 * that say something about the provider (an unknown outcome: timeout, 5xx, dropped connection; a
 * provider that refused service: 429, credentials refused; a payment still without an answer when the
 * API answered 202) are counted in a sliding window; past `failureThreshold` the provider is unhealthy
 * for `coolDownMs`, then tried again with a fresh count. A decline returned as data (the provider
 * working, and saying no to this payment) is not a failure.
 *
 * In memory, per API process, on purpose: it costs nothing on the hot path (no I/O while a payment is
 * created), and it is fed by the first answers the process already receives. The limits are written
 * in the README (Routing): each process learns on its own, a restart forgets, and failures found after
 * the first answer are not seen. Health only orders providers; money safety never depends on it.
 */
import type { ProviderId } from '../domain/provider';
import type { ProviderHealthConfig } from './rules';
import { DEFAULT_HEALTH } from './rules';

/** What a payment's first answer tells about its providers (the fields of PaymentState it reads). */
export interface ObservedPayment {
  id: string;
  provider: ProviderId;
  status: string;
  failure?: { code: string };
  routing?: { tried: readonly { provider: ProviderId; reason: string; detail: string }[] };
}

/** Failure codes that say the provider did not serve the request (not a decline of this payment). */
const SERVICE_FAILURES = new Set([
  'REGISTRATION_OUTCOME_UNKNOWN',
  'OutcomeUnknownError',
  'ProviderResponseInvalidError',
  'ProviderUnavailableError',
  'ProviderAuthError',
]);

/** `routing.tried` reasons that count against a provider's health. */
const UNHEALTHY_REASONS = new Set(['unknown_then_not_found', 'refused']);

export class ProviderHealth {
  private readonly failures = new Map<ProviderId, number[]>();
  private readonly openUntil = new Map<ProviderId, number>();
  /** Payments already counted, by id, with when. */
  private readonly observed = new Map<string, number>();

  constructor(
    private readonly config: ProviderHealthConfig = DEFAULT_HEALTH,
    private readonly now: () => number = Date.now
  ) {}

  isHealthy(provider: ProviderId): boolean {
    const until = this.openUntil.get(provider);
    if (until === undefined) return true;
    if (this.now() < until) return false;
    this.openUntil.delete(provider); // cooled down: tried again, counting afresh
    return true;
  }

  /** When an unhealthy provider is tried again (epoch ms), if it is unhealthy now. */
  unhealthyUntil(provider: ProviderId): number | undefined {
    return this.isHealthy(provider) ? undefined : this.openUntil.get(provider);
  }

  recordFailure(provider: ProviderId): void {
    const now = this.now();
    const recent = (this.failures.get(provider) ?? []).filter((at) => at > now - this.config.windowMs);
    recent.push(now);
    if (recent.length >= this.config.failureThreshold) {
      this.openUntil.set(provider, now + this.config.coolDownMs);
      this.failures.delete(provider);
      return;
    }
    this.failures.set(provider, recent);
  }

  /** Reads a payment's first answer: the providers it left for lack of service, and how its provider answered. */
  observe(payment: ObservedPayment): void {
    // Each payment counts once: a merchant re-posting one slow payment must not trip a breaker that
    // every merchant shares (the set is bounded by the window: old ids are forgotten with their counts).
    const now = this.now();
    for (const [id, at] of this.observed) if (at <= now - this.config.windowMs) this.observed.delete(id);
    if (this.observed.has(payment.id)) return;
    this.observed.set(payment.id, now);
    for (const tried of payment.routing?.tried ?? []) {
      // A provider refusing the request itself (credentials aside) says nothing about its health.
      const requestRejected =
        tried.reason === 'refused' && !/^(ProviderAuthError|OperationNotSupportedError)/.test(tried.detail);
      if (UNHEALTHY_REASONS.has(tried.reason) && !requestRejected) this.recordFailure(tried.provider);
    }
    const stuck = payment.status === 'REGISTERING';
    const failedForService =
      payment.status === 'FAILED' && payment.failure !== undefined && SERVICE_FAILURES.has(payment.failure.code);
    if (stuck || failedForService) this.recordFailure(payment.provider);
  }
}
