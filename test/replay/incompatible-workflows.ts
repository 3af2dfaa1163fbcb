/**
 * A deliberately incompatible edit of paymentWorkflow, used only to prove the replay test catches
 * such changes: it asks for the status before registering, which no committed history did.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { KasirActivities } from '../../activities';
import type { PaymentWorkflowInput } from '../../workflows/movement-state';

const activities = proxyActivities<KasirActivities>({ startToCloseTimeout: '30 seconds' });

export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<void> {
  await activities.inquirePayment(input.provider, {
    reference: input.paymentId,
    amount: input.amount,
    method: input.method,
    createdAt: new Date(0).toISOString(),
  });
}
