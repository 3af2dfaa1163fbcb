export { paymentWorkflow } from './payment';
export { payoutWorkflow } from './payout';
export { billWorkflow } from './bill';
export { lateCallbackWorkflow } from './late-callback';
export { refundWorkflow } from './refund';
export { refundLedgerWorkflow } from './refund-ledger';
export { reconciliationWorkflow, scheduledReconciliationWorkflow } from './reconciliation';
export { eventRedeliveriesWorkflow } from './merchant-outbox';
