import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/audit.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/** The isolation report in the console: a tenant's admins see the live evidence, for their tenant only. */
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('isolation report in the console on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  const vault = testVault();
  const get = (path: string, cookie: string) =>
    testApp(database, { vault }).app.request(path, { headers: cookie ? { cookie } : {} });

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'O', actor: system })).id;
    await withTenant(database.db, tenantId, (tx) =>
      audit(
        { tenantId, tx, actor: system },
        { action: 'settings.updated', target: tenantId, outcome: 'success' },
      ),
    );
    const session = (role: 'admin' | 'member') =>
      createSession(database.db, { tenantId, userId: `U${role}`, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session('admin');
    member = await session('member');
  });
  afterAll(() => database?.close());

  it("an admin gets the live report: every probe held, every tenant table's policy, this tenant's chain only", async () => {
    const res = await get('/admin/api/isolation', admin);
    expect(res.status).toBe(200);
    const r = (await res.json()) as {
      database: string;
      level: string;
      probes: { probe: string; held: boolean }[];
      tables: { table: string; rlsEnabled: boolean; rlsForced: boolean; policy: string | null }[];
      auditChains: { tenantId: string; ok: boolean; events: number; head: string | null }[];
    };
    expect(r.database).toBe(backend);
    expect(r.probes.length).toBeGreaterThanOrEqual(8);
    expect(r.probes.filter((p) => !p.held)).toEqual([]);
    const accounts = r.tables.find((t) => t.table === 'accounts')!;
    expect(accounts).toMatchObject({ rlsEnabled: true, rlsForced: true });
    expect(accounts.policy).toContain('app_current_tenant()');
    expect(r.auditChains).toHaveLength(1);
    expect(r.auditChains[0]).toMatchObject({ tenantId, ok: true });
    expect(r.auditChains[0]!.events).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(r)).not.toContain(otherTenant);
    if (backend === 'pglite') expect(r.level).toBe('application-only');
  });

  it('the page shows the same, readable; members and the signed-out do not get it', async () => {
    const page = await get('/admin/isolation', admin);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/\d+ of \d+ held/);
    expect(html).toContain('<code>accounts</code>');
    expect(html).toContain('chain verified');
    expect((await get('/admin/isolation', member)).status).toBe(403);
    expect((await get('/admin/api/isolation', member)).status).toBe(403);
    expect((await get('/admin/isolation', '')).status).toBe(303);
    expect((await get('/admin/api/isolation', '')).status).toBe(401);
  });
});
