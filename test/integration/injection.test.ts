import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf, type Tx } from '../../src/db/client.ts';
import { describeRuntimeRole, problemsWith } from '../../src/db/role-check.ts';
import { accounts } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * SQL an injection bug would run: raw statements as the runtime role inside withTenant(A). Each
 * attempt may fail or succeed; what matters is that afterwards A still sees none of B's rows and
 * B's rows are unchanged. PostgreSQL only: on PGlite (one superuser) this cannot hold.
 */
const pg = Boolean(globalThis.process && (await import('vitest')).inject('pgAdminUrl'));

describe.runIf(pg)('SQL injection inside withTenant(A) cannot reach tenant B (postgres)', () => {
  let database: TestDatabase;
  let a: string;
  let b: string;
  const system = { type: 'system', name: 'test' } as const;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    a = (await createTenant(database.db, { name: 'A', actor: system })).id;
    b = (await createTenant(database.db, { name: 'B', actor: system })).id;
    await withTenant(database.db, a, (tx) =>
      tx.insert(accounts).values({ tenantId: a, id: 'acc_a', name: 'A acct' }),
    );
    await withTenant(database.db, b, (tx) =>
      tx.insert(accounts).values({ tenantId: b, id: 'acc_b', name: 'B secret account' }),
    );
  }, 120_000);
  afterAll(async () => {
    await database?.close();
  });

  /** Runs `attack` in A's transaction, then reads as A; the attack's own error is ignored. */
  async function inA(attack: (tx: Tx) => Promise<unknown>): Promise<{ seen: string[]; error?: string }> {
    let error: string | undefined;
    const seen = await withTenant(database.db, a, async (tx) => {
      try {
        // A savepoint, so a refused attack does not abort the transaction we then read in.
        await tx.transaction(async (sp) => {
          await attack(sp);
        });
      } catch (e) {
        error = e instanceof Error ? String((e as { cause?: Error }).cause?.message ?? e.message) : String(e);
      }
      const rows = rowsOf<{ tenant_id: string }>(await tx.execute(sql`select tenant_id from accounts`));
      return rows.map((r) => r.tenant_id);
    });
    return { seen, ...(error ? { error } : {}) };
  }

  async function bUnchanged() {
    const rows = await withTenant(database.db, b, (tx) => tx.select().from(accounts));
    expect(rows.map((r) => [r.id, r.name])).toEqual([['acc_b', 'B secret account']]);
  }

  const attacks: [string, (tx: Tx, ids: { b: string }) => Promise<unknown>][] = [
    [
      'set_config app.tenant_id to B',
      (tx, { b }) => tx.execute(sql`select set_config('app.tenant_id', ${b}, true)`),
    ],
    [
      'forge app.tenant_claim for B',
      (tx, { b }) =>
        tx.execute(sql`select set_config('app.tenant_claim', ${`${b}:${'0'.repeat(64)}`}, true)`),
    ],
    [
      "copy A's claim with B's id",
      (tx, { b }) =>
        tx.execute(
          sql`select set_config('app.tenant_claim', ${b} || ':' || split_part(current_setting('app.tenant_claim'), ':', 2), true)`,
        ),
    ],
    [
      'app_enter_tenant(B) with a forged mac',
      (tx, { b }) =>
        tx.execute(
          sql`select public.app_enter_tenant(${b}, extract(epoch from now())::bigint, 'x', 'deadbeef')`,
        ),
    ],
    ['call the signing function', (tx, { b }) => tx.execute(sql`select public.app_hmac('claim:' || ${b})`)],
    ['read the claim key', (tx) => tx.execute(sql`select * from public.app_claim_key`)],
    ['RESET ROLE', (tx) => tx.execute(sql`reset role`)],
    ['SET ROLE postgres', (tx) => tx.execute(sql`set role postgres`)],
    ['SET ROLE helpdesk_lookup', (tx) => tx.execute(sql`set role helpdesk_lookup`)],
    ['SET ROLE helpdesk_scheduler', (tx) => tx.execute(sql`set role helpdesk_scheduler`)],
    ['SET SESSION AUTHORIZATION', (tx) => tx.execute(sql`set session authorization postgres`)],
    ['ALTER TABLE NO FORCE RLS', (tx) => tx.execute(sql`alter table accounts no force row level security`)],
    ['ALTER TABLE DISABLE RLS', (tx) => tx.execute(sql`alter table accounts disable row level security`)],
    ['DROP POLICY', (tx) => tx.execute(sql`drop policy tenant_isolation on accounts`)],
    ['CREATE POLICY', (tx) => tx.execute(sql`create policy open_all on accounts for select using (true)`)],
    ['temporary table shadowing', (tx) => tx.execute(sql`create temporary table accounts (tenant_id text)`)],
    ['table in public', (tx) => tx.execute(sql`create table public.evil (x int)`)],
    [
      'CREATE FUNCTION app_current_tenant shadow',
      (tx, { b }) =>
        tx.execute(
          sql.raw(
            `create function public.app_current_tenant() returns text language sql as $$ select '${b}' $$`,
          ),
        ),
    ],
    [
      'CREATE FUNCTION in pg_temp',
      (tx) => tx.execute(sql.raw(`create function pg_temp.f() returns int language sql as $$ select 1 $$`)),
    ],
    ['search_path games', (tx) => tx.execute(sql`set local search_path = pg_temp, public`)],
    ['pg_read_file', (tx) => tx.execute(sql`select pg_read_file('/etc/passwd')`)],
    ['COPY FROM PROGRAM', (tx) => tx.execute(sql`copy accounts from program 'id'`)],
    ['COPY TO file', (tx) => tx.execute(sql`copy (select 1) to '/tmp/hc-injection'`)],
    ['GRANT to self', (tx) => tx.execute(sql`grant helpdesk_lookup to current_user`)],
    ['ALTER ROLE BYPASSRLS', (tx) => tx.execute(sql`alter role current_user bypassrls`)],
    [
      'UPDATE B rows',
      (tx, { b }) => tx.execute(sql`update accounts set name = 'pwned' where tenant_id = ${b}`),
    ],
    ['DELETE B rows', (tx, { b }) => tx.execute(sql`delete from accounts where tenant_id = ${b}`)],
    [
      'INSERT as B',
      (tx, { b }) => tx.execute(sql`insert into accounts (tenant_id, id, name) values (${b}, 'acc_x', 'x')`),
    ],
    [
      'claim jobs with forged arguments',
      (tx) => tx.execute(sql`select * from public.app_claim_jobs(now(), now(), 100, 100, '', 'evil')`),
    ],
    ['mark B deleting', (tx) => tx.execute(sql`select public.app_mark_tenant_deleting(now(), now())`)],
  ];

  for (const [name, attack] of attacks) {
    it(`${name}: A sees only A, B unchanged`, async () => {
      const r = await inA((tx) => attack(tx, { b }));
      expect(r.seen.every((t) => t === a)).toBe(true);
      expect(r.seen).not.toContain(b);
      await bUnchanged();
    });
  }

  it('a shadow attempt leaves nothing behind for the next transaction on the pool', async () => {
    for (let i = 0; i < 5; i++) {
      await inA((tx) => tx.execute(sql`set search_path = pg_temp, public`));
    }
    const seen = await withTenant(database.db, a, (tx) => tx.select().from(accounts));
    expect(seen.map((r) => r.tenantId)).toEqual([a]);
  });

  it('the claim of one transaction is void in the next', async () => {
    const claim = await withTenant(
      database.db,
      a,
      async (tx) =>
        rowsOf<{ c: string }>(await tx.execute(sql`select current_setting('app.tenant_claim') as c`))[0]!.c,
    );
    const seen = await database.db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('app.tenant_claim', ${claim}, true)`);
      return rowsOf(await tx.execute(sql`select * from accounts`));
    });
    expect(seen).toEqual([]);
  });

  it('the runtime role is refused nothing the start check cares about', async () => {
    const role = await describeRuntimeRole(database);
    expect(role).toMatchObject({
      name: 'helpdesk_runtime',
      superuser: false,
      bypassRls: false,
      canCreateTemp: false,
    });
    expect(role.ownsTables).toEqual([]);
    expect(role.escapeRoles).toEqual([]);
    // The test database uses the public development key, which the server refuses on PostgreSQL.
    expect(problemsWith(database, role)).toEqual([
      'tenant claims use the public development key: set ENCRYPTION_KEY',
    ]);
  });

  it('the owner connection is refused as a runtime role, with what to change', async () => {
    const { openDatabase } = await import('../../src/db/client.ts');
    const { assertRuntimeRole } = await import('../../src/db/role-check.ts');
    const owner = await openDatabase({ url: database.ownerUrl!, maxConnections: 1 });
    try {
      await expect(assertRuntimeRole(owner)).rejects.toThrow(/superuser: connect as the runtime role/);
    } finally {
      await owner.close();
    }
  });

  it('the isolation evidence report: RLS forced everywhere, every live probe held, chains intact', async () => {
    const { isolationEvidence } = await import('../../src/db/evidence.ts');
    const r = await isolationEvidence(database, [a, b]);
    expect(r.tables.length).toBeGreaterThan(10);
    for (const t of r.tables) {
      expect(t, t.table).toMatchObject({ rlsEnabled: true, rlsForced: true });
      expect(t.policy, t.table).toContain('app_current_tenant()');
    }
    expect(r.probes).toHaveLength(8);
    expect(r.probes.filter((p) => !p.held)).toEqual([]);
    expect(r.auditChains.map((c) => c.ok)).toEqual([true, true]);
    expect(r.role.name).toBe('helpdesk_runtime');
  });
});
