/** Typed view of `temporal-dev.yml`, the one place for local Temporal settings. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

const SearchAttributeType = z.enum(['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']);

export const DevSettingsSchema = z.object({
  cli: z.object({ module: z.string(), version: z.string(), toolsDir: z.string() }),
  server: z.object({
    ip: z.string(),
    namespace: z.string(),
    port: z.number().int(),
    uiPort: z.number().int(),
    dbFilename: z.string(),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']),
    sqlitePragmas: z.record(z.string(), z.string()).default({}),
  }),
  searchAttributes: z.record(z.string(), SearchAttributeType),
  dynamicConfig: z.record(z.string(), z.union([z.boolean(), z.number(), z.string()])),
});
export type DevSettings = z.infer<typeof DevSettingsSchema>;

let cached: DevSettings | undefined;

export function loadDevSettings(file = path.join(PROJECT_ROOT, 'temporal-dev.yml')): DevSettings {
  if (!cached) cached = DevSettingsSchema.parse(parse(readFileSync(file, 'utf8')));
  return cached;
}
