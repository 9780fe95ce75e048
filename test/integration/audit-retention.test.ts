import { asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditId, verifyAuditChain } from '../../src/audit/audit.ts';
import { pruneAuditTrail, pruneAuditTrails, readAuditRetention } from '../../src/audit/retention.ts';
import { auditEvents, tenantSettings, tenants } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { newId } from '../../src/lib/ids.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, openOwner, type TestDatabase } from '../helpers/db.ts';

/**
 * Audit retention per tenant: an owner or admin sets it on /admin/audit (bounded, audited, bad
 * input refused with nothing changed); the sweep deletes that tenant's events older than it and
 * nobody else's; the export still verifies from the attested cut, and a cut without that
 * attestation (an event deleted behind our back) still breaks verification.
 */
const DAY = 86_400_000;
const ORIGIN = 'https://copilot.test';
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('audit retention on %s', (backend) => {
  let database: TestDatabase;
  let a: string;
  let b: string;
  let adminA: string;
  let memberA: string;
  const vault = testVault();
  const now = new Date();
  const app = () => testApp(database, { vault }).app;
  const setDays = (days: string, cookie = adminA, origin = ORIGIN) =>
    app().request('/admin/audit/retention', {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ days }).toString(),
    });
  const trail = (id: string) =>
    withTenant(database.db, id, (tx) => tx.select().from(auditEvents).orderBy(asc(auditEvents.seq)));

  /** A tenant whose trail starts 400 days ago: events at -400, -300, -200, -100, -10 days, then now. */
  async function oldTenant(name: string): Promise<string> {
    const id = newId('tn');
    await withTenant(database.db, id, async (tx) => {
      await tx.insert(tenants).values({ id, name });
      await tx.insert(tenantSettings).values({ tenantId: id, settings: {} });
      for (const daysAgo of [400, 300, 200, 100, 10]) {
        const at = new Date(now.getTime() - daysAgo * DAY);
        await tx.insert(auditEvents).values({
          tenantId: id,
          id: auditId(at.getTime()),
          at,
          actor: system,
          action: daysAgo === 400 ? 'tenant.created' : 'test.event',
          target: id,
          outcome: 'success',
          detail: { daysAgo },
        });
      }
    });
    return id;
  }

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    a = await oldTenant('A');
    b = await oldTenant('B');
    const session = (t: string, role: 'owner' | 'member') =>
      createSession(database.db, { tenantId: t, userId: `U_${role}`, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    adminA = await session(a, 'owner');
    memberA = await session(a, 'member');
    await session(b, 'owner');
  });
  afterAll(() => database?.close());

  it('keeps events forever by default, and the page says so', async () => {
    expect(await withTenant(database.db, a, readAuditRetention)).toEqual({ retentionDays: null });
    const page = await (await app().request('/admin/audit', { headers: { cookie: adminA } })).text();
    expect(page).toContain('Now: events are kept forever.');
    expect(page).toMatch(
      /<label>Keep events for \(days, 30-3650; empty keeps them forever\) <input type="number" name="days"/,
    );
    expect(await pruneAuditTrails(database.db, now)).toBe(0);
  });

  it('refuses a bad number of days with a clear 400 and changes nothing; members and cross-site posts are refused', async () => {
    const before = (await trail(a)).length;
    for (const days of ['10', '3651', 'abc', '90.5', '-30']) {
      const res = await setDays(days);
      expect(res.status, days).toBe(400);
      expect(await res.text(), days).toContain(
        'role="alert">retentionDays: a whole number of days from 30 to 3650, or none to keep events forever.',
      );
    }
    expect((await setDays('90', memberA)).status).toBe(403);
    expect((await setDays('90', adminA, 'https://evil.example')).status).toBe(403);
    expect(await withTenant(database.db, a, readAuditRetention)).toEqual({ retentionDays: null });
    expect((await trail(a)).length).toBe(before);
  });

  it("an owner sets 90 days: audited, shown; the sweep deletes only that tenant's older events, and the export still verifies", async () => {
    const res = await setDays('90');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/audit?retention=saved');
    const page = await (
      await app().request('/admin/audit?retention=saved', { headers: { cookie: adminA } })
    ).text();
    expect(page).toContain('The retention was saved.');
    expect(page).toContain('value="90"');
    const changed = (await trail(a)).find((e) => e.action === 'audit.retention_changed');
    expect(changed).toMatchObject({
      outcome: 'success',
      detail: { from: null, to: 90 },
      actor: { userId: 'U_owner' },
    });

    const bBefore = await trail(b);
    const aBefore = await trail(a);
    const deleted = await pruneAuditTrails(database.db, now);
    expect(deleted).toBe(4); // -400, -300, -200, -100 days
    const aAfter = await trail(a);
    expect(aAfter.every((e) => e.at.getTime() >= now.getTime() - 90 * DAY)).toBe(true);
    expect(aAfter.map((e) => e.id)).toEqual([...aBefore.slice(4).map((e) => e.id), aAfter.at(-1)!.id]);
    const pruned = aAfter.at(-1)!;
    expect(pruned).toMatchObject({
      action: 'audit.pruned',
      actor: { type: 'system', name: 'audit-retention' },
      detail: { throughSeq: 4, throughHash: aBefore[3]!.hash, eventsDeleted: 4 },
    });
    // The other tenant, which keeps everything, is untouched.
    expect(await trail(b)).toEqual(bBefore);

    // The download verifies from the attested cut.
    const jsonl = await (await app().request('/admin/audit.jsonl', { headers: { cookie: adminA } })).text();
    const last = JSON.parse(jsonl.trimEnd().split('\n').at(-1)!) as { chain: Record<string, unknown> };
    expect(last.chain).toMatchObject({ ok: true, prunedThrough: { seq: 4, hash: aBefore[3]!.hash } });
    expect(await verifyAuditChain(database.db, b)).toMatchObject({ ok: true });
    expect((await verifyAuditChain(database.db, b)).prunedThrough).toBeUndefined();

    // Again: nothing more is old enough; new events keep chaining and verifying.
    expect(await pruneAuditTrail(database.db, a, now)).toBe(0);
    expect(await verifyAuditChain(database.db, a)).toMatchObject({ ok: true });
  });

  it('a cut nobody attested still breaks verification (an event deleted behind our back)', async () => {
    const id = await oldTenant('C');
    await withTenant(database.db, id, (tx) =>
      tx
        .update(tenantSettings)
        .set({ settings: { audit: { retentionDays: 30 } } })
        .where(eq(tenantSettings.tenantId, id)),
    );
    expect(await pruneAuditTrail(database.db, id, now)).toBe(4);
    expect(await verifyAuditChain(database.db, id)).toMatchObject({ ok: true });
    const first = (await trail(id))[0]!;
    const owner = await openOwner(database);
    try {
      await owner.db.execute(sql`delete from audit_events where tenant_id = ${id} and id = ${first.id}`);
    } finally {
      await owner.close();
    }
    expect(await verifyAuditChain(database.db, id)).toMatchObject({
      ok: false,
      breaksAt: { reason: 'event_missing' },
    });
  });

  it('the database refuses to prune events younger than 30 days, whatever the caller asks', async () => {
    await expect(
      withTenant(database.db, b, (tx) =>
        tx.execute(
          sql`select public.app_prune_audit_events(${new Date(now.getTime() - 5 * DAY).toISOString()}::timestamptz, now(), ${auditId()})`,
        ),
      ),
    ).rejects.toThrow();
    // And the application role still may not delete audit events itself.
    await expect(
      withTenant(database.db, b, (tx) => tx.delete(auditEvents).where(eq(auditEvents.tenantId, b))),
    ).rejects.toThrow();
    expect((await trail(b)).length).toBeGreaterThanOrEqual(5);
  });

  it('empty keeps events forever again (audited)', async () => {
    expect((await setDays('')).status).toBe(303);
    expect(await withTenant(database.db, a, readAuditRetention)).toEqual({ retentionDays: null });
    const changes = (await trail(a)).filter((e) => e.action === 'audit.retention_changed');
    expect(changes.at(-1)!.detail).toEqual({ from: 90, to: null });
  });
});
