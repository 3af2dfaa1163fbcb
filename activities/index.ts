/**
 * Kasir's activities: one provider call each, thin over the connectors. Built by `createActivities`
 * with the worker's dependencies; workflows import the type only.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { CheckoutLinks } from '../src/checkout/tokens';
import type { Connectors } from '../src/connectors/registry';
import type { BillInquiryInput, BillInquiryOutcome, BillPaymentInput, BillPaymentOutcome } from '../src/domain/bill';
import { withQuotedPrice } from '../src/domain/bill';
import type { CreatePaymentInput, PaymentOutcome, PaymentRef, PaymentRegistration } from '../src/domain/payment';
import type { PayoutOutcome, PayoutRef, PayoutSubmission, SubmitPayoutInput } from '../src/domain/payout';
import type { ProviderId } from '../src/domain/provider';
import type { RefundSubmission, SubmitRefundInput } from '../src/domain/refund';
import {
  isKasirError,
  KasirErrorType,
  OperationNotSupportedError,
  PROVIDER_CHECK_UNAVAILABLE,
} from '../src/domain/errors';
import { earlierSubmissionOf } from './earlier-runs';
import type { EarlierSubmission } from './earlier-runs';
import { translateErrors } from './failures';
import { createWebhookActivities } from './webhooks';
import type { WebhookActivityDeps } from './webhooks';

export type { MerchantWebhookTarget } from './webhooks';

export interface ActivityDeps extends WebhookActivityDeps {
  connectors: Connectors;
  /** Signs each payment's hosted checkout link (`instructions.checkoutUrl`); absent: no link. */
  checkout?: CheckoutLinks;
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

/** What a check-then-submit activity asks before it may submit (see `heldOrEarlier`). */
interface SubmissionCheck<H> {
  what: string;
  activityTypes: readonly string[];
  ask(): Promise<H>;
  isHeld(held: H): boolean;
}

/**
 * The check of a check-then-submit activity: what the provider already holds of this movement (`ask`,
 * when `isHeld` says it holds it), else an earlier run's submission of it (`activityTypes`), else
 * `undefined`, and only then may the caller submit. If either cannot be asked, nothing may be sent.
 */
async function heldOrEarlier<H>(check: SubmissionCheck<H>): Promise<Found<H> | undefined> {
  const held = await check.ask().catch((err: unknown) => {
    throw checkUnavailable(check.what, err);
  });
  if (check.isHeld(held)) return { held };
  const earlier = await earlierSubmissionOf(check.activityTypes).catch((err: unknown) => {
    throw checkUnavailable(check.what, err);
  });
  return earlier ? { earlier } : undefined;
}

/** The check, then `send` (its errors translated) only if it found nothing, in the same single attempt. */
async function sendUnlessFound<H, S>(check: SubmissionCheck<H>, send: () => Promise<S>): Promise<Found<H> | S> {
  return (await heldOrEarlier(check)) ?? (await translateErrors(send));
}

/** What a check-then-submit activity found instead of submitting. */
type Found<H> = { held: H } | { earlier: EarlierSubmission };

/** Submission activities that may have sent a payout: the legacy one and the checked one. */
const PAYOUT_SUBMISSIONS = ['submitPayout', 'submitPayoutUnlessHeld'] as const;
/** Activities that may have paid a bill: the legacy one and the checked one. */
const BILL_PAYMENTS = ['payBill', 'payBillUnlessHeld'] as const;

/** The check of a payout's reference: held once the provider knows it at all. */
function payoutCheck(deps: ActivityDeps, provider: ProviderId, reference: string) {
  const payouts = payoutsOf(deps, provider);
  return {
    what: 'payout',
    activityTypes: PAYOUT_SUBMISSIONS,
    ask: () => payouts.inquire({ reference }),
    isHeld: (held: PayoutOutcome) => held.status !== 'not_found',
  };
}

/**
 * The check of a bill payment's reference: held unless the status is only "processing" without a
 * transaction (Ayopop 188: also its answer for an unknown reference).
 */
function billCheck(deps: ActivityDeps, provider: ProviderId, reference: string) {
  const bills = billsOf(deps, provider);
  return {
    what: 'bill payment',
    activityTypes: BILL_PAYMENTS,
    ask: () => bills.status(reference),
    isHeld: (held: BillPaymentOutcome) => held.status !== 'processing' || held.transactionId !== undefined,
  };
}

/** Why a legacy submission was not sent: the provider holds it, or a run a reset replaced sent it. */
function alreadySent(found: Found<unknown>): string {
  return 'held' in found
    ? 'the provider already holds it; not sent again'
    : `a run replaced by a reset (${found.earlier.runId}) sent it; not sent again`;
}

/**
 * A frozen legacy workflow's activity (workflows/legacy/), one attempt, from its checked twin: what the
 * twin sent now (`sentOf`), else `onFound` answers for what the check found, and nothing is sent again.
 */
function legacyOf<I, H, S extends object, R>(
  twin: (provider: ProviderId, input: I) => Promise<Found<H> | S>,
  sentOf: (answer: Found<H> | S) => R | undefined,
  onFound: (found: Found<H>, why: string) => R
): (provider: ProviderId, input: I) => Promise<R> {
  return async (provider, input) => {
    const answer = await twin(provider, input);
    const sent = sentOf(answer);
    if (sent !== undefined) return sent;
    if ('held' in answer || 'earlier' in answer) return onFound(answer, alreadySent(answer));
    throw new Error('a checked submission answered neither what it sent nor what it found');
  };
}

export function createActivities(deps: ActivityDeps) {
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
  const submitPayoutUnlessHeld = (provider: ProviderId, input: SubmitPayoutInput) =>
    sendUnlessFound(payoutCheck(deps, provider, input.reference), async () => ({
      submission: await payoutsOf(deps, provider).submit(input),
    }));

  /**
   * Asks the provider for the status of this reference and pays only if it shows no payment, in the
   * same single attempt (see `submitPayoutUnlessHeld`). A status that is only "processing" without a
   * transaction (Ayopop 188: also its answer for an unknown reference) does not count as held; the
   * provider refusing a duplicate reference (102/108, read as processing) is the last defence.
   */
  const payBillUnlessHeld = (provider: ProviderId, input: BillPaymentInput) =>
    sendUnlessFound(billCheck(deps, provider, input.reference), async () => ({
      payment: await billsOf(deps, provider).pay(input),
    }));

  return {
    async registerPayment(provider: ProviderId, input: CreatePaymentInput): Promise<PaymentRegistration> {
      const registration = await translateErrors(() => paymentsOf(deps, provider).create(input));
      if (registration.result !== 'registered' || !deps.checkout) return registration;
      // The link lives while either side may still take the payment: the provider's expiry or Kasir's.
      const providerExpiry = Date.parse(registration.instructions.expiresAt);
      const kasirExpiry = Date.now() + input.expiresInMinutes * 60_000;
      const payableUntil = Number.isNaN(providerExpiry) ? kasirExpiry : Math.max(providerExpiry, kasirExpiry);
      const checkoutUrl = deps.checkout.urlFor(input.reference, payableUntil);
      return { ...registration, instructions: { ...registration.instructions, checkoutUrl } };
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

    /**
     * The frozen legacy workflows' submission (workflows/legacy/payout-v1.ts): runs at most once per
     * payout (one attempt). A reset keeps a legacy execution on this activity, so it checks what the
     * provider holds and what replaced runs sent, as `submitPayoutUnlessHeld` does; either found answers
     * `unknown` (resolved by query), and nothing is sent again.
     */
    submitPayout: legacyOf(
      submitPayoutUnlessHeld,
      (answer) => ('submission' in answer ? answer.submission : undefined),
      (_found, why): PayoutSubmission => ({ result: 'unknown', providerCode: 'SENT_BEFORE', message: why })
    ),

    submitPayoutUnlessHeld,

    /**
     * Sends one refund, unless an earlier run of the refund's workflow (before a reset) already sent it:
     * providers report a payment's status, not a refund's, so Temporal's own record of that run is the
     * only way to tell. Runs at most once (one attempt): a lost answer is resolved by inquiry, never by
     * refunding again. A refusal (not paid, above what remains, credentials refused) refunded nothing and
     * is returned as data; every other failure is an unknown outcome.
     */
    async submitRefundUnlessSent(
      provider: ProviderId,
      input: SubmitRefundInput
    ): Promise<{ earlier: EarlierSubmission } | { submission: RefundSubmission }> {
      const payments = paymentsOf(deps, provider);
      const refund = payments.refund?.bind(payments);
      if (!refund) {
        throw ApplicationFailure.create({
          type: OperationNotSupportedError.name,
          message: `${provider} offers no refund API`,
          nonRetryable: true,
        });
      }
      const earlier = await earlierSubmissionOf(['submitRefundUnlessSent']).catch((err: unknown) => {
        throw checkUnavailable('refund', err);
      });
      if (earlier) return { earlier };
      try {
        const payment = await refund(input.payment, {
          refundReference: input.refundReference,
          amount: input.amount,
          reason: input.reason,
        });
        return { submission: { result: 'accepted', payment } };
      } catch (err) {
        const refused =
          isKasirError(err) &&
          (err.name === KasirErrorType.ProviderRequestRejected || err.name === KasirErrorType.ProviderAuth);
        if (refused) {
          return {
            submission: { result: 'refused', failure: { code: err.providerCode ?? err.name, message: err.message } },
          };
        }
        return translateErrors(async () => {
          throw err;
        });
      }
    },

    async inquirePayout(provider: ProviderId, ref: PayoutRef): Promise<PayoutOutcome> {
      return translateErrors(() => payoutsOf(deps, provider).inquire(ref));
    },

    async inquireBill(provider: ProviderId, input: BillInquiryInput): Promise<BillInquiryOutcome> {
      return withQuotedPrice(await translateErrors(() => billsOf(deps, provider).inquire(input)), input);
    },

    /**
     * The frozen legacy workflows' payment (workflows/legacy/bill-v1.ts): runs at most once per bill (one
     * attempt). As `payBillUnlessHeld`, it first checks what the provider holds (answered as it is) and
     * what replaced runs sent (answered `processing`, resolved by status): it never pays again.
     */
    payBill: legacyOf(
      payBillUnlessHeld,
      (answer) => ('payment' in answer ? answer.payment : undefined),
      (found, why): BillPaymentOutcome =>
        'held' in found ? found.held : { status: 'processing', providerCode: 'SENT_BEFORE', message: why }
    ),

    payBillUnlessHeld,

    /**
     * For a bill workflow's reset run, before it inquires again or closes without money: whether the
     * provider holds a payment under this reference, or a run the reset replaced sent one. Sends nothing.
     */
    async billPaidBefore(
      provider: ProviderId,
      reference: string
    ): Promise<Found<BillPaymentOutcome> | { nothing: true }> {
      return (await heldOrEarlier(billCheck(deps, provider, reference))) ?? { nothing: true };
    },

    async billStatus(provider: ProviderId, reference: string): Promise<BillPaymentOutcome> {
      return translateErrors(() => billsOf(deps, provider).status(reference));
    },

    ...createWebhookActivities(deps),
  };
}

export type KasirActivities = ReturnType<typeof createActivities>;
