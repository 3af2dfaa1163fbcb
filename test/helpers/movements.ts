/** Starts Kasir workflows the way the API does (update-with-start), for workflow-level tests. */
import { randomBytes } from 'node:crypto';
import { WithStartWorkflowOperation } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { deriveId, requestFingerprint, workflowIdOf } from '../../src/ids';
import type { ProviderCallbackEvent } from '../../src/domain/callback';
import type { PaymentMethod } from '../../src/domain/payment';
import type { ProviderId } from '../../src/domain/provider';
import {
  billInquiredUpdate,
  billStateQuery,
  paymentRegisteredUpdate,
  paymentStateQuery,
  payoutStateQuery,
  payoutSubmittedUpdate,
} from '../../workflows/messages';
import type { QueryDefinition } from '@temporalio/common';
import { eventually } from './eventually';
import type { billWorkflow, payoutWorkflow } from '../../workflows';
import { paymentWorkflow } from '../../workflows';
import type { BillState, PaymentRoutingInput, PaymentState, PayoutState } from '../../workflows/movement-state';
import type { TestStack } from './stack';

export function uniqueReference(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export async function startPayment(
  stack: TestStack,
  options: {
    provider: ProviderId;
    method: PaymentMethod;
    amount?: number;
    expiresInMinutes?: number;
    reference?: string;
    merchantId?: string;
    /** The routing decision the API would put in the input (src/routing). */
    routing?: PaymentRoutingInput;
  }
): Promise<{ state: PaymentState; handle: WorkflowHandle<typeof paymentWorkflow> }> {
  const merchantId = options.merchantId ?? stack.merchants[0]!.id;
  const merchantReference = options.reference ?? uniqueReference('order');
  const paymentId = deriveId('payment', merchantId, merchantReference);
  const { routing, ...fingerprinted } = options;
  const body = { merchantReference, ...fingerprinted };
  const operation = new WithStartWorkflowOperation(paymentWorkflow, {
    workflowId: workflowIdOf('payment', paymentId),
    taskQueue: stack.config.temporal.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [
      {
        paymentId,
        merchantId,
        merchantReference,
        provider: options.provider,
        method: options.method,
        amount: options.amount ?? 150_000,
        customer: { name: 'Budi Santoso', email: 'budi@example.com', phone: '081286288844' },
        description: `Order ${merchantReference}`,
        expiresInMinutes: options.expiresInMinutes ?? 60,
        callbackUrl: `${stack.config.api.publicUrl}/callbacks/${options.provider}`,
        requestFingerprint: requestFingerprint(body),
        timings: stack.config.timings,
        ...(routing ? { routing } : {}),
      },
    ],
  });
  const first = await stack.client.workflow.executeUpdateWithStart(paymentRegisteredUpdate, {
    startWorkflowOperation: operation,
  });
  const handle = await operation.workflowHandle();
  return {
    state: await beyondFirstAnswer(handle, paymentStateQuery, first, (s) => s.status === 'REGISTERING'),
    handle,
  };
}

export async function startPayout(
  stack: TestStack,
  options: { amount?: number; accountNumber?: string; reference?: string }
): Promise<{ state: PayoutState; handle: WorkflowHandle<typeof payoutWorkflow> }> {
  const merchantId = stack.merchants[0]!.id;
  const merchantReference = options.reference ?? uniqueReference('payout');
  const payoutId = deriveId('payout', merchantId, merchantReference);
  const operation = new WithStartWorkflowOperation<typeof payoutWorkflow>('payoutWorkflow', {
    workflowId: workflowIdOf('payout', payoutId),
    taskQueue: stack.config.temporal.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [
      {
        payoutId,
        merchantId,
        merchantReference,
        provider: 'bdpay',
        amount: options.amount ?? 250_000,
        feeMode: 'merchant',
        beneficiary: {
          bankCode: 'BCA',
          accountNumber: options.accountNumber ?? '1234567890',
          accountName: 'Siti Aminah',
        },
        description: 'Supplier payment',
        callbackUrl: `${stack.config.api.publicUrl}/callbacks/bdpay`,
        requestFingerprint: requestFingerprint({ merchantReference, ...options }),
        timings: stack.config.timings,
      },
    ],
  });
  const first = await stack.client.workflow.executeUpdateWithStart(payoutSubmittedUpdate, {
    startWorkflowOperation: operation,
  });
  const handle = await operation.workflowHandle();
  return { state: await beyondFirstAnswer(handle, payoutStateQuery, first, (s) => s.status === 'SUBMITTING'), handle };
}

export async function startBill(
  stack: TestStack,
  options: { productCode: string; accountNumber: string; amount?: number; reference?: string }
): Promise<{ state: BillState; handle: WorkflowHandle<typeof billWorkflow> }> {
  const merchantId = stack.merchants[0]!.id;
  const merchantReference = options.reference ?? uniqueReference('bill');
  const billId = deriveId('bill', merchantId, merchantReference);
  const operation = new WithStartWorkflowOperation<typeof billWorkflow>('billWorkflow', {
    workflowId: workflowIdOf('bill', billId),
    taskQueue: stack.config.temporal.taskQueue,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [
      {
        billId,
        merchantId,
        merchantReference,
        provider: 'ayopop',
        productCode: options.productCode,
        accountNumber: options.accountNumber,
        amount: options.amount,
        callbackUrl: `${stack.config.api.publicUrl}/callbacks/ayopop`,
        requestFingerprint: requestFingerprint({ merchantReference, ...options }),
        timings: stack.config.timings,
      },
    ],
  });
  const first = await stack.client.workflow.executeUpdateWithStart(billInquiredUpdate, {
    startWorkflowOperation: operation,
  });
  const handle = await operation.workflowHandle();
  return {
    state: await beyondFirstAnswer(
      handle,
      billStateQuery,
      first,
      (s) => s.status === 'INQUIRED' && s.inquiry === undefined
    ),
    handle,
  };
}

/**
 * The movement once the provider has given its first answer. The first-answer update answers within
 * a bound even when the provider has not (the API then says 202); tests that need the answer read on.
 */
async function beyondFirstAnswer<S>(
  handle: WorkflowHandle,
  query: QueryDefinition<S>,
  first: S,
  pending: (state: S) => boolean
): Promise<S> {
  if (!pending(first)) return first;
  return eventually(
    async () => {
      const state = await handle.query(query);
      return pending(state) ? undefined : state;
    },
    90_000,
    'the provider to give its first answer'
  );
}

/** POSTs to a simulator control route and fails loudly if the simulator refuses. */
export async function simControl(baseUrl: string, path: string, body: unknown = {}): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`simulator control ${path} answered ${response.status}: ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export async function simGet<T>(baseUrl: string, path: string): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`);
  if (!response.ok) throw new Error(`simulator ${path} answered ${response.status}`);
  return (await response.json()) as T;
}

/** The provider's word that `state` was paid (`paidAmount`, by default what was asked), as the API signals it. */
export function paidCallback(
  state: PaymentState,
  eventId = `PAID:${state.id}`,
  trust: 'verified' | 'hint' = 'verified',
  paidAmount = state.amount
): Extract<ProviderCallbackEvent, { kind: 'payment' }> {
  return {
    kind: 'payment',
    provider: state.provider,
    reference: state.id,
    eventId,
    trust,
    receivedAt: new Date().toISOString(),
    outcome: { status: 'succeeded', providerStatus: 'PAID', paidAmount, paidAt: new Date().toISOString() },
  };
}
