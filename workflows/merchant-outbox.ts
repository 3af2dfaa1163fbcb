/** Merchant webhooks: the outbox each workflow run delivers from, in order, with durable retries. */
import { condition, patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import { merchantViewOf } from '../src/domain/merchant-view';
import type { MerchantView } from '../src/domain/merchant-view';
import { localWebhookDelivery, webhookDelivery } from './activity-options';
import { LOCAL_ACTIVITIES } from './patches';
import { nowIso } from './status-and-timeline';
import type { WebhookTimings } from './timings';
import type { MerchantEvent, MoneyMovementState, OutboxState } from './movement-state';

/**
 * Merchant webhooks, delivered in order by a background loop with durable retries. Event ids are
 * `<workflowId>:<seq>` unless the workflow names them otherwise, stable across retries, so merchants
 * can deduplicate.
 */
export class Outbox {
  private readonly pending: MerchantEvent[];
  private nextSeq: number;
  private readonly deliver: KasirActivities['deliverMerchantWebhook'];
  private readonly eventIdOf: (seq: number) => string;

  constructor(
    deliver: KasirActivities['deliverMerchantWebhook'],
    carried?: OutboxState,
    eventIdOf: (seq: number) => string = (seq) => `${workflowInfo().workflowId}:${seq}`
  ) {
    this.pending = carried ? [...carried.pending] : [];
    this.nextSeq = carried?.nextSeq ?? 1;
    this.deliver = deliver;
    this.eventIdOf = eventIdOf;
  }

  emit(type: string, state: MoneyMovementState): void {
    this.pending.push({
      id: this.eventIdOf(this.nextSeq++),
      type,
      merchantId: state.merchantId,
      createdAt: nowIso(),
      data: merchantView(state),
    });
  }

  /** Runs for the life of the workflow run; never returns. */
  async run(): Promise<never> {
    for (;;) {
      await condition(() => this.pending.length > 0);
      const event = this.pending[0]!;
      await this.deliver(event);
      this.pending.shift();
    }
  }

  drained(): boolean {
    return this.pending.length === 0;
  }

  snapshot(): OutboxState {
    return { pending: [...this.pending], nextSeq: this.nextSeq };
  }
}

/** The outbox of the frozen workflows in `legacy/`: local-activity delivery behind its patch. */
export function legacyOutbox(timings: WebhookTimings, carried?: OutboxState): Outbox {
  const deliver = patched(LOCAL_ACTIVITIES)
    ? proxyLocalActivities<KasirActivities>(localWebhookDelivery(timings)).deliverMerchantWebhook
    : proxyActivities<KasirActivities>(webhookDelivery(timings)).deliverMerchantWebhook;
  return new Outbox(deliver, carried);
}

/**
 * What a merchant may see of a state: the one merchant view the API's GET uses too
 * (src/domain/merchant-view.ts), copied, since the outbox keeps the event while the state changes.
 */
function merchantView(state: MoneyMovementState): MerchantView<MoneyMovementState> {
  return JSON.parse(JSON.stringify(merchantViewOf(state))) as MerchantView<MoneyMovementState>;
}
