import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportAuditTrail } from '../../src/audit/audit.ts';
import { type Db, rowsOf } from '../../src/db/client.ts';
import {
  accounts,
  adminSessions,
  auditEvents,
  catalogEntries,
  contextCache,
  drafts,
  endUsers,
  externalEffects,
  jobs,
  kbArticles,
  llmUsage,
  playbooks,
  slackInstallations,
  tenantSecrets,
  tenants,
  tenantTombstones,
  webhookDeliveries,
  zendeskConnections,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import { purgeDueTenants, requestTenantDeletion, tenantOwnedTables } from '../../src/tenancy/deletion.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { zendeskDeprovisioner } from '../../src/zendesk/provisioning.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, openOwner, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';

const system = { type: 'system', name: 'test' } as const;
const NOW = new Date('2026-11-23T05:00:00Z');
const DAY = 86_400_000;

/** Tombstones, read as the owner (the runtime role may not read other tenants' purge records). */
async function tombstones(database: TestDatabase, tenantId?: string) {
  const owner = await openOwner(database);
  try {
    const q = owner.db.select().from(tenantTombstones);
    return tenantId ? await q.where(eq(tenantTombstones.tenantId, tenantId)) : await q;
  } finally {
    await owner.close();
  }
}

/** Rows per tenant-owned table for one tenant, counted inside withTenant (forced RLS). */
async function countsFor(db: Db, tenantId: string): Promise<Record<string, number>> {
  return withTenant(db, tenantId, async (tx) => {
    const out: Record<string, number> = {};
    for (const t of await tenantOwnedTables(tx)) {
      const r = rowsOf<{ n: number }>(
        await tx.execute(
          sql`select count(*)::int as n from ${sql.identifier(t)} where tenant_id = ${tenantId}`,
        ),
      );
      out[t] = Number(r[0]?.n ?? 0);
    }
    return out;
  });
}

async function seed(db: Db, tenantId: string, tag: string, vault: ReturnType<typeof testVault>) {
  await withTenant(db, tenantId, async (tx) => {
    await tx.insert(accounts).values({ tenantId, id: 'acc_1', name: `${tag} account` });
    await tx.insert(endUsers).values({ tenantId, id: 'eu_1', accountId: 'acc_1', email: `u@${tag}.test` });
    await tx.insert(catalogEntries).values({ tenantId, kind: 'plan', key: 'pro', data: { price: 10 } });
    await tx.insert(kbArticles).values({ tenantId, id: 'kb_1', title: 'Reset', body: 'How to reset' });
    await tx.insert(playbooks).values({ tenantId, key: 'billing', whenText: 'billing questions' });
    await tx
      .insert(drafts)
      .values({ tenantId, id: 'dr_1', source: 'zendesk', route: 'account', body: 'Hi', drafter: 'offline' });
    await tx.insert(externalEffects).values({ tenantId, key: 'note:1', kind: 'zendesk_note' });
    await tx
      .insert(llmUsage)
      .values({ tenantId, id: 'lu_1', model: 'm', promptTokens: 1, completionTokens: 1, costMicroUsd: 1 });
    await tx.insert(contextCache).values({ tenantId, cacheKey: 'k', value: { a: 1 }, expiresAt: NOW });
    await tx.insert(jobs).values({ tenantId, id: 'job_1', kind: 'ticket', payload: { ticketId: '1' } });
    await tx.insert(webhookDeliveries).values({
      tenantId,
      connectionId: 'zc_1',
      invocationId: 'inv_1',
      eventKey: '1:created',
      ticketId: '1',
      event: 'ticket_created',
      jobId: 'job_1',
    });
    await tx.insert(slackInstallations).values({
      tenantId,
      id: 'si_1',
      teamId: `T${tag}`,
      accessToken: await vault.seal(tenantId, 'slack_access_token', 'xoxe.xoxb-secret'),
      refreshToken: await vault.seal(tenantId, 'slack_refresh_token', 'xoxe-1-secret'),
    });
    await tx.insert(zendeskConnections).values({
      tenantId,
      id: 'zc_1',
      subdomain: `sub${tag.toLowerCase()}`,
      hookId: `hook_${tag}`,
      accessToken: await vault.seal(tenantId, 'zendesk_access_token', 'zd-secret'),
      refreshToken: await vault.seal(tenantId, 'zendesk_refresh_token', 'zd-refresh'),
      webhookSecret: await vault.seal(tenantId, 'zendesk_webhook_secret', 'wh-secret'),
    });
    await tx.insert(tenantSecrets).values({ tenantId, purpose: 'context_api_secret', sealed: 'v1.1.x.y' });
  });
}

async function digestOf(db: Db, tenantId: string): Promise<{ digest: string; n: number }> {
  const h = createHash('sha256');
  let n = 0;
  for await (const line of exportAuditTrail(db, tenantId)) {
    h.update(line);
    n++;
  }
  return { digest: h.digest('hex'), n };
}

describe.each(backends())('tenant deletion and purge on %s', (backend) => {
  let database: TestDatabase;
  const vault = testVault();
  let a: string;
  let b: string;
  let app: ReturnType<typeof testApp>['app'];
  let deprovisioned: string[];

  async function cookieFor(tenantId: string, role: 'owner' | 'admin' | 'member', userId = `U_${role}`) {
    const s = await createSession(database.db, { tenantId, userId, role, via: 'slack_oidc', now: NOW });
    return { cookie: `hc_session=${s.token}` };
  }

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    a = (await createTenant(database.db, { name: 'Acme Support', actor: system })).id;
    b = (await createTenant(database.db, { name: 'Other Co', actor: system })).id;
    await seed(database.db, a, 'A', vault);
    await seed(database.db, b, 'B', vault);
    deprovisioned = [];
    app = testApp(database, {
      config: testConfig({ TENANT_RETENTION_DAYS: '30' }),
      vault,
      now: () => NOW,
      deprovision: async (t) => {
        deprovisioned.push(t);
      },
    }).app;
  });
  afterAll(() => database?.close());

  it('POST /admin/tenant/delete needs an admin and the exact tenant name', async () => {
    const del = (headers: Record<string, string>, confirm: string) =>
      app.request('/admin/tenant/delete', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://copilot.test', ...headers },
        body: JSON.stringify({ confirm }),
      });
    expect((await del({}, 'Acme Support')).status).toBe(401);
    expect((await del(await cookieFor(a, 'member'), 'Acme Support')).status).toBe(403);
    const wrong = await del(await cookieFor(a, 'admin'), 'Acme');
    expect(wrong.status).toBe(400);
    const crossSite = await del(
      { ...(await cookieFor(a, 'admin')), origin: 'https://evil.test' },
      'Acme Support',
    );
    expect(crossSite.status).toBe(403);
    const status = await withTenant(
      database.db,
      a,
      async (tx) => (await tx.select().from(tenants))[0]?.status,
    );
    expect(status).toBe('active');

    const ok = await del(await cookieFor(a, 'owner'), 'Acme Support');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      tenantId: a,
      status: 'deleting',
      deleteAfter: new Date(NOW.getTime() + 30 * DAY).toISOString(),
      alreadyRequested: false,
    });
    expect(deprovisioned).toEqual([a]);
    // Tokens and secrets are gone at once; the other tenant keeps its own.
    await withTenant(database.db, a, async (tx) => {
      const [si] = await tx.select().from(slackInstallations);
      const [zc] = await tx.select().from(zendeskConnections);
      expect(si).toMatchObject({
        accessToken: null,
        refreshToken: null,
        status: 'revoked',
        statusDetail: 'tenant_deleted',
      });
      expect(zc).toMatchObject({
        accessToken: null,
        refreshToken: null,
        webhookSecret: null,
        status: 'revoked',
      });
      expect(await tx.select().from(tenantSecrets)).toEqual([]);
    });
    await withTenant(database.db, b, async (tx) => {
      const [si] = await tx.select().from(slackInstallations);
      expect(si?.accessToken).toMatch(/^v1\./);
      expect(si?.status).toBe('active');
    });
    // Repeating changes nothing.
    const again = await requestTenantDeletion(database.db, {
      tenantId: a,
      actor: { type: 'cli', name: 'test' },
      retentionDays: 1,
      now: new Date(NOW.getTime() + DAY),
    });
    expect(again).toMatchObject({ alreadyRequested: true, deleteAfter: new Date(NOW.getTime() + 30 * DAY) });
  });

  it('GET /admin/audit.jsonl streams the tenant trail to admins only', async () => {
    expect((await app.request('/admin/audit.jsonl')).status).toBe(401);
    expect((await app.request('/admin/audit.jsonl', { headers: await cookieFor(b, 'member') })).status).toBe(
      403,
    );
    const res = await app.request('/admin/audit.jsonl', { headers: await cookieFor(b, 'admin') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { tenantId: string; action: string; outcome: string; chain?: unknown });
    // The last line is the chain's verification.
    expect(lines.at(-1)?.chain).toMatchObject({ ok: true, events: lines.length - 1 });
    const events = lines.slice(0, -1);
    expect(events.every((e) => e.tenantId === b)).toBe(true);
    expect(events.map((e) => e.action)).toContain('tenant.created');
  });

  it("once deletion was requested, the tenant's admins cannot sign in (the trail stays until the purge)", async () => {
    await expect(cookieFor(a, 'admin')).rejects.toMatchObject({ code: 'tenant_inactive' });
    const events = await withTenant(database.db, a, (tx) => tx.select().from(auditEvents));
    expect(events.map((e) => e.action)).toContain('tenant.deletion_requested');
    expect(events.some((e) => e.action === 'tenant.deletion_requested' && e.outcome === 'denied')).toBe(true);
    expect(await withTenant(database.db, a, (tx) => tx.select().from(adminSessions))).toEqual([]);
  });

  it('purge before the retention window deletes nothing', async () => {
    const before = await countsFor(database.db, a);
    expect(await purgeDueTenants(database.db, new Date(NOW.getTime() + 29 * DAY))).toEqual([]);
    expect(await countsFor(database.db, a)).toEqual(before);
    expect(await tombstones(database)).toEqual([]);
  });

  it('purge after the window empties every tenant-owned table for that tenant only', async () => {
    const aBefore = await countsFor(database.db, a);
    const bBefore = await countsFor(database.db, b);
    const seededTables = Object.entries(aBefore)
      .filter(([, n]) => n > 0)
      .map(([t]) => t);
    expect(seededTables.length).toBeGreaterThanOrEqual(15);
    const { digest, n } = await digestOf(database.db, a);
    expect(n).toBeGreaterThan(3);

    const when = new Date(NOW.getTime() + 31 * DAY);
    const done = await purgeDueTenants(database.db, when);
    expect(done.map((d) => d.tenantId)).toEqual([a]);
    const total = Object.values(aBefore).reduce((x, y) => x + y, 0);
    expect(done[0]).toMatchObject({ rowsDeleted: total, auditEventsDeleted: n, auditDigest: digest });

    const aAfter = await countsFor(database.db, a);
    expect(Object.keys(aAfter).sort()).toEqual(Object.keys(aBefore).sort());
    for (const [table, count] of Object.entries(aAfter)) expect(count, table).toBe(0);
    expect(await countsFor(database.db, b)).toEqual(bBefore);

    const [tomb] = await tombstones(database, a);
    // The tombstone keeps the head of the purged tenant's audit chain.
    expect(tomb?.auditChainHead).toMatch(/^[0-9a-f]{64}$/);
    expect(tomb).toMatchObject({
      rowsDeleted: total,
      auditEventsDeleted: n,
      auditDigest: digest,
      requestedBy: 'admin:U_owner via slack_oidc',
      requestedAt: NOW,
      purgedAt: when,
    });
    const row = await withTenant(database.db, a, async (tx) => (await tx.select().from(tenants))[0]);
    expect(row).toMatchObject({ status: 'purged', name: '' });
    // Sessions went with the tenant: the old cookie no longer signs anyone in.
    expect(await withTenant(database.db, a, (tx) => tx.select().from(adminSessions))).toEqual([]);
    // Nothing left to purge; a purged tenant cannot be "deleted" again.
    expect(await purgeDueTenants(database.db, when, { ignoreRetention: true })).toEqual([]);
    await expect(
      requestTenantDeletion(database.db, { tenantId: a, actor: system, retentionDays: 0 }),
    ).rejects.toThrow(/already been purged/);
  });

  it('the CLI-style immediate purge (--now) purges a deleting tenant regardless of the window', async () => {
    await requestTenantDeletion(database.db, {
      tenantId: b,
      actor: { type: 'cli', name: 'tenant-cli' },
      retentionDays: 30,
      now: NOW,
    });
    expect(await purgeDueTenants(database.db, NOW)).toEqual([]);
    const done = await purgeDueTenants(database.db, NOW, { ignoreRetention: true });
    expect(done.map((d) => d.tenantId)).toEqual([b]);
    for (const [table, count] of Object.entries(await countsFor(database.db, b)))
      expect(count, table).toBe(0);
    const [tomb] = await tombstones(database, b);
    expect(tomb?.requestedBy).toBe('cli:tenant-cli');
  });
});

describe.each(backends())('tenant deletion removes Zendesk provisioning on %s', (backend) => {
  const calls: string[] = [];
  useMsw(
    http.delete('https://acme.zendesk.com/api/v2/triggers/:id', ({ params, request }) => {
      calls.push(`trigger ${String(params.id)} ${request.headers.get('authorization')}`);
      return new HttpResponse(null, { status: 204 });
    }),
    http.delete('https://acme.zendesk.com/api/v2/webhooks/:id', ({ params }) => {
      calls.push(`webhook ${String(params.id)}`);
      return new HttpResponse(null, { status: 204 });
    }),
    http.delete('https://acme.zendesk.com/api/v2/oauth/tokens/current.json', () => {
      calls.push('token');
      return new HttpResponse(null, { status: 204 });
    }),
  );
  let database: TestDatabase;
  const vault = testVault();
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());
  // Wired as the Node entry does: provisioning's deprovisioner over a real token manager.
  const realDeprovision = () =>
    zendeskDeprovisioner({
      db: database.db,
      vault,
      tokens: createTokenManager({
        db: database.db,
        vault,
        config: testConfig(),
        logger: createLogger('silent'),
      }),
      publicUrl: 'https://copilot.test',
    });

  it('deletes our triggers and webhook and revokes the token before erasing it', async () => {
    calls.length = 0;
    const t = (await createTenant(database.db, { name: 'Acme', actor: system })).id;
    await withTenant(database.db, t, async (tx) =>
      tx.insert(zendeskConnections).values({
        tenantId: t,
        id: 'zc_1',
        subdomain: 'acme',
        hookId: 'hook_acme',
        accessToken: await vault.seal(t, 'zendesk_access_token', 'zd-access'),
        zendeskWebhookId: 'wh_9',
        triggerIds: { ticket_created: 'tr_1', comment_added: 'tr_2' },
      }),
    );
    const s = await createSession(database.db, {
      tenantId: t,
      userId: 'U1',
      role: 'owner',
      via: 'slack_oidc',
    });
    const { app } = testApp(database, { vault, deprovision: realDeprovision() });
    const res = await app.request('/admin/tenant/delete', {
      method: 'POST',
      headers: {
        cookie: `hc_session=${s.token}`,
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'null',
        'sec-fetch-site': 'same-origin',
      },
      body: 'confirm=Acme',
    });
    expect(res.status).toBe(303);
    expect(calls.sort()).toEqual([
      'token',
      'trigger tr_1 Bearer zd-access',
      'trigger tr_2 Bearer zd-access',
      'webhook wh_9',
    ]);
    const [conn] = await withTenant(database.db, t, (tx) => tx.select().from(zendeskConnections));
    expect(conn).toMatchObject({ accessToken: null, status: 'revoked', zendeskWebhookId: null });
    const trail = await withTenant(database.db, t, (tx) => tx.select().from(auditEvents));
    expect(trail.find((e) => e.action === 'tenant.deletion_requested')?.detail).toMatchObject({
      zendeskDeprovisioning: 'done',
    });
  });

  it('a tenant without Zendesk is deleted all the same', async () => {
    calls.length = 0;
    const t = (await createTenant(database.db, { name: 'Solo', actor: system })).id;
    const s = await createSession(database.db, {
      tenantId: t,
      userId: 'U1',
      role: 'admin',
      via: 'slack_oidc',
    });
    const { app } = testApp(database, { vault, deprovision: realDeprovision() });
    const res = await app.request('/admin/tenant/delete', {
      method: 'POST',
      headers: {
        cookie: `hc_session=${s.token}`,
        'content-type': 'application/json',
        origin: 'https://copilot.test',
      },
      body: JSON.stringify({ confirm: 'Solo' }),
    });
    expect(res.status).toBe(200);
    expect(calls).toEqual([]);
  });
});
