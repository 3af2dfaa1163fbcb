/**
 * lateCallbackWorkflow: the durable record of money a provider reported for a movement whose workflow
 * had already closed without it (after the late-payment window, or after an operator's FAILED). The API
 * starts one per such callback instead of only logging it; it is a separate record, never a restart
 * of the movement (no signal-with-start). It confirms a hint by inquiry, flags itself for operators
 * (`KasirNeedsAttention = true`, `KasirStatus = LATE_CALLBACK`) and tells the merchant.
 */
import { condition, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import type { ProviderCallbackEvent } from '../src/domain/callback';
import { providerInquiry } from './activity-options';
import { activityFailureOf, nowIso } from './common';
import { lateCallbackStateQuery } from './messages';
import type { Outbox } from './common';
import { merchantOutbox } from './movement';
import { KasirNeedsAttention, KasirStatus } from './search-attributes';
import type { WorkflowTimings } from './timings';
import type { MoneyMovementState } from './types';

export interface LateCallbackInput {
  /** The closed movement's last state, read by query when the callback arrived. */
  movement: MoneyMovementState;
  /** The provider's callback, as verified and parsed by the API. */
  callback: ProviderCallbackEvent;
  timings: WorkflowTimings;
}

export interface LateCallbackState {
  movementId: string;
  kind: MoneyMovementState['kind'];
  merchantId: string;
  closedStatus: string;
  providerReports: string;
  /** `verified` (signed body), `confirmed` (an inquiry agreed), `unconfirmed` (a hint the provider did not confirm). */
  evidence: 'verified' | 'confirmed' | 'unconfirmed';
  receivedAt: string;
  recordedAt: string;
}

const inquiries = proxyActivities<KasirActivities>(providerInquiry);

const EVENT_TYPE: Record<MoneyMovementState['kind'], string> = {
  payment: 'payment.late_payment',
  payout: 'payout.paid_after_failure',
  bill: 'bill.paid_after_failure',
};

export async function lateCallbackWorkflow(input: LateCallbackInput): Promise<LateCallbackState> {
  const { movement, callback } = input;
  const state: LateCallbackState = {
    movementId: movement.id,
    kind: movement.kind,
    merchantId: movement.merchantId,
    closedStatus: movement.status,
    providerReports: 'providerStatus' in callback.outcome ? callback.outcome.providerStatus : callback.outcome.providerCode,
    evidence: callback.trust === 'verified' ? 'verified' : 'unconfirmed',
    receivedAt: callback.receivedAt,
    recordedAt: nowIso(),
  };
  setHandler(lateCallbackStateQuery, () => state);
  upsertSearchAttributes([
    { key: KasirStatus, value: 'LATE_CALLBACK' },
    { key: KasirNeedsAttention, value: true },
  ]);
  if (state.evidence === 'unconfirmed' && (await confirmedByProvider(movement))) state.evidence = 'confirmed';
  if (state.evidence === 'unconfirmed') return state; // an operator still sees it; the merchant is not told of a rumour

  const outbox = merchantOutbox(input.timings);
  const running = outbox.run();
  outbox.emit(EVENT_TYPE[movement.kind], {
    ...movement,
    needsAttention: true,
    attentionReason: `LATE_CALLBACK: ${movement.provider} reports ${state.providerReports} after Kasir closed this ${movement.kind} ${movement.status} (record ${workflowInfo().workflowId})`,
  });
  await Promise.race([running, waitDrained(outbox)]);
  return state;
}

async function waitDrained(outbox: Outbox): Promise<void> {
  await condition(() => outbox.drained());
}

async function confirmedByProvider(movement: MoneyMovementState): Promise<boolean> {
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
        return outcome.status === 'succeeded';
      }
      case 'payout':
        return (await inquiries.inquirePayout(movement.provider, { reference: movement.id, providerReference: movement.providerReference })).status === 'succeeded';
      case 'bill':
        return (await inquiries.billStatus(movement.provider, movement.id)).status === 'succeeded';
    }
  } catch (err) {
    if (activityFailureOf(err)) return false;
    throw err;
  }
}
