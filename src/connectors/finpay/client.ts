/**
 * The Finpay PG client: one method per endpoint Kasir calls. Each checks the request against its schema,
 * sends it with Basic auth, and parses the answer. Transport failures, 5xx, 429 and 401 throw the
 * taxonomy; any other answer comes back as the parsed success body or Finpay's error envelope, for the
 * connector to interpret.
 */
import type { ZodType } from 'zod';
import { ProviderAuthError, ProviderRequestRejectedError, ProviderResponseInvalidError } from '../../domain/errors';
import type { HttpRequest, HttpResponse, ProviderAnswer } from '../http';
import { createHttpClient, parseJsonBody, throwOnTransportStatus, tryParseJsonBody } from '../http';
import type { FinpayConfig } from './config';
import { instructionKindOf } from './mapping';
import {
  AfterPaymentResponse,
  FINPAY_PATHS,
  FINPAY_SUCCESS_CODE,
  FinpayCodeInitiateResponse,
  FinpayEnvelope,
  InitiateRequest,
  InitiateResponse,
  PaymentCodeInitiateResponse,
  RefundRequest,
  StatusCheckResponse,
} from './schemas';
import { basicAuthorization } from './signing';

/** Finpay's answer: the parsed success body, or its error envelope with the HTTP status it came with. */
export type FinpayAnswer<T> = ProviderAnswer<T, FinpayEnvelope>;

export interface FinpayClient {
  /**
   * `POST /pg/payment/card/initiate`. The answer is held to its channel's shape (docs/providers/finpay.md §3.3):
   * the Finpay Payment Code table for `finpaycode`, a mandatory `paymentCode` for VA and retail.
   */
  initiate(request: InitiateRequest): Promise<FinpayAnswer<InitiateResponse>>;
  /** `GET /pg/payment/card/check/{orderId}`. */
  checkStatus(orderId: string): Promise<FinpayAnswer<StatusCheckResponse>>;
  /** `GET /pg/payment/card/cancel/{orderId}`: unpaid orders only (docs/providers/finpay.md §3.5). */
  cancel(orderId: string): Promise<FinpayAnswer<AfterPaymentResponse>>;
  /** `POST /pg/payment/card/refund` with `{ order: { id, amount } }` (docs/providers/finpay.md §3.5). */
  refund(request: RefundRequest): Promise<FinpayAnswer<AfterPaymentResponse>>;
}

export function createFinpayClient(config: FinpayConfig): FinpayClient {
  const http = createHttpClient({ provider: 'finpay', baseUrl: config.baseUrl, timeoutMs: config.timeoutMs });
  const authorization = basicAuthorization(config);

  async function call<T>(
    request: Omit<HttpRequest, 'headers'>,
    schema: ZodType<T>,
    what: string
  ): Promise<FinpayAnswer<T>> {
    const response = await http.send({
      ...request,
      headers: {
        Authorization: authorization,
        Accept: 'application/json',
        ...(request.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
    });
    if (response.status === 401) throw authError(response, what);
    if (response.status >= 500 || response.status === 429) throwOnTransportStatus('finpay', request, response);
    const envelope = parseJsonBody('finpay', FinpayEnvelope, response, what);
    if (response.status >= 200 && response.status < 300 && envelope.responseCode === FINPAY_SUCCESS_CODE) {
      return { ok: true, httpStatus: response.status, body: parseJsonBody('finpay', schema, response, what) };
    }
    if (response.status >= 300 && response.status < 400) {
      throw new ProviderResponseInvalidError(`finpay answered ${what} with a redirect (HTTP ${response.status})`, {
        provider: 'finpay',
        httpStatus: response.status,
      });
    }
    return { ok: false, httpStatus: response.status, refusal: envelope };
  }

  return {
    initiate(request) {
      const body = checkOutgoing(InitiateRequest, request, 'initiate request');
      const type = body.sourceOfFunds.type;
      const kind = instructionKindOf(type);
      const schema: ZodType<InitiateResponse> =
        type === 'finpaycode'
          ? FinpayCodeInitiateResponse
          : kind === 'virtual-account' || kind === 'payment-code'
            ? PaymentCodeInitiateResponse
            : InitiateResponse;
      const path = FINPAY_PATHS.initiate;
      return call({ method: 'POST', path, body: JSON.stringify(body), effect: 'mutating' }, schema, 'initiate');
    },
    checkStatus(orderId) {
      const path = `${FINPAY_PATHS.check}/${encodeURIComponent(orderId)}`;
      return call({ method: 'GET', path, effect: 'read' }, StatusCheckResponse, 'status check');
    },
    cancel(orderId) {
      const path = `${FINPAY_PATHS.cancel}/${encodeURIComponent(orderId)}`;
      return call({ method: 'GET', path, effect: 'mutating' }, AfterPaymentResponse, 'cancel');
    },
    refund(request) {
      const body = checkOutgoing(RefundRequest, request, 'refund request');
      const path = FINPAY_PATHS.refund;
      return call(
        { method: 'POST', path, body: JSON.stringify(body), effect: 'mutating' },
        AfterPaymentResponse,
        'refund'
      );
    },
  };
}

function checkOutgoing<T>(schema: ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : undefined;
  throw new ProviderRequestRejectedError(`refusing to send an invalid Finpay ${what}: ${issue?.message ?? 'invalid'}`, {
    provider: 'finpay',
    ...(field ? { field } : {}),
  });
}

function authError(response: HttpResponse, what: string): ProviderAuthError {
  const envelope = tryParseJsonBody(FinpayEnvelope, response);
  return new ProviderAuthError(`finpay refused our merchant id or key for ${what} (HTTP 401)`, {
    provider: 'finpay',
    httpStatus: 401,
    ...(envelope ? { providerCode: envelope.responseCode } : {}),
  });
}
