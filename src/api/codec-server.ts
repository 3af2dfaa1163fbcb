/**
 * The codec server: Temporal's remote codec protocol (`POST /codec/encode`, `POST /codec/decode`, JSON
 * `{ "payloads": [{ "metadata": { k: base64 }, "data": base64 }] }` in and out), so operators read
 * encrypted payloads in the Temporal UI (`--ui-codec-endpoint`, or the UI's Data Encoder setting) and
 * the CLI (`--codec-endpoint http://<api>/codec --codec-auth "Bearer <operator key>"`).
 *
 * Operators only: the operator key as `Kasir-Operator-Key` or `Authorization: Bearer`. Browsers get
 * CORS for the configured UI origins. The local Temporal UI cannot send a key, so in sandbox mode
 * (`codec.trustAllowedOriginsWithoutAuth`, set by `npm start` only) a browser request from an allowed
 * origin is trusted: a browser sets `Origin` itself, so other web pages cannot pose as the UI.
 */
import express from 'express';
import type { Request, RequestHandler, Response } from 'express';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import type { KasirConfig } from '../config';
import { constantTimeEqual } from '../constant-time';
import { sha256Hex } from '../ids';
import type { Logger } from '../logger';
import { EncryptionCodec } from '../temporal/payload-encryption';
import { OPERATOR_KEY_HEADER } from './middleware/auth';

const CodecBodySchema = z.object({
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string(), z.string()).optional(),
        data: z.string().optional(),
      })
    )
    .max(10_000)
    // Go's protojson (the Temporal CLI) leaves an empty list out: `{}` is no payloads.
    .default([]),
});

function toPayload(wire: z.infer<typeof CodecBodySchema>['payloads'][number]): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [key, value] of Object.entries(wire.metadata ?? {})) metadata[key] = Buffer.from(value, 'base64');
  return { metadata, data: Buffer.from(wire.data ?? '', 'base64') };
}

function toWire(payload: Payload): { metadata: Record<string, string>; data: string } {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(payload.metadata ?? {})) {
    if (value) metadata[key] = Buffer.from(value).toString('base64');
  }
  return { metadata, data: Buffer.from(payload.data ?? new Uint8Array()).toString('base64') };
}

function isOperator(req: Request, config: KasirConfig): boolean {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
  const key = req.get(OPERATOR_KEY_HEADER) ?? bearer;
  if (!key) return false;
  const hash = sha256Hex(key);
  let ok = false;
  for (const stored of config.api.operatorKeySha256) ok = constantTimeEqual(stored, hash) || ok;
  return ok;
}

function allowedOrigin(req: Request, config: KasirConfig): string | undefined {
  const origin = req.get('origin');
  return origin !== undefined && config.codec.allowedOrigins.some((o) => new URL(o).origin === origin)
    ? origin
    : undefined;
}

function cors(config: KasirConfig): RequestHandler {
  return (req, res, next) => {
    const origin = allowedOrigin(req, config);
    if (origin) {
      res.set('Access-Control-Allow-Origin', origin);
      res.set('Vary', 'Origin');
      res.set('Access-Control-Allow-Credentials', 'true');
      res.set('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.set('Access-Control-Allow-Headers', `Content-Type, Authorization, X-Namespace, ${OPERATOR_KEY_HEADER}`);
      res.set('Access-Control-Max-Age', '600');
    }
    if (req.method === 'OPTIONS') return void res.status(origin ? 204 : 403).end();
    next();
  };
}

function refuse(res: Response, status: number, code: string, message: string): void {
  res
    .status(status)
    .json({ error: { type: status === 401 ? 'authentication_error' : 'invalid_request_error', code, message } });
}

/** Mounted at `/codec` when encryption is configured. */
export function codecRouter(config: KasirConfig, log: Logger): express.Router | undefined {
  if (!config.encryption) return undefined;
  const codec = new EncryptionCodec(config.encryption);
  const router = express.Router();
  router.use(cors(config));
  // Who may use it is settled before a byte of the body is read: an anonymous client cannot make the
  // server buffer and parse megabytes.
  const authorise: RequestHandler = (req, res, next) => {
    const trustedBrowser = config.codec.trustAllowedOriginsWithoutAuth && allowedOrigin(req, config) !== undefined;
    if (!trustedBrowser && !isOperator(req, config)) {
      return refuse(
        res,
        401,
        'invalid_operator_key',
        `The codec server is for operators: send ${OPERATOR_KEY_HEADER} or Authorization: Bearer <operator key>.`
      );
    }
    next();
  };
  const handler =
    (direction: 'encode' | 'decode'): RequestHandler =>
    (req, res, next) => {
      const body = CodecBodySchema.safeParse(req.body);
      if (!body.success)
        return refuse(
          res,
          400,
          'invalid_codec_request',
          'The body must be { "payloads": [{ "metadata": {..base64}, "data": base64 }] }.'
        );
      const payloads = body.data.payloads.map(toPayload);
      (direction === 'encode' ? codec.encode(payloads) : codec.decode(payloads))
        .then((out) => res.json({ payloads: out.map(toWire) }))
        .catch((err: unknown) => {
          log.warn(
            { direction, namespace: req.get('x-namespace'), err: err instanceof Error ? err.message : String(err) },
            'codec request failed'
          );
          refuse(res, 400, 'codec_failed', `Could not ${direction} the payloads (unknown key id or damaged payload).`);
        })
        .catch(next);
    };
  const json = express.json({ limit: '4mb' });
  router.post('/encode', authorise, json, handler('encode'));
  router.post('/decode', authorise, json, handler('decode'));
  return router;
}
