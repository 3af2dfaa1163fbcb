/**
 * Kasir's one error taxonomy for provider integrations.
 *
 * Connectors throw these; activities translate them once into `ApplicationFailure`s whose `type` is the
 * class's `name` (see `activities/failures.ts`); the API maps them to HTTP answers in one table.
 * A provider's *decline* is never one of these: it is a `failed` outcome returned as data.
 * No Temporal import here, so this module is safe anywhere, workflows included.
 */
import type { ProviderId } from './provider';

export const KasirErrorType = {
  ProviderUnavailable: 'ProviderUnavailableError',
  ProviderAuth: 'ProviderAuthError',
  ProviderRequestRejected: 'ProviderRequestRejectedError',
  ProviderResponseInvalid: 'ProviderResponseInvalidError',
  OutcomeUnknown: 'OutcomeUnknownError',
  CallbackSignature: 'CallbackSignatureError',
  CallbackPayload: 'CallbackPayloadError',
  OperationNotSupported: 'OperationNotSupportedError',
} as const;
export type KasirErrorType = (typeof KasirErrorType)[keyof typeof KasirErrorType];

/** Error types a retry cannot fix: the workflow must decide what to do instead. */
export const NON_RETRYABLE_ERROR_TYPES: readonly KasirErrorType[] = [
  KasirErrorType.ProviderAuth,
  KasirErrorType.ProviderRequestRejected,
  KasirErrorType.ProviderResponseInvalid,
  KasirErrorType.OutcomeUnknown,
  KasirErrorType.OperationNotSupported,
];

/**
 * Failure type of the merchant-webhook delivery activity when a webhook has gone undelivered past its
 * watch deadline (activities/webhooks.ts); the outbox then flags the movement `KasirWebhookFailing`.
 */
export const WEBHOOK_FAILING_ERROR_TYPE = 'MerchantWebhookFailing';

export interface KasirErrorDetails {
  provider?: ProviderId;
  /** The provider's own code (`4000002`, `4015401`, `FAIL`, `102`...), when it gave one. */
  providerCode?: string;
  httpStatus?: number;
  /** The request field a rejection names, when the provider named one. */
  field?: string;
  cause?: unknown;
}

export abstract class KasirError extends Error {
  abstract override readonly name: KasirErrorType;
  readonly provider?: ProviderId;
  readonly providerCode?: string;
  readonly httpStatus?: number;
  readonly field?: string;

  constructor(message: string, details: KasirErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.provider = details.provider;
    this.providerCode = details.providerCode;
    this.httpStatus = details.httpStatus;
    this.field = details.field;
  }
}

/**
 * The base of every class below: a {@link KasirError} whose `name` is `type`, set explicitly so the failure
 * type never depends on how the build treats class names.
 */
function kasirErrorOfType<T extends KasirErrorType>(type: T) {
  return class extends KasirError {
    override readonly name: T = type;
  };
}

/** Thrown when the provider could not be reached or answered 5xx/429 to a call that is safe to repeat. Retryable. */
export class ProviderUnavailableError extends kasirErrorOfType(KasirErrorType.ProviderUnavailable) {}

/** Thrown on 401/403 or a credential the provider refused. Not retryable: configuration must change. */
export class ProviderAuthError extends kasirErrorOfType(KasirErrorType.ProviderAuth) {}

/** Thrown when the provider rejected our request as malformed (4xx validation). Not retryable. */
export class ProviderRequestRejectedError extends kasirErrorOfType(KasirErrorType.ProviderRequestRejected) {}

/**
 * Thrown when the provider's answer does not match its documented schema. Not retryable; if the call
 * could have changed state at the provider, treat the outcome as unknown and resolve it by inquiry.
 */
export class ProviderResponseInvalidError extends kasirErrorOfType(KasirErrorType.ProviderResponseInvalid) {
  readonly issues?: unknown;
  constructor(message: string, details: KasirErrorDetails & { issues?: unknown } = {}) {
    super(message, details);
    this.issues = details.issues;
  }
}

/**
 * Thrown when a call that changes money (create, submit, pay) may or may not have taken effect:
 * a timeout, a dropped connection or a 5xx after the request was sent. Never retried by resubmitting;
 * the workflow resolves it by status inquiry.
 */
export class OutcomeUnknownError extends kasirErrorOfType(KasirErrorType.OutcomeUnknown) {}

/** Thrown at the API edge when a callback's signature does not verify. The callback is never trusted. */
export class CallbackSignatureError extends kasirErrorOfType(KasirErrorType.CallbackSignature) {}

/** Thrown at the API edge when a (verified or unsigned) callback body does not parse. */
export class CallbackPayloadError extends kasirErrorOfType(KasirErrorType.CallbackPayload) {}

/** Thrown when a connector is asked for an operation its capabilities do not list. */
export class OperationNotSupportedError extends kasirErrorOfType(KasirErrorType.OperationNotSupported) {}

export function isKasirError(err: unknown): err is KasirError {
  return err instanceof KasirError;
}

/**
 * Failure type of a check-then-submit activity (payout, bill payment) that could not ask the provider
 * whether it already holds the movement, and therefore sent nothing: safe to try again.
 */
export const PROVIDER_CHECK_UNAVAILABLE = 'ProviderCheckUnavailable';
