/**
 * One function per Ayopop endpoint: sign the claims into `TOKEN`, POST, map transport failures, parse
 * with the schemas. Every endpoint is `POST` (reference Part 2.1).
 *
 * The claims are also sent as the JSON body. The docs' curl samples send no body and Ayopop reads the
 * JWT (reference 2.2), so the body is redundant for Ayopop and only makes request logs readable.
 */
import type { ZodType } from 'zod';
import { ProviderRequestRejectedError } from '../../domain/errors';
import type { HttpClient, HttpRequest } from '../http';
import { parseJsonBody, throwOnTransportStatus } from '../http';
import { AnyEnvelope, BalanceResponse, InquiryResponse, ProductListResponse, TransactionResponse } from './schemas';
import type { InquiryRequest, PaymentRequest, PartnerRequest, StatusRequest } from './schemas';
import { buildAyopopHeaders } from './signing';

export const AYOPOP_PATHS = {
  inquiry: '/api/v2/bill/check',
  payment: '/api/v2/bill/payment',
  status: '/api/v2/bill/status',
  products: '/api/v2/partner/products',
  balance: '/api/v2/partner/balance',
} as const;

export interface AyopopClientContext {
  http: HttpClient;
  apiKey: string;
  apiSecret: string;
}

async function call<T>(
  ctx: AyopopClientContext,
  path: string,
  claims: Record<string, unknown>,
  schema: ZodType<T>,
  effect: HttpRequest['effect']
): Promise<T> {
  const request: HttpRequest = {
    method: 'POST',
    path,
    headers: { ...(await buildAyopopHeaders(claims, ctx)) },
    body: JSON.stringify(claims),
    effect,
  };
  const response = await ctx.http.send(request);
  throwOnTransportStatus('ayopop', request, response);
  if (response.status >= 400) {
    // Ayopop refused the request itself (bad parameters, unknown path): nothing happened on its side.
    let envelope: AnyEnvelope | undefined;
    try {
      envelope = AnyEnvelope.parse(JSON.parse(response.text));
    } catch {
      envelope = undefined;
    }
    throw new ProviderRequestRejectedError(
      `Ayopop rejected POST ${path} with HTTP ${response.status}${envelope ? `: ${envelope.message.EN}` : ''}`,
      {
        provider: 'ayopop',
        httpStatus: response.status,
        ...(envelope ? { providerCode: String(envelope.responseCode) } : {}),
      }
    );
  }
  return parseJsonBody('ayopop', schema, response, `POST ${path}`);
}

/** `POST /api/v2/bill/check`. Read-only: a timeout or 5xx is `ProviderUnavailableError`. */
export function postInquiry(ctx: AyopopClientContext, claims: InquiryRequest): Promise<InquiryResponse> {
  return call(ctx, AYOPOP_PATHS.inquiry, claims, InquiryResponse, 'read');
}

/** `POST /api/v2/bill/payment`. Moves money: a timeout, dropped connection or 5xx is `OutcomeUnknownError`. */
export function postPayment(ctx: AyopopClientContext, claims: PaymentRequest): Promise<TransactionResponse> {
  return call(ctx, AYOPOP_PATHS.payment, claims, TransactionResponse, 'mutating');
}

/** `POST /api/v2/bill/status`. */
export function postStatus(ctx: AyopopClientContext, claims: StatusRequest): Promise<TransactionResponse> {
  return call(ctx, AYOPOP_PATHS.status, claims, TransactionResponse, 'read');
}

/** `POST /api/v2/partner/products`: the partner's product catalogue. */
export function postProductList(ctx: AyopopClientContext, claims: PartnerRequest): Promise<ProductListResponse> {
  return call(ctx, AYOPOP_PATHS.products, claims, ProductListResponse, 'read');
}

/** `POST /api/v2/partner/balance`: the partner deposit that payments are debited from. */
export function postBalance(ctx: AyopopClientContext, claims: PartnerRequest): Promise<BalanceResponse> {
  return call(ctx, AYOPOP_PATHS.balance, claims, BalanceResponse, 'read');
}
