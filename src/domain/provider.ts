/** The payment providers Kasir connects to. Adding one means a folder in `src/connectors` and a line in its registry. */
export const PROVIDER_IDS = ['finpay', 'nicepay', 'bdpay', 'ayopop'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export function isProviderId(value: string): value is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(value);
}
