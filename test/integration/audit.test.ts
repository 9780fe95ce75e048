import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  audit,
  exportAuditTrail,
  exportVerifiedAuditTrail,
  verifyAuditChain,
} from '../../src/audit/audit.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { backends, createTestDatabase, openOwner, type TestDatabase } from '../helpers/db.ts';

const system = { type: 'system', name: 'test' } as const;

async function collect(gen: AsyncGenerator<string>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const line of gen) {
    expect(line.endsWith('\n')).toBe(true);
    out.push(JSON.parse(line));
  }
  return out;
}

describe.each(backends())('audit trail on %s', (backend) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());

  it("writes in the caller's transaction and exports one tenant as JSON Lines", async () => {
    const a = (await createTenant(database.db, { name: 'A', actor: system })).id;
    const b = (await createTenant(database.db, { name: 'B', actor: system })).id;
    for (let i = 0; i < 7; i++) {
      await withTenant(database.db, a, (tx) =>
        audit(
          {
            tenantId: a,
            tx,
            actor: { type: 'admin', userId: 'U1', via: 'local_link' },
            requestId: `req-${i}`,
          },
          {
            action: 'draft.approved',
            target: `dr_${i}`,
            outcome: 'success',
            detail: { i, token: 'xoxb-should-not-appear' },
          },
        ),
      );
    }
    await withTenant(database.db, b, (tx) =>
      audit({ tenantId: b, tx, actor: system }, { action: 'b.only', outcome: 'success' }),
    );
    // Rolled back work leaves no audit record.
    await expect(
      withTenant(database.db, a, async (tx) => {
        await audit({ tenantId: a, tx, actor: system }, { action: 'rolled.back', outcome: 'success' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');

    const events = await collect(exportAuditTrail(database.db, a, { pageSize: 3 }));
    expect(events.map((e) => e.action)).toEqual(['tenant.created', ...Array(7).fill('draft.approved')]);
    expect(events.every((e) => e.tenantId === a)).toBe(true);
    expect(events[1]).toMatchObject({
      target: 'dr_0',
      outcome: 'success',
      requestId: 'req-0',
      actor: { type: 'admin' },
    });
    expect(JSON.stringify(events)).not.toContain('xoxb-should-not-appear');
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort());
    const bEvents = await collect(exportAuditTrail(database.db, b));
    expect(bEvents.map((e) => e.action)).toEqual(['tenant.created', 'b.only']);
  });

  it('chains each event to the previous one of its tenant, also under concurrent writers', async () => {
    const t = (await createTenant(database.db, { name: 'Chain', actor: system })).id;
    // Ten transactions of one tenant in parallel, each writing two events.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        withTenant(database.db, t, async (tx) => {
          await audit(
            { tenantId: t, tx, actor: system },
            { action: 'x.one', target: `${i}`, outcome: 'success' },
          );
          await audit(
            { tenantId: t, tx, actor: system },
            { action: 'x.two', target: `${i}`, outcome: 'success' },
          );
        }),
      ),
    );
    const v = await verifyAuditChain(database.db, t);
    expect(v).toMatchObject({ ok: true, events: 21 }); // with tenant.created
    expect(v.head).toMatch(/^[0-9a-f]{64}$/);
    const lines = await collect(exportVerifiedAuditTrail(database.db, t));
    expect(lines.at(-1)).toEqual({ chain: v });
    expect(
      lines
        .slice(0, -1)
        .map((l) => Number(l.seq))
        .sort((x, y) => x - y),
    ).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });

  it('the verification says where the chain breaks: changed content, then a deleted event', async () => {
    const t = (await createTenant(database.db, { name: 'Tamper', actor: system })).id;
    for (let i = 0; i < 4; i++)
      await withTenant(database.db, t, (tx) =>
        audit({ tenantId: t, tx, actor: system }, { action: 'y', target: `${i}`, outcome: 'success' }),
      );
    expect((await verifyAuditChain(database.db, t)).ok).toBe(true);
    const owner = await openOwner(database);
    try {
      // Someone with the owner's (superuser's) rights edits history; the runtime role cannot (no UPDATE grant).
      await owner.db.execute(
        sql`update audit_events set target = 'edited' where tenant_id = ${t} and seq = 3`,
      );
      expect(await verifyAuditChain(database.db, t)).toMatchObject({
        ok: false,
        events: 5,
        breaksAt: { seq: 3, reason: 'content_changed' },
      });
      await owner.db.execute(sql`delete from audit_events where tenant_id = ${t} and seq = 1`);
      expect((await verifyAuditChain(database.db, t)).breaksAt).toMatchObject({
        seq: 2,
        reason: 'event_missing',
      });
    } finally {
      await owner.close();
    }
  });
});
