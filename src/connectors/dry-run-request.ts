/**
 * Dry runs of a connector's own request builder, so the API can refuse a payment a provider would
 * refuse, with a 400 naming the field, before any workflow starts. The rules live once, in each
 * connector's mapping and schemas; this only translates the provider's field names to Kasir's.
 */
import type { ZodType } from 'zod';
import { ProviderRequestRejectedError } from '../domain/errors';
import type { FieldIssue } from './connector';

/**
 * Runs `build` (which throws `ProviderRequestRejectedError` naming a provider field) and, when given,
 * checks its output against the provider's request `schema`. Provider field names are translated with
 * `fields`; a field with no translation keeps its provider name under the provider's prefix.
 */
export function dryRunRequest(
  provider: string,
  fields: Readonly<Record<string, string>>,
  build: () => unknown,
  schema?: ZodType
): FieldIssue[] {
  const name = (providerField: string | undefined): string =>
    providerField === undefined ? 'request' : (fields[providerField] ?? `${provider}.${providerField}`);
  let request: unknown;
  try {
    request = build();
  } catch (err) {
    if (err instanceof ProviderRequestRejectedError) return [{ field: name(err.field), message: err.message }];
    throw err;
  }
  if (!schema) return [];
  const parsed = schema.safeParse(request);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    field: name(issue.path.length > 0 ? issue.path.map(String).join('.') : undefined),
    message: `${provider} would refuse it: ${issue.message}`,
  }));
}
