import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/audit.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/** The console's audit trail page: filters, paging, this tenant's events only, admins only. */
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('audit trail page on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  const vault = testVault();
  const get = (query: string, cookie = admin) =>
    testApp(database, { vault }).app.request(`/admin/audit${query}`, { headers: cookie ? { cookie } : {} });
  const rowsOf = (html: string) =>
    [
      ...html.matchAll(/<tr><td>(\d+)<\/td><td>[^<]*<\/td><td><code>([^<]+)<\/code><\/td><td>([^<]*)<\/td>/g),
    ].map((m) => ({ seq: Number(m[1]), action: m[2], actor: m[3] }));

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'O', actor: system })).id;
    await withTenant(database.db, tenantId, async (tx) => {
      for (let i = 0; i < 60; i++)
        await audit(
          { tenantId, tx, actor: i % 2 ? { type: 'admin', userId: 'U_ODD', via: 'slack_oidc' } : system },
          {
            action: i % 3 ? 'draft.sent' : 'draft_note.posted',
            target: `dr_${i}`,
            outcome: i === 7 ? 'failure' : 'success',
          },
        );
    });
    await withTenant(database.db, otherTenant, (tx) =>
      audit(
        { tenantId: otherTenant, tx, actor: system },
        { action: 'draft.sent', target: 'dr_OTHER', outcome: 'success' },
      ),
    );
    const session = (role: 'admin' | 'member') =>
      createSession(database.db, { tenantId, userId: `U_${role}`, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session('admin');
    member = await session('member');
  });
  afterAll(() => database?.close());

  it("lists the newest events first, 50 a page, with a link to older ones; never another tenant's", async () => {
    const res = await get('');
    expect(res.status).toBe(200);
    const html = await res.text();
    const first = rowsOf(html);
    expect(first).toHaveLength(50);
    expect(first[0]!.seq).toBeGreaterThan(first[1]!.seq);
    expect(html).not.toContain('dr_OTHER');
    const older = /href="\/admin\/audit\?before=(\d+)">Older events/.exec(html);
    expect(older).not.toBeNull();
    const next = rowsOf(await (await get(`?before=${older![1]}`)).text());
    expect(next.length).toBeGreaterThan(0);
    expect(Math.max(...next.map((r) => r.seq))).toBeLessThan(Math.min(...first.map((r) => r.seq)));
  });

  it('filters by action (exact or prefix), actor, outcome and date; keeps the filters when paging', async () => {
    const exact = rowsOf(await (await get('?action=draft_note.posted')).text());
    expect(exact.length).toBe(20);
    expect(new Set(exact.map((r) => r.action))).toEqual(new Set(['draft_note.posted']));
    // "draft." is a prefix: draft.sent, not draft_note.posted ("_" is not a wildcard).
    const prefix = rowsOf(await (await get('?action=draft.')).text());
    expect(new Set(prefix.map((r) => r.action))).toEqual(new Set(['draft.sent']));
    const byActor = rowsOf(await (await get('?actor=U_ODD')).text());
    expect(byActor).toHaveLength(30);
    expect(new Set(byActor.map((r) => r.actor))).toEqual(new Set(['admin: U_ODD']));
    expect(rowsOf(await (await get('?outcome=failure')).text())).toHaveLength(1);
    expect(await (await get('?from=2000-01-01&to=2000-01-02')).text()).toContain('No events match.');
    const paged = await (await get('?outcome=success')).text();
    expect(paged).toMatch(/href="\/admin\/audit\?outcome=success&amp;before=\d+">Older events/);
  });

  it('refuses a bad filter with 400 and says which; members and the signed-out get nothing', async () => {
    const bad = await get('?from=yesterday');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('role="alert">from:');
    expect((await get('?action=%25')).status).toBe(400);
    expect((await get('', member)).status).toBe(403);
    expect((await get('', '')).status).toBe(303);
  });
});
