/** TEST-ONLY BDPay credentials: a merchant code and both key pairs. */
import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { generateTestRsaKeyPair } from '../simulator-kit';

/** Both key pairs, as PEM. The merchant's private key goes to Kasir; the platform's stays in the simulator. */
export const bdpayTestCredentialsSchema = z.object({
  merchantCode: z.string().min(1),
  merchantPrivateKeyPem: z.string().min(1),
  merchantPublicKeyPem: z.string().min(1),
  platformPrivateKeyPem: z.string().min(1),
  platformPublicKeyPem: z.string().min(1),
});
export type BdpayTestCredentials = z.infer<typeof bdpayTestCredentialsSchema>;

/** 1024-bit, like every key the family hands out (docs/providers/bdpay.md §2.3), so chunking works as in production. */
export const BDPAY_KEY_BITS = 1024;

/** Fresh TEST-ONLY credentials: a merchant code shaped like the docs' `S820190712000002` and two key pairs. */
export function generateBdpayTestCredentials(): BdpayTestCredentials {
  const merchant = generateTestRsaKeyPair(BDPAY_KEY_BITS);
  const platform = generateTestRsaKeyPair(BDPAY_KEY_BITS);
  const digits = Array.from({ length: 14 }, () => randomInt(10)).join('');
  return {
    merchantCode: `S8${digits}`,
    merchantPrivateKeyPem: merchant.privateKeyPem,
    merchantPublicKeyPem: merchant.publicKeyPem,
    platformPrivateKeyPem: platform.privateKeyPem,
    platformPublicKeyPem: platform.publicKeyPem,
  };
}
