import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstreamLimits, upstreamUsage } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The shared limits across real processes: two node children (test/fixtures/limiter-child.ts),
 * each with its own pool on the database as the runtime role, take Zendesk permits for the same
 * tenants at the same fixed clock (no refill). Between them they are granted exactly one bucket
 * per tenant, and a 429 recorded in one process pauses the tenant in the other.
 */
const hasPostgres = backends().includes('postgres');
const system = { type: 'system', name: 'test' } as const;
/** The default Zendesk bucket: 200 a minute x 0.8 headroom = 160/min, 10 s of burst = 26.67 tokens. */
const ZENDESK_BUCKET = Math.floor(((200 * 0.8) / 60) * 10);
/** Upper bound for a stuck child, not an expectation of speed. */
const TIMEOUT_MS = 120_000;

interface Answer {
  id: number;
  error?: string;
  [k: string]: unknown;
}

interface TakeAnswer extends Answer {
  granted: number;
  refused: Record<string, number>;
}

/** One child process and a request/answer channel over its stdin/stdout. */
function spawnLimiterChild(url: string) {
  const child: ChildProcess = spawn(process.execPath, ['test/fixtures/limiter-child.ts'], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const waiting = new Map<number, (a: Answer) => void>();
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    child.once('exit', (code) => reject(new Error(`limiter child exited with ${code}: ${stderr}`)));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as Answer & { ready?: boolean };
    if (msg.ready) return readyResolve();
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  let next = 0;
  return {
    child,
    ready,
    ask<T extends Answer = Answer>(command: Record<string, unknown>): Promise<T> {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, (a) => (a.error ? reject(new Error(`${a.error}\n${stderr}`)) : resolve(a as T)));
        child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
      });
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

describe.skipIf(!hasPostgres)(
  'upstream limits across two processes (PostgreSQL only: a second process cannot open the in-memory PGlite database)',
  () => {
    let database: TestDatabase;
    const children: ReturnType<typeof spawnLimiterChild>[] = [];
    beforeAll(async () => {
      database = await createTestDatabase('postgres');
    });
    afterAll(async () => {
      for (const c of children) c.stop();
      await database?.close();
    });

    it(
      'grant exactly one bucket per tenant between them, and a 429 recorded in one pauses the tenant in the other',
      async () => {
        const t1 = (await createTenant(database.db, { name: 'One', actor: system })).id;
        const t2 = (await createTenant(database.db, { name: 'Two', actor: system })).id;
        const [p, q] = [spawnLimiterChild(database.url!), spawnLimiterChild(database.url!)];
        children.push(p, q);
        await Promise.all([p.ready, q.ready]);

        // Both processes at once, at one fixed clock: 40 acquires each for tenant 1, 15 each for tenant 2.
        const nowMs = Date.parse('2026-12-02T10:00:00Z');
        const take = (c: typeof p, tenantId: string, n: number) =>
          c.ask<TakeAnswer>({ op: 'take', tenantId, n, nowMs });
        const [p1, q1, p2, q2] = await Promise.all([
          take(p, t1, 40),
          take(q, t1, 40),
          take(p, t2, 15),
          take(q, t2, 15),
        ]);
        expect(ZENDESK_BUCKET).toBe(26);
        expect(p1.granted + q1.granted).toBe(ZENDESK_BUCKET);
        expect(p2.granted + q2.granted).toBe(ZENDESK_BUCKET);
        // Every refusal is the bucket being empty, none an error.
        for (const a of [p1, q1, p2, q2])
          expect(Object.keys(a.refused).every((k) => k === 'rate_limit')).toBe(true);
        expect((p1.refused.rate_limit ?? 0) + (q1.refused.rate_limit ?? 0)).toBe(80 - ZENDESK_BUCKET);
        // The database agrees: what the tenant's usage counted, and what is left in its bucket.
        for (const [tenantId, asked] of [
          [t1, 80],
          [t2, 30],
        ] as const) {
          const [u] = await withTenant(database.db, tenantId, (tx) => tx.select().from(upstreamUsage));
          expect(u).toMatchObject({
            upstream: 'zendesk',
            calls: ZENDESK_BUCKET,
            deferred: asked - ZENDESK_BUCKET,
          });
          const [row] = await withTenant(database.db, tenantId, (tx) => tx.select().from(upstreamLimits));
          expect(row!.tokens).toBeGreaterThanOrEqual(0);
          expect(row!.tokens).toBeLessThan(1);
        }

        // A minute later the buckets are full again. Process p gets a 429 for tenant 1 (Retry-After 30 s).
        const later = nowMs + 60_000;
        await p.ask({ op: 'throttle', tenantId: t1, nowMs: later, retryAtMs: later + 30_000 });
        // Process q's next acquire for tenant 1 is refused as paused, until that moment; tenant 2 is not paused.
        expect(await q.ask({ op: 'acquire', tenantId: t1, nowMs: later })).toMatchObject({
          granted: false,
          reason: 'paused',
          retryAtMs: later + 30_000,
        });
        expect(await q.ask({ op: 'acquire', tenantId: t1, nowMs: later + 29_000 })).toMatchObject({
          granted: false,
          reason: 'paused',
          retryAtMs: later + 30_000,
        });
        expect(await q.ask({ op: 'acquire', tenantId: t2, nowMs: later })).toMatchObject({ granted: true });
        // At Retry-After, either process may call again.
        expect(await q.ask({ op: 'acquire', tenantId: t1, nowMs: later + 30_000 })).toMatchObject({
          granted: true,
        });
        const [u1] = await withTenant(database.db, t1, (tx) => tx.select().from(upstreamUsage));
        expect(u1).toMatchObject({ throttled: 1 });
      },
      TIMEOUT_MS,
    );
  },
);
