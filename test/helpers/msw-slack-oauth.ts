import { createHash } from 'node:crypto';
import { delay, HttpResponse, http, type JsonBodyType } from 'msw';

/**
 * A fake of Slack's OAuth v2 token endpoint (https://slack.com/api/oauth.v2.access) with Slack's
 * quirks: errors are HTTP 200 `{ ok: false, error }`, `token_type` is "bot", client credentials
 * arrive by HTTP Basic, rotation returns `xoxe.xoxb-` tokens and a refresh token that is revoked
 * after one use. `authorize(location)` plays the user's browser: it takes our redirect to
 * slack.com/oauth/v2/authorize and returns the code Slack would send back, bound to the PKCE
 * challenge and redirect_uri, which the exchange then checks.
 */
export interface SlackGrantShape {
  team?: { id: string; name: string } | null;
  enterprise?: { id: string; name: string } | null;
  isEnterpriseInstall?: boolean;
  userId?: string;
}

export interface FakeSlackOAuth {
  handlers: ReturnType<typeof http.post>[];
  authorize(location: string, grant?: SlackGrantShape): string;
  /** A valid refresh token for tests that seed an installation directly. */
  issueRefreshToken(): string;
  calls: { exchange: number; refresh: number; basicAuthOk: boolean[] };
  /** Current (unrevoked) refresh tokens. */
  liveRefreshTokens: Set<string>;
  /** Next token responses are replaced by this (status, body, headers) once per entry. */
  queue: { status: number; body: JsonBodyType; headers?: Record<string, string> }[];
  /** Delay every token response by this many ms (widens race windows). */
  delayMs: number;
  /**
   * While set, token requests hang until it resolves and then answer 503 without touching any
   * token (a provider that stopped answering).
   */
  hold: Promise<void> | null;
  reset(): void;
}

let seq = 0;
const next = (p: string) => `${p}${++seq}-${Math.random().toString(36).slice(2, 10)}`;

export function fakeSlackOAuth(opts: { clientId: string; clientSecret: string }): FakeSlackOAuth {
  const codes = new Map<string, { challenge: string; redirectUri: string; grant: SlackGrantShape }>();
  const fake: FakeSlackOAuth = {
    handlers: [],
    calls: { exchange: 0, refresh: 0, basicAuthOk: [] },
    liveRefreshTokens: new Set(),
    queue: [],
    delayMs: 0,
    hold: null,
    authorize(location, grant = {}) {
      const url = new URL(location);
      if (url.origin + url.pathname !== 'https://slack.com/oauth/v2/authorize')
        throw new Error(`not Slack: ${location}`);
      if (url.searchParams.get('client_id') !== opts.clientId) throw new Error('wrong client_id');
      if (url.searchParams.get('code_challenge_method') !== 'S256') throw new Error('no PKCE S256');
      const code = next('code-');
      codes.set(code, {
        challenge: url.searchParams.get('code_challenge') ?? '',
        redirectUri: url.searchParams.get('redirect_uri') ?? '',
        grant,
      });
      return code;
    },
    reset() {
      codes.clear();
      fake.liveRefreshTokens.clear();
      fake.calls = { exchange: 0, refresh: 0, basicAuthOk: [] };
      fake.queue.length = 0;
      fake.delayMs = 0;
      fake.hold = null;
    },
    issueRefreshToken() {
      const rt = next('xoxe-1-');
      fake.liveRefreshTokens.add(rt);
      return rt;
    },
  };
  // RFC 6749 2.3.1: id and secret are form-urlencoded before Basic encoding (oauth4webapi does so).
  const basicMatches = (header: string | null) => {
    const m = /^Basic (.+)$/.exec(header ?? '');
    if (!m) return false;
    const [id, secret] = Buffer.from(m[1]!, 'base64').toString().split(':');
    const dec = (s = '') => decodeURIComponent(s.replace(/\+/g, ' '));
    return dec(id) === opts.clientId && dec(secret) === opts.clientSecret;
  };
  const notOk = (error: string) => HttpResponse.json({ ok: false, error });

  fake.handlers.push(
    http.post('https://slack.com/api/oauth.v2.access', async ({ request }) => {
      const form = new URLSearchParams(await request.text());
      const grantType = form.get('grant_type') ?? 'authorization_code';
      if (grantType === 'refresh_token') fake.calls.refresh++;
      else fake.calls.exchange++;
      if (fake.delayMs) await delay(fake.delayMs);
      if (fake.hold) {
        await fake.hold;
        return HttpResponse.json({ ok: false, error: 'service_unavailable' }, { status: 503 });
      }
      const basicOk = basicMatches(request.headers.get('authorization'));
      fake.calls.basicAuthOk.push(basicOk);
      const queued = fake.queue.shift();
      if (queued) return HttpResponse.json(queued.body, { status: queued.status, headers: queued.headers });
      if (!basicOk) return notOk('invalid_client_id');
      if (grantType === 'refresh_token') {
        const rt = form.get('refresh_token') ?? '';
        if (!fake.liveRefreshTokens.delete(rt)) return notOk('invalid_refresh_token');
        const newRt = fake.issueRefreshToken();
        return HttpResponse.json({
          ok: true,
          app_id: 'A1',
          token_type: 'bot',
          access_token: next('xoxe.xoxb-'),
          refresh_token: newRt,
          expires_in: 43200,
        });
      }
      const code = codes.get(form.get('code') ?? '');
      if (!code) return notOk('invalid_code');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== code.challenge)
        return notOk('invalid_code_verifier');
      if (form.get('redirect_uri') !== code.redirectUri) return notOk('bad_redirect_uri');
      const g = code.grant;
      const isEnterpriseInstall = g.isEnterpriseInstall ?? false;
      return HttpResponse.json({
        ok: true,
        app_id: 'A1',
        authed_user: { id: g.userId ?? 'U1' },
        scope: 'chat:write,channels:history',
        token_type: 'bot',
        access_token: next('xoxe.xoxb-'),
        bot_user_id: 'UBOT',
        refresh_token: fake.issueRefreshToken(),
        expires_in: 43200,
        team: isEnterpriseInstall ? null : (g.team ?? { id: 'T1', name: 'Acme' }),
        enterprise: g.enterprise ?? null,
        is_enterprise_install: isEnterpriseInstall,
      });
    }),
  );
  return fake;
}
