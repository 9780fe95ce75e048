import { createHash } from 'node:crypto';
import { delay, HttpResponse, http, type JsonBodyType, type RequestHandler } from 'msw';

/**
 * A fake Zendesk account at https://<subdomain>.zendesk.com: the OAuth endpoints of a global
 * client (PKCE, client_secret in the body, single-use refresh tokens that delete the previous
 * pair, `invalid_grant` as HTTP 400) and the webhook / trigger / token-revocation APIs that
 * provisioning uses, with bearer-token checks. State is kept in plain maps so tests can look.
 */
export interface FakeWebhook {
  id: string;
  name: string;
  endpoint: string;
  status: string;
  http_method: string;
  request_format: string;
  subscriptions: string[];
  secret: string;
}
export interface FakeTrigger {
  id: number;
  title: string;
  active: boolean;
  conditions: unknown;
  actions: { field: string; value: unknown }[];
}

export interface FakeZendesk {
  subdomain: string;
  handlers: RequestHandler[];
  authorize(location: string): string;
  issuePair(): { accessToken: string; refreshToken: string };
  webhooks: Map<string, FakeWebhook>;
  triggers: Map<number, FakeTrigger>;
  liveAccessTokens: Set<string>;
  liveRefreshTokens: Set<string>;
  calls: { exchange: number; refresh: number; tokenParams: URLSearchParams[]; api: string[] };
  /** Next /oauth/tokens answers are replaced by these, once each. */
  queue: { status: number; body: JsonBodyType; headers?: Record<string, string> }[];
  delayMs: number;
  /** Forgets everything (between suites that share one fake). */
  reset(): void;
}

let seq = 0;
const next = (p: string) => `${p}${++seq}${Math.random().toString(36).slice(2, 10)}`;

export function fakeZendesk(opts: {
  subdomain: string;
  clientId: string;
  clientSecret: string;
}): FakeZendesk {
  const base = `https://${opts.subdomain}.zendesk.com`;
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  let triggerSeq = 1000;
  const fake: FakeZendesk = {
    subdomain: opts.subdomain,
    handlers: [],
    webhooks: new Map(),
    triggers: new Map(),
    liveAccessTokens: new Set(),
    liveRefreshTokens: new Set(),
    calls: { exchange: 0, refresh: 0, tokenParams: [], api: [] },
    queue: [],
    delayMs: 0,
    authorize(location) {
      const url = new URL(location);
      if (url.origin !== base || url.pathname !== '/oauth/authorizations/new')
        throw new Error(`not ${base}: ${location}`);
      if (url.searchParams.get('response_type') !== 'code') throw new Error('response_type');
      if (url.searchParams.get('client_id') !== opts.clientId) throw new Error('client_id');
      if (url.searchParams.get('code_challenge_method') !== 'S256') throw new Error('PKCE');
      const code = next('zcode');
      codes.set(code, {
        challenge: url.searchParams.get('code_challenge') ?? '',
        redirectUri: url.searchParams.get('redirect_uri') ?? '',
      });
      return code;
    },
    reset() {
      fake.webhooks.clear();
      fake.triggers.clear();
      fake.liveAccessTokens.clear();
      fake.liveRefreshTokens.clear();
      fake.calls = { exchange: 0, refresh: 0, tokenParams: [], api: [] };
      fake.queue.length = 0;
      fake.delayMs = 0;
      codes.clear();
    },
    issuePair() {
      const accessToken = next('zat');
      const refreshToken = next('zrt');
      fake.liveAccessTokens.add(accessToken);
      fake.liveRefreshTokens.add(refreshToken);
      return { accessToken, refreshToken };
    },
  };
  const oauthError = (error: string, status = 400) =>
    HttpResponse.json({ error, error_description: `fake: ${error}` }, { status });
  const tokenBody = (pair: { accessToken: string; refreshToken: string }, form: URLSearchParams) => ({
    access_token: pair.accessToken,
    token_type: 'bearer',
    refresh_token: pair.refreshToken,
    scope: 'read write',
    expires_in: Number(form.get('expires_in') ?? 1800),
    refresh_token_expires_in: Number(form.get('refresh_token_expires_in') ?? 2592000),
  });

  // Bearer check for API calls: 401 with Zendesk's body when the token is unknown.
  const authed = (request: Request) => {
    const m = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '');
    return m && fake.liveAccessTokens.has(m[1]!) ? m[1]! : null;
  };
  const api = <P extends Record<string, string>>(
    method: 'get' | 'post' | 'put' | 'patch' | 'delete',
    path: string,
    fn: (args: { request: Request; params: P; token: string }) => Promise<Response> | Response,
  ) =>
    http[method](`${base}${path}`, async ({ request, params }) => {
      fake.calls.api.push(`${method.toUpperCase()} ${new URL(request.url).pathname}`);
      const token = authed(request);
      if (!token) return HttpResponse.json({ error: 'Couldn\u2019t authenticate you' }, { status: 401 });
      return fn({ request, params: params as P, token });
    });
  const notFound = () =>
    HttpResponse.json({ error: 'RecordNotFound', description: 'Not found' }, { status: 404 });
  const webhookJson = (w: FakeWebhook) => {
    const { secret: _s, ...rest } = w;
    return rest;
  };

  fake.handlers.push(
    http.post(`${base}/oauth/tokens`, async ({ request }) => {
      const form = new URLSearchParams(await request.text());
      fake.calls.tokenParams.push(form);
      const grantType = form.get('grant_type');
      if (grantType === 'refresh_token') fake.calls.refresh++;
      else fake.calls.exchange++;
      if (fake.delayMs) await delay(fake.delayMs);
      const queued = fake.queue.shift();
      if (queued) return HttpResponse.json(queued.body, { status: queued.status, headers: queued.headers });
      if (form.get('client_id') !== opts.clientId || form.get('client_secret') !== opts.clientSecret)
        return oauthError('invalid_client', 401);
      if (grantType === 'refresh_token') {
        const rt = form.get('refresh_token') ?? '';
        if (!fake.liveRefreshTokens.delete(rt)) return oauthError('invalid_grant');
        return HttpResponse.json(tokenBody(fake.issuePair(), form));
      }
      if (grantType !== 'authorization_code') return oauthError('unsupported_grant_type');
      const code = codes.get(form.get('code') ?? '');
      if (!code) return oauthError('invalid_grant');
      codes.delete(form.get('code') ?? '');
      if (
        createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url') !== code.challenge
      )
        return oauthError('invalid_grant');
      if (form.get('redirect_uri') !== code.redirectUri) return oauthError('invalid_grant');
      return HttpResponse.json(tokenBody(fake.issuePair(), form));
    }),
    api('get', '/api/v2/webhooks', ({ request }) => {
      const q = new URL(request.url).searchParams.get('filter[name_contains]') ?? '';
      const list = [...fake.webhooks.values()].filter((w) => w.name.includes(q)).map(webhookJson);
      return HttpResponse.json({ webhooks: list, meta: { has_more: false, after_cursor: null }, links: {} });
    }),
    api('post', '/api/v2/webhooks', async ({ request }) => {
      const { webhook } = (await request.json()) as { webhook: Omit<FakeWebhook, 'id' | 'secret'> };
      const w: FakeWebhook = { ...webhook, id: next('01WH'), secret: next('whsec') };
      fake.webhooks.set(w.id, w);
      return HttpResponse.json({ webhook: webhookJson(w) }, { status: 201 });
    }),
    api<{ id: string }>('get', '/api/v2/webhooks/:id', ({ params }) => {
      const w = fake.webhooks.get(params.id);
      return w ? HttpResponse.json({ webhook: webhookJson(w) }) : notFound();
    }),
    api<{ id: string }>('patch', '/api/v2/webhooks/:id', async ({ params, request }) => {
      const w = fake.webhooks.get(params.id);
      if (!w) return notFound();
      Object.assign(w, ((await request.json()) as { webhook: Partial<FakeWebhook> }).webhook);
      return new HttpResponse(null, { status: 204 });
    }),
    api<{ id: string }>('delete', '/api/v2/webhooks/:id', ({ params }) => {
      if (!fake.webhooks.has(params.id)) return notFound();
      const used = [...fake.triggers.values()].some((t) =>
        t.actions.some((a) => Array.isArray(a.value) && a.value[0] === params.id),
      );
      if (used) return HttpResponse.json({ error: 'WebhookInUse' }, { status: 400 });
      fake.webhooks.delete(params.id);
      return new HttpResponse(null, { status: 204 });
    }),
    api<{ id: string }>('get', '/api/v2/webhooks/:id/signing_secret', ({ params }) => {
      const w = fake.webhooks.get(params.id);
      return w
        ? HttpResponse.json({ signing_secret: { algorithm: 'sha256', secret: w.secret } })
        : notFound();
    }),
    api('get', '/api/v2/triggers/search', ({ request }) => {
      const q = new URL(request.url).searchParams.get('query') ?? '';
      const list = [...fake.triggers.values()].filter((t) => t.title.includes(q));
      return HttpResponse.json({ triggers: list, next_page: null, count: list.length });
    }),
    api('post', '/api/v2/triggers', async ({ request }) => {
      const { trigger } = (await request.json()) as { trigger: Omit<FakeTrigger, 'id'> };
      const t: FakeTrigger = { ...trigger, id: ++triggerSeq };
      fake.triggers.set(t.id, t);
      return HttpResponse.json({ trigger: t }, { status: 201 });
    }),
    api<{ id: string }>('get', '/api/v2/triggers/:id', ({ params }) => {
      const t = fake.triggers.get(Number(params.id));
      return t ? HttpResponse.json({ trigger: t }) : notFound();
    }),
    api<{ id: string }>('put', '/api/v2/triggers/:id', async ({ params, request }) => {
      const t = fake.triggers.get(Number(params.id));
      if (!t) return notFound();
      Object.assign(t, ((await request.json()) as { trigger: Partial<FakeTrigger> }).trigger);
      return HttpResponse.json({ trigger: t });
    }),
    api<{ id: string }>('delete', '/api/v2/triggers/:id', ({ params }) => {
      if (!fake.triggers.delete(Number(params.id))) return notFound();
      return new HttpResponse(null, { status: 204 });
    }),
    api('delete', '/api/v2/oauth/tokens/current.json', ({ token }) => {
      fake.liveAccessTokens.delete(token);
      return new HttpResponse(null, { status: 204 });
    }),
  );
  return fake;
}
