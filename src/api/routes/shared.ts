/** Small pieces every movement route uses: callback URLs, common error responses, create answers. */
import type { Response } from 'express';
import type { KasirConfig } from '../../config';
import type { ProviderId } from '../../domain/provider';
import type { CreatedMovement } from '../movements';
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

const STATUS_OF: Record<CreatedMovement<unknown>['outcome'], number> = { created: 201, replayed: 200, pending: 202 };

/** 201 for a first create, 200 with `Idempotent-Replayed: true` for a repeat, 202 while the first answer is pending. */
export function sendCreated(
  res: Response,
  outcome: CreatedMovement<unknown>['outcome'],
  location: string,
  view: unknown
): void {
  res.status(STATUS_OF[outcome]).location(location);
  if (outcome === 'replayed') res.set('Idempotent-Replayed', 'true');
  res.json(view);
}
