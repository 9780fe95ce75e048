import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/client.ts';
import {
  accounts,
  auditEvents,
  slackInstallations,
  tenants,
  zendeskConnections,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { tenantIdBySlack, tenantIdByZendeskHook } from '../../src/tenancy/lookup.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { expectDbError } from '../helpers/expect-db.ts';

const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('tenant isolation on %s', (backend) => {
  let database: TestDatabase;
  let a: string;
  let b: string;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    a = (await createTenant(database.db, { name: 'Tenant A', actor: system })).id;
    b = (await createTenant(database.db, { name: 'Tenant B', actor: system })).id;
    await withTenant(database.db, a, (tx) =>
      tx.insert(accounts).values([
        { tenantId: a, id: 'acc_1', name: 'A one' },
        { tenantId: a, id: 'acc_2', name: 'A two' },
      ]),
    );
    await withTenant(database.db, b, (tx) =>
      tx.insert(accounts).values({ tenantId: b, id: 'acc_1', name: 'B one' }),
    );
  });
  afterAll(() => database?.close());

  it('a query with no WHERE sees only the current tenant', async () => {
    const seenByA = await withTenant(database.db, a, (tx) => tx.select().from(accounts));
    expect(seenByA.map((r) => r.name).sort()).toEqual(['A one', 'A two']);
    const seenByB = await withTenant(database.db, b, (tx) => tx.select().from(accounts));
    expect(seenByB.map((r) => r.name)).toEqual(['B one']);
    const tenantsSeen = await withTenant(database.db, a, (tx) => tx.select().from(tenants));
    expect(tenantsSeen.map((t) => t.id)).toEqual([a]);
  });

  it('with no tenant set, the application role sees nothing', async () => {
    const rows = await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local role helpdesk_app`);
      return tx.select().from(accounts);
    });
    expect(rows).toEqual([]);
  });

  it("inserting another tenant's row fails", async () => {
    await expectDbError(
      withTenant(database.db, a, (tx) =>
        tx.insert(accounts).values({ tenantId: b, id: 'acc_x', name: 'sneaky' }),
      ),
      /row-level security/,
    );
    const bRows = await withTenant(database.db, b, (tx) => tx.select().from(accounts));
    expect(bRows.map((r) => r.id)).toEqual(['acc_1']);
  });

  it("updating another tenant's row fails or touches nothing", async () => {
    const updated = await withTenant(database.db, a, (tx) =>
      tx.update(accounts).set({ name: 'hijacked' }).where(eq(accounts.tenantId, b)).returning(),
    );
    expect(updated).toEqual([]);
    await expectDbError(
      withTenant(database.db, a, (tx) =>
        tx.update(accounts).set({ tenantId: b }).where(eq(accounts.id, 'acc_2')),
      ),
      /row-level security/,
    );
    const bRows = await withTenant(database.db, b, (tx) => tx.select().from(accounts));
    expect(bRows.map((r) => r.name)).toEqual(['B one']);
  });

  it('deleting is confined to the current tenant', async () => {
    const deleted = await withTenant(database.db, a, (tx) =>
      tx.delete(accounts).where(eq(accounts.tenantId, b)).returning(),
    );
    expect(deleted).toEqual([]);
  });

  it('the tenant and role do not outlive the transaction on pooled connections', async () => {
    const inside = await withTenant(database.db, a, async (tx) =>
      rowsOf<{ u: string; t: string }>(
        await tx.execute(sql`select current_user as u, current_setting('app.tenant_id', true) as t`),
      ),
    );
    expect(inside[0]).toEqual({ u: 'helpdesk_app', t: a });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        withTenant(database.db, i % 2 ? a : b, (tx) => tx.select().from(accounts)),
      ),
    );
    const after = await Promise.all(
      Array.from(
        { length: 10 },
        async () =>
          rowsOf<{ u: string; t: string | null }>(
            await database.db.execute(
              sql`select current_user as u, nullif(current_setting('app.tenant_id', true), '') as t`,
            ),
          )[0],
      ),
    );
    for (const r of after) {
      expect(r?.u).not.toBe('helpdesk_app');
      expect(r?.t).toBeNull();
    }
  });

  it('every table with a tenant_id column has RLS enabled, forced and a tenant policy', async () => {
    const tables = rowsOf<{
      table: string;
      enabled: boolean;
      forced: boolean;
      policies: number;
      using: string | null;
    }>(
      await database.db.execute(sql`
        select c.relname as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
               (select count(*)::int from pg_policies p where p.schemaname = 'public' and p.tablename = c.relname
                  and p.policyname = 'tenant_isolation') as policies,
               (select p.qual from pg_policies p where p.schemaname = 'public' and p.tablename = c.relname
                  and p.policyname = 'tenant_isolation') as using
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
        where n.nspname = 'public' and c.relkind = 'r'
        order by 1`),
    );
    expect(tables.length).toBeGreaterThanOrEqual(15);
    for (const t of tables) {
      expect({ table: t.table, enabled: t.enabled, forced: t.forced, policies: t.policies }).toEqual({
        table: t.table,
        enabled: true,
        forced: true,
        policies: 1,
      });
      expect(t.using).toContain('app_current_tenant()');
    }
  });

  it('every tenant-owned primary key includes tenant_id', async () => {
    const rows = rowsOf<{ table: string; cols: string }>(
      await database.db.execute(sql`
        select c.relname as table, string_agg(a.attname, ',') as cols
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
        where i.indisprimary and n.nspname = 'public'
          and exists (select 1 from pg_attribute t where t.attrelid = c.oid and t.attname = 'tenant_id')
        group by c.relname`),
    );
    expect(rows.length).toBeGreaterThanOrEqual(15);
    for (const r of rows) expect(r.cols.split(','), r.table).toContain('tenant_id');
  });

  it('the audit trail is append-only for the application role', async () => {
    await withTenant(database.db, a, async (tx) => {
      const rows = await tx.select().from(auditEvents);
      expect(rows.some((r) => r.action === 'tenant.created')).toBe(true);
    });
    await expectDbError(
      withTenant(database.db, a, (tx) => tx.update(auditEvents).set({ action: 'rewritten' })),
      /permission denied/,
    );
    await expectDbError(
      withTenant(database.db, a, (tx) => tx.delete(auditEvents)),
      /permission denied/,
    );
  });

  it('pre-tenant look-ups return tenant ids and cannot read secrets', async () => {
    await withTenant(database.db, a, async (tx) => {
      await tx
        .insert(slackInstallations)
        .values({ tenantId: a, id: 'si_1', teamId: 'T111', accessToken: 'sealed-a' });
      await tx
        .insert(zendeskConnections)
        .values({ tenantId: a, id: 'zc_1', subdomain: 'acme', hookId: 'hook_a' });
    });
    expect(await tenantIdBySlack(database.db, { teamId: 'T111', isEnterpriseInstall: false })).toBe(a);
    expect(await tenantIdBySlack(database.db, { teamId: 'T999', isEnterpriseInstall: false })).toBeNull();
    expect(await tenantIdByZendeskHook(database.db, 'hook_a')).toBe(a);
    expect(await tenantIdByZendeskHook(database.db, 'hook_nope')).toBeNull();
    await expectDbError(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`set local role helpdesk_lookup`);
        return tx.select({ t: slackInstallations.accessToken }).from(slackInstallations);
      }),
      /permission denied/,
    );
  });

  it('one Slack workspace cannot be installed into two tenants', async () => {
    await expectDbError(
      withTenant(database.db, b, (tx) =>
        tx.insert(slackInstallations).values({ tenantId: b, id: 'si_2', teamId: 'T111' }),
      ),
      /duplicate key value violates unique constraint "slack_installations_key"/,
    );
  });
});
