/**
 * lateCallbackWorkflow: the durable record of money a provider reported for a movement whose workflow
 * had already closed without it (after the late-payment window, or after an operator's FAILED). The API
 * starts one per movement (`<movement workflow id>:late`) instead of only logging the callback; it is a
 * separate record, never a restart of the movement (no signal-with-start).
 *
 * A verified callback is believed at once; a hint is confirmed by the provider's status, asked again on
 * a durable backoff while the provider cannot answer. Once the money is confirmed the record flags
 * itself for operators (`KasirNeedsAttention = true`, `KasirStatus = LATE_CALLBACK`) and sends the
 * merchant one event carrying the corrected status (SUCCEEDED, or AMOUNT_MISMATCH) and amount; the API
 * shows the same correction on the movement's GET.
 */
import { condition, proxyActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import type { Rupiah } from '../src/domain/money';
import { providerInquiry } from './activity-options';
import { activityFailureOf, nowIso } from './common';
import { lateCallbackStateQuery } from './messages';
import { merchantOutbox } from './movement';
import { KasirNeedsAttention, KasirStatus } from './search-attributes';
import { nextDelay } from './timings';
import type { WorkflowTimings } from './timings';
import type { MoneyMovementState } from './types';

export interface LateCallbackInput {
  /** The closed movement's last state, read by query when the callback arrived. */
  movement: MoneyMovementState;
  /** The provider's callback, as verified and parsed by the API. */
  callback: ProviderCallbackEvent;
  timings: WorkflowTimings;
}

/** `KasirStatus` of a record: confirmed money, a hint still being checked, or a hint the provider denied. */
export type LateCallbackStatus = 'LATE_CALLBACK' | 'LATE_CALLBACK_UNCONFIRMED' | 'LATE_CALLBACK_DENIED';

export interface LateCallbackState {
  status: LateCallbackStatus;
  movementId: string;
  kind: MoneyMovementState['kind'];
  merchantId: string;
  /** What the movement closed as, and what it is now known to be. */
  closedStatus: string;
  correctedStatus?: 'SUCCEEDED' | 'AMOUNT_MISMATCH';
  paidAmount?: Rupiah;
  providerReports: string;
  /** `verified` (signed body), `confirmed` (the provider's status agreed), `unconfirmed` (not yet, or denied). */
  evidence: 'verified' | 'confirmed' | 'unconfirmed';
  receivedAt: string;
  recordedAt: string;
  attentionReason?: string;
}

const inquiries = proxyActivities<KasirActivities>(providerInquiry);

const EVENT_TYPE: Record<MoneyMovementState['kind'], string> = {
  payment: 'payment.late_payment',
  payout: 'payout.paid_after_failure',
  bill: 'bill.paid_after_failure',
};

interface Confirmation {
  succeeded: boolean;
  amount?: Rupiah;
}

export async function lateCallbackWorkflow(input: LateCallbackInput): Promise<LateCallbackState> {
  const { movement, callback } = input;
  const state: LateCallbackState = {
    status: 'LATE_CALLBACK_UNCONFIRMED',
    movementId: movement.id,
    kind: movement.kind,
    merchantId: movement.merchantId,
    closedStatus: movement.status,
    providerReports: 'providerStatus' in callback.outcome ? callback.outcome.providerStatus : callback.outcome.providerCode,
    evidence: 'unconfirmed',
    receivedAt: callback.receivedAt,
    recordedAt: nowIso(),
  };
  setHandler(lateCallbackStateQuery, () => state);

  let amount: Rupiah | undefined;
  if (callback.trust === 'verified') {
    state.evidence = 'verified';
    amount = amountOf(callback);
  } else {
    const confirmation = await confirmWithProvider(movement, input.timings);
    if (!confirmation.succeeded) {
      state.status = 'LATE_CALLBACK_DENIED';
      upsertSearchAttributes([{ key: KasirStatus, value: state.status }]);
      return state; // the provider denies it: a rumour, not money; the record stays for operators
    }
    state.evidence = 'confirmed';
    amount = confirmation.amount;
  }

  const due = movement.kind === 'bill' ? movement.inquiry?.amount : movement.amount;
  state.paidAmount = amount ?? due;
  state.correctedStatus = amount !== undefined && due !== undefined && amount !== due ? 'AMOUNT_MISMATCH' : 'SUCCEEDED';
  state.status = 'LATE_CALLBACK';
  state.attentionReason =
    `LATE_CALLBACK: ${movement.provider} reports ${state.providerReports} (${state.evidence}) after Kasir closed this ` +
    `${movement.kind} ${movement.status}; it is ${state.correctedStatus}`;
  upsertSearchAttributes([
    { key: KasirStatus, value: state.status },
    { key: KasirNeedsAttention, value: true },
  ]);

  const outbox = merchantOutbox(input.timings);
  const delivering = outbox.run();
  const corrected = {
    ...movement,
    status: state.correctedStatus,
    needsAttention: true,
    attentionReason: state.attentionReason,
    ...(movement.kind === 'payment' ? { paidAmount: state.paidAmount, paidAt: callback.receivedAt } : {}),
  } as MoneyMovementState;
  outbox.emit(EVENT_TYPE[movement.kind], corrected);
  await Promise.race([delivering, condition(() => outbox.drained())]);
  return state;
}

function amountOf(callback: ProviderCallbackEvent): Rupiah | undefined {
  switch (callback.kind) {
    case 'payment':
      return callback.outcome.paidAmount;
    case 'payout':
    case 'bill':
      return callback.outcome.amount;
  }
}

/**
 * Asks the provider until it answers: a provider that is down must not turn real money into an
 * unconfirmed rumour. Gives up only after the payment late window, still recorded for operators.
 */
async function confirmWithProvider(movement: MoneyMovementState, timings: WorkflowTimings): Promise<Confirmation> {
  const giveUpAt = Date.now() + timings.payment.lateWindowMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await askProvider(movement);
    } catch (err) {
      if (!activityFailureOf(err) || Date.now() >= giveUpAt) {
        if (activityFailureOf(err)) return { succeeded: false };
        throw err;
      }
    }
    await sleep(nextDelay(timings.payment.latePoll, attempt));
  }
}

async function askProvider(movement: MoneyMovementState): Promise<Confirmation> {
  switch (movement.kind) {
    case 'payment': {
      const outcome = await inquiries.inquirePayment(movement.provider, {
        reference: movement.id,
        providerReference: movement.providerReference,
        amount: movement.amount,
        method: movement.method,
        createdAt: movement.createdAt,
      });
      return { succeeded: outcome.status === 'succeeded', amount: outcome.paidAmount };
    }
    case 'payout': {
      const outcome = await inquiries.inquirePayout(movement.provider, {
        reference: movement.id,
        providerReference: movement.providerReference,
      });
      return { succeeded: outcome.status === 'succeeded', amount: outcome.amount };
    }
    case 'bill': {
      const outcome = await inquiries.billStatus(movement.provider, movement.id);
      return { succeeded: outcome.status === 'succeeded', amount: outcome.amount };
    }
  }
}
