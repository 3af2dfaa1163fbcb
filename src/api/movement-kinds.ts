/**
 * The three kinds of money movement as the API drives them: one descriptor per kind, holding what
 * differs between payments, payouts and bills (workflow, messages, first status, the merchant view's
 * schema, what the Temporal UI shows). The route pipeline (`routes/movement-pipeline.ts`) and the
 * callback route read these instead of repeating them per kind.
 *
 * Id prefixes (`P`, `O`, `B`) and workflow ids (`payment:<id>`) follow from `kind` in `src/ids.ts`,
 * their one table.
 */
import type { QueryDefinition, SearchAttributePair, TypedSearchAttributes, UpdateDefinition } from '@temporalio/common';
import type { z } from 'zod';
import { merchantViewOf } from '../domain/merchant-view';
import type { ProviderId } from '../domain/provider';
import type { MovementKind } from '../ids';
import {
  billInquiredUpdate,
  billStateQuery,
  paymentRegisteredUpdate,
  paymentStateQuery,
  payoutStateQuery,
  payoutSubmittedUpdate,
  refundStateQuery,
  refundSubmittedUpdate,
} from '../../workflows/messages';
import {
  KasirAmount,
  KasirKind,
  KasirMerchant,
  KasirMerchantReference,
  KasirMethod,
  KasirNeedsAttention,
  KasirProvider,
  KasirStatus,
} from '../../workflows/search-attributes';
import type {
  BillState,
  BillWorkflowInput,
  MoneyMovementState,
  PaymentState,
  PaymentWorkflowInput,
  PayoutState,
  PayoutWorkflowInput,
  RefundState,
  RefundWorkflowInput,
} from '../../workflows/movement-state';
import { BillViewSchema, PaymentViewSchema, PayoutViewSchema, RefundViewSchema } from './schemas';
import type { BillView, PaymentView, PayoutView, RefundView } from './schemas';

/** What the API reads of every movement's state, whatever its kind. */
export interface MovementStateBase {
  id: string;
  merchantId: string;
  merchantReference: string;
  status: string;
  requestFingerprint: string;
  /** The API request that started the movement; absent for movements started before 2026-12-01. */
  createdByRequest?: string;
  createdAt: string;
}

/** What every movement's workflow input carries, whatever its kind. */
export interface MovementInputFields {
  merchantId: string;
  /** The merchant's reference: the business key the movement's id is derived from. */
  merchantReference: string;
  provider: ProviderId;
  /** Fingerprint of the merchant's request body: a replay has the same, a conflicting reuse of the reference not. */
  requestFingerprint: string;
  /** The API request starting the workflow: its first answer tells a create (201) from a replay (200). */
  createdByRequest?: string;
}

/**
 * One kind of movement. `S` is its workflow's state, `I` its workflow's input, `V` the merchant view
 * the API answers with (and the workflow's webhooks carry).
 */
export interface MovementKindSpec<S extends MovementStateBase, I extends MovementInputFields, V> {
  kind: MovementKind;
  /** Capitalised, for operation ids and summaries (`getPayment`, "Payment 150000 IDR..."). */
  title: string;
  /** The workflow's registered name. */
  workflowType: string;
  /**
   * The movement's path, with `:id` (the `Location` of a create, the GET route); without `/:id`, the
   * collection its list route answers on.
   */
  path: string;
  /** OpenAPI tag of its routes, also the plural of the list route (`listPayouts`, "List payouts"). */
  tag: string;
  stateQuery: QueryDefinition<S>;
  /** Sent with update-with-start: answers once the workflow has its first result. */
  firstAnswer: UpdateDefinition<S, []>;
  /** The status a new workflow starts in, indexed before the workflow publishes its own. */
  initialStatus: S['status'];
  /** True while the first answer is still outstanding (the create answers 202). */
  isPending: (state: S) => boolean;
  /** The merchant view: `merchantViewOf`, checked here against the schema the OpenAPI document shows. */
  view: (state: S) => V;
  viewSchema: z.ZodType<V>;
  /** The workflow's id: the suffix of its workflow id and the provider's order reference. */
  idOf: (input: I) => string;
  /** Search attributes this kind indexes beyond those every movement has. */
  indexed: (input: I) => Pick<MovementIndex, 'method' | 'amount'>;
  /** What the Temporal UI shows as the workflow's summary, before "via <provider> for <merchant>/<reference>". */
  summary: (input: I) => string;
  /** Lines of the workflow's static details between the merchant's reference and the request id. */
  details: (input: I) => string[];
}

/** What a kind declares; its title, workflow type and tag follow from `kind`. */
type DeclaredKind<S extends MovementStateBase, I extends MovementInputFields, V> = Omit<
  MovementKindSpec<S, I, V>,
  'title' | 'workflowType' | 'tag' | 'isPending'
> &
  Partial<Pick<MovementKindSpec<S, I, V>, 'isPending'>>;

/**
 * A kind from its declaration: `payout` → title `Payout`, workflow `payoutWorkflow`, tag `Payouts`;
 * unless it says otherwise, pending while its status is still the initial one.
 */
function movementKind<S extends MovementStateBase, I extends MovementInputFields, V>(
  declared: DeclaredKind<S, I, V>
): MovementKindSpec<S, I, V> {
  const title = `${declared.kind.charAt(0).toUpperCase()}${declared.kind.slice(1)}`;
  return {
    isPending: (state) => state.status === declared.initialStatus,
    ...declared,
    title,
    workflowType: `${declared.kind}Workflow`,
    tag: `${title}s`,
  };
}

export const PAYMENTS = movementKind<PaymentState, PaymentWorkflowInput, PaymentView>({
  kind: 'payment',
  path: '/v1/payments/:id',
  stateQuery: paymentStateQuery,
  firstAnswer: paymentRegisteredUpdate,
  initialStatus: 'REGISTERING',
  view: merchantViewOf,
  viewSchema: PaymentViewSchema,
  idOf: (input) => input.paymentId,
  indexed: (input) => ({ method: input.method, amount: input.amount }),
  summary: (input) => `Payment ${input.amount} IDR by ${input.method}`,
  details: (input) => [
    `amount: ${input.amount} IDR`,
    `method: ${input.method}`,
    `provider: ${input.provider}`,
    `expires in: ${input.expiresInMinutes} min`,
  ],
});

export const PAYOUTS = movementKind<PayoutState, PayoutWorkflowInput, PayoutView>({
  kind: 'payout',
  path: '/v1/payouts/:id',
  stateQuery: payoutStateQuery,
  firstAnswer: payoutSubmittedUpdate,
  initialStatus: 'SUBMITTING',
  view: merchantViewOf,
  viewSchema: PayoutViewSchema,
  idOf: (input) => input.payoutId,
  indexed: (input) => ({ amount: input.amount }),
  summary: (input) => `Payout ${input.amount} IDR to bank ${input.beneficiary.bankCode}`,
  details: (input) => [
    `amount: ${input.amount} IDR (fee: ${input.feeMode})`,
    `bank: ${input.beneficiary.bankCode}`,
    `provider: ${input.provider}`,
  ],
});

export const BILLS = movementKind<BillState, BillWorkflowInput, BillView>({
  kind: 'bill',
  path: '/v1/bills/payments/:id',
  stateQuery: billStateQuery,
  firstAnswer: billInquiredUpdate,
  initialStatus: 'INQUIRED',
  // A bill starts INQUIRED before the inquiry answers: pending shows as INQUIRED without `inquiry`.
  isPending: (state) => state.status === 'INQUIRED' && state.inquiry === undefined,
  view: merchantViewOf,
  viewSchema: BillViewSchema,
  idOf: (input) => input.billId,
  // Open-amount products only: a fixed bill's amount is not known before the inquiry.
  indexed: (input) => ({ amount: input.amount }),
  summary: (input) => `Bill ${input.productCode}`,
  details: (input) => [`product: ${input.productCode}`, `provider: ${input.provider}`],
});

export const REFUNDS = movementKind<RefundState, RefundWorkflowInput, RefundView>({
  kind: 'refund',
  path: '/v1/refunds/:id',
  stateQuery: refundStateQuery,
  firstAnswer: refundSubmittedUpdate,
  initialStatus: 'REQUESTED',
  view: merchantViewOf,
  viewSchema: RefundViewSchema,
  idOf: (input) => input.refundId,
  indexed: (input) => ({ amount: input.amount }),
  summary: (input) => `Refund ${input.amount} IDR of payment ${input.payment.reference}`,
  details: (input) => [
    `amount: ${input.amount} IDR`,
    `payment: ${input.payment.reference}`,
    `provider: ${input.provider}`,
  ],
});

/** The state query of a movement of any kind, for code that learns the kind at run time (callbacks). */
export function stateQueryOf(kind: MovementKind): QueryDefinition<MoneyMovementState> {
  const queries: { [K in MovementKind]: QueryDefinition<MoneyMovementState> } = {
    payment: PAYMENTS.stateQuery,
    payout: PAYOUTS.stateQuery,
    bill: BILLS.stateQuery,
    refund: REFUNDS.stateQuery,
  };
  return queries[kind];
}

/** What Kasir indexes about a workflow (search attributes: no personal data, they are not encrypted). */
export interface MovementIndex {
  /** A movement's kind, or `late_callback` for the record of a late callback (never listed as a movement). */
  kind: MovementKind | 'late_callback';
  status: string;
  provider: ProviderId;
  merchantId: string;
  reference: string;
  method?: string;
  amount?: number;
  /** Defaults to false. */
  needsAttention?: boolean;
}

/** The search attributes of a workflow Kasir starts; the workflows update status and needs-attention themselves. */
export function searchAttributesOf(index: MovementIndex): SearchAttributePair[] {
  return [
    { key: KasirKind, value: index.kind },
    { key: KasirStatus, value: index.status },
    { key: KasirProvider, value: index.provider },
    ...(index.method !== undefined ? [{ key: KasirMethod, value: index.method }] : []),
    { key: KasirMerchant, value: index.merchantId },
    { key: KasirMerchantReference, value: index.reference },
    ...(index.amount !== undefined ? [{ key: KasirAmount, value: index.amount }] : []),
    { key: KasirNeedsAttention, value: index.needsAttention ?? false },
  ];
}

/** A workflow's search attributes read back: what {@link searchAttributesOf} wrote, as the workflow updated it since. */
export function indexOf(attributes: TypedSearchAttributes): {
  [K in keyof MovementIndex]?: K extends 'provider' | 'kind' ? string : MovementIndex[K];
} {
  return {
    kind: attributes.get(KasirKind),
    status: attributes.get(KasirStatus),
    provider: attributes.get(KasirProvider),
    merchantId: attributes.get(KasirMerchant),
    reference: attributes.get(KasirMerchantReference),
    method: attributes.get(KasirMethod),
    amount: attributes.get(KasirAmount),
    needsAttention: attributes.get(KasirNeedsAttention),
  };
}

/** The search attributes a new movement starts with, from its workflow's input. */
export function movementSearchAttributes<S extends MovementStateBase, I extends MovementInputFields>(
  spec: MovementKindSpec<S, I, unknown>,
  input: I
): SearchAttributePair[] {
  return searchAttributesOf({
    kind: spec.kind,
    status: spec.initialStatus,
    provider: input.provider,
    merchantId: input.merchantId,
    reference: input.merchantReference,
    ...spec.indexed(input),
  });
}
