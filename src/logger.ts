/** Structured logs (pino). Secrets are redacted by path wherever they could appear. */
import pino from 'pino';

export const REDACTED_PATHS = [
  '*.apiKey',
  '*.secret',
  '*.clientSecret',
  '*.merchantKey',
  '*.privateKey',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.token',
  '*.TOKEN',
  'headers.authorization',
  'headers["x-signature"]',
  'headers["x-api-key"]',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["kasir-operator-key"]',
  'config.*.merchantKey',
  'config.*.clientSecret',
  'config.*.privateKeyPem',
  'config.*.apiSecret',
];

export const logger = pino({
  name: process.env.KASIR_PROCESS_NAME ?? 'kasir',
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
  redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  base: { pid: process.pid },
});

export type Logger = typeof logger;
