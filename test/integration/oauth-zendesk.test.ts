import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditEvents, oauthStates, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { isSecondLiveConnection } from '../../src/oauth/connections.ts';
import { createOAuthState } from '../../src/oauth/state-store.ts';
import { storeZendeskConnection } from '../../src/oauth/zendesk-connect.ts';
import { tenantIdByZendeskHook, tenantIdByZendeskSubdomain } from '../../src/tenancy/lookup.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { triggerBody } from '../../src/zendesk/trigger-payload.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { fakeZendesk } from '../helpers/msw-zendesk.ts';
import { postStart as postForm, returnTo, signedInAdmin, startFlow } from '../helpers/oauth-browser.ts';

const creds = { clientId: 'zdg-copilot', clientSecret: 'zd-secret-1' };
const acme = fakeZendesk({ subdomain: 'acme', ...creds });
const globex = fakeZendesk({ subdomain: 'globex', ...creds });
const initech = fakeZendesk({ subdomain: 'initech', ...creds });
const umbrella = fakeZendesk({ subdomain: 'umbrella', ...creds });
useMsw(...acme.handlers, ...globex.handlers, ...initech.handlers, ...umbrella.handlers);

const config = testConfig({ ZENDESK_CLIENT_ID: creds.clientId, ZENDESK_CLIENT_SECRET: creds.clientSecret });
type ErrBody = { error: { code: string; message: string } };

describe.each(backends())('Zendesk connect on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
    for (const f of [acme, globex, initech, umbrella]) f.reset();
  });
  afterAll(() => database?.close());

  const app = (over: Parameters<typeof testApp>[1] = {}) => testApp(database, { config, vault, ...over }).app;

  const postStart = (a: App, subdomain: string, headers: Record<string, string> = {}) =>
    postForm(a, '/zendesk/connect', { subdomain }, headers);
  const start = (a: App, subdomain: string, headers: Record<string, string> = {}) =>
    startFlow(a, '/zendesk/connect', 'hc_oauth_zendesk', { subdomain }, headers);
  const callback = (a: App, query: string, cookie?: string, headers: Record<string, string> = {}) =>
    returnTo(a, '/zendesk/oauth/callback', query, cookie, headers);

  async function connect(fake: typeof acme, headers: Record<string, string> = {}, extra = '') {
    const a = app();
    const { location, state, cookie } = await start(a, fake.subdomain, headers);
    const code = fake.authorize(location);
    const res = await callback(a, `code=${code}&state=${state}${extra}`, cookie, {
      accept: 'text/html',
      ...headers,
    });
    return { res, location, state, code, cookie };
  }

  it('refuses anything but a bare subdomain with 400 invalid_subdomain and no redirect', async () => {
    const bad = [
      '',
      'https://acme.zendesk.com',
      'acme.zendesk.com',
      'acme/evil',
      'a_b',
      '-acme',
      'acme-',
      'evil.com#',
      '%2e%2e',
      'a'.repeat(64),
    ];
    for (const s of bad) {
      const res = await postStart(app(), s);
      expect(res.status, s).toBe(400);
      expect(res.headers.get('location'), s).toBeNull();
      expect(res.headers.get('set-cookie'), s).toBeNull();
      expect(((await res.json()) as ErrBody).error.code).toBe('invalid_subdomain');
    }
    const none = await app().request('/zendesk/connect', {
      method: 'POST',
      headers: { origin: 'https://copilot.test' },
    });
    expect(none.status).toBe(400);
  });

  it('redirects to the account authorize URL with code, client, redirect URI, scope, state and PKCE', async () => {
    const res = await postStart(app(), 'Acme');
    expect(res.status).toBe(303);
    const url = new URL(res.headers.get('location')!);
    expect(url.origin + url.pathname).toBe('https://acme.zendesk.com/oauth/authorizations/new');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: creds.clientId,
      redirect_uri: 'https://copilot.test/zendesk/oauth/callback',
      scope: 'read write',
      code_challenge_method: 'S256',
    });
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('connects end to end: exchange, sealed pair with expiries, new tenant, webhook, secret, triggers', async () => {
    const t0 = Date.now();
    const { res } = await connect(acme);
    const html = await res.text();
    expect(res.status, html).toBe(200);
    expect(html).toContain('Connected acme.zendesk.com');

    // The token request asked for expiring tokens, with PKCE and the secret in the body.
    const form = acme.calls.tokenParams.at(-1)!;
    expect(form.get('grant_type')).toBe('authorization_code');
    expect(form.get('client_secret')).toBe(creds.clientSecret);
    expect(form.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Number(form.get('expires_in'))).toBeGreaterThan(0);
    expect(Number(form.get('refresh_token_expires_in'))).toBe(30 * 86400);

    const tenantId = (await tenantIdByZendeskSubdomain(database.db, 'acme'))!;
    expect(tenantId).toMatch(/^tn_/);
    const [row] = await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections));
    expect(row).toMatchObject({ subdomain: 'acme', status: 'active', scopes: 'read write' });
    const access = await vault.open(tenantId, 'zendesk_access_token', row!.accessToken!);
    expect(acme.liveAccessTokens.has(access)).toBe(true);
    expect(row!.accessToken).not.toContain(access);
    const refresh = await vault.open(tenantId, 'zendesk_refresh_token', row!.refreshToken!);
    expect(acme.liveRefreshTokens.has(refresh)).toBe(true);
    expect(row!.accessExpiresAt!.getTime()).toBeGreaterThan(t0 + 60 * 60_000);
    expect(row!.refreshExpiresAt!.getTime()).toBeGreaterThan(t0 + 29 * 86_400_000);
    expect(row!.hookId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await tenantIdByZendeskHook(database.db, row!.hookId)).toBe(tenantId);

    // Provisioned: one trigger-mode webhook at our endpoint, its secret sealed, three triggers.
    expect(acme.webhooks.size).toBe(1);
    const [webhook] = [...acme.webhooks.values()];
    expect(webhook).toMatchObject({
      endpoint: `https://copilot.test/webhooks/zendesk/${row!.hookId}`,
      subscriptions: ['conditional_ticket_events'],
      http_method: 'POST',
      request_format: 'json',
      status: 'active',
    });
    expect(row!.zendeskWebhookId).toBe(webhook!.id);
    expect(await vault.open(tenantId, 'zendesk_webhook_secret', row!.webhookSecret!)).toBe(webhook!.secret);
    expect(acme.triggers.size).toBe(3);
    const bodies = [...acme.triggers.values()].map((t) => t.actions[0]);
    expect(bodies).toEqual(
      expect.arrayContaining([
        { field: 'notification_webhook', value: [webhook!.id, triggerBody('ticket_created')] },
        { field: 'notification_webhook', value: [webhook!.id, triggerBody('comment_added')] },
      ]),
    );
    expect(Object.keys(row!.triggerIds).sort()).toEqual(['agent_replied', 'comment_added', 'ticket_created']);
    expect(row!.provisionedAt).toBeInstanceOf(Date);

    const events = await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents));
    const actions = events.map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'tenant.created',
        'zendesk.connected',
        'zendesk.webhook.created',
        'zendesk.webhook.secret_stored',
        'zendesk.trigger.created',
        'zendesk.provisioned',
      ]),
    );
    expect(JSON.stringify(events)).not.toContain(access);
    expect(JSON.stringify(events)).not.toContain(webhook!.secret);
  });

  it('reconnecting keeps the tenant, the hook id and one webhook with one set of triggers', async () => {
    const tenantId = (await tenantIdByZendeskSubdomain(database.db, 'acme'))!;
    const [before] = await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections));
    const { res } = await connect(acme);
    expect(res.status).toBe(200);
    expect(await tenantIdByZendeskSubdomain(database.db, 'acme')).toBe(tenantId);
    const rows = await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.hookId).toBe(before!.hookId);
    expect(rows[0]!.tokenVersion).toBe(before!.tokenVersion + 1);
    expect(acme.webhooks.size).toBe(1);
    expect(acme.triggers.size).toBe(3);
  });

  it('refuses a callback that names a different subdomain, storing nothing', async () => {
    const before = globex.calls.exchange;
    const { res } = await connect(globex, {}, '&subdomain=acme');
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('invalid_subdomain');
    expect(globex.calls.exchange).toBe(before);
    expect(await tenantIdByZendeskSubdomain(database.db, 'globex')).toBeNull();
  });

  it('refuses forged, replayed and cross-provider states with 400 invalid_state', async () => {
    const { location } = await start(app(), 'globex');
    const code = globex.authorize(location);
    const forged = await callback(
      app(),
      `code=${code}&state=not-a-real-state`,
      'hc_oauth_zendesk=not-a-real-state',
    );
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as ErrBody).error.code).toBe('invalid_state');
    const slackState = await createOAuthState(database.db, { provider: 'slack' });
    const cross = await callback(
      app(),
      `code=${code}&state=${slackState.state}`,
      `hc_oauth_zendesk=${slackState.state}`,
    );
    expect(cross.status).toBe(400);
    expect(((await cross.json()) as ErrBody).error.code).toBe('invalid_state');
    expect(await tenantIdByZendeskSubdomain(database.db, 'globex')).toBeNull();

    const { res, state, code: used, cookie } = await connect(initech);
    expect(res.status).toBe(200);
    const replay = await callback(app(), `code=${used}&state=${state}`, cookie);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as ErrBody).error.code).toBe('invalid_state');
  });

  it('refuses to reconnect into a tenant that is being deleted', async () => {
    const tenantId = (await tenantIdByZendeskSubdomain(database.db, 'initech'))!;
    expect(tenantId).toMatch(/^tn_/);
    // The runtime role changes a tenant's status only through app_mark_tenant_deleting (migration 0008).
    await withTenant(database.db, tenantId, (tx) =>
      tx.execute(sql`select public.app_mark_tenant_deleting(now() + interval '30 days', now())`),
    );
    const [before] = await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections));
    const { res } = await connect(initech);
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('being deleted');
    const [after] = await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections));
    expect(after!.tokenVersion).toBe(before!.tokenVersion);
  });

  it('shows a readable page when Zendesk redirects back with an error', async () => {
    const { state, cookie } = await start(app(), 'globex');
    const res = await callback(app(), `error=access_denied&state=${state}`, cookie);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('Zendesk was not connected');
    expect(await tenantIdByZendeskSubdomain(database.db, 'globex')).toBeNull();
  });

  it('a signed-in admin connects into their tenant; another tenant cannot take the subdomain over', async () => {
    const tenantId = (
      await createTenant(database.db, { name: 'Globex Inc', actor: { type: 'system', name: 't' } })
    ).id;
    const { token } = await createSession(database.db, {
      tenantId,
      userId: 'U_ADM',
      role: 'owner',
      via: 'local_link',
    });
    const cookie = `${SESSION_COOKIE}=${token}`;
    const { res } = await connect(globex, { cookie });
    expect(res.status).toBe(200);
    expect(await tenantIdByZendeskSubdomain(database.db, 'globex')).toBe(tenantId);

    const other = (await createTenant(database.db, { name: 'Mallory', actor: { type: 'system', name: 't' } }))
      .id;
    const s2 = await createSession(database.db, {
      tenantId: other,
      userId: 'U_M',
      role: 'owner',
      via: 'local_link',
    });
    const takeover = await connect(globex, { cookie: `${SESSION_COOKIE}=${s2.token}` });
    expect(takeover.res.status).toBe(409);
    expect(await takeover.res.text()).toContain('already connected to another');
    expect(await tenantIdByZendeskSubdomain(database.db, 'globex')).toBe(tenantId);
    const mallory = await withTenant(database.db, other, (tx) => tx.select().from(zendeskConnections));
    expect(mallory).toHaveLength(0);
  });

  it('refuses an unknown token response shape with a clear error and stores nothing', async () => {
    const a = app();
    const { location, state, cookie } = await start(a, 'umbrella');
    const code = umbrella.authorize(location);
    // A bearer token without the refresh token and expiry we asked for.
    umbrella.queue.push({
      status: 200,
      body: { access_token: 'zat-x', token_type: 'bearer', scope: 'read' },
    });
    const res = await callback(a, `code=${code}&state=${state}`, cookie);
    expect(res.status).toBe(502);
    const body = (await res.json()) as ErrBody;
    expect(body.error.code).toBe('upstream_error');
    expect(body.error.message).toContain('unexpected shape');
    expect(await tenantIdByZendeskSubdomain(database.db, 'umbrella')).toBeNull();
  });

  it('answers 503 feature_disabled without Zendesk credentials', async () => {
    const off = testApp(database, { vault }).app;
    for (const res of [
      await off.request('/zendesk/connect?subdomain=acme'),
      await postStart(off, 'acme'),
      await off.request('/zendesk/oauth/callback?code=x&state=y'),
    ]) {
      expect(res.status).toBe(503);
      const body = (await res.json()) as ErrBody;
      expect(body.error.code).toBe('feature_disabled');
      expect(body.error.message).toContain('ZENDESK_CLIENT_ID');
    }
  });

  const stateRows = async () => (await database.db.select().from(oauthStates)).length;

  it('GET /zendesk/connect shows the subdomain form that POSTs, escaped, and stores no state', async () => {
    const before = await stateRows();
    const res = await app().request('/zendesk/connect?subdomain=Acme');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<form method="post" action="\/zendesk\/connect">/);
    expect(html).toContain('name="subdomain" value="acme"');
    const odd = await app().request(
      `/zendesk/connect?subdomain=${encodeURIComponent('"><script>x</script>')}`,
    );
    const oddHtml = await odd.text();
    expect(oddHtml).not.toContain('<script>x');
    expect(oddHtml).toContain('name="subdomain" value=""');
    expect(await stateRows()).toBe(before);
  });

  it('refuses a cross-site connect with 403 (even for a signed-in admin) and stores nothing', async () => {
    const { cookie: session } = await signedInAdmin(database.db, {
      tenantName: 'Victim',
      userId: 'U_VICTIM',
      role: 'owner',
    });
    const before = await stateRows();
    const attempts: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'https://copilot.test', 'sec-fetch-site': 'cross-site' },
      { origin: '' },
    ];
    for (const headers of attempts) {
      const res = await postStart(app(), 'umbrella', { ...headers, cookie: session });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await res.json()) as ErrBody).error.code).toBe('forbidden');
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect(await stateRows()).toBe(before);
    expect(await tenantIdByZendeskSubdomain(database.db, 'umbrella')).toBeNull();
  });

  it('a callback without the browser binding cookie is refused and stores nothing', async () => {
    const a = app();
    const { location, state } = await start(a, 'umbrella');
    const code = umbrella.authorize(location);
    const before = umbrella.calls.exchange;
    const res = await callback(a, `code=${code}&state=${state}`, undefined, { accept: 'text/html' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('invalid_state');
    expect(html).toContain('not started in this browser');
    expect(umbrella.calls.exchange).toBe(before);
    expect(await tenantIdByZendeskSubdomain(database.db, 'umbrella')).toBeNull();
  });

  it('connecting another subdomain to a connected tenant is a clear 409, the old connection stays', async () => {
    const tenantId = (await tenantIdByZendeskSubdomain(database.db, 'acme'))!;
    const [before] = await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections));
    const { cookie } = await signedInAdmin(database.db, {
      tenantName: '',
      tenantId,
      userId: 'U_SWITCH',
      role: 'owner',
    });
    const { res } = await connect(umbrella, { cookie });
    expect(res.status).toBe(409);
    const html = await res.text();
    expect(html).toContain('already connected to acme.zendesk.com');
    expect(html).toContain('Disconnect it first');
    const rows = await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: before!.id, subdomain: 'acme', status: 'active' });
    expect(await tenantIdByZendeskSubdomain(database.db, 'umbrella')).toBeNull();
  });

  it('the one-live index refuses a second live row, and that refusal is recognised on this driver', async () => {
    const tenantId = (await tenantIdByZendeskSubdomain(database.db, 'acme'))!;
    const err = await withTenant(database.db, tenantId, (tx) =>
      tx.insert(zendeskConnections).values({
        tenantId,
        id: 'zc_second',
        subdomain: 'second-live',
        hookId: 'hook-second-live-000000000000000',
      }),
    ).catch((e: unknown) => e);
    expect(isSecondLiveConnection(err)).toBe(true);
    // A revoked row beside the live one is fine.
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(zendeskConnections).values({
        tenantId,
        id: 'zc_old',
        subdomain: 'old-revoked',
        hookId: 'hook-old-revoked-000000000000000',
        status: 'revoked',
      }),
    );
  });

  it('two connects of different subdomains racing into one tenant: one wins, the others are 409', async () => {
    const tenantId = (await createTenant(database.db, { name: 'Race', actor: { type: 'system', name: 't' } }))
      .id;
    const pair = () => ({
      accessToken: 'zat',
      refreshToken: 'zrt',
      accessExpiresAt: new Date(Date.now() + 3_600_000),
      refreshExpiresAt: null,
      scope: 'read write',
    });
    const results = await Promise.allSettled(
      ['race-a', 'race-b', 'race-c'].map((subdomain) =>
        storeZendeskConnection(
          { db: database.db, vault },
          { subdomain, pair: pair(), joinTenantId: tenantId },
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toMatchObject({ code: 'conflict' });
        expect(String(r.reason.message)).toContain('Disconnect it first');
      }
    }
    const rows = await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections));
    expect(rows).toHaveLength(1);
  });
});
