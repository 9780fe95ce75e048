import type { MiddlewareHandler } from 'hono';
import type { Features } from '../config.ts';
import { readStreamCapped } from '../lib/http.ts';
import { toBase64Url } from '../lib/ids.ts';
import { errorResponse } from './errors.ts';
import type { AppDeps, AppEnv } from './types.ts';

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Request ids are unique, not secret: 12 random bytes each, cut from a 4 KiB block of CSPRNG
 * output (one getRandomValues call per 341 requests instead of one per request, which was a
 * tenth of an ingest ack's CPU).
 */
let idPool = new Uint8Array(0);
let idAt = 0;
function newRequestId(): string {
  if (idAt + 12 > idPool.length) {
    idPool = crypto.getRandomValues(new Uint8Array(4092));
    idAt = 0;
  }
  const id = toBase64Url(idPool.subarray(idAt, idAt + 12));
  idAt += 12;
  return `req_${id}`;
}

/**
 * Ingest routes whose successful answers are not logged one by one at info (their refusals are,
 * by the routes, and the delivery row is the record of an accepted one): at ingest rates the
 * access line per request was per-request work the ack does not need. Still logged at debug.
 */
const QUIET_WHEN_OK = /^\/(?:slack\/events|webhooks\/zendesk\/)/;

/** Attaches deps, a request id (a sane incoming `X-Request-Id` is kept) and a request-scoped logger. */
export function init(deps: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && INCOMING_ID.test(incoming) ? incoming : newRequestId();
    c.set('deps', deps);
    c.set('requestId', requestId);
    c.set('log', deps.logger.child({ requestId }));
    const started = performance.now();
    await next();
    c.header('X-Request-Id', requestId);
    const path = c.req.path;
    if (path === '/healthz') return;
    const fields = {
      method: c.req.method,
      path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    if (c.res.status < 400 && QUIET_WHEN_OK.test(path)) c.get('log').debug('request', fields);
    else c.get('log').info('request', fields);
  };
}

/**
 * Refuses bodies over `maxBytes` with 413 before they are read: by Content-Length when given,
 * and by counting bytes for chunked bodies (the body is buffered once and handed on unchanged).
 */
export function limitBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const tooLarge = () =>
      errorResponse(c, 'payload_too_large', `Request body is larger than the ${maxBytes}-byte limit.`);
    const declared = c.req.header('content-length');
    if (declared !== undefined) {
      const n = Number(declared);
      if (!Number.isFinite(n) || n > maxBytes) return tooLarge();
      return next();
    }
    const body = c.req.raw.body;
    if (!body) return next();
    const buf = await readStreamCapped(body, maxBytes);
    if (!buf) return tooLarge();
    c.req.raw = new Request(c.req.raw, { body: buf });
    return next();
  };
}

/**
 * Refuses every request to a route whose feature is off with 503 `feature_disabled` and a
 * message naming what to set; the handlers behind it may rely on the feature being configured.
 */
export function requireFeature(feature: keyof Features, message: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!c.get('deps').config.features[feature]) return errorResponse(c, 'feature_disabled', message);
    return next();
  };
}

/**
 * The one same-origin rule for state-changing browser POSTs (OAuth install starts, admin console
 * forms, Zendesk provision/disconnect): true when the request shows it comes from our own pages.
 *
 * - With `Sec-Fetch-Site` (which page scripts cannot set): it must be `same-origin`, and `Origin`
 *   absent, PUBLIC_URL's origin, or `null`. `Origin: null` is what browsers send for a same-origin
 *   form POST from a page whose referrer policy is `no-referrer` (our layout's), and also what a
 *   sandboxed cross-site frame sends, which then says `cross-site`: so `null` passes only
 *   together with `same-origin`.
 * - Without `Sec-Fetch-Site` (older browsers, scripts): `Origin` must be PUBLIC_URL's origin.
 *   Every browser sends `Origin` on a POST; a script sending the session cookie must send it too.
 */
export function isSameOriginRequest(
  headers: { origin?: string | undefined; secFetchSite?: string | undefined },
  publicUrl: string,
): boolean {
  const expected = new URL(publicUrl).origin;
  const { origin, secFetchSite: site } = headers;
  if (site === undefined) return origin === expected;
  return site === 'same-origin' && (origin === undefined || origin === expected || origin === 'null');
}

/**
 * Refuses a request that fails isSameOriginRequest with 403 `forbidden`, before anything is
 * read or stored. `requireSameOriginPosts` applies it to POSTs only (for a router's `use`).
 */
export const requireSameOrigin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const ok = isSameOriginRequest(
    { origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') },
    c.get('deps').config.PUBLIC_URL,
  );
  if (!ok)
    return errorResponse(
      c,
      'forbidden',
      'This must be sent from a page of this site (cross-site request refused).',
    );
  return next();
};

export const requireSameOriginPosts: MiddlewareHandler<AppEnv> = async (c, next) =>
  c.req.method === 'POST' ? requireSameOrigin(c, next) : next();
