/** Kasir's config for the Finpay connector: where Finpay is, and the merchant's credentials. */
import { z } from 'zod';
import { httpConfigFields } from '../http';

/** Finpay's development host (docs/providers/finpay.md §1.2); production is `https://live.finnet.co.id`. */
export const SANDBOX_BASE_URL = 'https://devo.finnet.co.id';

export const finpayConfigSchema = z.object({
  ...httpConfigFields(SANDBOX_BASE_URL),
  /** Basic-auth user name, e.g. `FINPAY770`. */
  merchantId: z.string().min(1),
  /** Basic-auth password and the HMAC key of callbacks. */
  merchantKey: z.string().min(1),
});
export type FinpayConfig = z.infer<typeof finpayConfigSchema>;
