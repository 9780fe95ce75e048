import type { z } from 'zod';
import { AppError } from '../lib/errors.ts';
import { discardBody, readStreamCapped } from '../lib/http.ts';
import type { UpstreamLimiter } from '../limits/upstream.ts';
import { UpstreamDeferredError } from '../limits/upstream.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';

/**
 * A small Zendesk REST transport on `fetch` (so msw intercepts it in tests and it runs on Workers).
 * The typed resource methods in ./resources.ts sit on it; nothing else should build Zendesk paths.
 * We do not use node-zendesk (README, "Dependencies"): its v6 client fixes the token at
 * construction, resolves 429/503 responses carrying Retry-After and 204 DELETEs as successes whose
 * result is an Error, and emits the bearer token in its debug event. Every JSON body is parsed with
 * the caller's zod schema at this boundary.
 *
 * Errors are `ZendeskApiError` (an AppError): 401 -> one retry with a fresh token, then
 * `unauthorized`; 429 and 503 with a short `Retry-After` are waited out in-process (at most
 * `maxInlineWaitMs`), otherwise `rate_limited` (429) / `upstream_error` (503), retryable, with
 * `retryAt` (a Date) and `detail.retryAfterMs` so the job queue reschedules; other 5xx, 409 and
 * network failures -> `upstream_error`, retryable; other 4xx -> `upstream_error`, not retryable.
 * `upstreamStatus` and `detail.status` carry Zendesk's HTTP status.
 */
export class ZendeskApiError extends AppError {
  /** Zendesk's HTTP status; undefined when no answer arrived (network, timeout). */
  readonly upstreamStatus: number | undefined;
  /** When Zendesk said to try again (Retry-After of a 429 or 503). */
  readonly retryAt: Date | undefined;
  constructor(
    code: 'unauthorized' | 'rate_limited' | 'upstream_error',
    message: string,
    opts: { upstreamStatus?: number; retryable: boolean; retryAt?: Date; now?: Date; cause?: unknown },
  ) {
    const detail: Record<string, unknown> = {};
    if (opts.upstreamStatus !== undefined) detail.status = opts.upstreamStatus;
    if (opts.retryAt && opts.now)
      detail.retryAfterMs = Math.max(0, opts.retryAt.getTime() - opts.now.getTime());
    super(code, message, { retryable: opts.retryable, cause: opts.cause, detail });
    this.name = 'ZendeskApiError';
    this.upstreamStatus = opts.upstreamStatus;
    this.retryAt = opts.retryAt;
  }
}

export function isZendeskNotFound(e: unknown): boolean {
  return e instanceof ZendeskApiError && e.upstreamStatus === 404;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ZendeskApi {
  readonly subdomain: string;
  /** A JSON request; `body` is sent as JSON, or as multipart when it is a FormData. */
  request<S extends z.ZodType>(
    method: Method,
    path: string,
    opts: { schema: S; body?: unknown; query?: Record<string, string> },
  ): Promise<z.output<S>>;
  /** For endpoints whose success has no body we need (DELETE 204, ...). */
  send(method: Exclude<Method, 'GET'>, path: string, body?: unknown): Promise<number>;
  /** For endpoints answering text (an app's public key PEM). */
  requestText(path: string, opts?: { maxBytes?: number }): Promise<string>;
}

export interface ZendeskApiOptions {
  tenantId: string;
  subdomain: string;
  tokens: TokenProvider;
  /** Longest Retry-After we wait for in-process before giving up with a retryable error (default 10 s). */
  maxInlineWaitMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  /**
   * The tenant's limits toward Zendesk, shared by every process (src/limits/upstream.ts): each
   * request takes a permit first and reports its answer (a 429 pauses the tenant's Zendesk calls
   * everywhere; 5xx and timeouts count toward its breaker). Without it, no limits apply.
   */
  limiter?: UpstreamLimiter;
  /**
   * Whether a request ending at `timeoutMs` counts toward the breaker (default true). False for a
   * client whose timeout is a deadline of our own (the context loader's), not Zendesk failing.
   */
  timeoutIsFailure?: boolean;
}

/** Zendesk's X-Rate-Limit (the account's requests a minute) and X-Rate-Limit-Remaining, when sent. */
function rateHeaders(res: Response): { limitPerMinute?: number; remaining?: number } {
  const num = (v: string | null) => (v !== null && /^\d{1,7}$/.test(v.trim()) ? Number(v.trim()) : undefined);
  const limitPerMinute = num(res.headers.get('x-rate-limit'));
  const remaining = num(res.headers.get('x-rate-limit-remaining'));
  return {
    ...(limitPerMinute === undefined ? {} : { limitPerMinute }),
    ...(remaining === undefined ? {} : { remaining }),
  };
}

export const ZENDESK_SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function zendeskBaseUrl(subdomain: string): string {
  if (!ZENDESK_SUBDOMAIN.test(subdomain)) throw new AppError('invalid_subdomain', 'Not a Zendesk subdomain.');
  return `https://${subdomain}.zendesk.com`;
}

/** Retry-After as a Date: delta-seconds or an HTTP date; a missing or unreadable one means 60 s. */
export function retryAfterDate(header: string | null, now: Date): Date {
  const v = header?.trim() ?? '';
  if (/^\d+$/.test(v)) return new Date(now.getTime() + Number(v) * 1000);
  const at = v ? Date.parse(v) : Number.NaN;
  return Number.isFinite(at) ? new Date(Math.max(at, now.getTime())) : new Date(now.getTime() + 60_000);
}

export function createZendeskApi(opts: ZendeskApiOptions): ZendeskApi {
  const base = zendeskBaseUrl(opts.subdomain);
  const maxWait = opts.maxInlineWaitMs ?? 10_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const now = opts.now ?? (() => new Date());

  async function raw(
    method: string,
    path: string,
    body: unknown,
    query?: Record<string, string>,
    accept = 'application/json',
  ): Promise<Response> {
    const url = new URL(path, base);
    if (url.origin !== base) throw new AppError('internal', 'Zendesk path must be relative');
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    const multipart = body instanceof FormData;
    let refreshed = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      const permit = await opts.limiter?.acquire(
        opts.tenantId,
        { upstream: 'zendesk' },
        { maxWaitMs: Math.min(maxWait, 2_000) },
      );
      const token = await opts.tokens.getAccessToken(opts.tenantId, 'zendesk');
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept,
            ...(body === undefined || multipart ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : multipart ? body : JSON.stringify(body),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
          redirect: 'manual',
        });
      } catch (cause) {
        const ownDeadline = (cause as Error)?.name === 'TimeoutError' && opts.timeoutIsFailure === false;
        if (!ownDeadline && (await permit?.failed(`no answer to ${method} ${url.pathname}`)) === 'open')
          throw permit!.deferral();
        throw new ZendeskApiError('upstream_error', `Zendesk did not answer ${method} ${url.pathname}`, {
          retryable: true,
          cause,
        });
      }
      if (res.status === 401 && !refreshed) {
        await permit?.ok();
        refreshed = true;
        await discardBody(res);
        opts.tokens.invalidate?.(opts.tenantId, 'zendesk');
        continue;
      }
      if (res.status === 429 || (res.status === 503 && res.headers.has('retry-after'))) {
        const t = now();
        const retryAt = retryAfterDate(res.headers.get('retry-after'), t);
        const waitMs = retryAt.getTime() - t.getTime();
        await discardBody(res);
        // Every process holds this tenant's Zendesk calls until then (other tenants' are untouched).
        await permit?.throttled(retryAt, rateHeaders(res));
        if (waitMs <= maxWait && attempt < 3) {
          await sleep(waitMs);
          continue;
        }
        // With limits, the job waits for that moment without spending an attempt.
        if (permit) throw new UpstreamDeferredError('zendesk', 'paused', retryAt);
        throw new ZendeskApiError(
          res.status === 429 ? 'rate_limited' : 'upstream_error',
          res.status === 429 ? 'Zendesk rate limit reached' : 'Zendesk is unavailable for now',
          { upstreamStatus: res.status, retryable: true, retryAt, now: t },
        );
      }
      if (res.status >= 500) {
        // The breaker is open now: the job waits for it instead of spending its attempt.
        if ((await permit?.failed(`${res.status} to ${method} ${url.pathname}`)) === 'open') {
          await discardBody(res);
          throw permit!.deferral();
        }
      } else await permit?.ok(rateHeaders(res));
      return res;
    }
    throw new ZendeskApiError('upstream_error', 'Zendesk kept refusing the request', { retryable: true });
  }

  async function check(res: Response, method: string, path: string): Promise<void> {
    if (res.ok) return;
    const status = res.status;
    await discardBody(res);
    if (status === 401)
      throw new ZendeskApiError('unauthorized', 'Zendesk refused our token', {
        upstreamStatus: status,
        retryable: false,
      });
    throw new ZendeskApiError(
      'upstream_error',
      `Zendesk answered ${status} to ${method} ${path.split('?')[0]}`,
      {
        upstreamStatus: status,
        retryable: status >= 500 || status === 409,
      },
    );
  }

  return {
    subdomain: opts.subdomain,
    async request(method, path, { schema, body, query }) {
      const res = await raw(method, path, body, query);
      await check(res, method, path);
      let json: unknown;
      try {
        json = await res.json();
      } catch (cause) {
        throw new ZendeskApiError(
          'upstream_error',
          `Zendesk sent a body that is not JSON for ${method} ${path}`,
          {
            upstreamStatus: res.status,
            retryable: false,
            cause,
          },
        );
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        throw new AppError('upstream_error', `Zendesk sent an unexpected response for ${method} ${path}`, {
          detail: { issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) },
        });
      }
      return parsed.data;
    },
    async send(method, path, body) {
      const res = await raw(method, path, body);
      await check(res, method, path);
      await discardBody(res);
      return res.status;
    },
    async requestText(path, o = {}) {
      const res = await raw('GET', path, undefined, undefined, 'text/plain, application/x-pem-file, */*');
      await check(res, 'GET', path);
      const bytes = res.body ? await readStreamCapped(res.body, o.maxBytes ?? 64 * 1024) : new Uint8Array();
      if (!bytes) throw new AppError('upstream_error', `Zendesk sent an oversized body for GET ${path}`);
      return new TextDecoder().decode(bytes);
    },
  };
}
