/**
 * The activity proxies every workflow calls through, one per option set in `activity-options.ts`.
 * A proxy only names the activity and its options when called, so sharing one is sharing a definition.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { KasirActivities } from '../activities';
import { localProviderCall, moneyMovingSubmission, providerCall, providerInquiry } from './activity-options';

/** Registration, cancel, bill inquiry: bounded retries. */
export const calls = proxyActivities<KasirActivities>(providerCall);
/** Registration as a local activity. */
export const localCalls = proxyLocalActivities<KasirActivities>(localProviderCall);
/** Status inquiries. */
export const inquiries = proxyActivities<KasirActivities>(providerInquiry);
/** Payout submission and bill payment: one attempt, ever. */
export const submissions = proxyActivities<KasirActivities>(moneyMovingSubmission);
