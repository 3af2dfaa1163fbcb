/** Small pieces every movement route uses: callback URLs and common error responses. */
import type { KasirConfig } from '../../config';
import type { ProviderId } from '../../domain/provider';
import type { DocumentedResponse } from '../route';
import { ErrorResponseSchema } from '../schemas';

/** Where a provider sends callbacks for movements Kasir registers with it. */
export function callbackUrlOf(config: KasirConfig, provider: ProviderId): string {
  return `${config.api.publicUrl.replace(/\/+$/, '')}/callbacks/${provider}`;
}

/** Errors any authenticated route can answer. */
export const commonErrors: Record<number, DocumentedResponse> = {
  401: { description: 'Missing or invalid credentials.', schema: ErrorResponseSchema },
  500: { description: 'Internal error; no details beyond the request id.', schema: ErrorResponseSchema },
  503: {
    description:
      'Temporal did not answer in time; safe to retry (a create repeated with the same `reference` and body returns the same movement).',
    schema: ErrorResponseSchema,
  },
};
