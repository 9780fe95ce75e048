import { eq } from 'drizzle-orm';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { HttpResponse, http, passthrough } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oauthStates, slackInstallations } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { AppError } from '../../src/lib/errors.ts';
import { createOAuthState } from '../../src/oauth/state-store.ts';
import type { TokenProvider } from '../../src/oauth/token-provider.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts';

const CLIENT_ID = '1234.5678';
const CLIENT_SECRET = 'slack-client-secret';
const PUBLIC_URL = 'https://copilot.test';
const REDIRECT = `${PUBLIC_URL}/admin/signin/slack/callback`;
const system = { type: 'system', name: 'test' } as const;

const slackUsers: Record<string, { is_owner?: boolean; is_admin?: boolean; name: string }> = {
  U_OWNER: { is_owner: true, is_admin: true, name: 'olga' },
  U_ADMIN: { is_admin: true, name: 'ada' },
  U_MEMBER: { name: 'mo' },
};

const server = useMsw(
  // The in-process OIDC provider (and nothing else on this machine) is reached for real.
  http.all(/^http:\/\/127\.0\.0\.1:\d+\//, () => passthrough()),
  http.get('https://slack.com/api/users.info', ({ request }) => {
    const url = new URL(request.url);
    if (request.headers.get('authorization') !== 'Bearer xoxe.xoxb-TAAA-bot') {
      return HttpResponse.json({ ok: false, error: 'invalid_auth' });
    }
    const u = slackUsers[url.searchParams.get('user') ?? ''];
    if (!u) return HttpResponse.json({ ok: false, error: 'user_not_found' });
    return HttpResponse.json({
      ok: true,
      user: { ...u, id: url.searchParams.get('user'), real_name: u.name.toUpperCase() },
    });
  }),
);

const slackKeys = (async () => ({
  good: await generateKeyPair('RS256'),
  rogue: await generateKeyPair('RS256'),
}))();

/** A tiny real TokenProvider over the stored sealed bot token (the token manager is another module). */
function storedTokenProvider(database: TestDatabase, vault: Vault): TokenProvider {
  return {
    async getAccessToken(tenantId, provider) {
      if (provider !== 'slack') throw new AppError('not_found', 'no such connection');
      const [row] = await withTenant(database.db, tenantId, (tx) =>
        tx.select().from(slackInstallations).where(eq(slackInstallations.status, 'active')),
      );
      if (!row?.accessToken) throw new AppError('not_found', 'no Slack installation');
      return vault.open(tenantId, 'slack_access_token', row.accessToken);
    },
  };
}

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sc of res.headers.getSetCookie()) {
    const [pair] = sc.split(';');
    const i = pair!.indexOf('=');
    out[pair!.slice(0, i)] = pair!.slice(i + 1);
  }
  return out;
}

describe.each(backends())('Sign in with Slack on %s', (backend) => {
  let database: TestDatabase;
  let idp: TestOidcProvider;
  const vault = testVault();
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantA = (await createTenant(database.db, { name: 'A', actor: system })).id;
    tenantB = (await createTenant(database.db, { name: 'B', actor: system })).id;
    for (const [tenantId, teamId] of [
      [tenantA, 'TAAA'],
      [tenantB, 'TBBB'],
    ] as const) {
      const sealed = await vault.seal(tenantId, 'slack_access_token', `xoxe.xoxb-${teamId}-bot`);
      await withTenant(database.db, tenantId, (tx) =>
        tx.insert(slackInstallations).values({ tenantId, id: `si_${teamId}`, teamId, accessToken: sealed }),
      );
    }
    idp = await startOidcProvider({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: REDIRECT,
      accounts: {
        U_OWNER: { teamId: 'TAAA', name: 'Olga', email: 'olga@a.test' },
        U_ADMIN: { teamId: 'TAAA', name: 'Ada', email: 'ada@a.test' },
        U_MEMBER: { teamId: 'TAAA', name: 'Mo', email: 'mo@a.test' },
        U_STRANGER: { teamId: 'TZZZ', name: 'Stan', email: 'stan@z.test' },
      },
    });
  });
  afterAll(async () => {
    await idp?.close();
    await database?.close();
  });

  const makeApp = (issuer = idp.issuer) =>
    testApp(database, {
      config: testConfig({ PUBLIC_URL, SLACK_CLIENT_ID: CLIENT_ID, SLACK_CLIENT_SECRET: CLIENT_SECRET }),
      vault,
      tokens: storedTokenProvider(database, vault),
      slackOidc: issuer,
    }).app;

  /** Start at /admin/signin/slack, sign in at the provider, return the callback request parts. */
  async function throughProvider(app: ReturnType<typeof makeApp>, accountId: string) {
    const start = await app.request('/admin/signin/slack');
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.searchParams.get('scope')).toBe('openid profile email');
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    const stateCookie = cookiesOf(start).hc_signin_state!;
    expect(stateCookie).toBe(authorize.searchParams.get('state'));
    const back = await idp.signIn(authorize.toString(), accountId);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    return { callback: back.toString(), cookie: `hc_signin_state=${stateCookie}` };
  }

  async function signInAs(accountId: string) {
    const app = makeApp();
    const { callback, cookie } = await throughProvider(app, accountId);
    const res = await app.request(callback, { headers: { cookie } });
    return { app, res, session: cookiesOf(res).hc_session };
  }

  it('an admin signs in end to end and gets a session for their tenant with role admin', async () => {
    const { app, res, session } = await signInAs('U_ADMIN');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin');
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('hc_session='))!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/Secure/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    expect(session).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const page = await app.request('/admin', { headers: { cookie: `hc_session=${session}` } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('U_ADMIN');
    expect(html).toContain('role <strong>admin</strong>');
    expect(html).toContain(tenantA);
    expect(html).toContain('TAAA');
    expect(html).not.toContain(tenantB);
    // requireAdmin lets an admin through.
    const audit = await app.request('/admin/audit.jsonl', { headers: { cookie: `hc_session=${session}` } });
    expect(audit.status).toBe(200);
    expect(await audit.text()).toContain('admin.signed_in');

    // Sign out ends the session for good.
    const out = await app.request('/admin/signout', {
      method: 'POST',
      headers: { cookie: `hc_session=${session}`, origin: 'https://copilot.test' },
    });
    expect(out.status).toBe(303);
    const after = await app.request('/admin/audit.jsonl', { headers: { cookie: `hc_session=${session}` } });
    expect(after.status).toBe(401);
  });

  it('owners get role owner; members get role member and are refused by requireAdmin', async () => {
    const owner = await signInAs('U_OWNER');
    const ownerPage = await owner.app.request('/admin', {
      headers: { cookie: `hc_session=${owner.session}` },
    });
    expect(await ownerPage.text()).toContain('role <strong>owner</strong>');

    const member = await signInAs('U_MEMBER');
    expect(member.res.status).toBe(303);
    const cookie = `hc_session=${member.session}`;
    const page = await member.app.request('/admin', { headers: { cookie } });
    const html = await page.text();
    expect(html).toContain('role <strong>member</strong>');
    expect(html).not.toContain('Delete tenant');
    expect((await member.app.request('/admin/audit.jsonl', { headers: { cookie } })).status).toBe(403);
    const del = await member.app.request('/admin/tenant/delete', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: 'https://copilot.test' },
      body: JSON.stringify({ confirm: 'A' }),
    });
    expect(del.status).toBe(403);
  });

  it('a workspace that has not installed the app is told to install first, with no session', async () => {
    const { res, session } = await signInAs('U_STRANGER');
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('not installed in your Slack workspace');
    expect(session).toBeUndefined();
  });

  it('the state is single-use and bound to the browser that started the sign-in', async () => {
    const app = makeApp();
    const { callback, cookie } = await throughProvider(app, 'U_ADMIN');
    const noCookie = await app.request(callback);
    expect(noCookie.status).toBe(400);
    expect(cookiesOf(noCookie).hc_session).toBeUndefined();
    const ok = await app.request(callback, { headers: { cookie } });
    expect(ok.status).toBe(303);
    const replay = await app.request(callback, { headers: { cookie } });
    expect(replay.status).toBe(400);
    expect(cookiesOf(replay).hc_session).toBeUndefined();
    // A state minted for the install flow is not a sign-in state.
    const install = await createOAuthState(database.db, { provider: 'slack' });
    const crossed = await app.request(`${REDIRECT}?code=abc&state=${install.state}`, {
      headers: { cookie: `hc_signin_state=${install.state}` },
    });
    expect(crossed.status).toBe(400);
    expect(cookiesOf(crossed).hc_session).toBeUndefined();
    const states = await database.db.select().from(oauthStates).where(eq(oauthStates.provider, 'slack_oidc'));
    expect(states.length).toBeGreaterThan(0);
    expect(states.every((s) => !s.stateHash.includes(new URL(callback).searchParams.get('state')!))).toBe(
      true,
    );
  });

  describe("Slack's own endpoints (msw)", () => {
    it('validates a Slack-shaped ID token against Slack JWKS, and handles ok:false answers', async () => {
      // One Slack key for the whole file: the app caches Slack's JWKS per process, as it should.
      const { good, rogue } = await slackKeys;
      const jwk = { ...(await exportJWK(good.publicKey)), kid: 'slack-1', alg: 'RS256' };
      // No slackOidc override: Slack's own issuer and endpoints, answered by msw.
      const slackApp = testApp(database, {
        config: testConfig({ PUBLIC_URL, SLACK_CLIENT_ID: CLIENT_ID, SLACK_CLIENT_SECRET: CLIENT_SECRET }),
        vault,
        tokens: storedTokenProvider(database, vault),
      }).app;
      let tokenAnswer: 'ok' | 'ok_false' | 'rogue' | 'member_unknown' | 'bad_nonce' | 'wrong_aud' = 'ok';
      let lastTokenRequest: URLSearchParams | undefined;
      server.use(
        http.get('https://slack.com/openid/connect/keys', () => HttpResponse.json({ keys: [jwk] })),
        http.post('https://slack.com/api/openid.connect.token', async ({ request }) => {
          const form = new URLSearchParams(await request.text());
          lastTokenRequest = form;
          if (tokenAnswer === 'ok_false') return HttpResponse.json({ ok: false, error: 'invalid_code' });
          const nonce = tokenAnswer === 'bad_nonce' ? 'not-the-nonce-we-sent' : pendingNonce;
          const user = tokenAnswer === 'member_unknown' ? 'U_GHOST' : 'U_OWNER';
          const idToken = await new SignJWT({
            nonce,
            'https://slack.com/user_id': user,
            'https://slack.com/team_id': 'TAAA',
            name: 'Olga',
          })
            .setProtectedHeader({ alg: 'RS256', kid: 'slack-1' })
            .setIssuer('https://slack.com')
            .setAudience(tokenAnswer === 'wrong_aud' ? 'another-app' : CLIENT_ID)
            .setSubject(user)
            .setIssuedAt()
            .setExpirationTime('5m')
            .sign(tokenAnswer === 'rogue' ? rogue.privateKey : good.privateKey);
          return HttpResponse.json({
            ok: true,
            access_token: 'xoxp-user',
            token_type: 'Bearer',
            id_token: idToken,
          });
        }),
      );
      let pendingNonce = '';
      async function attempt(answer: typeof tokenAnswer) {
        tokenAnswer = answer;
        const start = await slackApp.request('/admin/signin/slack');
        const authorize = new URL(start.headers.get('location')!);
        expect(authorize.origin + authorize.pathname).toBe('https://slack.com/openid/connect/authorize');
        pendingNonce = authorize.searchParams.get('nonce')!;
        const state = authorize.searchParams.get('state')!;
        return slackApp.request(`${REDIRECT}?code=slack-code&state=${encodeURIComponent(state)}`, {
          headers: { cookie: `hc_signin_state=${state}` },
        });
      }

      const ok = await attempt('ok');
      expect(ok.status).toBe(303);
      expect(lastTokenRequest?.get('client_id')).toBe(CLIENT_ID);
      expect(lastTokenRequest?.get('code')).toBe('slack-code');
      expect(lastTokenRequest?.get('code_verifier')).toBeTruthy();
      const session = cookiesOf(ok).hc_session!;
      const page = await slackApp.request('/admin', { headers: { cookie: `hc_session=${session}` } });
      expect(await page.text()).toContain('role <strong>owner</strong>');

      for (const bad of ['ok_false', 'rogue', 'member_unknown', 'bad_nonce', 'wrong_aud'] as const) {
        const res = await attempt(bad);
        expect(res.status, bad).toBe(502);
        expect(cookiesOf(res).hc_session, bad).toBeUndefined();
      }
    });
  });
});
