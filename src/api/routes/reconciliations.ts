/**
 * Operator endpoints of the daily reconciliation (workflows/reconciliation.ts): the report of a Jakarta
 * day across providers, read from each provider's run (`reconciliation:<provider>:<date>`), and a run
 * started on demand. Operator key only, like `/v1/operator/payouts/:id/resolve`.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { PROVIDER_IDS } from '../../domain/provider';
import type { ProviderId } from '../../domain/provider';
import {
  DIFFERENCE_KINDS,
  emptyCounts,
  isJakartaDate,
  jakartaDayWindow,
  RECONCILED_KINDS,
  reconciliationWorkflowId,
} from '../../domain/reconciliation';
import type { DifferenceKind } from '../../domain/reconciliation';
import { reconciliationStateQuery } from '../../../workflows/reconciliation-messages';
import type { ReconciliationInput, ReconciliationState } from '../../../workflows/reconciliation-messages';
import type { reconciliationWorkflow } from '../../../workflows/reconciliation';
import { reconciliationPacingOf } from '../../temporal/reconciliation-schedules';
import type { ApiDeps } from '../deps';
import { OPERATOR_KEY_HEADER } from '../middleware/auth';
import { defineRoute } from '../route';
import type { AnyRoute } from '../route';
import { ProviderSchema } from '../schemas';
import { answers } from './route-commons';

const DaySchema = z
  .string({ error: 'required: a Jakarta day, YYYY-MM-DD' })
  .refine(isJakartaDate, { error: 'must be a day, YYYY-MM-DD (Jakarta calendar)' })
  .meta({ description: 'A Jakarta (WIB) calendar day, `YYYY-MM-DD`.', example: '2026-11-30' });

const ReportQuerySchema = z.object({ date: DaySchema });

const StartBodySchema = z
  .strictObject({ provider: ProviderSchema, date: DaySchema })
  .meta({ id: 'ReconciliationStartRequest' });

const DifferenceKindSchema = z.enum(DIFFERENCE_KINDS).meta({
  description:
    '`PAID_AT_PROVIDER_ONLY`: Kasir closed it unpaid (or still waits) but the provider shows it paid; ' +
    '`PAID_AT_KASIR_ONLY`: Kasir shows it paid, the provider does not; `AMOUNT_DIFFERS`; ' +
    '`UNKNOWN_TO_PROVIDER`: the provider does not know it; `STILL_UNKNOWN`: a payout or refund whose outcome is still unknown.',
});

const CountsSchema = z.record(DifferenceKindSchema, z.number().int());

const DifferenceSchema = z
  .object({
    kind: DifferenceKindSchema,
    movementId: z.string(),
    movementKind: z.enum(RECONCILED_KINDS),
    workflowId: z.string(),
    provider: ProviderSchema,
    kasirStatus: z.string(),
    providerStatus: z.string(),
    kasirAmount: z.number().int().optional(),
    providerAmount: z.number().int().optional(),
    reason: z.string(),
    flaggedBy: z.enum(['late_callback', 'hint', 'report']).meta({
      description:
        "`late_callback`: recorded in the movement's late-money record (`<workflow id>:late`, needs attention, the merchant told once confirmed); " +
        '`hint`: the open movement was told to ask its provider again; `report`: this report and the run record only.',
    }),
  })
  .meta({ id: 'ReconciliationDifference' });

const ProviderRunSchema = z
  .object({
    provider: ProviderSchema,
    workflowId: z.string(),
    status: z.string().meta({
      description: '`NOT_RUN`, or the run workflow status: `RUNNING`, `COMPLETED`, `FAILED`, `TERMINATED`, ...',
    }),
    requestedBy: z.enum(['schedule', 'operator']).optional(),
    startedAt: z.string().optional(),
    completedAt: z.string().optional(),
    checked: z.number().int(),
    counts: CountsSchema,
    differencesTruncated: z.boolean(),
    unchecked: z.array(z.object({ movementId: z.string(), workflowId: z.string(), reason: z.string() })),
    balance: z
      .object({ available: z.number(), frozen: z.number().optional(), at: z.string() })
      .optional()
      .meta({ description: 'The provider balance when the run began, where it has a balance API (BDPay).' }),
  })
  .meta({ id: 'ReconciliationRun' });

const ReportSchema = z
  .object({
    object: z.literal('reconciliation_report'),
    date: z.string(),
    window: z.object({ from: z.string(), to: z.string() }),
    counts: z.object({
      total: z.number().int(),
      byKind: CountsSchema,
      byProvider: z.record(ProviderSchema, CountsSchema),
    }),
    runs: z.array(ProviderRunSchema),
    differences: z.array(DifferenceSchema),
  })
  .meta({ id: 'ReconciliationReport' });

const StartedSchema = z
  .object({ workflowId: z.string(), runId: z.string(), provider: ProviderSchema, date: z.string() })
  .meta({ id: 'ReconciliationStarted' });

/** A provider's run for the day, with its workflow status, or undefined when it never ran. */
async function runOf(
  deps: ApiDeps,
  provider: ProviderId,
  date: string
): Promise<{ status: string; state: ReconciliationState } | undefined> {
  const handle = deps.client.workflow.getHandle<typeof reconciliationWorkflow>(
    reconciliationWorkflowId(provider, date)
  );
  const deadline = () => Date.now() + deps.timeouts.shortCallMs;
  try {
    const description = await deps.client.withDeadline(deadline(), () => handle.describe());
    const status = description.status.name;
    // A completed run's result needs no worker; any other is asked (a closed one answers by replay).
    const state = await deps.client.withDeadline(deadline(), () =>
      status === 'COMPLETED' ? handle.result() : handle.query(reconciliationStateQuery)
    );
    return { status, state };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

export const reconciliationRoutes: AnyRoute[] = [
  defineRoute({
    method: 'get',
    path: '/v1/operator/reconciliations',
    operationId: 'getReconciliationReport',
    summary: "A day's reconciliation report (operator)",
    description:
      `Operators only (\`${OPERATOR_KEY_HEADER}\` header; merchant keys are refused). Every provider's reconciliation run ` +
      'for one Jakarta day (`reconciliation:<provider>:<date>`, also in the Temporal UI): the differences between ' +
      "Kasir's movements and the providers' status APIs, with counts per kind of difference and per provider, and the " +
      'balance at the time of the run where the provider has a balance API. A run still going shows what it found so far.',
    tags: ['Operator'],
    auth: 'operator',
    bodyKind: 'none',
    query: ReportQuerySchema,
    responses: answers(200, 'The report.', ReportSchema, { 400: '`date` is missing or not a day (YYYY-MM-DD).' }),
    async handler({ deps, query, res }) {
      const runs = await Promise.all(
        PROVIDER_IDS.map(async (provider) => ({ provider, run: await runOf(deps, provider, query.date) }))
      );
      const byKind = emptyCounts();
      const byProvider = {} as Record<ProviderId, Record<DifferenceKind, number>>;
      for (const { provider, run } of runs) {
        byProvider[provider] = run ? { ...run.state.counts } : emptyCounts();
        for (const kind of DIFFERENCE_KINDS) byKind[kind] += byProvider[provider][kind];
      }
      res.json({
        object: 'reconciliation_report',
        date: query.date,
        window: jakartaDayWindow(query.date),
        counts: { total: DIFFERENCE_KINDS.reduce((sum, kind) => sum + byKind[kind], 0), byKind, byProvider },
        runs: runs.map(({ provider, run }) => ({
          provider,
          workflowId: reconciliationWorkflowId(provider, query.date),
          status: run?.status ?? 'NOT_RUN',
          checked: run?.state.checked ?? 0,
          counts: byProvider[provider],
          differencesTruncated: run?.state.differencesTruncated ?? false,
          unchecked: run?.state.unchecked ?? [],
          ...(run
            ? {
                requestedBy: run.state.requestedBy,
                startedAt: run.state.startedAt,
                ...(run.state.completedAt ? { completedAt: run.state.completedAt } : {}),
                ...(run.state.balance ? { balance: run.state.balance } : {}),
              }
            : {}),
        })),
        differences: runs.flatMap(({ run }) => run?.state.differences ?? []),
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/v1/operator/reconciliations',
    operationId: 'startReconciliation',
    summary: 'Reconcile a provider for a day, now (operator)',
    description:
      `Operators only (\`${OPERATOR_KEY_HEADER}\` header). Starts \`reconciliation:<provider>:<date>\` on demand (the daily ` +
      'schedule does the same for the previous Jakarta day). A run of that day still going is answered, not started again; ' +
      'a finished one is replaced by a new run.',
    tags: ['Operator'],
    auth: 'operator',
    bodyKind: 'json',
    body: StartBodySchema,
    responses: answers(202, 'Started (or already running); read it with GET.', StartedSchema, {
      400: 'Invalid request.',
    }),
    async handler({ deps, body, res, log }) {
      const workflowId = reconciliationWorkflowId(body.provider, body.date);
      const input: ReconciliationInput = {
        provider: body.provider,
        date: body.date,
        pacing: reconciliationPacingOf(deps.config),
        timings: deps.config.timings,
        requestedBy: 'operator',
      };
      const handle = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
        deps.client.workflow.start<typeof reconciliationWorkflow>('reconciliationWorkflow', {
          workflowId,
          taskQueue: deps.config.temporal.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          staticSummary: `Reconciliation of ${body.provider} for ${body.date} (Jakarta), on demand`,
        })
      );
      log.info({ workflowId, runId: handle.firstExecutionRunId }, 'reconciliation started by an operator');
      res.status(202).json({ workflowId, runId: handle.firstExecutionRunId, provider: body.provider, date: body.date });
    },
  }),
];
