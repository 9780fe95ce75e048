import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import manifest from '../../manifest.json' with { type: 'json' };
import type { App } from '../../src/app.ts';
import { auditEvents, oauthStates, slackInstallations, tenants } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { isSecondLiveConnection } from '../../src/oauth/connections.ts';
import { createOAuthState } from '../../src/oauth/state-store.ts';
import { tenantIdBySlack } from '../../src/tenancy/lookup.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { fakeSlackOAuth, type SlackGrantShape } from '../helpers/msw-slack-oauth.ts';
import { returnTo, signedInAdmin, startFlow } from '../helpers/oauth-browser.ts';

const creds = { clientId: 'slack-client-1', clientSecret: 'slack-secret-1' };
const slack = fakeSlackOAuth(creds);
useMsw(...slack.handlers);

const config = testConfig({ SLACK_CLIENT_ID: creds.clientId, SLACK_CLIENT_SECRET: creds.clientSecret });

describe.each(backends())('Slack install on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
  });
  afterAll(() => database?.close());

  const app = (over: Parameters<typeof testApp>[1] = {}) => testApp(database, { config, vault, ...over }).app;

  const startInstall = (a = app(), headers: Record<string, string> = {}) =>
    startFlow(a, '/slack/install', 'hc_oauth_slack', null, headers);
  const callback = (a: App, query: string, cookie?: string, headers: Record<string, string> = {}) =>
    returnTo(a, '/slack/oauth/callback', query, cookie, headers);

  async function install(grant: SlackGrantShape, a = app(), headers: Record<string, string> = {}) {
    const { location, state, cookie } = await startInstall(a, headers);
    const code = slack.authorize(location, grant);
    const res = await callback(a, `code=${code}&state=${state}`, cookie, { accept: 'text/html', ...headers });
    return { res, state, code, cookie };
  }

  async function rowsFor(tenantId: string) {
    return withTenant(database.db, tenantId, (tx) => tx.select().from(slackInstallations));
  }

  it('redirects to Slack with the manifest bot scopes, redirect URI, state and PKCE S256', async () => {
    const { location } = await startInstall();
    const url = new URL(location);
    expect(url.origin + url.pathname).toBe('https://slack.com/oauth/v2/authorize');
    expect(url.searchParams.get('client_id')).toBe(creds.clientId);
    expect(url.searchParams.get('scope')).toBe(manifest.oauth_config.scopes.bot.join(','));
    expect(url.searchParams.get('redirect_uri')).toBe('https://copilot.test/slack/oauth/callback');
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  });

  const stateRows = async () => (await database.db.select().from(oauthStates)).length;

  it('GET /slack/install (links, "Add to Slack") shows a button that POSTs, and stores no state', async () => {
    const before = await stateRows();
    const res = await app().request('/slack/install');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<form method="post" action="\/slack\/install">/);
    expect(html).toContain('Add to Slack');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await stateRows()).toBe(before);
  });

  it('the state cookie is HttpOnly, SameSite=Lax, Secure on https and scoped to the callback', async () => {
    const { setCookie, state } = await startInstall();
    expect(setCookie).toContain(`hc_oauth_slack=${state}`);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Secure/i);
    expect(setCookie).toMatch(/Path=\/slack\/oauth\/callback/i);
    const plain = testApp(database, {
      config: testConfig({
        SLACK_CLIENT_ID: creds.clientId,
        SLACK_CLIENT_SECRET: creds.clientSecret,
        PUBLIC_URL: 'http://127.0.0.1:8787',
      }),
      vault,
    }).app;
    const res = await plain.request('/slack/install', {
      method: 'POST',
      headers: { origin: 'http://127.0.0.1:8787' },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).not.toMatch(/Secure/i);
  });

  it('refuses a cross-site start with 403, even for a signed-in admin, and stores nothing', async () => {
    const { cookie: session } = await signedInAdmin(database.db, {
      tenantName: 'Victim',
      userId: 'U_VICTIM',
      role: 'admin',
    });
    const before = await stateRows();
    const attempts: Record<string, string>[] = [
      { origin: 'https://evil.example', cookie: session },
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', cookie: session },
      { 'sec-fetch-site': 'cross-site', cookie: session },
      { origin: 'https://copilot.test', 'sec-fetch-site': 'same-site', cookie: session },
      { origin: 'null', cookie: session },
      { cookie: session }, // neither header: not from one of our pages
    ];
    for (const headers of attempts) {
      const res = await app().request('/slack/install', { method: 'POST', headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect(await stateRows()).toBe(before);
    // What browsers really send from our page (its referrer policy is no-referrer: Origin null).
    const browsers: Record<string, string>[] = [
      { origin: 'null', 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'same-origin' },
      { origin: 'https://copilot.test' }, // a browser without Sec-Fetch-Site
    ];
    for (const headers of browsers) {
      const res = await app().request('/slack/install', { method: 'POST', headers });
      expect(res.status, JSON.stringify(headers)).toBe(303);
    }
    expect(await stateRows()).toBe(before + 3);
    // The old way in, a GET, starts nothing: it only shows the button.
    const get = await app().request('/slack/install', { headers: { cookie: session } });
    expect(get.status).toBe(200);
    expect(get.headers.get('location')).toBeNull();
    expect(await stateRows()).toBe(before + 3);
  });

  it('a callback without the state cookie of the browser that started it is refused and changes nothing', async () => {
    const { location, state, cookie } = await startInstall();
    const code = slack.authorize(location, { team: { id: 'T_BOUND', name: 'Bound' } });
    const before = slack.calls.exchange;
    // A link carrying someone else's state and code, opened in another browser (no cookie).
    const none = await callback(app(), `code=${code}&state=${state}`);
    expect(none.status).toBe(400);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('invalid_state');
    // A browser that started its own flow: its cookie names another state.
    const other = await startInstall();
    const mismatched = await callback(app(), `code=${code}&state=${state}`, other.cookie, {
      accept: 'text/html',
    });
    expect(mismatched.status).toBe(400);
    expect(await mismatched.text()).toContain('not started in this browser');
    expect(slack.calls.exchange).toBe(before);
    expect(await tenantIdBySlack(database.db, { teamId: 'T_BOUND', isEnterpriseInstall: false })).toBeNull();
    // The state was left alone: the browser that holds the right cookie still finishes.
    const ok = await callback(app(), `code=${code}&state=${state}`, cookie);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('set-cookie')).toMatch(/hc_oauth_slack=;/);
    expect(await tenantIdBySlack(database.db, { teamId: 'T_BOUND', isEnterpriseInstall: false })).toMatch(
      /^tn_/,
    );
  });

  it('two installs of different workspaces racing into one tenant: one wins, the other is a 409', async () => {
    const tenantId = (await createTenant(database.db, { name: 'Race', actor: { type: 'system', name: 't' } }))
      .id;
    const { storeSlackInstall } = await import('../../src/oauth/slack-install.ts');
    const grant = (team: string) => ({
      ok: true as const,
      access_token: `xoxb-${team}`,
      token_type: 'bot',
      scope: 'chat:write',
      team: { id: team, name: team },
      is_enterprise_install: false,
    });
    const results = await Promise.allSettled(
      ['T_RACE_A', 'T_RACE_B', 'T_RACE_C'].map((team) =>
        storeSlackInstall({ db: database.db, vault }, { grant: grant(team), joinTenantId: tenantId }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict' });
      expect(String((r as PromiseRejectedResult).reason.message)).toContain('another Slack workspace');
    }
    const live = (await rowsFor(tenantId)).filter((r) => r.status !== 'revoked');
    expect(live).toHaveLength(1);
  });

  it('the one-live index refuses a second live installation, recognised on this driver', async () => {
    const tenantId = (await createTenant(database.db, { name: 'Two', actor: { type: 'system', name: 't' } }))
      .id;
    const insert = (id: string, teamId: string, status: 'active' | 'revoked') =>
      withTenant(database.db, tenantId, (tx) =>
        tx.insert(slackInstallations).values({ tenantId, id, teamId, status }),
      );
    await insert('si_one_a', 'T_ONE_A', 'active');
    await insert('si_one_old', 'T_ONE_OLD', 'revoked'); // revoked rows do not count
    const err = await insert('si_one_b', 'T_ONE_B', 'active').catch((e: unknown) => e);
    expect(isSecondLiveConnection(err)).toBe(true);
  });

  it('installs end to end: state, code exchange, sealed tokens, new tenant, audit', async () => {
    const before = slack.calls.exchange;
    const { res } = await install({ team: { id: 'T_E2E', name: 'Acme <Support>' }, userId: 'U_INSTALLER' });
    const html = await res.text();
    expect(res.status, html).toBe(200);
    expect(html).toContain('Installed into Acme &lt;Support&gt;');
    expect(html).not.toContain('<Support>');
    expect(slack.calls.exchange).toBe(before + 1);
    expect(slack.calls.basicAuthOk.at(-1)).toBe(true);

    const tenantId = await tenantIdBySlack(database.db, { teamId: 'T_E2E', isEnterpriseInstall: false });
    expect(tenantId).toMatch(/^tn_/);
    const t = await withTenant(database.db, tenantId!, (tx) => tx.select().from(tenants));
    expect(t[0]?.name).toBe('Acme <Support>');
    const rows = await rowsFor(tenantId!);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({
      teamId: 'T_E2E',
      enterpriseId: null,
      isEnterpriseInstall: false,
      status: 'active',
    });
    expect(row.installerUserId).toBe('U_INSTALLER');
    // Sealed: not the token itself, and it opens only as this tenant's slack_access_token.
    expect(row.accessToken).toMatch(/^v1\.1\./);
    const access = await vault.open(tenantId!, 'slack_access_token', row.accessToken!);
    expect(access).toMatch(/^xoxe\.xoxb-/);
    expect(row.accessToken).not.toContain(access);
    const refresh = await vault.open(tenantId!, 'slack_refresh_token', row.refreshToken!);
    expect(slack.liveRefreshTokens.has(refresh)).toBe(true);
    expect(row.accessExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 43_000_000);
    const events = await withTenant(database.db, tenantId!, (tx) => tx.select().from(auditEvents));
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['tenant.created', 'slack.installed']),
    );
    expect(JSON.stringify(events)).not.toContain(access);
  });

  it('installs an Enterprise Grid org-wide install keyed by the enterprise id', async () => {
    const { res } = await install({
      isEnterpriseInstall: true,
      enterprise: { id: 'E_GRID', name: 'Grid Corp' },
      team: null,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Installed into Grid Corp');
    const tenantId = await tenantIdBySlack(database.db, {
      enterpriseId: 'E_GRID',
      isEnterpriseInstall: true,
    });
    expect(tenantId).toMatch(/^tn_/);
    const rows = await rowsFor(tenantId!);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ enterpriseId: 'E_GRID', teamId: null, isEnterpriseInstall: true });
  });

  it('a reinstall updates the one installation row and sets it active again', async () => {
    await install({ team: { id: 'T_RE', name: 'Re' } });
    const tenantId = (await tenantIdBySlack(database.db, { teamId: 'T_RE', isEnterpriseInstall: false }))!;
    const first = (await rowsFor(tenantId))[0]!;
    await withTenant(database.db, tenantId, (tx) =>
      tx
        .update(slackInstallations)
        .set({ status: 'needs_reauth', statusDetail: 'x' })
        .where(eq(slackInstallations.id, first.id)),
    );
    const { res } = await install({ team: { id: 'T_RE', name: 'Re' } });
    expect(res.status).toBe(200);
    const rows = await rowsFor(tenantId);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(first.id);
    expect(rows[0]!.status).toBe('active');
    expect(rows[0]!.statusDetail).toBeNull();
    expect(rows[0]!.tokenVersion).toBe(first.tokenVersion + 1);
    expect(rows[0]!.accessToken).not.toBe(first.accessToken);
    expect(await tenantIdBySlack(database.db, { teamId: 'T_RE', isEnterpriseInstall: false })).toBe(tenantId);
    const events = await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents));
    expect(events.filter((e) => e.action === 'tenant.created')).toHaveLength(1);
    expect(events.map((e) => e.action)).toContain('slack.reinstalled');
  });

  it('a reinstall after an uninstall returns to the same tenant and reactivates the row', async () => {
    await install({ team: { id: 'T_BACK', name: 'Back' } });
    const tenantId = (await tenantIdBySlack(database.db, { teamId: 'T_BACK', isEnterpriseInstall: false }))!;
    // What the uninstall handler leaves behind: tokens erased, status revoked.
    await withTenant(database.db, tenantId, (tx) =>
      tx
        .update(slackInstallations)
        .set({ status: 'revoked', accessToken: null, refreshToken: null, tokenVersion: 0 })
        .where(eq(slackInstallations.teamId, 'T_BACK')),
    );
    expect(await tenantIdBySlack(database.db, { teamId: 'T_BACK', isEnterpriseInstall: false })).toBeNull();
    const { res } = await install({ team: { id: 'T_BACK', name: 'Back' } });
    expect(res.status).toBe(200);
    expect(await tenantIdBySlack(database.db, { teamId: 'T_BACK', isEnterpriseInstall: false })).toBe(
      tenantId,
    );
    const rows = await rowsFor(tenantId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'active' });
    expect(rows[0]!.accessToken).not.toBeNull();
  });

  it('a signed-in admin installs into their own tenant', async () => {
    const tenantId = (
      await createTenant(database.db, { name: 'Joined', actor: { type: 'system', name: 't' } })
    ).id;
    const { token } = await createSession(database.db, {
      tenantId,
      userId: 'U_ADMIN',
      role: 'admin',
      via: 'local_link',
    });
    const { res } = await install({ team: { id: 'T_JOIN', name: 'Join' } }, app(), {
      cookie: `${SESSION_COOKIE}=${token}`,
    });
    expect(res.status).toBe(200);
    expect(await tenantIdBySlack(database.db, { teamId: 'T_JOIN', isEnterpriseInstall: false })).toBe(
      tenantId,
    );
    const events = await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents));
    const ev = events.find((e) => e.action === 'slack.installed');
    expect(ev?.detail).toMatchObject({ joinedBy: 'U_ADMIN', tenantCreated: false });
  });

  it("refuses to move a workspace into another admin's tenant, or a second workspace into one tenant", async () => {
    await install({ team: { id: 'T_OWNED', name: 'Owned' } });
    const owner = (await tenantIdBySlack(database.db, { teamId: 'T_OWNED', isEnterpriseInstall: false }))!;
    const other = (await createTenant(database.db, { name: 'Other', actor: { type: 'system', name: 't' } }))
      .id;
    const { token } = await createSession(database.db, {
      tenantId: other,
      userId: 'U_O',
      role: 'owner',
      via: 'local_link',
    });
    const cookie = { cookie: `${SESSION_COOKIE}=${token}` };
    const takeover = await install({ team: { id: 'T_OWNED', name: 'Owned' } }, app(), cookie);
    expect(takeover.res.status).toBe(409);
    expect(await takeover.res.text()).toContain('already connected to another');
    expect(await tenantIdBySlack(database.db, { teamId: 'T_OWNED', isEnterpriseInstall: false })).toBe(owner);
    expect(await rowsFor(other)).toHaveLength(0);

    const first = await install({ team: { id: 'T_FIRST', name: 'First' } }, app(), cookie);
    expect(first.res.status).toBe(200);
    const second = await install({ team: { id: 'T_SECOND', name: 'Second' } }, app(), cookie);
    expect(second.res.status).toBe(409);
    expect(await second.res.text()).toContain('already connected to another Slack workspace');
    expect(await tenantIdBySlack(database.db, { teamId: 'T_SECOND', isEnterpriseInstall: false })).toBeNull();
  });

  it('refuses a forged state with 400 invalid_state and stores nothing', async () => {
    const before = slack.calls.exchange;
    const { location, cookie } = await startInstall();
    const code = slack.authorize(location, { team: { id: 'T_FORGED', name: 'F' } });
    const res = await callback(
      app(),
      `code=${code}&state=forged-state-value`,
      'hc_oauth_slack=forged-state-value',
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_state');
    const missing = await callback(app(), `code=${code}`, cookie);
    expect(missing.status).toBe(400);
    expect(slack.calls.exchange).toBe(before);
    expect(await tenantIdBySlack(database.db, { teamId: 'T_FORGED', isEnterpriseInstall: false })).toBeNull();
  });

  it('refuses an expired state (older than 10 minutes)', async () => {
    const past = new Date(Date.now() - 11 * 60_000);
    const { location, state, cookie } = await startInstall(app({ now: () => past }));
    const code = slack.authorize(location, { team: { id: 'T_OLD', name: 'Old' } });
    const before = slack.calls.exchange;
    const res = await callback(app(), `code=${code}&state=${state}`, cookie, { accept: 'text/html' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('invalid_state');
    expect(html).toContain('<!doctype html>');
    expect(slack.calls.exchange).toBe(before);
    expect(await tenantIdBySlack(database.db, { teamId: 'T_OLD', isEnterpriseInstall: false })).toBeNull();
  });

  it('refuses a replayed state after a successful install', async () => {
    const { res, state, code, cookie } = await install({ team: { id: 'T_REPLAY', name: 'Replay' } });
    expect(res.status).toBe(200);
    const tenantId = (await tenantIdBySlack(database.db, {
      teamId: 'T_REPLAY',
      isEnterpriseInstall: false,
    }))!;
    const before = (await rowsFor(tenantId))[0]!;
    const again = await callback(app(), `code=${code}&state=${state}`, cookie);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('invalid_state');
    const after = await rowsFor(tenantId);
    expect(after).toHaveLength(1);
    expect(after[0]!.tokenVersion).toBe(before.tokenVersion);
  });

  it('shows a readable error page when Slack redirects back with an error, and burns the state', async () => {
    const { state, cookie } = await startInstall();
    const res = await callback(app(), `error=access_denied&state=${state}`, cookie);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('text/html');
    const html = await res.text();
    expect(html).toContain('Slack install was not completed');
    expect(html).toContain('denied');
    expect(html).not.toMatch(/at .*\.ts:\d+/);
    const xss = await app().request(
      `/slack/oauth/callback?error=${encodeURIComponent('<img src=x onerror=alert(1)>')}`,
    );
    expect(await xss.text()).not.toContain('<img');
    // Burnt: using it now is invalid_state (400), not an exchange attempt (502).
    const reuse = await callback(app(), `code=whatever&state=${state}`, cookie);
    expect(reuse.status).toBe(400);
  });

  it("turns Slack's HTTP 200 ok:false into a clear error and stores nothing", async () => {
    const { location, state, cookie } = await startInstall();
    const code = slack.authorize(location, { team: { id: 'T_NOTOK', name: 'N' } });
    slack.queue.push({ status: 200, body: { ok: false, error: 'invalid_code' } });
    const res = await callback(app(), `code=${code}&state=${state}`, cookie);
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_error');
    expect(body.error.message).toContain('invalid_code');
    expect(await tenantIdBySlack(database.db, { teamId: 'T_NOTOK', isEnterpriseInstall: false })).toBeNull();
  });

  it('refuses an unknown response shape (zod) with a clear error', async () => {
    const { location, state, cookie } = await startInstall();
    const code = slack.authorize(location, { team: { id: 'T_SHAPE', name: 'S' } });
    // A user-token-only answer: a bearer-ish token but no bot token and no team.
    slack.queue.push({
      status: 200,
      body: { ok: true, access_token: 'xoxp-1', token_type: 'user', scope: 'x', team: { id: 'T_SHAPE' } },
    });
    const res = await callback(app(), `code=${code}&state=${state}`, cookie);
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toMatch(/unexpected|understand/);
    expect(await tenantIdBySlack(database.db, { teamId: 'T_SHAPE', isEnterpriseInstall: false })).toBeNull();

    const second = await startInstall();
    const code2 = slack.authorize(second.location, { team: { id: 'T_SHAPE', name: 'S' } });
    slack.queue.push({
      status: 200,
      body: { ok: true, access_token: 'xoxb-1', token_type: 'bot', team: 42 },
    });
    const res2 = await callback(app(), `code=${code2}&state=${second.state}`, second.cookie);
    expect(res2.status).toBe(502);
    expect(((await res2.json()) as { error: { message: string } }).error.message).toContain(
      'unexpected shape',
    );
  });

  it('answers 503 feature_disabled when Slack credentials are not configured', async () => {
    const off = testApp(database, { vault }).app;
    for (const [method, path] of [
      ['GET', '/slack/install'],
      ['POST', '/slack/install'],
      ['GET', '/slack/oauth/callback?code=x&state=y'],
    ] as const) {
      const res = await off.request(path, { method, headers: { origin: 'https://copilot.test' } });
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('feature_disabled');
      expect(body.error.message).toContain('SLACK_CLIENT_ID');
    }
  });

  it('state rows hold a hash, not the state, and a state is single-use at the store level', async () => {
    const { consumeOAuthState } = await import('../../src/oauth/state-store.ts');
    const st = await createOAuthState(database.db, { provider: 'slack' });
    const rows = await database.db.select().from(oauthStates);
    expect(rows.some((r) => r.stateHash === st.state)).toBe(false);
    expect(await consumeOAuthState(database.db, st.state, 'zendesk')).toBeNull();
    const results = await Promise.all([1, 2, 3].map(() => consumeOAuthState(database.db, st.state, 'slack')));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
