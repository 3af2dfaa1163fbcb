/** Typed view of `temporal-dev.yml`, the one place for local Temporal settings. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

const SearchAttributeType = z.enum(['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']);

const DURATION_UNITS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;

/** `30d`, `72h`, `90m`, `3600s` → whole seconds. Throws on anything else. */
export function parseDurationSeconds(text: string): number {
  const match = /^([1-9][0-9]*)([dhms])$/.exec(text.trim());
  if (!match) throw new Error(`'${text}' is not a duration such as 30d, 72h, 90m or 3600s`);
  return Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS];
}

/** A duration in `temporal-dev.yml`, kept as written (`30d`) and as seconds. */
const DurationSetting = z.string().transform((text, ctx) => {
  try {
    return { text, seconds: parseDurationSeconds(text) };
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

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
    /** Workflow execution retention of the namespace: how long closed workflows are kept. */
    retention: DurationSetting,
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
