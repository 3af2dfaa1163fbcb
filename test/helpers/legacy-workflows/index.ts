/**
 * The frozen pre-core workflows under their public names, bundled by tests that need an execution on
 * the legacy code path (executions started before the movement core). Test-only.
 */
export { paymentWorkflowV1 as paymentWorkflow } from '../../../workflows/legacy/payment-v1';
export { payoutWorkflowV1 as payoutWorkflow } from '../../../workflows/legacy/payout-v1';
export { billWorkflowV1 as billWorkflow } from '../../../workflows/legacy/bill-v1';
