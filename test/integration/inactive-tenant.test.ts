import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSessions, auditEvents, slackInstallations, tenants } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { activeTenantIdBySlack, tenantIdBySlack } from '../../src/tenancy/lookup.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { mintSidebarCredential, verifySidebarCredential } from '../../src/zendesk/sidebar-credentials.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { type SeededTenant, seedSidebarTenant, sidebarZendeskFake } from './sidebar-fixture.ts';

/**
 * Attack-run finding (issue 13, item 7): admin sessions of a tenant whose deletion was requested
 * kept working (so the Context API secret could be rewritten afterwards). Deletion now ends them,
 * and no route accepts a principal of a tenant that is not active: admin console and API, sign-in,
 * sidebar credentials, Slack events, interactions and commands.
 */
const system = { type: 'system', name: 'test' } as const;
const ORIGIN = { origin: 'https://copilot.test', 'sec-fetch-site': 'same-origin' };
type ErrorBody = { error: { code: string; message: string } };

/** Turns a tenant `deleting` the way deletion does, but without ending its sessions (an older deletion). */
async function markDeleting(database: TestDatabase, tenantId: string) {
  const now = new Date();
  await withTenant(database.db, tenantId, (tx) =>
    tx.execute(
      sql`select public.app_mark_tenant_deleting(${new Date(now.getTime() + 86_400_000).toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)`,
    ),
  );
}

describe.each(backends())('principals of tenants that are not active on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  let app: ReturnType<typeof testApp>['app'];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
    app = testApp(database, { vault }).app;
  });
  afterAll(() => database?.close());

  const newTenant = async (name: string) => (await createTenant(database.db, { name, actor: system })).id;
  const cookieFor = async (tenantId: string, userId = 'U1') =>
    `hc_session=${(await createSession(database.db, { tenantId, userId, role: 'owner', via: 'slack_oidc' })).token}`;
  const sessionsOf = (tenantId: string) =>
    withTenant(database.db, tenantId, (tx) => tx.select().from(adminSessions));
  const putContextApi = (cookie: string) =>
    app.request('/admin/api/context-api', {
      method: 'PUT',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://attacker.example/ctx', secret: 'attacker-chosen-secret' }),
    });

  it('requesting deletion ends every admin session of the tenant: the old cookies get 401 on API and page', async () => {
    const t = await newTenant('Doomed');
    const other = await newTenant('Bystander');
    const mine = await cookieFor(t, 'U1');
    const colleague = await cookieFor(t, 'U2');
    const bystander = await cookieFor(other);
    expect(await sessionsOf(t)).toHaveLength(2);

    const del = await app.request('/admin/tenant/delete', {
      method: 'POST',
      headers: { cookie: mine, 'content-type': 'application/json', ...ORIGIN },
      body: JSON.stringify({ confirm: 'Doomed' }),
    });
    expect(del.status).toBe(200);
    expect(await sessionsOf(t)).toEqual([]);
    const [requested] = await withTenant(database.db, t, async (tx) =>
      (await tx.select().from(auditEvents)).filter((e) => e.action === 'tenant.deletion_requested'),
    );
    expect(requested?.detail).toMatchObject({ adminSessionsEnded: 2 });

    for (const cookie of [mine, colleague]) {
      const api = await putContextApi(cookie);
      expect(api.status).toBe(401);
      expect(((await api.json()) as ErrorBody).error.code).toBe('unauthorized');
      const page = await app.request('/admin', { headers: { cookie } });
      expect(page.status).toBe(401);
      const audit = await app.request('/admin/audit.jsonl', { headers: { cookie } });
      expect(audit.status).toBe(401);
    }
    // The other tenant's session is untouched.
    expect(await sessionsOf(other)).toHaveLength(1);
    expect((await app.request('/admin/api/settings', { headers: { cookie: bystander } })).status).toBe(200);
  });

  it('a session of a tenant that is not active is refused (403 tenant_inactive) on every route and ended', async () => {
    const t = await newTenant('Half deleted');
    const cookie = await cookieFor(t);
    const again = await cookieFor(t, 'U2');
    await markDeleting(database, t);
    expect(await sessionsOf(t)).toHaveLength(2);

    const api = await putContextApi(cookie);
    expect(api.status).toBe(403);
    expect(((await api.json()) as ErrorBody).error.code).toBe('tenant_inactive');
    // The refused session was ended on the spot, and its cookie cleared.
    expect(api.headers.get('set-cookie') ?? '').toMatch(/hc_session=;/);
    expect((await sessionsOf(t)).map((s) => s.userId)).toEqual(['U2']);

    const page = await app.request('/admin', { headers: { cookie: again } });
    expect(page.status).toBe(403);
    expect(await page.text()).toContain('deletion was requested');
    expect(await sessionsOf(t)).toEqual([]);

    // Nothing was written by the refused calls.
    const [row] = await withTenant(database.db, t, (tx) => tx.select().from(tenants));
    expect(row?.status).toBe('deleting');
    const configured = await withTenant(database.db, t, async (tx) =>
      (await tx.select().from(auditEvents)).filter((e) => e.action === 'context_api.configured'),
    );
    expect(configured).toEqual([]);
  });

  it('nobody can sign in to a tenant that is not active', async () => {
    const t = await newTenant('Closed');
    await markDeleting(database, t);
    await expect(
      createSession(database.db, { tenantId: t, userId: 'U1', role: 'owner', via: 'local_link' }),
    ).rejects.toMatchObject({ code: 'tenant_inactive' });
    expect(await sessionsOf(t)).toEqual([]);
  });

  describe('sidebar credentials', () => {
    let seeded: SeededTenant;
    let fakeInstall: { installationId: string; appId: string; subdomain: string };

    beforeAll(async () => {
      const fake = await sidebarZendeskFake('sidebar-inactive');
      seeded = await seedSidebarTenant(database.db, vault, fake);
      fakeInstall = { installationId: fake.installationId, appId: fake.appId, subdomain: fake.subdomain };
    });

    it('a credential of a tenant that is not active is refused, and none is minted', async () => {
      const identity = {
        tenantId: seeded.tenantId,
        connectionId: seeded.connectionId,
        agentId: '9001',
        ...fakeInstall,
      };
      const now = new Date();
      const { credential } = await mintSidebarCredential(database.db, identity, { now });
      const auth = `Bearer ${credential}`;
      expect((await verifySidebarCredential(database.db, auth, now)).tenantId).toBe(seeded.tenantId);
      await markDeleting(database, seeded.tenantId);
      await expect(verifySidebarCredential(database.db, auth, now)).rejects.toMatchObject({
        code: 'unauthorized',
      });
      await expect(mintSidebarCredential(database.db, identity, { now })).rejects.toMatchObject({
        code: 'tenant_inactive',
      });
      const api = await app.request(`/zendesk/sidebar/api/tickets/${seeded.ticketId}`, {
        headers: { authorization: auth },
      });
      expect(api.status).toBe(401);
    });
  });

  it('Slack events, interactions and commands find no tenant for a team whose tenant is not active', async () => {
    const t = await newTenant('Slack gone');
    const teamId = `T${Date.now().toString(36).toUpperCase()}`;
    await withTenant(database.db, t, (tx) =>
      tx.insert(slackInstallations).values({ tenantId: t, id: 'si_inactive', teamId }),
    );
    const key = { teamId, isEnterpriseInstall: false };
    expect(await activeTenantIdBySlack(database.db, key)).toBe(t);
    await markDeleting(database, t);
    expect(await tenantIdBySlack(database.db, key)).toBe(t);
    expect(await activeTenantIdBySlack(database.db, key)).toBeNull();
  });
});
