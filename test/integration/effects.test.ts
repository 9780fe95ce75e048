import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit } from '../../src/audit/audit.ts';
import { auditEvents, externalEffects } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import {
  EffectInProgressError,
  type EffectOutcome,
  type EffectSpec,
  performEffectOnce,
} from '../../src/jobs/effects.ts';
import { AppError } from '../../src/lib/errors.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

type Note = { noteId: string };

/** A fake upstream that records writes (it lives in the test: the ledger calls our functions). */
function upstream() {
  const writes = new Map<string, number>();
  return {
    writes,
    spec(key: string, over: Partial<EffectSpec<Note>> = {}): EffectSpec<Note> {
      return {
        key,
        kind: 'test.note',
        perform: async () => {
          writes.set(key, (writes.get(key) ?? 0) + 1);
          return { noteId: `n-${key}` };
        },
        reconcile: async () => (writes.has(key) ? { noteId: `n-${key}` } : null),
        ...over,
      };
    },
  };
}

describe.each(backends())('effect ledger on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'A', actor: { type: 'system', name: 'test' } })).id;
  });
  afterAll(() => database?.close());

  const row = async (key: string) =>
    (
      await withTenant(database.db, tenantId, (tx) =>
        tx.select().from(externalEffects).where(eq(externalEffects.key, key)),
      )
    )[0];

  it('performs once, then returns the recorded result without calling anything', async () => {
    const up = upstream();
    const first = await performEffectOnce(database, tenantId, up.spec('k-once'));
    expect(first).toEqual({ status: 'performed', result: { noteId: 'n-k-once' } });
    const again = await performEffectOnce(
      database,
      tenantId,
      up.spec('k-once', {
        perform: () => Promise.reject(new Error('must not run')),
        reconcile: () => Promise.reject(new Error('must not run')),
      }),
    );
    expect(again).toEqual({ status: 'already_done', result: { noteId: 'n-k-once' } });
    expect(up.writes.get('k-once')).toBe(1);
    expect(await row('k-once')).toMatchObject({
      status: 'done',
      kind: 'test.note',
      result: { noteId: 'n-k-once' },
    });
  });

  it('concurrent callers with one key: exactly one performs, the others get EffectInProgressError', async () => {
    const up = upstream();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let performs = 0;
    const spec = up.spec('k-race', {
      perform: async () => {
        performs++;
        await gate; // hold the claim until every other caller has had its answer
        return { noteId: 'n-race' };
      },
    });
    // Every caller settles; the performer only once the seven others have had their answer.
    const settled: PromiseSettledResult<EffectOutcome<Note>>[] = [];
    await Promise.all(
      Array.from({ length: 8 }, () =>
        performEffectOnce(database, tenantId, spec).then(
          (value) => settled.push({ status: 'fulfilled', value }),
          (reason: unknown) => {
            settled.push({ status: 'rejected', reason });
            if (settled.length === 7) release();
          },
        ),
      ),
    );
    const settledOthers = settled;
    expect(performs).toBe(1);
    const rejected = settledOthers.filter((r) => r.status === 'rejected');
    const fulfilled = settledOthers.filter((r) => r.status === 'fulfilled');
    expect(rejected).toHaveLength(7);
    for (const r of rejected) {
      const e = (r as PromiseRejectedResult).reason;
      expect(e).toBeInstanceOf(EffectInProgressError);
      expect(e).toMatchObject({
        code: 'conflict',
        retryable: true,
        detail: { reason: 'effect_in_progress' },
      });
      expect((e as AppError).detail?.retryAfterMs).toBeGreaterThan(0);
    }
    expect(fulfilled).toEqual([
      { status: 'fulfilled', value: { status: 'performed', result: { noteId: 'n-race' } } },
    ]);
    expect(await row('k-race')).toMatchObject({ status: 'done', result: { noteId: 'n-race' } });
  });

  it('a claim left started by a crash is reconciled, not performed again, once its lease lapsed', async () => {
    const up = upstream();
    let t = new Date('2026-12-01T10:00:00Z');
    const now = () => t;
    // The crashed process: it claimed the key and the write landed upstream, then it died.
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(externalEffects).values({
        tenantId,
        key: 'k-crash',
        kind: 'test.note',
        status: 'started',
        result: { claim: 'dead-process' },
        updatedAt: t,
      }),
    );
    up.writes.set('k-crash', 1);
    // Within the lease: still someone's claim, nothing is called.
    const perform = () => Promise.reject(new Error('must not perform'));
    await expect(
      performEffectOnce(database, tenantId, up.spec('k-crash', { perform }), { now, leaseMs: 60_000 }),
    ).rejects.toBeInstanceOf(EffectInProgressError);
    t = new Date(t.getTime() + 60_001);
    const out = await performEffectOnce(database, tenantId, up.spec('k-crash', { perform }), {
      now,
      leaseMs: 60_000,
      onRecorded: (tx, ev) =>
        audit(
          { tenantId, tx, actor: { type: 'system', name: 'test' } },
          {
            action: 'test.note_posted',
            target: 'k-crash',
            outcome: 'success',
            detail: { status: ev.status },
          },
        ),
    });
    expect(out).toEqual({ status: 'reconciled', result: { noteId: 'n-k-crash' } });
    expect(up.writes.get('k-crash')).toBe(1);
    expect(await row('k-crash')).toMatchObject({ status: 'done', result: { noteId: 'n-k-crash' } });
    const trail = await withTenant(database.db, tenantId, (tx) =>
      tx.select().from(auditEvents).where(eq(auditEvents.action, 'test.note_posted')),
    );
    expect(trail.map((a) => a.detail)).toEqual([{ status: 'reconciled' }]);
  });

  it('a lapsed claim whose write did not land is performed by the one caller that took it over', async () => {
    const up = upstream();
    const t0 = new Date('2026-12-01T10:00:00Z');
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(externalEffects).values({
        tenantId,
        key: 'k-lost',
        kind: 'test.note',
        status: 'started',
        result: { claim: 'dead-process' },
        updatedAt: t0,
      }),
    );
    const out = await performEffectOnce(database, tenantId, up.spec('k-lost'), {
      now: () => new Date(t0.getTime() + 31_000),
    });
    expect(out.status).toBe('performed');
    expect(up.writes.get('k-lost')).toBe(1);
  });

  it('an upstream refusal is recorded failed with a safe reason; the next call performs again', async () => {
    const up = upstream();
    const refusal = new AppError('upstream_error', 'Zendesk answered 422 to PUT /api/v2/tickets/1.json', {
      detail: { status: 422 },
    });
    await expect(
      performEffectOnce(database, tenantId, up.spec('k-fail', { perform: () => Promise.reject(refusal) })),
    ).rejects.toBe(refusal);
    expect(await row('k-fail')).toMatchObject({
      status: 'failed',
      result: { error: 'upstream_error: Zendesk answered 422 to PUT /api/v2/tickets/1.json', status: 422 },
    });
    // The refusal means nothing landed: a retry performs without asking upstream first.
    const out = await performEffectOnce(
      database,
      tenantId,
      up.spec('k-fail', { reconcile: () => Promise.reject(new Error('must not reconcile')) }),
    );
    expect(out).toEqual({ status: 'performed', result: { noteId: 'n-k-fail' } });
  });

  it('an error that leaves the outcome unknown (timeout, 5xx) keeps the claim and the next call reconciles first', async () => {
    const up = upstream();
    const timeout = new AppError('upstream_error', 'Zendesk did not answer', { retryable: true });
    // The write lands, but the answer is lost.
    const perform = async (): Promise<Note> => {
      up.writes.set('k-unsure', 1);
      throw timeout;
    };
    await expect(performEffectOnce(database, tenantId, up.spec('k-unsure', { perform }))).rejects.toBe(
      timeout,
    );
    expect(await row('k-unsure')).toMatchObject({ status: 'started' });
    const out = await performEffectOnce(
      database,
      tenantId,
      up.spec('k-unsure', { perform: () => Promise.reject(new Error('must not perform')) }),
    );
    expect(out).toEqual({ status: 'reconciled', result: { noteId: 'n-k-unsure' } });
    expect(up.writes.get('k-unsure')).toBe(1);
  });

  it('keys are per tenant', async () => {
    const other = (await createTenant(database.db, { name: 'B', actor: { type: 'system', name: 'test' } }))
      .id;
    const up = upstream();
    await performEffectOnce(database, tenantId, up.spec('k-tenant'));
    const out = await performEffectOnce(database, other, up.spec('k-tenant'));
    expect(out.status).toBe('performed');
    expect(up.writes.get('k-tenant')).toBe(2);
  });

  it('a reconcile that fails performs nothing and leaves the claim for the next call to ask again', async () => {
    const up = upstream();
    const t0 = new Date('2026-12-01T10:00:00Z');
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(externalEffects).values({
        tenantId,
        key: 'k-ask',
        kind: 'test.note',
        status: 'started',
        result: { claim: 'dead-process' },
        updatedAt: t0,
      }),
    );
    const later = () => new Date(t0.getTime() + 31_000);
    const down = new AppError('upstream_error', 'Zendesk did not answer', { retryable: true });
    await expect(
      performEffectOnce(database, tenantId, up.spec('k-ask', { reconcile: () => Promise.reject(down) }), {
        now: later,
      }),
    ).rejects.toBe(down);
    expect(up.writes.has('k-ask')).toBe(false);
    // Released at once: the next caller (same clock) asks again instead of waiting out a lease.
    const out = await performEffectOnce(database, tenantId, up.spec('k-ask'), { now: later });
    expect(out.status).toBe('performed');
    expect(up.writes.get('k-ask')).toBe(1);
  });
});
