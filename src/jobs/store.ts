import { and, eq } from 'drizzle-orm';
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

/** The job's kind and payload, or null when the lease is no longer ours. */
export async function loadClaimedJob(
  db: Db,
  c: ClaimedJob,
): Promise<{ kind: string; payload: Record<string, unknown> } | null> {
  const rows = await withTenant(db, c.tenantId, (tx) =>
    tx.select({ kind: jobs.kind, payload: jobs.payload }).from(jobs).where(held(c)).limit(1),
  );
  return rows[0] ?? null;
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
): Promise<boolean> {
  const rows = await withTenant(db, c.tenantId, (tx) =>
    tx
      .update(jobs)
      .set(
        retryAt
          ? {
              status: 'queued',
              runAt: retryAt,
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
