/**
 * Payouts (money out): create by update-with-start of `payoutWorkflow` (submitted exactly once), read
 * by query, and the operator's resolution of a payout stuck in UNKNOWN.
 */
import type { WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { z } from 'zod';
import type { ProviderId } from '../../domain/provider';
import { PAYOUT_STATUSES, payoutIsFinal, resolutionContradicts } from '../../domain/payout';
import { CONSOLIDATED_PATCHES, MOVEMENT_CORE_PATCH } from '../../../workflows/patches';
import type { ApiDeps } from '../deps';
import { resolvePayoutUpdate } from '../../../workflows/messages';
import type { ResolvePayoutRequest } from '../../../workflows/messages';
import type { BillState, PayoutState, PayoutWorkflowInput } from '../../../workflows/movement-state';
import { OPERATOR_KEY_HEADER } from '../middleware/auth';
import { ApiError, updateFailureMessage } from '../http-errors';
import { PAYOUTS } from '../movement-kinds';
import { loadOwned, updateMovement } from '../movements';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import {
  IdParamsSchema,
  MerchantReferenceSchema,
  MetadataSchema,
  PayoutProviderSchema,
  PayoutViewSchema,
  RupiahSchema,
} from '../schemas';
import { movementRoutes } from './movement-pipeline';
import { commonErrors, errorResponse, providerWith } from './route-commons';

export const DEFAULT_PAYOUT_PROVIDER: ProviderId = 'bdpay';

export const PayoutCreateSchema = z
  .strictObject({
    reference: MerchantReferenceSchema,
    amount: RupiahSchema,
    provider: PayoutProviderSchema.optional().meta({ description: `Defaults to ${DEFAULT_PAYOUT_PROVIDER}.` }),
    feeMode: z.enum(['deducted', 'merchant']).meta({
      description: '`deducted`: the fee comes out of the amount sent; `merchant`: your balance pays it on top.',
    }),
    beneficiary: z.strictObject({
      bankCode: z
        .string()
        .min(1)
        .max(20)
        .regex(/^[A-Za-z0-9]+$/, 'letters and digits only')
        .meta({ example: '014' }),
      accountNumber: z
        .string()
        .regex(/^[0-9]{5,34}$/, '5 to 34 digits')
        .meta({ example: '1234567890' }),
      accountName: z.string().min(1).max(100),
    }),
    description: z.string().min(1).max(255),
    metadata: MetadataSchema.optional(),
  })
  .meta({ id: 'PayoutCreateRequest' });

export const PayoutResolveSchema = z
  .strictObject({
    outcome: z.enum(['SUCCEEDED', 'FAILED']),
    evidence: z
      .string()
      .trim()
      .min(10, 'describe what proves the outcome (at least 10 characters)')
      .max(2000)
      .meta({ description: 'What proves the outcome: bank statement line, provider ticket. Recorded in history.' }),
    operator: z.string().trim().min(1).max(100).meta({ description: 'Who resolves it.' }),
    force: z.boolean().default(false).meta({
      description:
        "Apply the resolution even though the provider's own status contradicts it; evidence is required and recorded",
    }),
  })
  .meta({ id: 'PayoutResolveRequest' });

/** How the workflow words a resolution it refuses because the provider's own status says otherwise. */
const CONTRADICTED_PREFIX = 'provider contradicts';

/**
 * A resolution the payout workflow refused (its validator) or failed (its handler): 409 with the
 * workflow's reason; `resolution_contradicted` when the provider's status contradicts the outcome.
 */
export function resolutionRefused(err: WorkflowUpdateFailedError): ApiError {
  const message = updateFailureMessage(err);
  return message.startsWith(CONTRADICTED_PREFIX)
    ? new ApiError(409, 'state_error', 'resolution_contradicted', message, { param: 'outcome' })
    : new ApiError(409, 'state_error', 'invalid_state', message);
}

/**
 * An operator's resolution (a payout's or a bill payment's) sent to the movement's workflow, which checks
 * it with the provider; a refusal is 409 with the workflow's reason.
 */
export async function resolveByOperator<S extends PayoutState | BillState>(
  deps: ApiDeps,
  kind: Parameters<typeof updateMovement<S, [ResolvePayoutRequest]>>[1],
  handle: WorkflowHandle,
  update: Parameters<typeof updateMovement<S, [ResolvePayoutRequest]>>[3],
  body: z.infer<typeof PayoutResolveSchema>
): Promise<S> {
  const request: ResolvePayoutRequest = {
    outcome: body.outcome,
    evidence: body.evidence,
    operator: body.operator,
    force: body.force,
  };
  return updateMovement(deps, kind, handle, update, [request], { refused: resolutionRefused });
}

/**
 * Payouts still running on the code from before the movement core (workflows/legacy/) apply a
 * resolution without asking the provider. For them the API asks the provider itself and refuses a
 * contradicted resolution unless it is forced, as the movement core does after its validator. A final
 * payout is left to the workflow, whose validator refuses it whatever the provider says.
 */
async function checkLegacyResolution(
  deps: ApiDeps,
  handle: WorkflowHandle,
  payout: PayoutState,
  body: { outcome: 'SUCCEEDED' | 'FAILED'; force?: boolean }
): Promise<void> {
  if (payoutIsFinal(payout.status) || body.force === true) return;
  const description = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () => handle.describe());
  const patches = description.typedSearchAttributes.get(TemporalChangeVersion) ?? [];
  // On the movement core: its own patch, or a consolidated one that covers it (workflows/patches.ts).
  const core = CONSOLIDATED_PATCHES.filter((c) => c.covers.includes(MOVEMENT_CORE_PATCH)).map((c) => c.id);
  if ([MOVEMENT_CORE_PATCH, ...core].some((id) => patches.includes(id))) return;
  const payouts = deps.connectors[payout.provider].payouts;
  let provider;
  try {
    provider = await payouts!.inquire({ reference: payout.id, providerReference: payout.providerReference });
  } catch (err) {
    throw new ApiError(
      409,
      'state_error',
      'invalid_state',
      `provider could not be asked for its status (${err instanceof Error ? err.message : String(err)}); try again, or force the resolution with evidence`
    );
  }
  if (resolutionContradicts(body.outcome, provider.status)) {
    throw new ApiError(
      409,
      'state_error',
      'resolution_contradicted',
      `provider contradicts the resolution: it reports ${provider.providerStatus} (${provider.status}); force it with evidence if you are sure`,
      { param: 'outcome' }
    );
  }
}

/** Temporal's own search attribute listing the patches a workflow has hit. */
const TemporalChangeVersion = defineSearchAttributeKey('TemporalChangeVersion', SearchAttributeType.KEYWORD_LIST);

export const payoutRoutes: AnyRoute[] = [
  ...movementRoutes(PAYOUTS, {
    create: {
      path: '/v1/payouts',
      operationId: 'createPayout',
      summary: 'Send a payout',
      description:
        'Submits the payout to the provider exactly once and answers with its first status: PROCESSING, FAILED, or UNKNOWN ' +
        '(the provider did not answer definitively; Kasir resolves it by inquiry, never by resubmitting). ' +
        'Idempotent like payments: `reference` identifies the payout, so a repeat with the same `reference` and body returns the ' +
        'same payout (200, `Idempotent-Replayed: true`) whatever the `Idempotency-Key`, and is never sent twice.',
      body: PayoutCreateSchema,
      created: 'Submitted.',
      pending: 'Accepted, submission still in progress (status SUBMITTING).',
      input({ deps, body, id, base }): PayoutWorkflowInput {
        const { reference: _reference, provider: requested, ...payout } = body;
        const provider = providerWith(deps.connectors, 'payouts', requested ?? DEFAULT_PAYOUT_PROVIDER);
        return { ...base(provider), payoutId: id, ...payout };
      },
    },
    list: { filters: { status: z.enum(PAYOUT_STATUSES), provider: PayoutProviderSchema } },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/operator/payouts/:id/resolve',
    operationId: 'resolvePayout',
    summary: 'Resolve a stuck payout (operator)',
    description:
      `Operators only (\`${OPERATOR_KEY_HEADER}\` header; merchant keys are refused). Settles a submitted payout that is not final ` +
      '(typically UNKNOWN or needs-attention) as SUCCEEDED or FAILED, with evidence that is recorded in its history. ' +
      "If the provider's own status contradicts the outcome, the resolution is refused (409 `resolution_contradicted`) " +
      'unless `force` is true.',
    tags: ['Operator'],
    auth: 'operator',
    bodyKind: 'json',
    params: IdParamsSchema,
    body: PayoutResolveSchema,
    responses: {
      200: { description: 'The payout, now final.', schema: PayoutViewSchema },
      400: errorResponse('Invalid request.'),
      404: errorResponse('No such payout.'),
      409: errorResponse(
        'The payout workflow refused the resolution, with its reason: already final or not yet submitted ' +
          "(`invalid_state`), or the provider's own status contradicts the outcome (`resolution_contradicted`; " +
          'resend with `force: true` to apply it anyway).'
      ),
      ...commonErrors,
    },
    async handler({ deps, params, body, res, log }) {
      const { state: current, handle } = await loadOwned(deps, PAYOUTS, params.id, undefined);
      await checkLegacyResolution(deps, handle, current, body);
      const state = await resolveByOperator(deps, PAYOUTS, handle, resolvePayoutUpdate, body);
      log.warn(
        { payoutId: params.id, operator: body.operator, outcome: body.outcome, force: body.force },
        'payout resolved by operator'
      );
      res.json(PAYOUTS.view(state));
    },
  }),
];
