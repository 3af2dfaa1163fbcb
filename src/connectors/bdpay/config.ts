/** Kasir's config for the BDPay connector: where BDPay is, the merchant code and both sides' keys. */
import { z } from 'zod';
import { httpConfigFields } from '../http';

/** BDPay's sandbox (docs/providers/bdpay.md §1.2); production is `https://openapi.bdpay.co.id`. */
export const SANDBOX_BASE_URL = 'https://dev-openapi.bdpay.co.id';

export const bdpayConfigSchema = z.object({
  ...httpConfigFields(SANDBOX_BASE_URL),
  merchantCode: z.string().min(1),
  /** Merchant private key: PEM, or the bare base64 PKCS#8 DER the merchant dashboard shows. */
  privateKeyPem: z.string().min(1),
  /** Platform public key that verifies `platSign`: PEM, or bare base64 X.509 SPKI DER. */
  platformPublicKeyPem: z.string().min(1),
});
export type BdpayConfig = z.infer<typeof bdpayConfigSchema>;
