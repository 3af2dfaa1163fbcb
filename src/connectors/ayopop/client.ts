/**
 * The Ayopop client: one method per endpoint Kasir calls. Each signs the claims into `TOKEN`, POSTs,
 * and parses the answer with the schemas. Transport failures, 5xx, 429, 401/403, a refused request
 * (HTTP 4xx) and an unreadable answer throw the taxonomy; what `responseCode` means is for the mapping.
 *
 * The claims are also sent as the JSON body. The docs' curl samples send no body and Ayopop reads the
 * JWT (docs/providers/ayopop.md §2.3), so the body is redundant for Ayopop and only makes request logs readable.
 */
import { ProviderRequestRejectedError } from '../../domain/errors';
import { createHttpClient, parseJsonBody, tryParseJsonBody } from '../http';
import type { PostCall } from '../http';
import type { AyopopConfig } from './config';
import { AYOPOP_PATHS, AnyEnvelope, InquiryResponse, TransactionResponse } from './schemas';
import type { InquiryRequest, PaymentRequest, StatusRequest } from './schemas';
import { buildAyopopHeaders } from './signing';

export interface AyopopClient {
  /** `POST /api/v2/bill/check`. Read-only: a timeout or 5xx is `ProviderUnavailableError`. */
  inquire(claims: InquiryRequest): Promise<InquiryResponse>;
  /** `POST /api/v2/bill/payment`. Moves money: a timeout, dropped connection or 5xx is `OutcomeUnknownError`. */
  pay(claims: PaymentRequest): Promise<TransactionResponse>;
  /** `POST /api/v2/bill/status`. */
  status(claims: StatusRequest): Promise<TransactionResponse>;
}

export function createAyopopClient(config: AyopopConfig): AyopopClient {
  const http = createHttpClient({ provider: 'ayopop', baseUrl: config.baseUrl, timeoutMs: config.timeoutMs });

  const call: PostCall<Record<string, unknown>> = async (path, claims, schema, effect) => {
    const response = await http.sendChecked({
      method: 'POST',
      path,
      headers: { ...(await buildAyopopHeaders(claims, config)) },
      body: JSON.stringify(claims),
      effect,
    });
    if (response.status >= 400) {
      // Ayopop refused the request itself (bad parameters, unknown path): nothing happened on its side.
      const envelope = tryParseJsonBody(AnyEnvelope, response);
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
  };

  return {
    inquire: (claims) => call(AYOPOP_PATHS.inquiry, claims, InquiryResponse, 'read'),
    pay: (claims) => call(AYOPOP_PATHS.payment, claims, TransactionResponse, 'mutating'),
    status: (claims) => call(AYOPOP_PATHS.status, claims, TransactionResponse, 'read'),
  };
}
