/** TEST-ONLY Ayopop partner credentials: the API key (also the `partnerId`) and the secret that keys `TOKEN`. */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

export const ayopopTestCredentialsSchema = z.object({
  apiKey: z.string().min(1),
  apiSecret: z.string().min(16),
});
export type AyopopTestCredentials = z.infer<typeof ayopopTestCredentialsSchema>;

export function generateAyopopTestCredentials(): AyopopTestCredentials {
  return { apiKey: `kasir-sim-${randomBytes(6).toString('hex')}`, apiSecret: randomBytes(32).toString('base64url') };
}
