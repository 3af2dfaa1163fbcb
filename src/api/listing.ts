/**
 * Reading movements through Temporal's visibility index: the queries (always scoped to one merchant
 * and kind), the signed page tokens that walk them (`page-tokens.ts` signs and checks them) and the
 * summaries a row yields. Every list route and every search by reference goes through here, so a
 * value reaches a visibility query only as {@link visibilityLiteral} writes it.
 */
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { z } from 'zod';
import type { Merchant } from '../config';
import { workflowIdOf } from '../ids';
import type { MovementKind } from '../ids';
import type { ApiDeps } from './deps';
import { ApiError } from './http-errors';
import { withLateCorrections } from './late-records';
import { indexOf } from './movement-kinds';
import { MerchantReferenceSchema } from './schemas';

/**
 * A string literal for a Temporal visibility query, or undefined when the value cannot be written as
 * one: the query parser unescapes `\'` but reads a backslash literally, and it does not match values
 * with a double quote (checked against the dev server).
 */
export function visibilityLiteral(value: string): string | undefined {
  if (/["\\]/.test(value)) return undefined;
  return `'${value.replace(/'/g, "\\'")}'`;
}

const BooleanQuery = z.enum(['true', 'false']).transform((value) => value === 'true');

/** An instant with its offset (`2026-11-30T10:00:00Z`, `2026-11-30T17:00:00+07:00`), written back in UTC. */
const InstantQuery = z.iso
  .datetime({ offset: true, error: 'must be an ISO 8601 date-time with Z or an offset' })
  .transform((value) => new Date(value).toISOString());

/** Query parameters every list route takes after its own filters (status, provider, ...). */
export const ListQueryFields = {
  reference: MerchantReferenceSchema.optional().meta({ description: 'Exact merchant reference.' }),
  needs_attention: BooleanQuery.optional().meta({ description: '`true` or `false`.' }),
  created_from: InstantQuery.optional().meta({
    description: 'Only movements created at or after this instant (ISO 8601 with Z or an offset).',
    example: '2026-11-30T00:00:00+07:00',
  }),
  created_before: InstantQuery.optional().meta({
    description: 'Only movements created before this instant (ISO 8601 with Z or an offset).',
    example: '2026-12-01T00:00:00+07:00',
  }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  page_token: z
    .string()
    .max(4096)
    .optional()
    .meta({ description: 'From `nextPageToken` of the previous page, with the same filters.' }),
};

/** A list route's validated query: the filters a kind has, and the page. */
export interface ListQuery {
  status?: string;
  provider?: string;
  method?: string;
  reference?: string;
  needs_attention?: boolean;
  /** UTC ISO instants: `createdAt` at or after `created_from` and before `created_before`. */
  created_from?: string;
  created_before?: string;
  limit: number;
  page_token?: string;
}

/**
 * The visibility query for one merchant's movements of one kind, with the filters combined by AND;
 * undefined when a filter value cannot be written in a query (then no movement can be found by it).
 * The clauses and their order are part of each page token (its query hash): keep them stable.
 */
export function movementListQuery(kind: MovementKind, merchantId: string, filters: ListQuery): string | undefined {
  const equals: [string, string | undefined][] = [
    ['KasirKind', kind],
    ['KasirMerchant', merchantId],
    ['KasirStatus', filters.status],
    ['KasirProvider', filters.provider],
    ['KasirMethod', filters.method],
    ['KasirMerchantReference', filters.reference],
  ];
  const clauses: string[] = [];
  for (const [attribute, value] of equals) {
    if (value === undefined) continue;
    const literal = visibilityLiteral(value);
    if (literal === undefined) return undefined;
    clauses.push(`${attribute} = ${literal}`);
  }
  if (filters.needs_attention !== undefined) clauses.push(`KasirNeedsAttention = ${filters.needs_attention}`);
  // Appended after the older clauses, so a token for a query without a range keeps its hash.
  if (filters.created_from !== undefined) clauses.push(`StartTime >= '${filters.created_from}'`);
  if (filters.created_before !== undefined) clauses.push(`StartTime < '${filters.created_before}'`);
  // A movement is one workflow id, but every run of it has a visibility record: the runs a
  // continue-as-new closed are not the movement again.
  clauses.push(`ExecutionStatus != 'ContinuedAsNew'`);
  return clauses.join(' AND ');
}

/**
 * The visibility query for another workflow of the same merchant and kind with this reference (a
 * movement created before ids came from the reference alone), or undefined when the reference cannot
 * be searched for.
 */
export function sameReferenceQuery(movement: {
  workflowType: string;
  kind: MovementKind;
  merchantId: string;
  reference: string;
  id: string;
}): string | undefined {
  const reference = visibilityLiteral(movement.reference);
  const merchant = visibilityLiteral(movement.merchantId);
  if (reference === undefined || merchant === undefined) return undefined;
  return [
    `WorkflowType = '${movement.workflowType}'`,
    `KasirMerchant = ${merchant}`,
    `KasirMerchantReference = ${reference}`,
    `WorkflowId != '${workflowIdOf(movement.kind, movement.id)}'`,
  ].join(' AND ');
}

/** A movement as the visibility index sees it (eventually consistent). */
export interface MovementSummary {
  id: string;
  kind: MovementKind;
  merchantReference?: string;
  provider?: string;
  method?: string;
  amount?: number;
  status?: string;
  needsAttention?: boolean;
  createdAt?: string;
  closedAt?: string;
}

export interface MovementPage {
  object: 'list';
  data: MovementSummary[];
  hasMore: boolean;
  nextPageToken: string | null;
}

function summaryOf(
  kind: MovementKind,
  execution: temporal.api.workflow.v1.IWorkflowExecutionInfo
): { merchant?: string; summary: MovementSummary } {
  const index = indexOf(decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields));
  const workflowId = execution.execution?.workflowId ?? '';
  const prefix = workflowIdOf(kind, '');
  const started = optionalTsToMs(execution.startTime);
  const closed = optionalTsToMs(execution.closeTime);
  return {
    merchant: index.merchantId,
    summary: {
      id: workflowId.startsWith(prefix) ? workflowId.slice(prefix.length) : workflowId,
      kind,
      merchantReference: index.reference,
      provider: index.provider,
      method: index.method,
      amount: index.amount,
      status: index.status,
      needsAttention: index.needsAttention,
      ...(started !== undefined ? { createdAt: new Date(started).toISOString() } : {}),
      ...(closed !== undefined ? { closedAt: new Date(closed).toISOString() } : {}),
    },
  };
}

/**
 * One page of a merchant's movements of one kind, newest first. A `page_token` this API did not issue
 * for exactly this query (kind, merchant and filters) is a 400 naming `page_token` before Temporal is
 * asked, and so is an empty created range (naming `created_before`).
 */
export async function listMovements(
  deps: ApiDeps,
  kind: MovementKind,
  merchant: Merchant,
  query: ListQuery
): Promise<MovementPage> {
  if (query.created_from !== undefined && query.created_before !== undefined) {
    if (query.created_before <= query.created_from)
      throw ApiError.field('created_before', 'invalid_range', 'must be later than created_from');
  }
  const visibilityQuery = movementListQuery(kind, merchant.id, query);
  if (visibilityQuery === undefined) return { object: 'list', data: [], hasMore: false, nextPageToken: null };
  const nextPageToken = query.page_token ? deps.pageTokens.decode(visibilityQuery, query.page_token) : undefined;
  const response = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
    deps.client.workflowService.listWorkflowExecutions({
      namespace: deps.client.options.namespace,
      query: visibilityQuery,
      pageSize: query.limit,
      nextPageToken,
    })
  );
  // The query is scoped to the merchant; checking each row again costs nothing and guards the guard.
  // A reset leaves the run it replaced (terminated) beside the new one: one row per movement, the newest.
  const seen = new Set<string>();
  const data = (response.executions ?? [])
    .map((execution) => summaryOf(kind, execution))
    .filter((row) => row.merchant === merchant.id)
    .map((row) => row.summary)
    .filter((summary) => !seen.has(summary.id) && seen.add(summary.id));
  const corrected = await withLateCorrections(deps, kind, merchant.id, data, visibilityLiteral);
  const token =
    response.nextPageToken && response.nextPageToken.length > 0
      ? deps.pageTokens.encode(visibilityQuery, response.nextPageToken)
      : null;
  return { object: 'list', data: corrected, hasMore: token !== null, nextPageToken: token };
}
