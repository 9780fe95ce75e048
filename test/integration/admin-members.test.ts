import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSessions, auditEvents } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/** The console's members page: open sessions of this tenant, and an admin ends one. */
const system = { type: 'system', name: 'test' } as const;
const ORIGIN = 'https://copilot.test';

describe.each(backends())('members page on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  let otherAdmin: string;
  const vault = testVault();
  const app = () => testApp(database, { vault }).app;
  const end = (session: string, cookie = admin, origin = ORIGIN) =>
    app().request('/admin/members/end', {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ session }).toString(),
    });

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'O', actor: system })).id;
    const session = (
      t: string,
      userId: string,
      userName: string,
      role: 'admin' | 'member',
      via: 'slack_oidc' | 'zendesk_oauth',
    ) =>
      createSession(database.db, { tenantId: t, userId, userName, role, via }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session(tenantId, 'U_ADA', 'Ada Admin', 'admin', 'slack_oidc');
    member = await session(tenantId, 'zendesk:77', 'Max Member', 'member', 'zendesk_oauth');
    otherAdmin = await session(otherTenant, 'U_OTTO', 'Otto Other', 'admin', 'slack_oidc');
  });
  afterAll(() => database?.close());

  it("lists this tenant's open sessions, with an End button for each but one's own", async () => {
    const res = await app().request('/admin/members', { headers: { cookie: admin } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Ada Admin');
    expect(html).toContain('Max Member');
    expect(html).toContain('Zendesk');
    expect(html).not.toContain('Otto Other');
    expect(html).toContain('this session');
    expect(html.match(/End session<\/button>/g)).toHaveLength(1);
  });

  it('an admin ends a member session: the member is signed out at once, and it is audited', async () => {
    const html = await (await app().request('/admin/members', { headers: { cookie: admin } })).text();
    const hash = /name="session" value="([0-9a-f]{64})"/.exec(html)![1]!;
    // Another tenant's admin, a member, and a cross-site post cannot end it.
    expect((await end(hash, otherAdmin)).status).toBe(404);
    expect((await end(hash, member)).status).toBe(403);
    expect((await end(hash, admin, 'https://evil.example')).status).toBe(403);
    expect((await app().request('/admin', { headers: { cookie: member } })).status).toBe(200);
    const res = await end(hash);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/members?ended=1');
    expect((await app().request('/admin', { headers: { cookie: member } })).status).toBe(401);
    const left = await withTenant(database.db, tenantId, (tx) => tx.select().from(adminSessions));
    expect(left.map((s) => s.userId)).toEqual(['U_ADA']);
    const events = await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents));
    expect(events.find((e) => e.action === 'admin.session_ended')).toMatchObject({
      target: 'zendesk:77',
      actor: { userId: 'U_ADA' },
    });
    expect((await end(hash)).status).toBe(404);
    expect((await end('not-a-hash')).status).toBe(400);
  });
});
