import { eq } from 'drizzle-orm';
import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { randomToken } from '../../src/lib/ids.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import { tenantIdByZendeskHook } from '../../src/tenancy/lookup.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { disconnectZendesk, provisionZendesk, TRIGGER_TITLES } from '../../src/zendesk/provisioning.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { fakeZendesk } from '../helpers/msw-zendesk.ts';

/** Creating and migrating a database takes seconds, or minutes on a loaded machine: an upper bound only. */
const DB_SETUP_TIMEOUT_MS = 300_000;

const creds = { clientId: 'zdg-copilot', clientSecret: 'zd-secret-1' };
const zd = fakeZendesk({ subdomain: 'hooli', ...creds });
const server = useMsw(...zd.handlers);
const config = testConfig({ ZENDESK_CLIENT_ID: creds.clientId, ZENDESK_CLIENT_SECRET: creds.clientSecret });
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('Zendesk provisioning on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  let tenantId: string;
  let hookId: string;
  const deps = () => ({
    db: database.db,
    vault,
    tokens: createTokenManager({ db: database.db, vault, config, logger: createLogger('silent') }),
    publicUrl: config.PUBLIC_URL,
    actor: system,
    maxInlineWaitMs: 50,
  });
  const row = async () =>
    (await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections)))[0]!;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
    tenantId = (await createTenant(database.db, { name: 'Hooli', actor: system })).id;
  }, DB_SETUP_TIMEOUT_MS);
  afterAll(() => database?.close());

  beforeEach(async () => {
    // A fresh tenant with a live Zendesk pair, as the OAuth callback leaves it.
    zd.reset();
    hookId = randomToken(24);
    const pair = zd.issuePair();
    await withTenant(database.db, tenantId, async (tx) => {
      await tx.delete(zendeskConnections);
      await tx.insert(zendeskConnections).values({
        tenantId,
        id: `zc_${randomToken(8)}`,
        subdomain: 'hooli',
        hookId,
        accessToken: await vault.seal(tenantId, 'zendesk_access_token', pair.accessToken),
        refreshToken: await vault.seal(tenantId, 'zendesk_refresh_token', pair.refreshToken),
        accessExpiresAt: new Date(Date.now() + 3_600_000),
        refreshExpiresAt: new Date(Date.now() + 30 * 86_400_000),
      });
    });
  });

  it('provisions once and, run again, reuses the webhook and triggers instead of duplicating', async () => {
    const first = await provisionZendesk(deps(), tenantId);
    expect(first.created).toEqual([
      'webhook',
      'trigger:ticket_created',
      'trigger:comment_added',
      'trigger:agent_replied',
    ]);
    const second = await provisionZendesk(deps(), tenantId);
    expect(second.created).toEqual([]);
    expect(second.reused).toEqual([
      'webhook',
      'trigger:ticket_created',
      'trigger:comment_added',
      'trigger:agent_replied',
    ]);
    expect(second.webhookId).toBe(first.webhookId);
    expect(second.triggerIds).toEqual(first.triggerIds);
    expect(zd.webhooks.size).toBe(1);
    expect(zd.triggers.size).toBe(3);
    expect([...zd.triggers.values()].map((t) => t.title).sort()).toEqual(
      Object.values(TRIGGER_TITLES).sort(),
    );
  });

  it('after a crash that lost the stored ids, finds its webhook and triggers by identity', async () => {
    await provisionZendesk(deps(), tenantId);
    await withTenant(database.db, tenantId, (tx) =>
      tx.update(zendeskConnections).set({ zendeskWebhookId: null, triggerIds: {}, webhookSecret: null }),
    );
    const again = await provisionZendesk(deps(), tenantId);
    expect(again.created).toEqual([]);
    expect(zd.webhooks.size).toBe(1);
    expect(zd.triggers.size).toBe(3);
    const r = await row();
    expect(r.zendeskWebhookId).toBe(again.webhookId);
    expect(await vault.open(tenantId, 'zendesk_webhook_secret', r.webhookSecret!)).toBe(
      zd.webhooks.get(again.webhookId)!.secret,
    );
  });

  it('recreates what an admin deleted in Zendesk, and repoints triggers at a new webhook', async () => {
    const first = await provisionZendesk(deps(), tenantId);
    zd.triggers.delete(Number(first.triggerIds.ticket_created));
    const second = await provisionZendesk(deps(), tenantId);
    expect(second.created).toEqual(['trigger:ticket_created']);
    expect(zd.triggers.size).toBe(3);
    // Webhook removed by hand (the fake refuses while triggers use it, so drop the triggers' link too).
    zd.webhooks.clear();
    const third = await provisionZendesk(deps(), tenantId);
    expect(third.created).toEqual(['webhook']);
    for (const t of zd.triggers.values()) expect((t.actions[0]!.value as string[])[0]).toBe(third.webhookId);
  });

  it("waits out Zendesk's 429 Retry-After and still provisions once", async () => {
    server.use(
      http.post(
        'https://hooli.zendesk.com/api/v2/webhooks',
        // JSON body on purpose: under msw, cancelling a mocked *text* body and then running an AES
        // job aborts Node 24 (crypto_cipher.h "errors->Empty()"); reproduced outside our code.
        () =>
          HttpResponse.json({ error: 'TooManyRequests' }, { status: 429, headers: { 'retry-after': '0' } }),
        { once: true },
      ),
    );
    const res = await provisionZendesk(deps(), tenantId);
    expect(res.created).toContain('webhook');
    expect(zd.webhooks.size).toBe(1);
  });

  it('records a failed provisioning in the audit trail and leaves no half-stored secret', async () => {
    server.use(
      http.get('https://hooli.zendesk.com/api/v2/webhooks/:id/signing_secret', () =>
        HttpResponse.json({ error: 'Forbidden' }, { status: 403 }),
      ),
    );
    await expect(provisionZendesk(deps(), tenantId)).rejects.toMatchObject({ code: 'upstream_error' });
    const r = await row();
    expect(r.webhookSecret).toBeNull();
    expect(r.zendeskWebhookId).not.toBeNull(); // stored as soon as it existed: no duplicate next time
    const events = await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents));
    expect(events.some((e) => e.action === 'zendesk.provisioned' && e.outcome === 'failure')).toBe(true);
  });

  it('disconnect removes triggers then the webhook, revokes the token and erases the secrets', async () => {
    await provisionZendesk(deps(), tenantId);
    const accessBefore = await vault.open(tenantId, 'zendesk_access_token', (await row()).accessToken!);
    const result = await disconnectZendesk(deps(), tenantId);
    expect(result.failed).toEqual([]);
    expect(result.tokenRevoked).toBe(true);
    expect(zd.triggers.size).toBe(0);
    expect(zd.webhooks.size).toBe(0);
    expect(zd.liveAccessTokens.has(accessBefore)).toBe(false);
    const r = await row();
    expect(r).toMatchObject({
      status: 'revoked',
      accessToken: null,
      refreshToken: null,
      webhookSecret: null,
      zendeskWebhookId: null,
      triggerIds: {},
    });
    expect(await tenantIdByZendeskHook(database.db, hookId)).toBeNull();
    const actions = (await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents))).map(
      (e) => e.action,
    );
    expect(actions).toEqual(
      expect.arrayContaining([
        'zendesk.trigger.deleted',
        'zendesk.webhook.deleted',
        'zendesk.token.revoked',
        'zendesk.disconnected',
      ]),
    );
  });

  it('disconnecting a needs_reauth connection erases tokens locally and records what stays in Zendesk', async () => {
    await provisionZendesk(deps(), tenantId);
    await withTenant(database.db, tenantId, (tx) =>
      tx.update(zendeskConnections).set({ status: 'needs_reauth', statusDetail: 'refresh refused' }),
    );
    const calls = zd.calls.api.length;
    const result = await disconnectZendesk(deps(), tenantId);
    expect(zd.calls.api.length).toBe(calls);
    expect(result.tokenRevoked).toBe(false);
    expect(result.failed.sort()).toEqual([
      'trigger:agent_replied',
      'trigger:comment_added',
      'trigger:ticket_created',
      'webhook',
    ]);
    const r = await row();
    expect(r).toMatchObject({
      status: 'revoked',
      accessToken: null,
      refreshToken: null,
      webhookSecret: null,
    });
    expect(r.statusDetail).toContain('left in Zendesk');
    expect(r.zendeskWebhookId).not.toBeNull();
    expect(await tenantIdByZendeskHook(database.db, hookId)).toBeNull();
  });

  it('POST /zendesk/disconnect needs a signed-in admin, then disconnects that tenant', async () => {
    await provisionZendesk(deps(), tenantId);
    const { app } = testApp(database, { config, vault });
    const anon = await app.request('/zendesk/disconnect', {
      method: 'POST',
      headers: { origin: 'https://copilot.test' },
    });
    expect(anon.status).toBe(401);
    const member = await createSession(database.db, {
      tenantId,
      userId: 'U_MEM',
      role: 'member',
      via: 'local_link',
    });
    const denied = await app.request('/zendesk/disconnect', {
      method: 'POST',
      headers: { cookie: `${SESSION_COOKIE}=${member.token}`, origin: 'https://copilot.test' },
    });
    expect(denied.status).toBe(403);
    expect(zd.webhooks.size).toBe(1);

    const admin = await createSession(database.db, {
      tenantId,
      userId: 'U_ADM',
      role: 'admin',
      via: 'local_link',
    });
    const res = await app.request('/zendesk/disconnect', {
      method: 'POST',
      headers: { cookie: `${SESSION_COOKIE}=${admin.token}`, origin: 'https://copilot.test' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, failed: [], tokenRevoked: true });
    expect(zd.webhooks.size).toBe(0);
    expect(zd.triggers.size).toBe(0);
    expect((await row()).status).toBe('revoked');
    const ev = (await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents)))
      .filter((e) => e.action === 'zendesk.disconnected')
      .sort((a, b) => a.id.localeCompare(b.id))
      .at(-1);
    expect(ev?.actor).toMatchObject({ type: 'admin', userId: 'U_ADM' });
  });

  it('a reconnect after disconnect provisions afresh and keeps the hook id', async () => {
    await provisionZendesk(deps(), tenantId);
    await disconnectZendesk(deps(), tenantId);
    const pair = zd.issuePair();
    await withTenant(database.db, tenantId, async (tx) =>
      tx
        .update(zendeskConnections)
        .set({
          status: 'active',
          accessToken: await vault.seal(tenantId, 'zendesk_access_token', pair.accessToken),
          refreshToken: await vault.seal(tenantId, 'zendesk_refresh_token', pair.refreshToken),
          accessExpiresAt: new Date(Date.now() + 3_600_000),
        })
        .where(eq(zendeskConnections.hookId, hookId)),
    );
    const res = await provisionZendesk(deps(), tenantId);
    expect(res.created).toEqual([
      'webhook',
      'trigger:ticket_created',
      'trigger:comment_added',
      'trigger:agent_replied',
    ]);
    expect([...zd.webhooks.values()][0]!.endpoint).toBe(`https://copilot.test/webhooks/zendesk/${hookId}`);
  });
});
