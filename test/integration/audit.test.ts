import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, exportAuditTrail } from '../../src/audit/audit.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

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
});
