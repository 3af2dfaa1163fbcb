/**
 * The shape every provider connector has. A connector is stateless apart from caches of credentials
 * (access tokens); persistence and retries belong to Temporal.
 *
 * Rules every implementation follows:
 * - a provider's decline is returned as data (`declined`, `failed`), never thrown;
 * - integration failures throw the classes in `src/domain/errors.ts`;
 * - a call that moves money and may have reached the provider throws `OutcomeUnknownError` on
 *   timeout, dropped connection or 5xx, so the workflow resolves it by inquiry, never by resubmitting.
 */
import type { BillInquiryInput, BillInquiryOutcome, BillPaymentInput, BillPaymentOutcome } from '../domain/bill';
import type { ParsedCallback } from '../domain/callback';
import type {
  CreatePaymentInput,
  PaymentMethod,
  PaymentOutcome,
  PaymentRef,
  PaymentRegistration,
} from '../domain/payment';
import type { PayoutOutcome, PayoutRef, PayoutSubmission, ProviderBalance, SubmitPayoutInput } from '../domain/payout';
import type { ProviderId } from '../domain/provider';

/** A field of Kasir's payment input (`customer.phone`, `expiresInMinutes`) a provider would refuse. */
export interface FieldIssue {
  field: string;
  message: string;
}

export interface PaymentsCapability {
  /** Methods this provider takes, in Kasir's vocabulary. */
  readonly methods: readonly PaymentMethod[];
  /** Inclusive amount limits in rupiah for a method, as the provider documents them. */
  amountLimits(method: PaymentMethod): { min: number; max: number };
  /**
   * Checks a payment against this provider's own request rules without sending anything, so the API can
   * refuse it with a 400 before a workflow starts. An empty list means the provider would take it.
   */
  validate(input: CreatePaymentInput): FieldIssue[];
  create(input: CreatePaymentInput): Promise<PaymentRegistration>;
  inquire(ref: PaymentRef): Promise<PaymentOutcome>;
  /** Asks the provider to stop accepting payment. Answers the provider's view afterwards. */
  cancel?(ref: PaymentRef): Promise<PaymentOutcome>;
  refund?(ref: PaymentRef, input: { refundReference: string; amount: number; reason: string }): Promise<PaymentOutcome>;
}

export interface PayoutsCapability {
  /** Submits once. Timeouts, dropped connections and 5xx come back as `result: 'unknown'`. */
  submit(input: SubmitPayoutInput): Promise<PayoutSubmission>;
  inquire(ref: PayoutRef): Promise<PayoutOutcome>;
  balance(): Promise<ProviderBalance>;
}

export interface BillsCapability {
  inquire(input: BillInquiryInput): Promise<BillInquiryOutcome>;
  /** Pays once. Timeouts and unknown codes come back as `processing`, to be resolved by `status`. */
  pay(input: BillPaymentInput): Promise<BillPaymentOutcome>;
  status(reference: string): Promise<BillPaymentOutcome>;
}

/** A callback as it reached Kasir: the exact bytes, so signatures are checked over what was signed. */
export interface RawCallback {
  /** Header names lower-cased. */
  headers: Readonly<Record<string, string | undefined>>;
  rawBody: Buffer;
  contentType?: string;
}

/** The HTTP answer a provider expects, in its own dialect. */
export interface CallbackAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface CallbacksCapability {
  /**
   * Verifies the signature over the raw body (throws `CallbackSignatureError`), then parses it with the
   * connector's schema (throws `CallbackPayloadError`). Unsigned providers mark the result `hint`.
   */
  verifyAndParse(callback: RawCallback): Promise<ParsedCallback>;
  /**
   * The answer once Kasir has recorded the callback (`accepted`), or when it names no payment Kasir
   * knows (`unknown-reference`): the answer that stops the provider's retries, since retrying cannot help.
   */
  answer(outcome: 'accepted' | 'unknown-reference'): CallbackAnswer;
  /** The answer to a callback that failed verification or parsing. */
  reject(reason: 'signature' | 'payload'): CallbackAnswer;
  /**
   * Why `unknown-reference` is answered the way it is, for operators reading `capabilities`:
   * e.g. "BDPay retries until the body is SUCCESS; retrying an unknown order cannot succeed".
   */
  readonly unknownReferencePolicy: string;
}

export interface Connector {
  readonly id: ProviderId;
  readonly displayName: string;
  readonly payments?: PaymentsCapability;
  readonly payouts?: PayoutsCapability;
  readonly bills?: BillsCapability;
  readonly callbacks: CallbacksCapability;
}
