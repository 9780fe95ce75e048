import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { jobs } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { claimJobs } from '../../src/jobs/claim.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { redriveDeadJobs } from '../../src/jobs/redrive.ts';
import { completeJob, failJob } from '../../src/jobs/store.ts';
import { claimAndRunOnce } from '../../src/jobs/sweep-once.ts';
import type { JobContext, JobHandler } from '../../src/jobs/types.ts';
import { createWorker, retryDelayMs, type WorkerOptions } from '../../src/jobs/worker.ts';
import { AppError, RetryLaterError } from '../../src/lib/errors.ts';
import { newId } from '../../src/lib/ids.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { activeTenantIds } from '../../src/tenancy/lookup.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { backends, createTestDatabase, openOwner, type TestDatabase } from '../helpers/db.ts';
import { expectDbError } from '../helpers/expect-db.ts';

const system = { type: 'system', name: 'test' } as const;
const logger = createLogger('silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Inserts `n` queued jobs for one tenant in one statement (owner-side, inside withTenant). */
async function seedJobs(
  db: Database,
  tenantId: string,
  kind: string,
  n: number,
  extra: { runAt?: Date } = {},
) {
  const ids: string[] = [];
  const base = extra.runAt ?? new Date(Date.now() - 60_000);
  await withTenant(db.db, tenantId, async (tx) => {
    for (let off = 0; off < n; off += 500) {
      const batch = Array.from({ length: Math.min(500, n - off) }, (_, i) => {
        const id = newId('job');
        ids.push(id);
        // Strictly increasing run_at keeps "oldest first" well defined.
        return { tenantId, id, kind, payload: { n: off + i }, runAt: new Date(base.getTime() + off + i) };
      });
      await tx.insert(jobs).values(batch);
    }
  });
  return ids;
}

async function jobRows(db: Database, tenantId: string) {
  return withTenant(db.db, tenantId, (tx) => tx.select().from(jobs));
}

describe.each(backends())('job queue on %s', (backend) => {
  let database: TestDatabase;
  let a: string;
  let b: string;
  const queue = createJobQueue();
  const worker = (o: Partial<WorkerOptions> & Pick<WorkerOptions, 'handlers'>) =>
    createWorker({ database, logger, pollMs: 20, leaseMs: 10_000, ...o });

  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());

  // Each test gets its own tenants and job kinds, so leftovers of one test never feed another.
  async function freshTenants() {
    a = (await createTenant(database.db, { name: 'A', actor: system })).id;
    b = (await createTenant(database.db, { name: 'B', actor: system })).id;
  }
  async function clearQueue() {
    // With RLS forced, each tenant's rows are reachable only inside its own scope.
    const ids = await activeTenantIds(database.db);
    for (const t of ids) await withTenant(database.db, t, (tx) => tx.delete(jobs));
  }

  it('enqueue is idempotent by dedupe key and commits with the caller', async () => {
    await clearQueue();
    await freshTenants();
    const first = await withTenant(database.db, a, (tx) =>
      queue.enqueue(tx, a, { kind: 'k', payload: { x: 1 }, dedupeKey: 'same' }),
    );
    const second = await withTenant(database.db, a, (tx) =>
      queue.enqueue(tx, a, { kind: 'k', payload: { x: 2 }, dedupeKey: 'same' }),
    );
    expect(first.created).toBe(true);
    expect(second).toEqual({ id: first.id, created: false });
    // The same key in another tenant is another job.
    const other = await withTenant(database.db, b, (tx) =>
      queue.enqueue(tx, b, { kind: 'k', payload: {}, dedupeKey: 'same' }),
    );
    expect(other.created).toBe(true);
    await expect(
      withTenant(database.db, a, async (tx) => {
        await queue.enqueue(tx, a, { kind: 'k', payload: {}, dedupeKey: 'rolled-back' });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const rows = await jobRows(database, a);
    expect(rows.map((r) => r.dedupeKey)).toEqual(['same']);
    expect(rows[0]?.payload).toEqual({ x: 1 });
  });

  it('the scheduler role sees scheduling columns of every tenant, never payloads', async () => {
    await clearQueue();
    await freshTenants();
    await seedJobs(database, a, 'k', 2);
    await seedJobs(database, b, 'k', 1);
    // The runtime role cannot switch to the scheduler role (the claim functions run as it).
    if (database.ownerUrl)
      await expectDbError(
        database.db.transaction(async (tx) => tx.execute(sql`set local role helpdesk_scheduler`)),
        /permission denied/,
      );
    const owner = await openOwner(database);
    try {
      const seen = await owner.db.transaction(async (tx) => {
        await tx.execute(sql`set local role helpdesk_scheduler`);
        return tx.select({ tenantId: jobs.tenantId, id: jobs.id, status: jobs.status }).from(jobs);
      });
      expect(new Set(seen.map((r) => r.tenantId))).toEqual(new Set([a, b]));
      await expectDbError(
        owner.db.transaction(async (tx) => {
          await tx.execute(sql`set local role helpdesk_scheduler`);
          return tx.select({ p: jobs.payload }).from(jobs);
        }),
        /permission denied/,
      );
      await expectDbError(
        owner.db.transaction(async (tx) => {
          await tx.execute(sql`set local role helpdesk_scheduler`);
          return tx.execute(sql`select webhook_secret from zendesk_connections`);
        }),
        /permission denied/,
      );
      await expectDbError(
        owner.db.transaction(async (tx) => {
          await tx.execute(sql`set local role helpdesk_scheduler`);
          return tx.execute(sql`delete from jobs`);
        }),
        /permission denied/,
      );
    } finally {
      await owner.close();
    }
  });

  it('runs a job with its payload, read inside the tenant scope, and marks it done', async () => {
    await clearQueue();
    await freshTenants();
    const seen: JobContext[] = [];
    const { id } = await withTenant(database.db, a, (tx) =>
      queue.enqueue(tx, a, { kind: 'hello', payload: { name: 'x' } }),
    );
    const stats = await worker({ handlers: { hello: async (j) => void seen.push(j) } }).runUntilIdle();
    expect(stats).toMatchObject({ claimed: 1, succeeded: 1, dead: 0 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      tenantId: a,
      jobId: id,
      kind: 'hello',
      payload: { name: 'x' },
      attempt: 1,
    });
    const [row] = await jobRows(database, a);
    expect(row).toMatchObject({ status: 'done', attempts: 1, leaseOwner: null, lastError: null });
    expect(row?.finishedAt).toBeInstanceOf(Date);
  });

  it('a lapsed lease makes the job runnable again, and the old worker cannot overwrite it', async () => {
    await clearQueue();
    await freshTenants();
    const [jobId] = await seedJobs(database, a, 'slow', 1);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const attempts: number[] = [];
    const handler: JobHandler = async (j) => {
      attempts.push(j.attempt);
      if (j.attempt === 1) {
        await gate;
        throw new Error('first run failed late');
      }
    };
    // concurrency 1: while its handler hangs, the stalled worker cannot claim the job again itself.
    const stalled = worker({ handlers: { slow: handler }, leaseMs: 60_000, concurrency: 1 });
    const stalledRun = stalled.runUntilIdle({ timeoutMs: 20_000 });
    while (attempts.length === 0) await sleep(10);
    // The first worker stalls (GC pause, network partition): its lease runs out.
    await withTenant(database.db, a, (tx) =>
      tx
        .update(jobs)
        .set({ leaseUntil: new Date(Date.now() - 1000) })
        .where(eq(jobs.id, jobId!)),
    );
    const rescuer = worker({ handlers: { slow: handler } });
    const rescued = await rescuer.runUntilIdle({ timeoutMs: 10_000 });
    expect(rescued.succeeded).toBe(1);
    release();
    const stalledStats = await stalledRun;
    expect(stalledStats.lostLeases).toBe(1);
    expect(attempts).toEqual([1, 2]);
    const [row] = await jobRows(database, a);
    // The late failure of attempt 1 did not put the finished job back in the queue.
    expect(row).toMatchObject({ status: 'done', attempts: 2, leaseOwner: null });
  });

  it('a running job renews its lease: a job longer than the lease is not run twice', async () => {
    await clearQueue();
    await freshTenants();
    await seedJobs(database, a, 'long', 1);
    let runs = 0;
    const handler: JobHandler = async () => {
      runs++;
      await sleep(2_500);
    };
    // Renewed every third of the lease; the handler outlives the lease 2.5 times.
    const w1 = worker({ handlers: { long: handler }, leaseMs: 1_000, pollMs: 20 });
    const w2 = worker({ handlers: { long: handler }, leaseMs: 1_000, pollMs: 20 });
    const [s1, s2] = await Promise.all([w1.runUntilIdle(), w2.runUntilIdle()]);
    expect(runs).toBe(1);
    expect(s1.succeeded + s2.succeeded).toBe(1);
    expect(s1.lostLeases + s2.lostLeases).toBe(0);
    expect((await jobRows(database, a))[0]).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('a claim that lost its lease cannot complete or fail the job', async () => {
    await clearQueue();
    await freshTenants();
    await seedJobs(database, a, 'x', 1);
    const t0 = new Date();
    const {
      jobs: [old],
    } = await claimJobs(database.db, {
      slots: 1,
      perTenantCap: 1,
      leaseMs: 1000,
      owner: 'old',
      now: t0,
    });
    expect(old?.attempt).toBe(1);
    const later = new Date(t0.getTime() + 5000);
    const {
      jobs: [fresh],
    } = await claimJobs(database.db, {
      slots: 1,
      perTenantCap: 1,
      leaseMs: 1000,
      owner: 'new',
      now: later,
    });
    expect(fresh).toMatchObject({ jobId: old?.jobId, attempt: 2, leaseOwner: 'new' });
    expect(await completeJob(database.db, old!, later)).toBe(false);
    expect(await failJob(database.db, old!, 'x', null, later)).toBe(false);
    const [row] = await jobRows(database, a);
    expect(row).toMatchObject({ status: 'running', leaseOwner: 'new' });
    expect(row?.lastError).toMatch(/lease expired on attempt 1/);
    expect(await completeJob(database.db, fresh!, later)).toBe(true);
  });

  it('retries with exponential backoff and full jitter, then dead-letters with a safe last_error', async () => {
    await clearQueue();
    await freshTenants();
    const runs: number[] = [];
    const { id } = await withTenant(database.db, a, (tx) =>
      queue.enqueue(tx, a, { kind: 'flaky', payload: {}, maxAttempts: 3 }),
    );
    // After the enqueue: run_at defaults to the database's now().
    let clock = Date.now() + 1000;
    const w = worker({
      now: () => new Date(clock),
      random: () => 0.999,
      backoff: { baseMs: 1000, maxMs: 60_000 },
      handlers: {
        flaky: async (j) => {
          runs.push(j.attempt);
          const dbErr = new Error(
            'Failed query: insert into notes values ($1) params: sk-secret-param-1234567890',
          );
          dbErr.name = 'DrizzleQueryError';
          (dbErr as Error & { cause: unknown }).cause = new Error('connection reset by peer');
          throw dbErr;
        },
      },
    });
    for (let i = 1; i <= 3; i++) {
      await w.runUntilIdle();
      const [row] = await jobRows(database, a);
      if (i < 3) {
        expect(row).toMatchObject({ status: 'queued', attempts: i });
        const delay = row!.runAt.getTime() - clock;
        // attempt i waits up to base * 2^(i-1); random 0.999 puts it near the top of the range.
        expect(delay).toBeGreaterThan(0.99 * 1000 * 2 ** (i - 1));
        expect(delay).toBeLessThanOrEqual(1000 * 2 ** (i - 1));
        clock += 10 * 60_000;
      } else {
        expect(row).toMatchObject({ id, status: 'dead', attempts: 3 });
        expect(row?.lastError).toBe('DatabaseError: connection reset by peer');
        expect(row?.lastError).not.toContain('sk-secret');
      }
    }
    expect(runs).toEqual([1, 2, 3]);
    expect(
      retryDelayMs(
        1,
        new AppError('rate_limited', 'slow down', { retryable: true, detail: { retryAfterMs: 30_000 } }),
        {
          baseMs: 1000,
          maxMs: 60_000,
          random: () => 0,
        },
      ),
    ).toBe(30_000);
  });

  it("a handler's RetryLaterError reschedules the job at its retryAt (also minutes away), capped by maxRetryAfterMs", async () => {
    await clearQueue();
    await freshTenants();
    await withTenant(database.db, a, (tx) =>
      queue.enqueue(tx, a, { kind: 'limited', payload: {}, maxAttempts: 3 }),
    );
    let clock = Date.now() + 1000;
    const asked: number[] = [120_000, 48 * 3600_000];
    const w = worker({
      now: () => new Date(clock),
      random: () => 0.5,
      backoff: { baseMs: 1000, maxMs: 60_000 },
      maxRetryAfterMs: 3600_000,
      handlers: {
        limited: async () => {
          throw new RetryLaterError('model rate limited', new Date(clock + asked.shift()!));
        },
      },
    });
    await w.runUntilIdle();
    let [row] = await jobRows(database, a);
    // Exactly the Retry-After time: past the backoff cap (60 s) and not jittered.
    expect(row).toMatchObject({ status: 'queued', attempts: 1 });
    expect(row!.runAt.getTime() - clock).toBe(120_000);
    clock += 121_000;
    await w.runUntilIdle();
    [row] = await jobRows(database, a);
    // Two days asked, one hour allowed.
    expect(row).toMatchObject({ status: 'queued', attempts: 2 });
    expect(row!.runAt.getTime() - clock).toBe(3600_000);
    clock += 3601_000;
    asked.push(1000);
    await w.runUntilIdle();
    [row] = await jobRows(database, a);
    // The last attempt: a retry time does not keep a job alive past maxAttempts.
    expect(row).toMatchObject({ status: 'dead', attempts: 3 });
    expect(row!.lastError).toBe('rate_limited: model rate limited');
  });

  it('the one-shot sweep (Workers) follows the same rules: maxAttempts reaches the handler, a RetryLaterError reschedules at its retryAt', async () => {
    await clearQueue();
    await freshTenants();
    await withTenant(database.db, a, (tx) =>
      queue.enqueue(tx, a, { kind: 'limited', payload: {}, maxAttempts: 3 }),
    );
    const clock = Date.now() + 1000;
    const seen: (number | undefined)[] = [];
    const stats = await claimAndRunOnce({
      database,
      logger: createLogger('silent'),
      now: () => new Date(clock),
      random: () => 0.5,
      backoff: { baseMs: 1000, maxMs: 60_000 },
      handlers: {
        limited: async (job) => {
          seen.push(job.maxAttempts);
          throw new RetryLaterError('model rate limited', new Date(clock + 120_000));
        },
      },
    });
    expect(stats).toMatchObject({ claimed: 1, retried: 1, dead: 0 });
    expect(seen).toEqual([3]);
    const [row] = await jobRows(database, a);
    // The Retry-After time, not the (60 s capped, jittered) backoff.
    expect(row).toMatchObject({ status: 'queued', attempts: 1 });
    expect(row!.runAt.getTime() - clock).toBe(120_000);
  });

  it('a non-retryable AppError dead-letters at once', async () => {
    await clearQueue();
    await freshTenants();
    await withTenant(database.db, a, (tx) => queue.enqueue(tx, a, { kind: 'reauth', payload: {} }));
    const stats = await worker({
      handlers: {
        reauth: async () => {
          throw new AppError('forbidden', 'Zendesk connection needs re-authorization', {
            detail: { status: 'needs_reauth' },
          });
        },
      },
    }).runUntilIdle();
    expect(stats).toMatchObject({ dead: 1, retried: 0 });
    const [row] = await jobRows(database, a);
    expect(row).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: 'forbidden: Zendesk connection needs re-authorization',
    });
  });

  it('dead jobs can be re-driven for one tenant, and only that tenant', async () => {
    await clearQueue();
    await freshTenants();
    const fail = async () => {
      throw new AppError('forbidden', 'needs re-authorization');
    };
    await withTenant(database.db, a, (tx) => queue.enqueue(tx, a, { kind: 'zd', payload: {} }));
    await withTenant(database.db, b, (tx) => queue.enqueue(tx, b, { kind: 'zd', payload: {} }));
    await worker({ handlers: { zd: fail } }).runUntilIdle();
    expect(await redriveDeadJobs(database.db, a, { kind: 'zd' })).toHaveLength(1);
    const [rowA] = await jobRows(database, a);
    const [rowB] = await jobRows(database, b);
    expect(rowA).toMatchObject({ status: 'queued', attempts: 0, finishedAt: null });
    expect(rowB).toMatchObject({ status: 'dead' });
    const stats = await worker({ handlers: { zd: async () => {} } }).runUntilIdle();
    expect(stats.succeeded).toBe(1);
    expect((await jobRows(database, a))[0]).toMatchObject({ status: 'done', attempts: 1, lastError: null });
  });

  it("fairness: one tenant's 1,000 queued jobs do not delay another tenant's first job", async () => {
    await clearQueue();
    await freshTenants();
    await seedJobs(database, a, 'fair', 1000);
    await seedJobs(database, b, 'fair', 1, { runAt: new Date() });
    const order: string[] = [];
    const w = worker({
      concurrency: 1,
      perTenantConcurrency: 1000,
      handlers: {
        fair: async (j) => {
          order.push(j.tenantId);
        },
      },
    });
    // Run only until B's job has run, then stop: the point is where it landed.
    w.start();
    while (!order.includes(b)) await sleep(10);
    await w.stop();
    expect(order.indexOf(b)).toBeLessThanOrEqual(1);
    const { jobs: claims } = await claimJobs(database.db, {
      slots: 2,
      perTenantCap: 1000,
      leaseMs: 1000,
      owner: 'probe',
      now: new Date(),
    });
    expect(claims.map((c) => c.tenantId)).toEqual([a, a]);
  });

  it('fairness: the first claim round serves every tenant with due jobs once, oldest first', async () => {
    await clearQueue();
    await freshTenants();
    await seedJobs(database, a, 'fair2', 50);
    await seedJobs(database, b, 'fair2', 1, { runAt: new Date() });
    const c = (await createTenant(database.db, { name: 'C', actor: system })).id;
    await seedJobs(database, c, 'fair2', 1, { runAt: new Date() });
    const { jobs: claims } = await claimJobs(database.db, {
      slots: 3,
      perTenantCap: 10,
      leaseMs: 60_000,
      owner: 'p',
      now: new Date(),
    });
    expect(new Set(claims.map((x) => x.tenantId))).toEqual(new Set([a, b, c]));
  });

  it('a claim says whether due work was left behind (slots or tenant caps)', async () => {
    await clearQueue();
    await freshTenants();
    const claim = (slots: number, owner: string) =>
      claimJobs(database.db, { slots, perTenantCap: 1, leaseMs: 60_000, owner, now: new Date() });
    expect(await claim(4, 'empty')).toEqual({ jobs: [], more: false });
    await seedJobs(database, a, 'more', 3);
    const first = await claim(4, 'one');
    expect(first.jobs).toHaveLength(1);
    expect(first.more).toBe(true);
    // A is at its cap: nothing claimable, but work is waiting for A's running job to finish.
    expect(await claim(4, 'two')).toEqual({ jobs: [], more: true });
    await seedJobs(database, b, 'more', 1);
    const third = await claim(4, 'three');
    expect(third.jobs.map((j) => j.tenantId)).toEqual([b]);
  });

  it('the per-tenant cap holds across two workers', async () => {
    await clearQueue();
    await freshTenants();
    await seedJobs(database, a, 'capped', 24);
    await seedJobs(database, b, 'capped', 6);
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const handler: JobHandler = async (j) => {
      const n = (running.get(j.tenantId) ?? 0) + 1;
      running.set(j.tenantId, n);
      peak.set(j.tenantId, Math.max(peak.get(j.tenantId) ?? 0, n));
      await sleep(15);
      running.set(j.tenantId, (running.get(j.tenantId) ?? 1) - 1);
    };
    const w1 = worker({ concurrency: 4, perTenantConcurrency: 2, handlers: { capped: handler } });
    const w2 = worker({ concurrency: 4, perTenantConcurrency: 2, handlers: { capped: handler } });
    const [s1, s2] = await Promise.all([
      w1.runUntilIdle({ timeoutMs: 25_000 }),
      w2.runUntilIdle({ timeoutMs: 25_000 }),
    ]);
    expect(s1.succeeded + s2.succeeded).toBe(30);
    expect(peak.get(a)).toBeLessThanOrEqual(2);
    expect(peak.get(b)).toBeLessThanOrEqual(2);
    expect(peak.get(a)).toBe(2);
  });

  it('two workers on separate connections run every job exactly once, never twice at a time', async () => {
    await clearQueue();
    await freshTenants();
    const n = 120;
    const idsA = await seedJobs(database, a, 'once', n / 2);
    const idsB = await seedJobs(database, b, 'once', n / 2);
    // On PostgreSQL the second worker gets its own connection pool, as a second process would.
    const second: Database = database.url
      ? await openDatabase({ url: database.url, maxConnections: 5 })
      : database;
    const active = new Set<string>();
    const runs = new Map<string, number>();
    let overlaps = 0;
    const handler: JobHandler = async (j) => {
      if (active.has(j.jobId)) overlaps++;
      active.add(j.jobId);
      runs.set(j.jobId, (runs.get(j.jobId) ?? 0) + 1);
      await sleep(Math.random() * 4);
      active.delete(j.jobId);
    };
    try {
      const w1 = createWorker({
        database,
        logger,
        pollMs: 10,
        concurrency: 4,
        perTenantConcurrency: 4,
        handlers: { once: handler },
      });
      const w2 = createWorker({
        database: second,
        logger,
        pollMs: 10,
        concurrency: 4,
        perTenantConcurrency: 4,
        handlers: { once: handler },
      });
      const [s1, s2] = await Promise.all([
        w1.runUntilIdle({ timeoutMs: 25_000 }),
        w2.runUntilIdle({ timeoutMs: 25_000 }),
      ]);
      expect(s1.succeeded + s2.succeeded).toBe(n);
      if (database.url) {
        // Both really worked (not one worker doing everything).
        expect(s1.succeeded).toBeGreaterThan(0);
        expect(s2.succeeded).toBeGreaterThan(0);
      }
    } finally {
      if (second !== database) await second.close();
    }
    expect(overlaps).toBe(0);
    expect([...runs.values()].every((r) => r === 1)).toBe(true);
    expect(new Set(runs.keys())).toEqual(new Set([...idsA, ...idsB]));
    const rows = [...(await jobRows(database, a)), ...(await jobRows(database, b))];
    expect(rows.filter((r) => r.status === 'done')).toHaveLength(n);
  });

  it('notify() makes a started worker claim new jobs at once instead of at its next poll', async () => {
    await clearQueue();
    await freshTenants();
    const ran: number[] = [];
    const w = worker({ pollMs: 60_000, handlers: { nudge: async () => void ran.push(Date.now()) } });
    w.start();
    await sleep(50); // the first (empty) claim is done; the worker now naps for a minute
    await withTenant(database.db, a, (tx) => queue.enqueue(tx, a, { kind: 'nudge', payload: {} }));
    const t0 = Date.now();
    w.notify();
    while (ran.length === 0 && Date.now() - t0 < 5_000) await sleep(5);
    await w.stop();
    expect(ran).toHaveLength(1);
    expect(ran[0]! - t0).toBeLessThan(2_000);
  });

  it('stop() waits for running jobs and claims nothing more', async () => {
    await clearQueue();
    await freshTenants();
    await seedJobs(database, a, 'graceful', 10);
    let finished = 0;
    let started = 0;
    const w = worker({
      concurrency: 2,
      handlers: {
        graceful: async () => {
          started++;
          await sleep(100);
          finished++;
        },
      },
    });
    w.start();
    while (started === 0) await sleep(5);
    await w.stop();
    expect(finished).toBe(started);
    expect(started).toBeLessThan(10);
    const rows = await jobRows(database, a);
    expect(rows.filter((r) => r.status === 'running')).toHaveLength(0);
    expect(rows.filter((r) => r.status === 'done')).toHaveLength(finished);
    expect(
      (
        await withTenant(database.db, a, (tx) =>
          tx
            .select()
            .from(jobs)
            .where(and(eq(jobs.status, 'queued'))),
        )
      ).length,
    ).toBe(10 - finished);
  });
});
