/** TEST-ONLY NICEPAY credentials for both sides: the merchant's key pair and secret, and NICEPAY's notification key pair. */
import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';
import { generateTestRsaKeyPair } from '../simulator-kit';

/** Both sides' TEST-ONLY credentials, as plain JSON so `npm start` can persist them. */
export const nicepayTestCredentialsSchema = z.object({
  clientId: z.string().min(1).max(10),
  clientSecret: z.string().min(1),
  merchantPrivateKeyPem: z.string(),
  merchantPublicKeyPem: z.string(),
  nicepayPrivateKeyPem: z.string(),
  nicepayPublicKeyPem: z.string(),
});
export type NicepayTestCredentials = z.infer<typeof nicepayTestCredentialsSchema>;

export function generateNicepayTestCredentials(): NicepayTestCredentials {
  const merchant = generateTestRsaKeyPair(2048);
  const nicepay = generateTestRsaKeyPair(2048);
  return {
    // NICEPAY client ids are 10 characters (merchantId is String(10)), e.g. IONPAYTEST.
    clientId: `KSRTST${String(randomInt(0, 10_000)).padStart(4, '0')}`,
    clientSecret: randomBytes(48).toString('base64'),
    merchantPrivateKeyPem: merchant.privateKeyPem,
    merchantPublicKeyPem: merchant.publicKeyPem,
    nicepayPrivateKeyPem: nicepay.privateKeyPem,
    nicepayPublicKeyPem: nicepay.publicKeyPem,
  };
}
