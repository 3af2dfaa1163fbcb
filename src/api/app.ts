/**
 * Kasir's HTTP API as an Express app (no `listen`): the merchant API under `/v1`, the operator
 * endpoint, provider callbacks, health, metrics and docs. Every route comes from one table
 * (`routes/*.ts`); this file mounts it with request ids, auth, body parsing, zod validation and the
 * single error handler, and hands the same table to the OpenAPI generator.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { KasirConfig, Merchant } from '../config';
import type { Connectors } from '../connectors/registry';
import { logger as rootLogger } from '../logger';
import type { Logger } from '../logger';
import { DEFAULT_TIMEOUTS } from './deps';
import type { ApiDeps, ApiTimeouts } from './deps';
import { ApiError, errorBody, fieldErrorsOf, toApiError } from './http-errors';
import type { FieldError } from './http-errors';
import { createMetrics } from './metrics';
import type { ApiMetrics } from './metrics';
import { authenticateMerchant, authenticateMetricsScraper, authenticateOperator } from './middleware/auth';
import { buildOpenApiDocument } from './openapi';
import { createPageTokenCodec, pageTokenKey } from './page-tokens';
import { createApiServer } from './server';
import type { ServerLimits } from './server';
import type { OpenApiDocument } from './openapi';
import type { AnyRoute } from './route';
import { pathMatches } from './route';
import { codecRouter } from './codec-server';
import { billRoutes } from './routes/bills';
import { callbackRoutes } from './routes/callbacks';
import { checkoutRouter } from './routes/checkout';
import { eventRoutes } from './routes/events';
import { paymentRoutes } from './routes/payments';
import { payoutRoutes } from './routes/payouts';
import { refundRoutes } from './routes/refunds';
import { reconciliationRoutes } from './routes/reconciliations';
import { systemRoutes } from './routes/system';

export interface CreateAppOptions {
  client: Client;
  config: KasirConfig;
  connectors: Connectors;
  logger?: Logger;
  timeouts?: Partial<ApiTimeouts>;
  metrics?: ApiMetrics;
  /**
   * Secret the list page tokens are signed with (HKDF input). Omitted: derived from the secrets in
   * `config` (operator key hashes, merchants' key hashes and webhook secrets); see `page-tokens.ts`.
   */
  pageTokenSecret?: string;
  /** Limits of the server `app.listen` creates (defaults: `DEFAULT_SERVER_LIMITS`). */
  serverLimits?: Partial<ServerLimits>;
}

/** Per-request values, kept off `res.locals` so they stay typed. */
interface RequestState {
  requestId: string;
  log: Logger;
  route?: string;
  merchant?: Merchant;
}
const STATE = new WeakMap<Request, RequestState>();

function stateOf(req: Request): RequestState {
  const state = STATE.get(req);
  if (!state) throw new Error('request context missing');
  return state;
}

const JSON_LIMIT = '100kb';
const CALLBACK_LIMIT = '1mb';

function hasBody(req: Request): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

function requestContext(deps: ApiDeps): RequestHandler {
  return (req, res, next) => {
    const requestId = `req_${randomBytes(12).toString('hex')}`;
    const started = process.hrtime.bigint();
    const state: RequestState = { requestId, log: deps.log.child({ requestId }) };
    STATE.set(req, state);
    res.set({ 'Request-Id': requestId, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = state.route ?? 'unmatched';
      deps.metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      const probe = route === '/healthz' || route === '/readyz' || route === '/metrics';
      const level = res.statusCode >= 500 ? 'error' : probe && res.statusCode < 400 ? 'debug' : 'info';
      state.log[level](
        {
          method: req.method,
          route,
          path: req.path,
          status: res.statusCode,
          ms: Math.round(seconds * 1000),
          merchant: state.merchant?.id,
        },
        'request'
      );
    });
    next();
  };
}

function authenticate(route: AnyRoute, deps: ApiDeps): RequestHandler {
  return (req, _res, next) => {
    const state = stateOf(req);
    state.route = route.path;
    if (route.auth === 'merchant') state.merchant = authenticateMerchant(req, deps.config);
    else if (route.auth === 'operator') authenticateOperator(req, deps.config);
    else if (route.auth === 'metrics') authenticateMetricsScraper(req, deps.config);
    next();
  };
}

function bodyParsers(route: AnyRoute): RequestHandler[] {
  switch (route.bodyKind) {
    case 'json':
      return [
        (req, _res, next) => {
          if (hasBody(req) && req.is('application/json') === false) {
            throw new ApiError(
              415,
              'invalid_request_error',
              'unsupported_media_type',
              'Send the body as application/json.',
              {
                headers: { Accept: 'application/json' },
              }
            );
          }
          next();
        },
        express.json({ limit: JSON_LIMIT, strict: true }),
      ];
    case 'raw':
      // Callbacks: the exact bytes, because signatures are computed over them.
      return [express.raw({ type: () => true, limit: CALLBACK_LIMIT })];
    case 'none':
      return [];
  }
}

function validatePart(schema: z.ZodType | undefined, value: unknown, errors: FieldError[]): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  errors.push(...fieldErrorsOf(result.error, value));
  return undefined;
}

function headerValues(schema: z.ZodType | undefined, req: Request): Record<string, string | undefined> {
  if (!(schema instanceof z.ZodObject)) return {};
  return Object.fromEntries(Object.keys(schema.shape).map((name) => [name, req.get(name)]));
}

function handle(route: AnyRoute, deps: ApiDeps): RequestHandler {
  return async (req, res) => {
    const state = stateOf(req);
    const errors: FieldError[] = [];
    const params = validatePart(route.params, req.params, errors);
    const query = validatePart(route.query, req.query, errors);
    const headers = validatePart(route.headers, headerValues(route.headers, req), errors);
    const rawBody: unknown = route.bodyKind === 'json' && req.body === undefined ? {} : req.body;
    const body = route.bodyKind === 'json' ? validatePart(route.body, rawBody, errors) : rawBody;
    if (errors.length > 0) throw ApiError.validation(errors);
    await route.handler({
      req,
      res,
      deps,
      params,
      query,
      body,
      headers,
      merchant: state.merchant as Merchant,
      requestId: state.requestId,
      log: state.log,
    });
  };
}

function notFound(routes: readonly AnyRoute[]): RequestHandler {
  return (req) => {
    const allowed = routes
      .filter((route) => pathMatches(route.path, req.path))
      .map((route) => route.method.toUpperCase());
    if (allowed.length > 0) {
      throw new ApiError(
        405,
        'invalid_request_error',
        'method_not_allowed',
        `${req.method} is not allowed on ${req.path}; use ${allowed.join(', ')}.`,
        {
          headers: { Allow: allowed.join(', ') },
        }
      );
    }
    throw new ApiError(
      404,
      'invalid_request_error',
      'route_not_found',
      `No route for ${req.method} ${req.path}. See /docs.`
    );
  };
}

function errorHandler(deps: ApiDeps) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const state = STATE.get(req);
    const requestId = state?.requestId ?? `req_${randomBytes(12).toString('hex')}`;
    const apiError = toApiError(err);
    const log = state?.log ?? deps.log;
    if (apiError.status >= 500) log.error({ err, route: state?.route }, 'request failed');
    else if (!(err instanceof ApiError))
      log.info({ code: apiError.code, reason: err instanceof Error ? err.message : String(err) }, 'request refused');
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(apiError.status);
    if (apiError.extra.headers) res.set(apiError.extra.headers);
    res.json(errorBody(apiError, requestId));
  };
}

/** Every route of the API, in mount order. */
export function apiRoutes(document: () => OpenApiDocument): AnyRoute[] {
  return [
    ...paymentRoutes,
    ...refundRoutes,
    ...payoutRoutes,
    ...billRoutes,
    ...reconciliationRoutes,
    ...eventRoutes,
    ...callbackRoutes,
    ...systemRoutes(document),
  ];
}

export function createApp(options: CreateAppOptions): express.Express {
  const deps: ApiDeps = {
    client: options.client,
    config: options.config,
    connectors: options.connectors,
    metrics: options.metrics ?? createMetrics(),
    log: options.logger ?? rootLogger.child({ component: 'api' }),
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    pageTokens: createPageTokenCodec(pageTokenKey(options.config, options.pageTokenSecret)),
  };
  let document: OpenApiDocument | undefined;
  const routes: AnyRoute[] = apiRoutes(() => (document ??= buildOpenApiDocument(routes, options.config)));

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(deps));
  const codec = codecRouter(options.config, deps.log);
  if (codec) app.use('/codec', codec);
  // The customers' checkout page (HTML under its own CSP), when `checkout` is configured.
  const checkout = checkoutRouter(deps);
  if (checkout) app.use('/checkout', checkout);
  for (const route of routes) {
    app[route.method](route.path, authenticate(route, deps), ...bodyParsers(route), handle(route, deps));
  }
  app.use(notFound(routes));
  app.use(errorHandler(deps));
  // `app.listen` as Express has it, but on a server with Kasir's limits (slow clients are cut off).
  app.listen = function listen(...args: unknown[]) {
    const server = createApiServer(app, options.serverLimits);
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      let called = false;
      const once = (...callbackArgs: unknown[]) => {
        if (called) return;
        called = true;
        (callback as (...a: unknown[]) => void)(...callbackArgs);
      };
      args[args.length - 1] = once;
      server.once('error', once);
    }
    return server.listen(...(args as Parameters<typeof server.listen>));
  } as express.Express['listen'];
  return app;
}
