/** Structured logs (pino). Secrets are redacted by path wherever they could appear. */
import pino from 'pino';

export const REDACTED_PATHS = [
  '*.apiKey',
  '*.secret',
  '*.clientSecret',
  '*.merchantKey',
  '*.privateKey',
  '*.privateKeyPem',
  '*.webhookSecret',
  '*.apiSecret',
  '*.operatorKey',
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

export function createLogger(options: { level?: string; name?: string } = {}, destination?: pino.DestinationStream) {
  return pino(
    {
      name: options.name ?? process.env.KASIR_PROCESS_NAME ?? 'kasir',
      level: options.level ?? process.env.LOG_LEVEL ?? (process.env.NODE_ENV === 'test' ? 'silent' : 'info'),
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    destination
  );
}

export const logger = createLogger();

export type Logger = typeof logger;
