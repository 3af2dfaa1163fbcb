/**
 * lateCallbackWorkflow: the durable record of money a provider reported for a movement whose workflow
 * had already closed without it (after the late-payment window, or after an operator's FAILED). The API
 * starts one per movement (`<movement workflow id>:late`) instead of only logging the callback; it is a
 * separate record, never a restart of the movement (no signal-with-start).
 *
 * A verified callback is believed as the live workflow would believe it; anything else is confirmed by
 * the provider's status, asked again on a durable backoff while the provider is down or still
 * processing. Later callbacks for the movement are signalled into the running record. Once the money is confirmed the record flags
 * itself for operators (`KasirNeedsAttention = true`, `KasirStatus = LATE_CALLBACK`) and sends the
 * merchant one event carrying the corrected status (SUCCEEDED, or AMOUNT_MISMATCH) and amount; the API
 * shows the same correction on the movement's GET.
 */
import {
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import { lateCorrected } from '../src/domain/late-correction';
import type { Rupiah } from '../src/domain/money';
import { providerInquiry } from './activity-options';
import { activityFailureOf } from './activity-options';
import { LATE_RECORD_READS_EVERY_CALLBACK } from './patches';
import { inForce, readPatches } from './patches-in-force';
import { nowIso } from './status-and-timeline';
import { lateCallbackStateQuery, providerCallbackSignal } from './messages';
import { merchantOutbox } from './movement';
import { KasirNeedsAttention, KasirStatus } from './search-attributes';
import { nextDelay } from './timings';
import type { WorkflowTimings } from './timings';
import type { CalledBackMovementState as MoneyMovementState } from './movement-state';

export interface LateCallbackInput {
  /** The closed movement's last state, read by query when the callback arrived. */
  movement: MoneyMovementState;
  /** The provider's callback, as verified and parsed by the API. */
  callback: ProviderCallbackEvent;
  timings: WorkflowTimings;
  /** Carried across continue-as-new (`inbox`: callbacks not yet read; absent in runs recorded before it). */
  resume?: { state: LateCallbackState; attempt: number; giveUpAt: number; inbox?: ProviderCallbackEvent[] };
}

/**
 * `KasirStatus` of a record: confirmed money; a report still being checked; a report the provider's
 * final word denies; or one the provider never answered for within the window (flagged for operators).
 */
export type LateCallbackStatus =
  'LATE_CALLBACK' | 'LATE_CALLBACK_UNCONFIRMED' | 'LATE_CALLBACK_DENIED' | 'LATE_CALLBACK_UNRESOLVED';

export interface LateCallbackState {
  status: LateCallbackStatus;
  movementId: string;
  kind: MoneyMovementState['kind'];
  merchantId: string;
  /** The movement this record is about: its creation instant, so a re-created movement is not confused with it. */
  movementCreatedAt: string;
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

/** History events after which a record continues as new (fixed: recorded histories replay by it). */
const LATE_RECORD_EVENTS_PER_RUN = 2_000;

/** The provider's answer: money moved, a final word that it did not, or not yet known. */
type ProviderWord = { answer: 'succeeded'; amount?: Rupiah } | { answer: 'denied' } | { answer: 'pending' };

export async function lateCallbackWorkflow(input: LateCallbackInput): Promise<LateCallbackState> {
  readPatches();
  const { callback } = input;
  const movement = asHeldBy(input.movement, callback.provider);
  const state: LateCallbackState = input.resume?.state ?? {
    status: 'LATE_CALLBACK_UNCONFIRMED',
    movementId: movement.id,
    kind: movement.kind,
    merchantId: movement.merchantId,
    movementCreatedAt: movement.createdAt,
    closedStatus: movement.status,
    providerReports: providerStatusOf(callback),
    evidence: 'unconfirmed',
    receivedAt: callback.receivedAt,
    recordedAt: nowIso(),
  };
  const inbox: ProviderCallbackEvent[] = input.resume ? [...(input.resume.inbox ?? [])] : [callback];
  setHandler(lateCallbackStateQuery, () => state);
  setHandler(providerCallbackSignal, (event) => void inbox.push(event));

  const unread = () => inbox.length > 0 && inForce(LATE_RECORD_READS_EVERY_CALLBACK);
  const giveUpAt = input.resume?.giveUpAt ?? Date.now() + input.timings.payment.lateWindowMs;
  const handOver = (attempt: number) =>
    continueAsNew<typeof lateCallbackWorkflow>({ ...input, resume: { state, attempt, giveUpAt, inbox: [...inbox] } });
  let amount: Rupiah | undefined;
  let believed = false;
  for (let attempt = input.resume?.attempt ?? 0; !believed; attempt++) {
    // A verified callback is believed only as the live workflow would believe it: this movement's
    // provider and provider reference, with an amount. Anything else is checked with the provider.
    for (const event of inbox.splice(0)) {
      if (believable(event, movement)) {
        state.evidence = 'verified';
        state.providerReports = providerStatusOf(event);
        amount = amountOf(event);
        believed = true;
      }
    }
    if (believed) break;
    const word = await askProvider(movement);
    if (word.answer === 'succeeded') {
      state.evidence = 'confirmed';
      amount = word.amount;
      believed = true;
      break;
    }
    // A callback that arrived while the provider was asked is read before anything else (patched): the
    // record never closes on the provider's answer with a callback it has not read. Callbacks that keep
    // coming still hand over once the run is full, carried in the inbox.
    if (unread()) {
      if (workflowInfo().historyLength > LATE_RECORD_EVENTS_PER_RUN) await handOver(attempt + 1);
      continue;
    }
    if (word.answer === 'denied') {
      state.status = 'LATE_CALLBACK_DENIED';
      upsertSearchAttributes([{ key: KasirStatus, value: state.status }]);
      return state; // the provider's final word: a rumour, not money; the record stays for operators
    }
    if (Date.now() >= giveUpAt) {
      state.status = 'LATE_CALLBACK_UNRESOLVED';
      state.attentionReason = `LATE_CALLBACK_UNRESOLVED: ${movement.provider} reported money for this closed ${movement.kind} and never confirmed or denied it`;
      upsertSearchAttributes([
        { key: KasirStatus, value: state.status },
        { key: KasirNeedsAttention, value: true },
      ]);
      return state;
    }
    await condition(
      () => inbox.length > 0,
      Math.max(1, Math.min(giveUpAt - Date.now(), nextDelay(input.timings.payment.latePoll, attempt)))
    );
    // Due, the record hands over even when a callback woke it: the callback is carried.
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > LATE_RECORD_EVENTS_PER_RUN) await handOver(attempt + 1);
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
  const corrected = lateCorrected(movement, {
    ...state,
    kind: movement.kind,
    correctedStatus: state.correctedStatus,
  }) as MoneyMovementState;
  outbox.emit(EVENT_TYPE[movement.kind], corrected);
  await Promise.race([delivering, condition(() => outbox.drained())]);
  return state;
}

/**
 * The movement as the calling provider would hold it: a payment that failed over from that provider
 * (routing) is believed and asked there, never at the provider it moved to, so money left behind at a
 * provider the payment left is recorded, not denied.
 */
function asHeldBy(movement: MoneyMovementState, provider: ProviderCallbackEvent['provider']): MoneyMovementState {
  if (movement.kind !== 'payment' || movement.provider === provider) return movement;
  if (!movement.routing?.tried.some((t) => t.provider === provider)) return movement;
  return { ...movement, provider, providerReference: undefined };
}

function providerStatusOf(callback: ProviderCallbackEvent): string {
  return 'providerStatus' in callback.outcome ? callback.outcome.providerStatus : callback.outcome.providerCode;
}

function believable(event: ProviderCallbackEvent, movement: MoneyMovementState): boolean {
  if (event.trust !== 'verified' || event.kind !== movement.kind || event.reference !== movement.id) return false;
  if (event.provider !== movement.provider || event.outcome.status !== 'succeeded') return false;
  const reference = 'providerReference' in event.outcome ? event.outcome.providerReference : undefined;
  const known = 'providerReference' in movement ? movement.providerReference : undefined;
  if (reference && known && reference !== known) return false;
  return amountOf(event) !== undefined;
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

/** The provider's word on the movement; an activity failure (the provider is down) is "not yet". */
async function askProvider(movement: MoneyMovementState): Promise<ProviderWord> {
  try {
    switch (movement.kind) {
      case 'payment': {
        const outcome = await inquiries.inquirePayment(movement.provider, {
          reference: movement.id,
          providerReference: movement.providerReference,
          amount: movement.amount,
          method: movement.method,
          createdAt: movement.createdAt,
        });
        if (outcome.status === 'succeeded') return { answer: 'succeeded', amount: outcome.paidAmount };
        return outcome.status === 'pending' ? { answer: 'pending' } : { answer: 'denied' };
      }
      case 'payout': {
        const outcome = await inquiries.inquirePayout(movement.provider, {
          reference: movement.id,
          providerReference: movement.providerReference,
        });
        if (outcome.status === 'succeeded') return { answer: 'succeeded', amount: outcome.amount };
        return outcome.status === 'processing' ? { answer: 'pending' } : { answer: 'denied' };
      }
      case 'bill': {
        const outcome = await inquiries.billStatus(movement.provider, movement.id);
        if (outcome.status === 'succeeded') return { answer: 'succeeded', amount: outcome.amount };
        return outcome.status === 'processing' ? { answer: 'pending' } : { answer: 'denied' };
      }
    }
  } catch (err) {
    if (activityFailureOf(err)) return { answer: 'pending' };
    throw err;
  }
}
