/**
 * The hosted checkout page for customers (`/checkout/<token>`, src/checkout): HTML, not the merchant
 * API, so it is mounted as its own router and kept out of the OpenAPI document. The token is the only
 * credential (signed by the worker, `src/checkout/tokens.ts`); everything shown comes from the
 * payment's workflow through the state query, never from the provider.
 *
 * - `GET /checkout/assets/<name>`: the page's stylesheet and script (hashed names, cached for a year).
 * - `GET /checkout/<token>`: the page, in Bahasa Indonesia unless `?lang=en` or Accept-Language asks for English.
 * - `GET /checkout/<token>/state`: `{ status, screen }`, what the page polls.
 * - `GET /checkout/<token>/qr.png`: the QRIS payload as a QR image, when the provider gave one.
 * - `POST /checkout/<token>/simulate/{pay,expire}`: sandbox mode only; drives the provider's simulator
 *   over its HTTP `/_sim` controls at a configured URL (no simulator code is loaded here).
 */
import express from 'express';
import type { Request, Response } from 'express';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import QRCode from 'qrcode';
import { CHECKOUT_ASSETS } from '../../checkout/assets';
import { languageOf } from '../../checkout/messages';
import { renderCheckoutMessage, renderCheckoutPage, screenOf } from '../../checkout/page';
import type { CheckoutView } from '../../checkout/page';
import { createCheckoutTokenCodec } from '../../checkout/tokens';
import type { CheckoutTokenClaims } from '../../checkout/tokens';
import type { CheckoutConfig } from '../../config';
import { workflowIdOf } from '../../ids';
import type { PaymentState } from '../../../workflows/movement-state';
import type { ApiDeps } from '../deps';
import { ApiError, isTemporalUnavailable } from '../http-errors';
import { PAYMENTS } from '../movement-kinds';
import { loadOwned } from '../movements';

/** `default-src 'self'` and nothing inline: the page's only script and stylesheet are Kasir's own files. */
export const CHECKOUT_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'Content-Security-Policy': CHECKOUT_CSP,
  // The token is in the URL: never send it on to the merchant or a wallet as a Referer.
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

const POLL_MS = 3_000;
const RETURN_AFTER_MS = 3_000;
const SIMULATOR_TIMEOUT_MS = 5_000;

type Loaded = { state: PaymentState; claims: CheckoutTokenClaims };

/** Why a request has no payment to show, as the page answers it. */
class CheckoutRefusal extends Error {
  constructor(
    readonly status: 404 | 410 | 503,
    readonly kind: 'not-found' | 'expired' | 'unavailable'
  ) {
    super(kind);
  }
}

/** The router, or undefined when `checkout` is not configured (no link is ever signed then). */
export function checkoutRouter(deps: ApiDeps): express.Router | undefined {
  const config = deps.config.checkout;
  if (!config) return undefined;
  const tokens = createCheckoutTokenCodec(config.signingKeys);
  const router = express.Router();

  async function load(token: string): Promise<Loaded> {
    const verified = tokens.verify(token);
    if (!verified.ok)
      throw new CheckoutRefusal(
        verified.reason === 'expired' ? 410 : 404,
        verified.reason === 'expired' ? 'expired' : 'not-found'
      );
    try {
      const { state } = await loadOwned(deps, PAYMENTS, verified.claims.paymentId, undefined);
      return { state, claims: verified.claims };
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw new CheckoutRefusal(404, 'not-found');
      if (isTemporalUnavailable(err)) throw new CheckoutRefusal(503, 'unavailable');
      throw err;
    }
  }

  /** The token's payment, or undefined once the refusal is answered (as a page or as JSON). */
  async function loadOrRefuse(
    req: Request<{ token: string }>,
    res: Response,
    as: 'html' | 'json'
  ): Promise<Loaded | undefined> {
    try {
      return await load(req.params.token);
    } catch (err) {
      refuse(req, res, err, as);
      return undefined;
    }
  }

  function refuse(req: Request, res: Response, err: unknown, as: 'html' | 'json'): void {
    if (!(err instanceof CheckoutRefusal)) throw err;
    res.status(err.status).set(PAGE_HEADERS);
    if (err.status === 503) res.set('Retry-After', '5');
    if (as === 'json') res.json({ error: err.kind });
    else res.type('html').send(renderCheckoutMessage(err.kind, languageOf(req.query.lang, req.get('accept-language'))));
  }

  router.get('/assets/:name', (req, res) => {
    const asset = CHECKOUT_ASSETS.get(req.params.name);
    if (!asset) return void res.status(404).type('text/plain').send('Not Found');
    res
      .set({ 'Cache-Control': 'public, max-age=31536000, immutable', 'Cross-Origin-Resource-Policy': 'same-origin' })
      .type(asset.contentType)
      .send(asset.body);
  });

  router.get('/:token', async (req, res) => {
    const loaded = await loadOrRefuse(req, res, 'html');
    if (!loaded) return;
    const { state } = loaded;
    const screen = screenOf(state.status, state.instructions !== undefined);
    const merchant = deps.config.merchants.find((m) => m.id === state.merchantId);
    const view: CheckoutView = {
      token: req.params.token,
      merchantName: merchant?.name ?? state.merchantId,
      amount: state.amount,
      method: state.method,
      screen,
      ...(state.instructions ? { instructions: state.instructions } : {}),
      ...(screen === 'paid' ? await returnUrlOf(deps, state.id) : {}),
      sandbox: config.sandbox !== undefined,
      pollMs: POLL_MS,
      returnAfterMs: RETURN_AFTER_MS,
    };
    const lang = languageOf(req.query.lang, req.get('accept-language'));
    res
      .set(PAGE_HEADERS)
      .set({ 'Content-Language': lang, Vary: 'Accept-Language' })
      .type('html')
      .send(renderCheckoutPage(view, lang));
  });

  router.get('/:token/state', async (req, res) => {
    const loaded = await loadOrRefuse(req, res, 'json');
    if (!loaded) return;
    const { status, instructions } = loaded.state;
    res.set(PAGE_HEADERS).json({ status, screen: screenOf(status, instructions !== undefined) });
  });

  router.get('/:token/qr.png', async (req, res) => {
    const loaded = await loadOrRefuse(req, res, 'json');
    if (!loaded) return;
    const content = loaded.state.instructions?.qrContent;
    if (!content || loaded.state.status !== 'PENDING') return void res.status(404).json({ error: 'no-qr' });
    const png = await QRCode.toBuffer(content, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 8 });
    res.set(PAGE_HEADERS).type('png').send(png);
  });

  router.post('/:token/simulate/:action', async (req, res) => {
    if (!config.sandbox) return void res.status(404).json({ error: 'not-found' });
    const action = req.params.action;
    if (action !== 'pay' && action !== 'expire') return void res.status(404).json({ error: 'not-found' });
    // A cross-site form cannot send JSON without a preflight this router never answers.
    if (req.is('application/json') === false) return void res.status(415).json({ error: 'json-only' });
    const loaded = await loadOrRefuse(req, res, 'json');
    if (!loaded) return;
    const { state } = loaded;
    if (state.status !== 'PENDING') return void res.status(409).json({ error: 'not-pending', status: state.status });
    const answer = await simulate(config, state, action, deps);
    res
      .status(answer.ok ? 202 : 502)
      .json(answer.ok ? { accepted: action } : { error: 'simulator', status: answer.status });
  });

  return router;
}

/** The merchant's `returnUrl` from the payment's workflow input (http or https only), as page fields. */
async function returnUrlOf(deps: ApiDeps, paymentId: string): Promise<{ returnUrl?: string }> {
  try {
    const history = await deps.client.withDeadline(Date.now() + deps.timeouts.shortCallMs, () =>
      deps.client.workflowService.getWorkflowExecutionHistory({
        namespace: deps.client.options.namespace,
        execution: { workflowId: workflowIdOf('payment', paymentId) },
        maximumPageSize: 1,
      })
    );
    const payloads = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (!payloads?.length) return {};
    const input = await decodeFromPayloadsAtIndex<{ returnUrl?: unknown }>(
      deps.client.options.loadedDataConverter,
      0,
      payloads
    );
    const url = typeof input?.returnUrl === 'string' ? new URL(input.returnUrl) : undefined;
    return url && (url.protocol === 'https:' || url.protocol === 'http:') ? { returnUrl: url.href } : {};
  } catch (err) {
    // The paid screen stands without the redirect; the merchant's webhook still tells it.
    deps.log.warn({ paymentId, err: String(err) }, 'checkout: could not read the return URL');
    return {};
  }
}

/** Sandbox only: the simulator's control for the order, reached over HTTP like any client of it. */
async function simulate(
  config: CheckoutConfig,
  state: PaymentState,
  action: 'pay' | 'expire',
  deps: ApiDeps
): Promise<{ ok: boolean; status?: number }> {
  const base = (config.sandbox?.simulatorUrls as Partial<Record<string, string>> | undefined)?.[state.provider];
  if (!base) return { ok: false };
  const url = `${base.replace(/\/+$/, '')}/_sim/orders/${encodeURIComponent(state.id)}/${action}`;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(SIMULATOR_TIMEOUT_MS),
    });
    deps.log.info(
      { paymentId: state.id, provider: state.provider, action, status: response.status },
      'checkout: sandbox control'
    );
    return { ok: response.ok, status: response.status };
  } catch (err) {
    deps.log.warn({ paymentId: state.id, err: String(err) }, 'checkout: simulator unreachable');
    return { ok: false };
  }
}
