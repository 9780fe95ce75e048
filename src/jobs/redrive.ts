import { and, eq, inArray, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { jobs } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';

/**
 * Puts one tenant's dead-lettered jobs back in the queue (attempts reset, due now), e.g. after an
 * admin reconnects a Zendesk connection whose events failed with `needs_reauth`. `last_error` is
 * kept until the next attempt overwrites it. Runs inside withTenant: it cannot touch another
 * tenant's jobs. Returns the ids re-queued.
 */
export async function redriveDeadJobs(
  db: Db,
  tenantId: string,
  opts: { kind?: string; jobIds?: string[]; now?: Date } = {},
): Promise<string[]> {
  const now = opts.now ?? new Date();
  const where: SQL[] = [eq(jobs.status, 'dead')];
  if (opts.kind) where.push(eq(jobs.kind, opts.kind));
  if (opts.jobIds) {
    if (opts.jobIds.length === 0) return [];
    where.push(inArray(jobs.id, opts.jobIds));
  }
  const rows = await withTenant(db, tenantId, (tx) =>
    tx
      .update(jobs)
      .set({ status: 'queued', attempts: 0, runAt: now, finishedAt: null, updatedAt: now })
      .where(and(...where))
      .returning({ id: jobs.id }),
  );
  return rows.map((r) => r.id);
}
