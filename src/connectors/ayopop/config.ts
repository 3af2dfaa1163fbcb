/** Kasir's config for the Ayopop connector: where Ayopop is, the partner's API key and secret. */
import { z } from 'zod';
import { httpConfigFields } from '../http';

/**
 * Ayopop's development host as the docs' code samples use it (docs/providers/ayopop.md §1.2); production is
 * given at onboarding.
 */
export const SANDBOX_BASE_URL = 'https://dev.openapi.ayopop.id';

export const ayopopConfigSchema = z.object({
  /** A production partner client uses a 10 s timeout for payment (docs/providers/ayopop.md §4.3). */
  ...httpConfigFields(SANDBOX_BASE_URL),
  /** The API key: sent as `KEY` and as the `partnerId` claim. */
  apiKey: z.string().min(1),
  /** The API secret that keys the HS256 `TOKEN`. */
  apiSecret: z.string().min(1),
  /** Sent as `callbackUrls` when a payment names none; without it Ayopop uses the dashboard URL. */
  callbackUrl: z.url().optional(),
  /**
   * How long an inquiry id stays payable, when the partner agreement says. Ayopop's answer does not
   * carry it (docs/providers/ayopop.md §3.2), so without this the inquiry outcome has no `expiresAt`.
   */
  inquiryTtlMs: z.number().int().positive().optional(),
});
export type AyopopConfig = z.infer<typeof ayopopConfigSchema>;
