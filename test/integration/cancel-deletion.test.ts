import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/audit.ts';
import { rowsOf } from '../../src/db/client.ts';
import { accounts, auditEvents, tenants } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { AppError } from '../../src/lib/errors.ts';
import { cancelTenantDeletion, purgeDueTenants, requestTenantDeletion } from '../../src/tenancy/deletion.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * Cancelling a deletion request (the operator's `npm run tenant -- cancel-deletion`): within the
 * retention window the tenant is active again with its data, audited, and its admins can sign in
 * again; after the window (by the caller's clock or the database's) it cannot be cancelled and the
 * purge still runs. Each call touches only its own tenant.
 */
const system = { type: 'system', name: 'test' } as const;
const cli = { type: 'cli', name: 'tenant-cli' } as const;
const DAY = 86_400_000;

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

describe.each(backends())('cancelling a deletion request on %s', (backend) => {
  let database: TestDatabase;
  const vault = testVault();
  const tenant = async (name: string) => {
    const id = (await createTenant(database.db, { name, actor: system })).id;
    await withTenant(database.db, id, (tx) =>
      tx.insert(accounts).values({ tenantId: id, id: 'acc-1', name: `${name} account`, domains: [] }),
    );
    return id;
  };
  const statusOf = async (id: string) =>
    (await withTenant(database.db, id, (tx) => tx.select().from(tenants).where(eq(tenants.id, id))))[0]!;
  const events = (id: string, action: string) =>
    withTenant(database.db, id, (tx) => tx.select().from(auditEvents).where(eq(auditEvents.action, action)));

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());

  it('within the window: the tenant is active again with its data, audited, and its admins can sign in again', async () => {
    const id = await tenant('Alpha');
    const other = await tenant('Other');
    const cookie = `hc_session=${(await createSession(database.db, { tenantId: id, userId: 'U1', role: 'owner', via: 'slack_oidc' })).token}`;
    const now = new Date();
    await requestTenantDeletion(database.db, { tenantId: id, actor: system, retentionDays: 30, now });
    const app = testApp(database, { vault }).app;
    // The request ended every session, and nobody can sign in to a tenant being deleted.
    expect((await app.request('/admin', { headers: { cookie } })).status).toBe(401);
    expect(
      (
        await refusal(
          createSession(database.db, { tenantId: id, userId: 'U1', role: 'owner', via: 'slack_oidc' }),
        )
      ).code,
    ).toBe('tenant_inactive');

    const r = await cancelTenantDeletion(database.db, {
      tenantId: id,
      actor: cli,
      now: new Date(now.getTime() + DAY),
    });
    expect(r).toEqual({ tenantId: id, status: 'active', deleteAfterWas: new Date(now.getTime() + 30 * DAY) });
    expect(await statusOf(id)).toMatchObject({ status: 'active', deleteAfter: null, name: 'Alpha' });
    const kept = await withTenant(database.db, id, (tx) => tx.select().from(accounts));
    expect(kept.map((a) => a.name)).toEqual(['Alpha account']);
    const [ev] = await events(id, 'tenant.deletion_cancelled');
    expect(ev).toMatchObject({ outcome: 'success', actor: cli, target: id });
    expect(await verifyAuditChain(database.db, id)).toMatchObject({ ok: true });
    // The old session stays ended; a new sign-in works and reaches the console.
    const fresh = await createSession(database.db, {
      tenantId: id,
      userId: 'U1',
      role: 'owner',
      via: 'slack_oidc',
    });
    expect((await app.request('/admin', { headers: { cookie: `hc_session=${fresh.token}` } })).status).toBe(
      200,
    );
    // The purge finds nothing to do for it; the other tenant was never touched.
    expect(await purgeDueTenants(database.db, new Date(now.getTime() + 31 * DAY))).toEqual([]);
    expect((await statusOf(other)).status).toBe('active');
    expect(await events(other, 'tenant.deletion_cancelled')).toEqual([]);
  });

  it('after the window it can no longer be cancelled (refusal audited), and the purge still runs', async () => {
    const id = await tenant('Beta');
    const now = new Date();
    await requestTenantDeletion(database.db, { tenantId: id, actor: system, retentionDays: 30, now });
    const late = new Date(now.getTime() + 31 * DAY);
    const r = await refusal(cancelTenantDeletion(database.db, { tenantId: id, actor: cli, now: late }));
    expect(r.code).toBe('conflict');
    expect(r.message).toContain('can no longer be cancelled');
    expect((await statusOf(id)).status).toBe('deleting');
    expect((await events(id, 'tenant.deletion_cancelled'))[0]).toMatchObject({
      outcome: 'denied',
      detail: { reason: 'retention_window_passed' },
    });
    const purged = await purgeDueTenants(database.db, late);
    expect(purged.map((p) => p.tenantId)).toEqual([id]);
    expect((await refusal(cancelTenantDeletion(database.db, { tenantId: id, actor: cli }))).code).toBe(
      'conflict',
    );
  });

  it("a caller's clock set back cannot revive a tenant whose window has passed by the database's clock", async () => {
    const id = await tenant('Gamma');
    const longAgo = new Date(Date.now() - 60 * DAY);
    await requestTenantDeletion(database.db, {
      tenantId: id,
      actor: system,
      retentionDays: 30,
      now: longAgo,
    });
    const r = await refusal(
      cancelTenantDeletion(database.db, { tenantId: id, actor: cli, now: new Date(longAgo.getTime() + DAY) }),
    );
    expect(r.code).toBe('conflict');
    expect((await statusOf(id)).status).toBe('deleting');
  });

  it('refuses what is not a deletion to cancel, and the SQL function acts on its own tenant only', async () => {
    const active = await tenant('Delta');
    expect(await refusal(cancelTenantDeletion(database.db, { tenantId: active, actor: cli }))).toEqual({
      code: 'conflict',
      message: 'This tenant is not being deleted.',
    });
    expect((await refusal(cancelTenantDeletion(database.db, { tenantId: 'no-such', actor: cli }))).code).toBe(
      'not_found',
    );
    const deleting = await tenant('Epsilon');
    await requestTenantDeletion(database.db, { tenantId: deleting, actor: system, retentionDays: 30 });
    // Called inside another tenant's transaction, it changes nothing of Epsilon's.
    const ok = await withTenant(database.db, active, async (tx) =>
      rowsOf<{ ok: boolean }>(await tx.execute(sql`select public.app_cancel_tenant_deletion(now()) as ok`)),
    );
    expect(ok[0]!.ok).toBe(false);
    expect((await statusOf(deleting)).status).toBe('deleting');
    // The application role cannot set a tenant's status by itself.
    await expect(
      withTenant(database.db, deleting, (tx) =>
        tx.update(tenants).set({ status: 'active' }).where(eq(tenants.id, deleting)),
      ),
    ).rejects.toThrow();
  });
});
