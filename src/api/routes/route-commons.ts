/** Small pieces every movement route uses: callback URLs, the error answer and common error responses. */
import type { KasirConfig } from '../../config';
import type { Connectors } from '../../connectors/registry';
import type { ProviderId } from '../../domain/provider';
import { ApiError } from '../http-errors';
import type { z } from 'zod';
import type { DocumentedResponse } from '../route';
import { ErrorResponseSchema } from '../schemas';

/** Where a provider sends callbacks for movements Kasir registers with it. */
export function callbackUrlOf(config: KasirConfig, provider: ProviderId): string {
  return `${config.api.publicUrl.replace(/\/+$/, '')}/callbacks/${provider}`;
}

/** What a provider without the capability would not do, as the 400 says it. */
const CAPABILITY_WORDS = { payouts: 'send payouts', bills: 'pay bills' } as const;

/** The provider a payout or bill goes to; a 400 naming `provider` when it has no such capability. */
export function providerWith(
  connectors: Connectors,
  capability: keyof typeof CAPABILITY_WORDS,
  provider: ProviderId
): ProviderId {
  if (!connectors[provider][capability]) {
    throw ApiError.field('provider', 'provider_not_supported', `${provider} does not ${CAPABILITY_WORDS[capability]}`);
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

/**
 * A route's documented answers: its one success (`status`, `description`, `schema`), the errors it
 * names (status → description, in the error shape), and `commonErrors`.
 */
export function answers(
  status: number,
  description: string,
  schema: z.ZodType,
  errors: Record<number, string> = {}
): Record<number, DocumentedResponse> {
  const named = Object.entries(errors).map(([code, what]) => [code, errorResponse(what)] as const);
  return { [status]: { description, schema }, ...Object.fromEntries(named), ...commonErrors };
}
