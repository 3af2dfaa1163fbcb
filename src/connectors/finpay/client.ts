/**
 * One function per Finpay PG endpoint: check the request against its schema, send it with Basic auth,
 * and parse the answer. Transport failures, 5xx and 401 throw the taxonomy; any other answer comes back
 * as either the parsed success body or Finpay's error envelope, for the connector to interpret.
 */
import type { ZodType } from 'zod';
import { ProviderAuthError, ProviderRequestRejectedError, ProviderResponseInvalidError } from '../../domain/errors';
import type { HttpClient, HttpRequest, HttpResponse } from '../http';
import { parseJsonBody, throwOnTransportStatus } from '../http';
import { instructionKindOf } from './mapping';
import {
  AfterPaymentResponse,
  FINPAY_SUCCESS_CODE,
  FinpayCodeInitiateResponse,
  FinpayEnvelope,
  InitiateRequest,
  InitiateResponse,
  OpenPaymentCheckResponse,
  OpenPaymentRegisterRequest,
  OpenPaymentRegisterResponse,
  PaymentCodeInitiateResponse,
  RefundRequest,
  StatusCheckResponse,
} from './schemas';
import type { VaSourceOfFundsType } from './schemas';

export interface FinpayCredentials {
  merchantId: string;
  merchantKey: string;
}

export interface FinpayApi {
  http: HttpClient;
  credentials: FinpayCredentials;
}

/** Finpay's answer: the parsed success body, or its error envelope with the HTTP status it came with. */
export type FinpayResult<T> =
  { ok: true; httpStatus: number; body: T } | { ok: false; httpStatus: number; error: FinpayEnvelope };

/** `Authorization: Basic base64(merchantId:merchantKey)` (reference §1.1). */
export function basicAuthorization(credentials: FinpayCredentials): string {
  return `Basic ${Buffer.from(`${credentials.merchantId}:${credentials.merchantKey}`).toString('base64')}`;
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

async function call<T>(
  api: FinpayApi,
  request: Omit<HttpRequest, 'headers'>,
  schema: ZodType<T>,
  what: string
): Promise<FinpayResult<T>> {
  const response = await api.http.send({
    ...request,
    headers: {
      Authorization: basicAuthorization(api.credentials),
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
  return { ok: false, httpStatus: response.status, error: envelope };
}

function authError(response: HttpResponse, what: string): ProviderAuthError {
  const envelope = FinpayEnvelope.safeParse(safeJson(response.text));
  return new ProviderAuthError(`finpay refused our merchant id or key for ${what} (HTTP 401)`, {
    provider: 'finpay',
    httpStatus: 401,
    ...(envelope.success ? { providerCode: envelope.data.responseCode } : {}),
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * `POST /pg/payment/card/initiate`. The answer is held to its channel's shape: seed 001's table for
 * `finpaycode`, a mandatory `paymentCode` for VA and retail.
 */
export async function initiate(api: FinpayApi, request: InitiateRequest): Promise<FinpayResult<InitiateResponse>> {
  const body = checkOutgoing(InitiateRequest, request, 'initiate request');
  const type = body.sourceOfFunds.type;
  const kind = instructionKindOf(type);
  const schema: ZodType<InitiateResponse> =
    type === 'finpaycode'
      ? FinpayCodeInitiateResponse
      : kind === 'virtual-account' || kind === 'payment-code'
        ? PaymentCodeInitiateResponse
        : InitiateResponse;
  return call(
    api,
    { method: 'POST', path: '/pg/payment/card/initiate', body: JSON.stringify(body), effect: 'mutating' },
    schema,
    'initiate'
  );
}

/** `GET /pg/payment/card/check/{orderId}`. */
export async function checkStatus(api: FinpayApi, orderId: string): Promise<FinpayResult<StatusCheckResponse>> {
  return call(
    api,
    { method: 'GET', path: `/pg/payment/card/check/${encodeURIComponent(orderId)}`, effect: 'read' },
    StatusCheckResponse,
    'status check'
  );
}

/** `GET /pg/payment/card/cancel/{orderId}`: unpaid orders only (reference §1.8). */
export async function cancel(api: FinpayApi, orderId: string): Promise<FinpayResult<AfterPaymentResponse>> {
  return call(
    api,
    { method: 'GET', path: `/pg/payment/card/cancel/${encodeURIComponent(orderId)}`, effect: 'mutating' },
    AfterPaymentResponse,
    'cancel'
  );
}

/** `POST /pg/payment/card/refund` with `{ order: { id, amount } }` (reference §1.2). */
export async function refund(api: FinpayApi, request: RefundRequest): Promise<FinpayResult<AfterPaymentResponse>> {
  const body = checkOutgoing(RefundRequest, request, 'refund request');
  return call(
    api,
    { method: 'POST', path: '/pg/payment/card/refund', body: JSON.stringify(body), effect: 'mutating' },
    AfterPaymentResponse,
    'refund'
  );
}

/** `POST /pg/payment/card/openpayment/register` (seed 000): registers an open (static) VA number. */
export async function registerOpenPayment(
  api: FinpayApi,
  request: OpenPaymentRegisterRequest
): Promise<FinpayResult<OpenPaymentRegisterResponse>> {
  const body = checkOutgoing(OpenPaymentRegisterRequest, request, 'open-payment register request');
  return call(
    api,
    { method: 'POST', path: '/pg/payment/card/openpayment/register', body: JSON.stringify(body), effect: 'mutating' },
    OpenPaymentRegisterResponse,
    'open-payment register'
  );
}

/** `GET /pg/payment/card/openpayment/check/{sofId}/{paymentCode}`, e.g. `/vabca/8804483313131312`. */
export async function checkOpenPayment(
  api: FinpayApi,
  type: VaSourceOfFundsType,
  paymentCode: string
): Promise<FinpayResult<OpenPaymentCheckResponse>> {
  return call(
    api,
    {
      method: 'GET',
      path: `/pg/payment/card/openpayment/check/${encodeURIComponent(type)}/${encodeURIComponent(paymentCode)}`,
      effect: 'read',
    },
    OpenPaymentCheckResponse,
    'open-payment check'
  );
}
