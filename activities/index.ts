/**
 * Kasir's activities: one provider call each, thin over the connectors. Built by `createActivities`
 * with the worker's dependencies; workflows import the type only.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Connectors } from '../src/connectors/registry';
import type { BillInquiryInput, BillInquiryOutcome, BillPaymentInput, BillPaymentOutcome } from '../src/domain/bill';
import type { CreatePaymentInput, PaymentOutcome, PaymentRef, PaymentRegistration } from '../src/domain/payment';
import type { PayoutOutcome, PayoutRef, PayoutSubmission, SubmitPayoutInput } from '../src/domain/payout';
import type { ProviderId } from '../src/domain/provider';
import { OperationNotSupportedError, PROVIDER_CHECK_UNAVAILABLE } from '../src/domain/errors';
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from '../src/webhooks/signature';
import type { MerchantEvent } from '../workflows/movement-state';
import { earlierSubmissionOf } from './earlier-runs';
import type { EarlierSubmission } from './earlier-runs';
import { translateErrors } from './failures';

export interface MerchantWebhookTarget {
  webhookUrl?: string;
  webhookSecret: string;
}

export interface ActivityDeps {
  connectors: Connectors;
  /** Looks up where and how to deliver a merchant's webhooks; secrets never enter workflow history. */
  merchantWebhook(merchantId: string): MerchantWebhookTarget | undefined;
  webhookTimeoutMs?: number;
}

function paymentsOf(deps: ActivityDeps, provider: ProviderId) {
  const payments = deps.connectors[provider].payments;
  if (!payments) throw new OperationNotSupportedError(`${provider} does not take payments`, { provider });
  return payments;
}

function payoutsOf(deps: ActivityDeps, provider: ProviderId) {
  const payouts = deps.connectors[provider].payouts;
  if (!payouts) throw new OperationNotSupportedError(`${provider} does not send payouts`, { provider });
  return payouts;
}

function billsOf(deps: ActivityDeps, provider: ProviderId) {
  const bills = deps.connectors[provider].bills;
  if (!bills) throw new OperationNotSupportedError(`${provider} does not pay bills`, { provider });
  return bills;
}

/** The provider could not be asked whether it holds a movement, so nothing was sent. */
function checkUnavailable(what: string, err: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    type: PROVIDER_CHECK_UNAVAILABLE,
    message: `could not ask the provider whether it holds this ${what}, so nothing was sent: ${err instanceof Error ? err.message : String(err)}`,
    nonRetryable: true,
  });
}

/**
 * The check of a check-then-submit activity: what the provider already holds of this movement (`ask`,
 * when `isHeld` says it holds it), else an earlier run's submission of it (`activityTypes`), else
 * `undefined`, and only then may the caller submit. If either cannot be asked, nothing may be sent.
 */
async function heldOrEarlier<H>(check: {
  what: string;
  activityTypes: readonly string[];
  ask(): Promise<H>;
  isHeld(held: H): boolean;
}): Promise<{ held: H } | { earlier: EarlierSubmission } | undefined> {
  const held = await check.ask().catch((err: unknown) => {
    throw checkUnavailable(check.what, err);
  });
  if (check.isHeld(held)) return { held };
  const earlier = await earlierSubmissionOf(check.activityTypes).catch((err: unknown) => {
    throw checkUnavailable(check.what, err);
  });
  return earlier ? { earlier } : undefined;
}

export function createActivities(deps: ActivityDeps) {
  return {
    async registerPayment(provider: ProviderId, input: CreatePaymentInput): Promise<PaymentRegistration> {
      return translateErrors(() => paymentsOf(deps, provider).create(input));
    },

    async inquirePayment(provider: ProviderId, ref: PaymentRef): Promise<PaymentOutcome> {
      return translateErrors(() => paymentsOf(deps, provider).inquire(ref));
    },

    /**
     * Cancels at the provider. A provider without a cancel API fails with `OperationNotSupportedError`:
     * answering its current view instead would let Kasir call an order cancelled that stays payable.
     */
    async cancelPayment(provider: ProviderId, ref: PaymentRef): Promise<PaymentOutcome> {
      const payments = paymentsOf(deps, provider);
      const cancel = payments.cancel?.bind(payments);
      if (!cancel) {
        throw ApplicationFailure.create({
          type: OperationNotSupportedError.name,
          message: `${provider} offers no cancel API: the order stays payable until it expires`,
          nonRetryable: true,
        });
      }
      return translateErrors(() => cancel(ref));
    },

    /** Runs at most once per payout (the workflow's retry policy allows one attempt): never resubmits. */
    async submitPayout(provider: ProviderId, input: SubmitPayoutInput): Promise<PayoutSubmission> {
      return translateErrors(() => payoutsOf(deps, provider).submit(input));
    },

    /**
     * The provider is asked whether it already holds this payout, and only if it does not is the payout
     * submitted, in the same single attempt: a workflow reset to any task, or a submission activity
     * dispatched again, still asks first. A provider that keeps no record of a payout it refused cannot
     * answer for a reset run, so Temporal is asked too whether an earlier run of this workflow already
     * submitted it (activities/earlier-runs.ts): then nothing is sent and the workflow adopts that run's
     * outcome. If the provider or Temporal cannot be asked, nothing is sent: the attempt
     * fails with `ProviderCheckUnavailable` and the workflow asks again later (an earlier run may have
     * submitted this very payout, so sending blind could reach the provider twice).
     */
    async submitPayoutUnlessHeld(
      provider: ProviderId,
      input: SubmitPayoutInput
    ): Promise<{ held: PayoutOutcome } | { earlier: EarlierSubmission } | { submission: PayoutSubmission }> {
      const payouts = payoutsOf(deps, provider);
      const found = await heldOrEarlier({
        what: 'payout',
        activityTypes: ['submitPayout', 'submitPayoutUnlessHeld'],
        ask: () => payouts.inquire({ reference: input.reference }),
        isHeld: (held) => held.status !== 'not_found',
      });
      return found ?? { submission: await translateErrors(() => payouts.submit(input)) };
    },

    async inquirePayout(provider: ProviderId, ref: PayoutRef): Promise<PayoutOutcome> {
      return translateErrors(() => payoutsOf(deps, provider).inquire(ref));
    },

    async inquireBill(provider: ProviderId, input: BillInquiryInput): Promise<BillInquiryOutcome> {
      return translateErrors(() => billsOf(deps, provider).inquire(input));
    },

    /** Runs at most once per bill (one attempt): a timeout is resolved by status, never by paying again. */
    async payBill(provider: ProviderId, input: BillPaymentInput): Promise<BillPaymentOutcome> {
      return translateErrors(() => billsOf(deps, provider).pay(input));
    },

    /**
     * Asks the provider for the status of this reference and pays only if it shows no payment, in the
     * same single attempt (see `submitPayoutUnlessHeld`). A status that is only "processing" without a
     * transaction (Ayopop 188: also its answer for an unknown reference) does not count as held; the
     * provider refusing a duplicate reference (102/108, read as processing) is the last defence.
     */
    async payBillUnlessHeld(
      provider: ProviderId,
      input: BillPaymentInput
    ): Promise<{ held: BillPaymentOutcome } | { earlier: EarlierSubmission } | { payment: BillPaymentOutcome }> {
      const bills = billsOf(deps, provider);
      const found = await heldOrEarlier({
        what: 'bill payment',
        activityTypes: ['payBill', 'payBillUnlessHeld'],
        ask: () => bills.status(input.reference),
        isHeld: (held) => held.status !== 'processing' || held.transactionId !== undefined,
      });
      return found ?? { payment: await translateErrors(() => bills.pay(input)) };
    },

    async billStatus(provider: ProviderId, reference: string): Promise<BillPaymentOutcome> {
      return translateErrors(() => billsOf(deps, provider).status(reference));
    },

    /**
     * Delivers one signed merchant webhook. Any non-2xx (a redirect included: it is never followed, so
     * a signed event cannot be steered elsewhere) or network error throws, so Temporal retries with
     * backoff until the merchant answers 2xx. A merchant that chose no webhook URL is skipped; a merchant
     * missing from config fails the attempt, visible to operators as the activity's last failure, and
     * is delivered once config has it again.
     */
    async deliverMerchantWebhook(event: MerchantEvent): Promise<{ delivered: boolean; status?: number }> {
      const target = deps.merchantWebhook(event.merchantId);
      if (!target) {
        throw ApplicationFailure.retryable(
          `merchant ${event.merchantId} is not in Kasir's config: webhook ${event.id} waits until it is`,
          'MerchantNotConfigured'
        );
      }
      if (!target.webhookUrl) return { delivered: false };
      const body = JSON.stringify(event);
      const response = await fetch(target.webhookUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(body, target.webhookSecret),
          'Kasir-Event-Id': event.id,
          'Kasir-Delivery-Attempt': String(Context.current().info.attempt),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.webhookTimeoutMs ?? 10_000),
      });
      await response.arrayBuffer();
      if (response.status < 200 || response.status >= 300) {
        throw ApplicationFailure.retryable(`merchant answered HTTP ${response.status}`, 'MerchantWebhookRejected');
      }
      return { delivered: true, status: response.status };
    },
  };
}

export type KasirActivities = ReturnType<typeof createActivities>;
