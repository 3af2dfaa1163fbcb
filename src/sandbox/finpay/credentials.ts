/** TEST-ONLY Finpay credentials for the simulator and the connector that talks to it. */
import { randomBytes, randomInt } from 'node:crypto';
import { z } from 'zod';

export const finpayTestCredentialsSchema = z.object({
  /** Basic-auth user name, shaped like Finpay's `FINPAY770`. */
  merchantId: z.string().min(1),
  /** Basic-auth password and the HMAC key of callbacks. */
  merchantKey: z.string().min(1),
});
export type FinpayTestCredentials = z.infer<typeof finpayTestCredentialsSchema>;

export function generateFinpayTestCredentials(): FinpayTestCredentials {
  return { merchantId: `FINPAYSIM${randomInt(100_000, 1_000_000)}`, merchantKey: randomBytes(32).toString('hex') };
}
