/** Small pieces every movement route uses: callback URLs, the error answer and common error responses. */
import type { KasirConfig } from '../../config';
import type { Connectors } from '../../connectors/registry';
import type { ProviderId } from '../../domain/provider';
import { ApiError } from '../http-errors';
import type { DocumentedResponse } from '../route';
import { ErrorResponseSchema } from '../schemas';

/** Where a provider sends callbacks for movements Kasir registers with it. */
export function callbackUrlOf(config: KasirConfig, provider: ProviderId): string {
  return `${config.api.publicUrl.replace(/\/+$/, '')}/callbacks/${provider}`;
}

/**
 * The provider a payout or bill goes to: the one the request names, else the kind's default. A 400
 * naming `provider` when it has no such capability (`does`: what it would do, "send payouts").
 */
export function providerWith(
  connectors: Connectors,
  capability: 'payouts' | 'bills',
  choice: { provider?: ProviderId; fallback: ProviderId; does: string }
): ProviderId {
  const provider = choice.provider ?? choice.fallback;
  if (!connectors[provider][capability]) {
    throw ApiError.field('provider', 'provider_not_supported', `${provider} does not ${choice.does}`);
  }
  return provider;
}

/** An answer in the API's one error shape. */
export function errorResponse(description: string): DocumentedResponse {
  return { description, schema: ErrorResponseSchema };
}

/** Errors any authenticated route can answer. */
export const commonErrors: Record<number, DocumentedResponse> = {
  401: errorResponse('Missing or invalid credentials.'),
  500: errorResponse('Internal error; no details beyond the request id.'),
  503: errorResponse(
    'Temporal did not answer in time; safe to retry (a create repeated with the same `reference` and body returns the same movement).'
  ),
};
