import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { adminSessions, auditEvents, oauthStates } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, openOwner, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { fakeZendesk } from '../helpers/msw-zendesk.ts';
import { postStart, returnTo, startFlow } from '../helpers/oauth-browser.ts';
import { createZendeskTenant } from '../helpers/zendesk-sign.ts';

/**
 * Sign in with Zendesk: OAuth as the Zendesk user on a connected subdomain (Zendesk mocked at the
 * network), the role from the user's own record, the token revoked afterwards, the session bound
 * to the one tenant connected to that subdomain. Every refusal creates no session.
 */
const creds = { clientId: 'zdg-signin', clientSecret: 'zd-signin-secret' };
const zd = fakeZendesk({ subdomain: 'signco', ...creds });
const other = fakeZendesk({ subdomain: 'othersign', ...creds });
const server = useMsw(...zd.handlers, ...other.handlers);
const config = testConfig({ ZENDESK_CLIENT_ID: creds.clientId, ZENDESK_CLIENT_SECRET: creds.clientSecret });

type Me = { id: number; name: string; email: string; role: string; active?: boolean; suspended?: boolean };

describe.each(backends())('Sign in with Zendesk on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  let tenantId: string;
  let otherTenant: string;
  let app: App;
  let me: Me;
  const seenTokens: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
    tenantId = (await createZendeskTenant(database.db, vault, { subdomain: 'signco' })).tenantId;
    otherTenant = (await createZendeskTenant(database.db, vault, { subdomain: 'othersign' })).tenantId;
    app = testApp(database, { config, vault }).app;
  });
  afterAll(() => database?.close());
  beforeEach(() => {
    zd.reset();
    other.reset();
    seenTokens.length = 0;
    me = { id: 4711, name: 'Zoe Zendesk', email: 'zoe@signco.example', role: 'admin' };
    // users/me answers for a live token of either account (msw resets handlers after each test).
    for (const f of [zd, other])
      server.use(
        http.get(`https://${f.subdomain}.zendesk.com/api/v2/users/me.json`, ({ request }) => {
          const token = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1] ?? '';
          if (!f.liveAccessTokens.has(token))
            return HttpResponse.json({ error: 'invalid_token' }, { status: 401 });
          seenTokens.push(token);
          return HttpResponse.json({ user: me });
        }),
      );
  });

  const sessionsOf = (t: string) => withTenant(database.db, t, (tx) => tx.select().from(adminSessions));

  async function signIn(fake = zd, subdomain = fake.subdomain) {
    const { location, state, cookie } = await startFlow(app, '/admin/signin/zendesk', 'hc_signin_zendesk', {
      subdomain,
    });
    const url = new URL(location);
    expect(url.origin).toBe(`https://${subdomain}.zendesk.com`);
    expect(url.searchParams.get('scope')).toBe('read');
    expect(url.searchParams.get('redirect_uri')).toBe('https://copilot.test/admin/signin/zendesk/callback');
    const code = fake.authorize(location);
    const res = await returnTo(app, '/admin/signin/zendesk/callback', `code=${code}&state=${state}`, cookie);
    return { res, state, cookie, code };
  }

  it('a Zendesk admin signs in as admin of the tenant connected to that subdomain; the token is revoked', async () => {
    const page = await app.request('/admin/signin/zendesk');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('name="subdomain"');
    const { res } = await signIn();
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin');
    const cookie = new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(res.headers.get('set-cookie') ?? '')?.[1];
    expect(cookie).toBeDefined();
    const [s] = await sessionsOf(tenantId);
    expect(s).toMatchObject({
      userId: 'zendesk:4711',
      userName: 'Zoe Zendesk',
      role: 'admin',
      via: 'zendesk_oauth',
    });
    expect(await sessionsOf(otherTenant)).toEqual([]);
    // The sign-in token read the role once and was revoked.
    expect(seenTokens).toHaveLength(1);
    expect(zd.liveAccessTokens.has(seenTokens[0]!)).toBe(false);
    const admin = await app.request('/admin', { headers: { cookie: `${SESSION_COOKIE}=${cookie}` } });
    const html = await admin.text();
    expect(admin.status).toBe(200);
    expect(html).toContain('Zoe Zendesk');
    expect(html).toContain('zendesk_oauth');
    const audit = await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents));
    expect(audit.find((e) => e.action === 'admin.signed_in')).toMatchObject({
      target: 'zendesk:4711',
      actor: { type: 'admin', userId: 'zendesk:4711', via: 'zendesk_oauth' },
      detail: { role: 'admin' },
    });
  });

  it('an agent signs in as member; an end user or a suspended agent is refused and gets no session', async () => {
    me = { ...me, id: 5001, role: 'agent' };
    expect((await signIn()).res.status).toBe(303);
    expect((await sessionsOf(tenantId)).find((s) => s.userId === 'zendesk:5001')?.role).toBe('member');
    const before = (await sessionsOf(tenantId)).length;
    for (const who of [
      { ...me, id: 5002, role: 'end-user' },
      { ...me, id: 5003, role: 'agent', suspended: true },
      { ...me, id: 5004, role: 'admin', active: false },
    ]) {
      me = who;
      const { res } = await signIn();
      expect(res.status, who.role).toBe(403);
      expect(await res.text()).toContain('Only active Zendesk agents and admins');
      expect(res.headers.get('set-cookie') ?? '').not.toContain(`${SESSION_COOKIE}=`);
    }
    expect(await sessionsOf(tenantId)).toHaveLength(before);
  });

  it('a subdomain no tenant is connected to is refused before any OAuth state; so is a bad subdomain and a cross-site post', async () => {
    const statesBefore = await stateCount();
    const none = await postStart(app, '/admin/signin/zendesk', { subdomain: 'nobody-here' });
    expect(none.status).toBe(403);
    expect(none.headers.get('location')).toBeNull();
    expect(await none.text()).toContain('/zendesk/connect?subdomain=nobody-here');
    const bad = await postStart(app, '/admin/signin/zendesk', { subdomain: 'https://evil.example' });
    expect(bad.status).toBe(400);
    const crossSite = await postStart(
      app,
      '/admin/signin/zendesk',
      { subdomain: 'signco' },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.status).toBe(403);
    expect(await stateCount()).toBe(statesBefore);
  });

  it('a callback without the browser cookie, with a used state, or cancelled at Zendesk creates nothing', async () => {
    const { location, state, cookie } = await startFlow(app, '/admin/signin/zendesk', 'hc_signin_zendesk', {
      subdomain: 'signco',
    });
    const code = zd.authorize(location);
    const noCookie = await returnTo(app, '/admin/signin/zendesk/callback', `code=${code}&state=${state}`);
    expect(noCookie.status).toBe(400);
    const ok = await returnTo(app, '/admin/signin/zendesk/callback', `code=${code}&state=${state}`, cookie);
    expect(ok.status).toBe(303);
    const n = (await sessionsOf(tenantId)).length;
    const replay = await returnTo(
      app,
      '/admin/signin/zendesk/callback',
      `code=${code}&state=${state}`,
      cookie,
    );
    expect(replay.status).toBe(400);
    const second = await startFlow(app, '/admin/signin/zendesk', 'hc_signin_zendesk', {
      subdomain: 'signco',
    });
    const cancelled = await returnTo(
      app,
      '/admin/signin/zendesk/callback',
      `error=access_denied&state=${second.state}`,
      second.cookie,
    );
    expect(cancelled.status).toBe(400);
    expect(await sessionsOf(tenantId)).toHaveLength(n);
  });

  it('each subdomain signs in to its own tenant only: a Zendesk admin of another account never lands in this one', async () => {
    me = { ...me, id: 6001, name: 'Olga Other' };
    expect((await signIn(other)).res.status).toBe(303);
    expect((await sessionsOf(otherTenant)).map((s) => s.userId)).toContain('zendesk:6001');
    expect((await sessionsOf(tenantId)).map((s) => s.userId)).not.toContain('zendesk:6001');
  });

  async function stateCount(): Promise<number> {
    const owner = await openOwner(database);
    try {
      return (await owner.db.select().from(oauthStates)).length;
    } finally {
      await owner.close();
    }
  }
});
