/**
 * The ceiling: the smallest workflow with the shape of a Kasir payment, for the benchmark to compare
 * against. Update-with-start whose update returns after one local activity (the provider's
 * registration), one more local activity (the merchant's "pending" webhook), a wait for one signal (the
 * provider's callback), one local activity (the "succeeded" webhook), completion. No timers, no search
 * attributes, no queries, no patches, default data converter.
 */
import { condition, defineSignal, defineUpdate, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { CeilingActivities } from './activities';

const { ceilingStep } = proxyLocalActivities<CeilingActivities>({ startToCloseTimeout: '10s' });

/** Answers with the "instructions" once the first local activity returned them. */
export const ceilingRegisteredUpdate = defineUpdate<string>('ceilingRegistered');
/** The "provider callback". */
export const ceilingPaidSignal = defineSignal<[string]>('ceilingPaid');

export async function ceilingWorkflow(id: string): Promise<string> {
  let instructions: string | undefined = undefined;
  let paid: string | undefined;
  setHandler(ceilingRegisteredUpdate, async () => {
    await condition(() => instructions !== undefined);
    return instructions!;
  });
  setHandler(ceilingPaidSignal, (event) => {
    paid = event;
  });
  instructions = await ceilingStep('register', id);
  await ceilingStep('pending', id);
  await condition(() => paid !== undefined);
  await ceilingStep('settled', id);
  return 'SUCCEEDED';
}
