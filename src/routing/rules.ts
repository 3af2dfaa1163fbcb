/**
 * Routing rules (issue #15): which provider a payment goes to, and which may take it over if that one
 * refuses it before the customer saw any instructions. Per merchant and payment method, an ordered
 * list of providers, each with optional amount bounds and a weight. Pure: the API applies it, the
 * workflow only receives its outcome (the provider, the fallbacks in order, and the decision in words).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PAYMENT_METHODS } from '../domain/payment';
import type { PaymentMethod } from '../domain/payment';
import { PROVIDER_IDS } from '../domain/provider';
import type { ProviderId } from '../domain/provider';

export const RouteEntrySchema = z
  .object({
    provider: z.enum(PROVIDER_IDS),
    /** Inclusive bounds in rupiah: outside them the entry is not used for this payment. */
    minAmount: z.number().int().min(0).optional(),
    maxAmount: z.number().int().min(0).optional(),
    /**
     * Share of first choices among the entries that carry a weight. When any usable entry has a weight,
     * the first provider is drawn by weight (entries without one, or with 0, are then fallbacks only);
     * the others follow in list order. Without weights the list order alone decides.
     */
    weight: z.number().int().min(0).max(1_000_000).optional(),
  })
  .refine((e) => e.minAmount === undefined || e.maxAmount === undefined || e.minAmount <= e.maxAmount, {
    message: 'minAmount must not exceed maxAmount',
  });
export type RouteEntry = z.infer<typeof RouteEntrySchema>;

export const ProviderHealthConfigSchema = z.object({
  /** Registration failures (unknown outcome, refused for lack of service) within `windowMs` that make a provider unhealthy. */
  failureThreshold: z.number().int().min(1).default(5),
  windowMs: z.number().int().min(1).default(60_000),
  /** How long an unhealthy provider is skipped before it is tried again. */
  coolDownMs: z.number().int().min(1).default(30_000),
});
export type ProviderHealthConfig = z.infer<typeof ProviderHealthConfigSchema>;

export const DEFAULT_HEALTH: ProviderHealthConfig = { failureThreshold: 5, windowMs: 60_000, coolDownMs: 30_000 };

/** The `routing` section of Kasir's config. Optional: without it every payment is routed as before. */
export const RoutingConfigSchema = z.object({
  /** Per merchant id, per payment method: the providers in order of preference. */
  merchants: z
    .record(z.string(), z.partialRecord(z.enum(PAYMENT_METHODS), z.array(RouteEntrySchema).min(1)))
    .default({}),
  health: ProviderHealthConfigSchema.default(DEFAULT_HEALTH),
});
export type RoutingConfig = z.infer<typeof RoutingConfigSchema>;

/** The rule of `merchantId` for `method`, if its config has one. */
export function ruleOf(
  routing: RoutingConfig | undefined,
  merchantId: string,
  method: PaymentMethod
): readonly RouteEntry[] | undefined {
  return routing?.merchants[merchantId]?.[method];
}

/** What the API asks about a provider: why it cannot take this payment, or undefined if it can. */
export type Refusal = (provider: ProviderId) => string | undefined;

export interface RouteChoice {
  provider: ProviderId;
  /** Providers that may take the payment over, in order. */
  fallbacks: ProviderId[];
  /** The decision in words, for the payment's timeline. */
  decision: string;
}

/** A number in [0, 1) fixed by the payment id: the same payment always draws the same first provider. */
export function drawOf(paymentId: string): number {
  return createHash('sha256').update(paymentId).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Applies a rule to one payment: entries whose amount bounds exclude it, or whose provider cannot take
 * it (`refusal`), are dropped; unhealthy providers go last (tried only when nothing else is left); the
 * first provider is drawn by weight when weights are given, else taken in order. Undefined when no
 * entry can take the payment.
 */
export function chooseRoute(input: {
  rule: readonly RouteEntry[];
  method: PaymentMethod;
  amount: number;
  paymentId: string;
  refusal: Refusal;
  isHealthy: (provider: ProviderId) => boolean;
}): RouteChoice | undefined {
  const notes: string[] = [];
  const usable: RouteEntry[] = [];
  for (const entry of input.rule) {
    if (usable.some((u) => u.provider === entry.provider)) continue;
    if (entry.minAmount !== undefined && input.amount < entry.minAmount) {
      notes.push(`${entry.provider} skipped: amount below ${entry.minAmount}`);
      continue;
    }
    if (entry.maxAmount !== undefined && input.amount > entry.maxAmount) {
      notes.push(`${entry.provider} skipped: amount above ${entry.maxAmount}`);
      continue;
    }
    const refused = input.refusal(entry.provider);
    if (refused !== undefined) {
      notes.push(`${entry.provider} skipped: ${refused}`);
      continue;
    }
    usable.push(entry);
  }
  if (usable.length === 0) return undefined;
  // Health is read once per provider: a cool-down ending between two reads must not drop it from both lists.
  const health = new Map(usable.map((e) => [e.provider, input.isHealthy(e.provider)]));
  const healthy = usable.filter((e) => health.get(e.provider) === true);
  const unhealthy = usable.filter((e) => health.get(e.provider) !== true);
  for (const e of unhealthy)
    notes.push(`${e.provider} unhealthy: ${healthy.length > 0 ? 'tried last' : 'no healthy provider left'}`);
  const ordered = [...healthy, ...unhealthy];
  const first = weightedFirst(healthy.length > 0 ? healthy : unhealthy, drawOf(input.paymentId));
  const rest = ordered.filter((e) => e !== first.entry);
  const how = first.weighted ? `drawn by weight (${first.entry.weight}/${first.total})` : 'first in rule order';
  const decision = [
    `routed to ${first.entry.provider} by the ${input.method} rule (${how})`,
    rest.length > 0 ? `fallbacks: ${rest.map((e) => e.provider).join(', ')}` : 'no fallback',
    ...notes,
  ].join('; ');
  return { provider: first.entry.provider, fallbacks: rest.map((e) => e.provider), decision };
}

/** The first entry: drawn by weight among weighted entries when any has a positive weight, else the first. */
function weightedFirst(
  entries: readonly RouteEntry[],
  draw: number
): { entry: RouteEntry; weighted: boolean; total: number } {
  const total = entries.reduce((sum, e) => sum + (e.weight ?? 0), 0);
  if (total <= 0) return { entry: entries[0]!, weighted: false, total };
  let point = draw * total;
  for (const entry of entries) {
    const weight = entry.weight ?? 0;
    if (point < weight) return { entry, weighted: true, total };
    point -= weight;
  }
  return { entry: entries.find((e) => (e.weight ?? 0) > 0)!, weighted: true, total };
}
