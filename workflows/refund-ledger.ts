/**
 * refundLedgerWorkflow: a paid payment's refunds, held together so they never return more than was
 * paid. One per payment (`payment:<id>:refunds`), started by the first refund request
 * (update-with-start). Each request is an update whose validator, run one at a time by Temporal,
 * refuses an amount above what remains, counting refunds still in flight; an accepted one is reserved
 * and its refund workflow (`refund:<id>`) started as a child that outlives the ledger. A FAILED refund
 * frees its amount when it tells the ledger. The ledger stays open for the refund window, continuing
 * as new to keep its history small.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  ParentClosePolicy,
  setHandler,
  startChild,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { SearchAttributePair } from '@temporalio/common';
import type { Rupiah } from '../src/domain/money';
import type { PaymentRef } from '../src/domain/payment';
import type { ProviderId } from '../src/domain/provider';
import { refundLedgerQuery, refundSettledSignal, requestRefundUpdate } from './messages';
import type { RefundWorkflowInput } from './movement-state';
import { DEFAULT_TIMINGS } from './timings';
import type { WorkflowTimings } from './timings';

export interface RefundLedgerInput {
  paymentId: string;
  merchantId: string;
  provider: ProviderId;
  payment: PaymentRef;
  /** What the customer paid: the most all refunds together may return. */
  paidAmount: Rupiah;
  timings: WorkflowTimings;
  /** Carried across continue-as-new. */
  resume?: { state: RefundLedgerState };
}

export type LedgerEntryStatus = 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED';

export interface RefundLedgerEntry {
  refundId: string;
  merchantReference: string;
  amount: Rupiah;
  requestFingerprint: string;
  status: LedgerEntryStatus;
  requestedAt: string;
  /** Its refund workflow exists (started by this ledger, or by a run of it a reset replaced). */
  started?: boolean;
}

export interface RefundLedgerState {
  paymentId: string;
  merchantId: string;
  paidAmount: Rupiah;
  /** Returned for good (SUCCEEDED refunds). */
  refundedAmount: Rupiah;
  /** Returned or still in flight: what no new refund may take. */
  reservedAmount: Rupiah;
  refunds: RefundLedgerEntry[];
  /** After this instant (epoch ms) no new refund is accepted and the ledger closes. */
  openUntil: number;
}

/** A refund request, as the API builds it: the refund's own workflow input and how it is indexed and shown. */
export interface RefundRequest {
  refund: Omit<RefundWorkflowInput, 'ledgerWorkflowId' | 'refundedBefore' | 'resume'>;
  /** The refund workflow's search attributes (no personal data: they are not encrypted). */
  searchAttributes: SearchAttributePair[];
  /** What the Temporal UI shows for the refund workflow. */
  summary: string;
  details: string;
}

/** History events after which the ledger continues as new. */
const LEDGER_EVENTS_PER_RUN = 1_000;

/** The type of the failure an update is refused with, so the API can answer 409/422 with the reason. */
export const REFUND_REFUSED = 'RefundRefused';

/**
 * Why a refund was refused, the refusal's first detail: the API answers by it, never by the message's
 * words (a merchant's reference is part of the message). Ledgers on a worker from before these reasons
 * give none: the API then answers `refund_refused`.
 */
export type RefundRefusalReason =
  'reference_reused' | 'other_merchant' | 'window_over' | 'invalid_amount' | 'exceeds_refundable';

export async function refundLedgerWorkflow(input: RefundLedgerInput): Promise<RefundLedgerState> {
  const windowMs = input.timings.refund?.windowMs ?? DEFAULT_TIMINGS.refund!.windowMs!;
  const state: RefundLedgerState = input.resume?.state ?? {
    paymentId: input.paymentId,
    merchantId: input.merchantId,
    paidAmount: input.paidAmount,
    refundedAmount: 0,
    reservedAmount: 0,
    refunds: [],
    openUntil: Date.now() + windowMs,
  };

  setHandler(refundLedgerQuery, () => state);

  setHandler(refundSettledSignal, ({ refundId, status }) => {
    const entry = state.refunds.find((r) => r.refundId === refundId);
    if (!entry || entry.status !== 'IN_FLIGHT') return;
    entry.status = status;
    if (status === 'SUCCEEDED') state.refundedAmount += entry.amount;
    else state.reservedAmount -= entry.amount;
  });

  setHandler(
    requestRefundUpdate,
    async ({ refund, searchAttributes, summary, details }) => {
      const existing = state.refunds.find((r) => r.refundId === refund.refundId);
      if (existing) {
        // The same request again: answer once its refund workflow exists, so the caller can read it.
        await condition(() => existing.started === true);
        return state;
      }
      const entry: RefundLedgerEntry = {
        refundId: refund.refundId,
        merchantReference: refund.merchantReference,
        amount: refund.amount,
        requestFingerprint: refund.requestFingerprint,
        status: 'IN_FLIGHT',
        requestedAt: new Date(Date.now()).toISOString(),
      };
      state.refunds.push(entry);
      state.reservedAmount += refund.amount;
      try {
        await startChild('refundWorkflow', {
          workflowId: `refund:${refund.refundId}`,
          args: [{ ...refund, refundedBefore: state.refundedAmount, ledgerWorkflowId: workflowInfo().workflowId }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: searchAttributes,
          staticSummary: summary,
          staticDetails: details,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
          // Not started: nothing can refund this, so nothing stays reserved for it.
          state.refunds = state.refunds.filter((r) => r !== entry);
          state.reservedAmount -= refund.amount;
          throw err;
        }
        // Refund ids are derived from the payment and the merchant's reference, so a refund with this id
        // is one of this payment's: this ledger started it in a run a reset replaced (the reset replays
        // this update). It stays reserved; its outcome arrives by signal as before.
      }
      entry.started = true;
      return state;
    },
    {
      validator: ({ refund }: RefundRequest) => {
        const refuse = (reason: RefundRefusalReason, message: string): never => {
          throw ApplicationFailure.create({ type: REFUND_REFUSED, message, nonRetryable: true, details: [reason] });
        };
        const same = state.refunds.find((r) => r.refundId === refund.refundId);
        if (same) {
          if (same.requestFingerprint !== refund.requestFingerprint) {
            refuse(
              'reference_reused',
              `reference ${refund.merchantReference} was already used for another refund of this payment`
            );
          }
          return;
        }
        if (refund.merchantId !== state.merchantId) refuse('other_merchant', 'the payment belongs to another merchant');
        if (Date.now() >= state.openUntil) refuse('window_over', 'the refund window of this payment is over');
        if (!Number.isInteger(refund.amount) || refund.amount <= 0)
          refuse('invalid_amount', 'amount must be a positive whole rupiah amount');
        const remaining = state.paidAmount - state.reservedAmount;
        if (refund.amount > remaining) {
          refuse(
            'exceeds_refundable',
            `amount ${refund.amount} is more than what remains refundable (${remaining} of ${state.paidAmount}; refunds in flight count)`
          );
        }
      },
    }
  );

  // Open for the refund window; continues as new (once no update is mid-flight) to keep history small.
  for (;;) {
    const due = () => workflowInfo().historyLength >= LEDGER_EVENTS_PER_RUN || workflowInfo().continueAsNewSuggested;
    await condition(due, Math.max(1, state.openUntil - Date.now()));
    await condition(allHandlersFinished);
    if (Date.now() >= state.openUntil && !state.refunds.some((r) => r.status === 'IN_FLIGHT')) return state;
    if (due()) {
      await continueAsNew<typeof refundLedgerWorkflow>({ ...input, resume: { state } });
    }
    if (Date.now() >= state.openUntil) {
      // Refunds still in flight tell the ledger their outcome before it closes.
      await condition(() => !state.refunds.some((r) => r.status === 'IN_FLIGHT') || due());
    }
  }
}
