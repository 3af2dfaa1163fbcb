/** Kasir's config for the NICEPAY connector: where NICEPAY is, the merchant's keys and NICEPAY's notification key. */
import { z } from 'zod';
import { httpConfigFields } from '../http';

/** Ends in `/nicepay` (docs/providers/nicepay.md §1.2); production is `https://www.nicepay.co.id/nicepay`. */
export const SANDBOX_BASE_URL = 'https://dev.nicepay.co.id/nicepay';

export const nicepayConfigSchema = z.object({
  ...httpConfigFields(SANDBOX_BASE_URL),
  /** NICEPAY client id (iMid), sent as X-CLIENT-KEY / X-PARTNER-ID. */
  clientId: z.string().min(1).max(20),
  /** `merchantId` in bodies; NICEPAY's SDKs send the client id. */
  merchantId: z.string().min(1).max(10).optional(),
  /** `CHANNEL-ID`; defaults to client id + `01` as NICEPAY's examples show (docs/providers/nicepay.md §2.2). */
  channelId: z.string().min(1).optional(),
  /** HMAC-SHA512 key for transactional calls, used as-is (not base64-decoded). */
  clientSecret: z.string().min(1),
  /** Merchant private key (PEM) whose public half is registered with NICEPAY. */
  privateKeyPem: z.string().includes('PRIVATE KEY'),
  /** NICEPAY's notification public key (PEM), emailed by NICEPAY; not the transaction-API key. */
  nicepayPublicKeyPem: z.string().includes('PUBLIC KEY'),
  /** Renew the 900 s access token this many seconds before it expires. */
  tokenRenewalMarginSeconds: z.coerce.number().int().min(0).default(60),
  /** Browser return URL for payments that name none (NICEPAY requires one). */
  defaultReturnUrl: z.url().optional(),
});
export type NicepayConfig = z.infer<typeof nicepayConfigSchema>;
