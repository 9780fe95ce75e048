import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts, jobs, webhookDeliveries } from '../../src/db/schema/index.ts';
import { createGroupCommit, tenantTransaction, withTenant, withTenantRead } from '../../src/db/tenant.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { ingestGroupCommit } from '../../src/zendesk/webhook.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createZendeskTenant, signedZendeskHeaders, type ZendeskFixture } from '../helpers/zendesk-sign.ts';

/** Creating and migrating a database takes seconds, or minutes on a loaded machine: an upper bound only. */
const DB_SETUP_TIMEOUT_MS = 300_000;

describe.each(backends())('ingest group commit on %s', (backend) => {
  let database: TestDatabase;
  const vault = testVault();
  let a: ZendeskFixture;
  let b: ZendeskFixture;
  let app: ReturnType<typeof testApp>['app'];
  const batches: number[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    a = await createZendeskTenant(database.db, vault);
    b = await createZendeskTenant(database.db, vault);
    // Created before the first webhook, so the route uses this instance (and its batch hook).
    ingestGroupCommit(database, { onBatch: (n) => batches.push(n) });
    app = testApp(database, { vault }).app;
  }, DB_SETUP_TIMEOUT_MS);
  afterAll(() => database?.close());

  /** The delivery of one invocation, read in a transaction of its own (committed rows only). */
  async function delivered(t: ZendeskFixture, invocationId: string) {
    return withTenant(database.db, t.tenantId, async (tx) => {
      const rows = await tx.select().from(webhookDeliveries);
      return rows.some((r) => r.invocationId === invocationId);
    });
  }

  async function post(t: ZendeskFixture, body: string, invocationId: string) {
    return app.request(`/webhooks/zendesk/${t.hookId}`, {
      method: 'POST',
      body,
      headers: await signedZendeskHeaders(t.secret, body, { invocationId }),
    });
  }

  it('concurrent webhooks share transactions, and each is durable before its own 200', async () => {
    // One webhook per tenant first, so the burst below finds both hooks cached and every request
    // reaches the group commit without a database round trip of its own.
    for (const [i, t] of [a, b].entries()) {
      const body = JSON.stringify({ ticket_id: String(900 + i), event: 'ticket_created' });
      expect((await post(t, body, `warm-${i}`)).status).toBe(200);
    }
    const n = 24;
    const prepared = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const t = i % 2 ? a : b;
        const body = JSON.stringify({ ticket_id: String(1000 + i), event: 'ticket_created' });
        return {
          t,
          inv: `gc-${i}`,
          body,
          headers: await signedZendeskHeaders(t.secret, body, { invocationId: `gc-${i}` }),
        };
      }),
    );
    const before = batches.length;
    const checks = await Promise.all(
      prepared.map(async (p) => {
        const res = await app.request(`/webhooks/zendesk/${p.t.hookId}`, {
          method: 'POST',
          body: p.body,
          headers: p.headers,
        });
        // The moment its answer arrives, its delivery is visible to another transaction.
        const visible = await delivered(p.t, p.inv);
        return { status: res.status, body: await res.json(), visible };
      }),
    );
    expect(checks.every((c) => c.status === 200 && c.visible)).toBe(true);
    expect(checks.every((c) => (c.body as { duplicate: boolean }).duplicate === false)).toBe(true);
    const sizes = batches.slice(before);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(n);
    // Fewer transactions than webhooks: at least one batch carried several (of both tenants).
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    for (const t of [a, b]) {
      const rows = await withTenant(database.db, t.tenantId, (tx) => tx.select().from(jobs));
      expect(rows.filter((r) => r.dedupeKey?.endsWith(':ticket_created'))).toHaveLength(n / 2 + 1);
      // Each tenant's rows carry its own tenant id only (the batch switched claims per tenant).
      expect(rows.every((r) => r.tenantId === t.tenantId)).toBe(true);
    }
  });

  it('copies in one batch are deduplicated per event; the others are stored', async () => {
    const copy = JSON.stringify({ ticket_id: '5000', event: 'ticket_created' });
    const others = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ ticket_id: String(5001 + i), event: 'ticket_created' }),
    );
    const before = batches.length;
    const results = await Promise.all([
      post(a, copy, 'dup-1'),
      post(a, copy, 'dup-1'), // the same invocation again
      post(a, copy, 'dup-2'), // the same ticket event under another invocation id
      ...others.map((body, i) => post(a, body, `other-${i}`)),
    ]);
    const bodies = (await Promise.all(results.map((r) => r.json()))) as { duplicate: boolean }[];
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(bodies.slice(0, 3).filter((x) => !x.duplicate)).toHaveLength(1);
    expect(bodies.slice(3).every((x) => !x.duplicate)).toBe(true);
    expect(Math.max(...batches.slice(before))).toBeGreaterThan(1);
    const rows = await withTenant(database.db, a.tenantId, (tx) => tx.select().from(jobs));
    expect(rows.filter((r) => r.dedupeKey === '5000:ticket_created')).toHaveLength(1);
    const deliveries = await withTenant(database.db, a.tenantId, (tx) => tx.select().from(webhookDeliveries));
    expect(deliveries.filter((d) => d.eventKey === '5000:ticket_created')).toHaveLength(1);
    for (let i = 0; i < 6; i++) expect(deliveries.some((d) => d.invocationId === `other-${i}`)).toBe(true);
  });

  it('one bad submission in a batch fails only itself; the rest commit, each in its own tenant', async () => {
    const t1 = (await createTenant(database.db, { name: 'One', actor: { type: 'system', name: 'test' } })).id;
    const t2 = (await createTenant(database.db, { name: 'Two', actor: { type: 'system', name: 'test' } })).id;
    const sizes: number[] = [];
    // Accounts by name; a null name violates NOT NULL and fails its whole statement.
    const gc = createGroupCommit<{ id: string; name: string | null }, string>(
      database.db,
      {
        statement: (tenantId, items) => ({
          text: `insert into accounts (tenant_id, id, name)
            select $1, u.id, u.name from unnest($2::text[], $3::text[]) with ordinality as u(id, name, ord)
            order by u.ord returning id`,
          params: [tenantId, items.map((i) => i.id), items.map((i) => i.name)],
        }),
        results: (rows, items) => items.map((i) => (rows.some((r) => r.id === i.id) ? i.id : '')),
      },
      { onBatch: (n) => sizes.push(n) },
    );
    const outcomes = await Promise.allSettled([
      gc.submit(t1, { id: 'acc_a', name: 'A' }),
      gc.submit(t2, { id: 'acc_b', name: 'B' }),
      gc.submit(t1, { id: 'acc_bad', name: null }),
      gc.submit(t2, { id: 'acc_c', name: 'C' }),
    ]);
    expect(sizes[0]).toBe(4);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const one = await withTenant(database.db, t1, (tx) => tx.select().from(accounts));
    const two = await withTenant(database.db, t2, (tx) => tx.select().from(accounts));
    expect(one.map((r) => r.id)).toEqual(['acc_a']);
    expect(two.map((r) => r.id).sort()).toEqual(['acc_b', 'acc_c']);
    // An invalid tenant id is refused before anything is sent.
    await expect(gc.submit('tn_x', { id: 'acc_z', name: 'Z' })).rejects.toThrow(/tenant id/);
  });

  it('tenantTransaction: a failing statement rolls back every group; withTenantRead sees one tenant', async () => {
    const t1 = (await createTenant(database.db, { name: 'Three', actor: { type: 'system', name: 'test' } }))
      .id;
    const t2 = (await createTenant(database.db, { name: 'Four', actor: { type: 'system', name: 'test' } }))
      .id;
    const insert = (id: string, name: string | null) => ({
      text: 'insert into accounts (tenant_id, id, name) values ((select public.app_current_tenant()), $1, $2)',
      params: [id, name],
    });
    await expect(
      tenantTransaction(database.db, [
        { tenantId: t1, statements: [insert('acc_1', 'kept?')] },
        { tenantId: t2, statements: [insert('acc_2', null)] },
      ]),
    ).rejects.toThrow();
    await tenantTransaction(database.db, [
      { tenantId: t1, statements: [insert('acc_1', 'One')] },
      { tenantId: t2, statements: [insert('acc_2', 'Two')] },
    ]);
    const read = { text: 'select tenant_id, id, name from accounts order by id', params: [] };
    expect(await withTenantRead(database.db, t1, read)).toEqual([
      { tenant_id: t1, id: 'acc_1', name: 'One' },
    ]);
    expect(await withTenantRead(database.db, t2, read)).toEqual([
      { tenant_id: t2, id: 'acc_2', name: 'Two' },
    ]);
    // A drizzle sql template works too (its parameters stay parameters).
    expect(await withTenantRead(database.db, t2, sql`select id from accounts where id = ${'acc_2'}`)).toEqual(
      [{ id: 'acc_2' }],
    );
    // Read only: a write through the read path is refused and stores nothing.
    await expect(withTenantRead(database.db, t1, insert('acc_3', 'Three'))).rejects.toThrow();
    expect(await withTenantRead(database.db, t1, read)).toHaveLength(1);
  });
});
