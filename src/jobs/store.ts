import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { jobs } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { ClaimedJob } from './claim.ts';

/**
 * A claimed job's own reads and writes, each inside withTenant(job's tenant). Every write is
 * conditional on the row still carrying this claim's lease owner and status `running`: a worker
 * whose lease lapsed (and whose job another worker may now be running) changes nothing.
 */

const held = (c: ClaimedJob) =>
  and(
    eq(jobs.tenantId, c.tenantId),
    eq(jobs.id, c.jobId),
    eq(jobs.status, 'running'),
    eq(jobs.leaseOwner, c.leaseOwner),
  );

/**
 * Kind and payload of several jobs of one tenant claimed together (one transaction). Jobs whose
 * lease is no longer `leaseOwner`'s are missing from the map.
 */
export async function loadClaimedJobs(
  db: Db,
  tenantId: string,
  leaseOwner: string,
  jobIds: string[],
): Promise<Map<string, { kind: string; payload: Record<string, unknown> }>> {
  const rows = await withTenant(db, tenantId, (tx) =>
    tx
      .select({ id: jobs.id, kind: jobs.kind, payload: jobs.payload })
      .from(jobs)
      .where(
        and(
          eq(jobs.tenantId, tenantId),
          inArray(jobs.id, jobIds),
          eq(jobs.status, 'running'),
          eq(jobs.leaseOwner, leaseOwner),
        ),
      ),
  );
  return new Map(rows.map((r) => [r.id, { kind: r.kind, payload: r.payload }]));
}

/** Extends the lease; false when it was lost. */
export async function extendLease(db: Db, c: ClaimedJob, until: Date, now: Date): Promise<boolean> {
  const rows = await withTenant(db, c.tenantId, (tx) =>
    tx.update(jobs).set({ leaseUntil: until, updatedAt: now }).where(held(c)).returning({ id: jobs.id }),
  );
  return rows.length === 1;
}

export async function completeJob(db: Db, c: ClaimedJob, now: Date): Promise<boolean> {
  const rows = await withTenant(db, c.tenantId, (tx) =>
    tx
      .update(jobs)
      .set({
        status: 'done',
        finishedAt: now,
        leaseOwner: null,
        leaseUntil: null,
        lastError: null,
        updatedAt: now,
      })
      .where(held(c))
      .returning({ id: jobs.id }),
  );
  return rows.length === 1;
}

/**
 * Records a failed attempt: back to the queue at `retryAt`, or dead-lettered when `retryAt` is
 * null. `error` must already be log-safe (describeError).
 */
export async function failJob(
  db: Db,
  c: ClaimedJob,
  error: string,
  retryAt: Date | null,
  now: Date,
  opts: { keepAttempt?: boolean } = {},
): Promise<boolean> {
  const rows = await withTenant(db, c.tenantId, (tx) =>
    tx
      .update(jobs)
      .set(
        retryAt
          ? {
              status: 'queued',
              runAt: retryAt,
              ...(opts.keepAttempt ? { attempts: sql`greatest(${jobs.attempts} - 1, 0)` } : {}),
              lastError: error,
              leaseOwner: null,
              leaseUntil: null,
              updatedAt: now,
            }
          : {
              status: 'dead',
              finishedAt: now,
              lastError: error,
              leaseOwner: null,
              leaseUntil: null,
              updatedAt: now,
            },
      )
      .where(held(c))
      .returning({ id: jobs.id }),
  );
  return rows.length === 1;
}
