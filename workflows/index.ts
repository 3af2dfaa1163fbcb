export { paymentWorkflow } from './payment';
export { payoutWorkflow } from './payout';
export { billWorkflow } from './bill';
export { lateCallbackWorkflow } from './late-callback';
