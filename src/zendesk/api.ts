import type { z } from 'zod';
import { AppError } from '../lib/errors.ts';
import { discardBody } from '../lib/http.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';

/**
 * A small Zendesk REST client on `fetch` (so msw intercepts it in tests and it runs on Workers).
 * We do not use node-zendesk here: its v6 client fixes the token at construction (Zendesk access
 * tokens now live 30 minutes), resolves 429 responses as successes (facts sheet P-Z5) and pulls
 * in cross-fetch. Every response body is parsed with the caller's zod schema at this boundary.
 *
 * Errors: 401 -> one retry with a fresh token, then AppError('unauthorized'); 429 -> waits
 * `Retry-After` when it is short, else AppError('rate_limited', retryable); 5xx / network ->
 * AppError('upstream_error', retryable); other 4xx -> AppError('upstream_error', not retryable)
 * with detail.status.
 */
export interface ZendeskApi {
  readonly subdomain: string;
  request<S extends z.ZodType>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    opts: { schema: S; body?: unknown; query?: Record<string, string> },
  ): Promise<z.output<S>>;
  /** For endpoints whose success has no body we need (DELETE 204, ...). */
  send(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<number>;
}

export interface ZendeskApiOptions {
  tenantId: string;
  subdomain: string;
  tokens: TokenProvider;
  /** Longest Retry-After we wait for in-process before giving up with a retryable error (default 10 s). */
  maxInlineWaitMs?: number;
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export const ZENDESK_SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function zendeskBaseUrl(subdomain: string): string {
  if (!ZENDESK_SUBDOMAIN.test(subdomain)) throw new AppError('invalid_subdomain', 'Not a Zendesk subdomain.');
  return `https://${subdomain}.zendesk.com`;
}

export function createZendeskApi(opts: ZendeskApiOptions): ZendeskApi {
  const base = zendeskBaseUrl(opts.subdomain);
  const maxWait = opts.maxInlineWaitMs ?? 10_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));

  async function raw(
    method: string,
    path: string,
    body: unknown,
    query?: Record<string, string>,
  ): Promise<Response> {
    const url = new URL(path, base);
    if (url.origin !== base) throw new AppError('internal', 'Zendesk path must be relative');
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    let refreshed = false;
    for (let attempt = 0; attempt < 4; attempt++) {
      const token = await opts.tokens.getAccessToken(opts.tenantId, 'zendesk');
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
          redirect: 'manual',
        });
      } catch (cause) {
        throw new AppError('upstream_error', `Zendesk did not answer ${method} ${url.pathname}`, {
          retryable: true,
          cause,
        });
      }
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        opts.tokens.invalidate?.(opts.tenantId, 'zendesk');
        continue;
      }
      if (res.status === 429) {
        const waitMs = Math.max(0, Number(res.headers.get('retry-after') ?? '60') * 1000);
        if (waitMs <= maxWait && attempt < 3) {
          await discardBody(res);
          await sleep(waitMs);
          continue;
        }
        throw new AppError('rate_limited', 'Zendesk rate limit reached', {
          retryable: true,
          detail: { retryAfterMs: waitMs },
        });
      }
      return res;
    }
    throw new AppError('upstream_error', 'Zendesk kept refusing the request', { retryable: true });
  }

  async function check(res: Response, method: string, path: string): Promise<void> {
    if (res.ok) return;
    const status = res.status;
    await discardBody(res);
    if (status === 401)
      throw new AppError('unauthorized', 'Zendesk refused our token', { detail: { status } });
    throw new AppError('upstream_error', `Zendesk answered ${status} to ${method} ${path.split('?')[0]}`, {
      retryable: status >= 500 || status === 409,
      detail: { status },
    });
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
        throw new AppError('upstream_error', `Zendesk sent a body that is not JSON for ${method} ${path}`, {
          cause,
        });
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
  };
}
