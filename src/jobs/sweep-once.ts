import type { Database } from '../db/client.ts';
import { describeError } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { type ClaimedJob, claimJobs } from './claim.ts';
import { type RunContext, runClaimedJob, type WorkerStats } from './run-job.ts';
import { loadClaimedJobs } from './store.ts';
import type { JobHandler } from './types.ts';

/**
 * One claim and the runs it yields, then return: the unit of work for runtimes without a
 * long-lived loop (Cloudflare Workers: `ctx.waitUntil` after a webhook's ack, and the cron
 * `scheduled` handler). Same rules as the Node worker (src/jobs/worker.ts), from the same pieces:
 * the fair claim of claim.ts (which also returns lapsed leases to the queue), payloads read in
 * withTenant, the lease renewed every third of its length while the handler runs, and completion
 * or failure recorded only while the row still carries this claim's lease owner. So Node workers
 * and Workers can share one database.
 */
export interface SweepOnceOptions {
  database: Database;
  handlers: Record<string, JobHandler>;
  logger: Logger;
  /** Most jobs claimed and run at once (default 4). */
  slots?: number;
  /** Jobs of one tenant running at once across every worker on the database (default 2, as the Node worker). */
  perTenantConcurrency?: number;
  /** Lease length (default 60 s, as the Node worker). */
  leaseMs?: number;
  /** Return lapsed leases to the queue before claiming (default true). */
  sweep?: boolean;
  now?: () => Date;
  backoff?: { baseMs?: number; maxMs?: number };
  /** Longest wait a handler's own retry time may ask for (default 6 h, as the Node worker). */
  maxRetryAfterMs?: number;
  random?: () => number;
  /** Prefix of the lease owner (default `cf`). */
  ownerPrefix?: string;
}

/** Claims up to `slots` due jobs fairly, runs them concurrently, records each outcome, and resolves with the counts. */
export async function claimAndRunOnce(opts: SweepOnceOptions): Promise<WorkerStats> {
  const db = opts.database.db;
  const now = opts.now ?? (() => new Date());
  const leaseMs = opts.leaseMs ?? 60_000;
  const backoff = {
    baseMs: opts.backoff?.baseMs ?? 2_000,
    maxMs: opts.backoff?.maxMs ?? 15 * 60_000,
    random: opts.random ?? Math.random,
  };
  const stats: WorkerStats = { claimed: 0, succeeded: 0, retried: 0, deferred: 0, dead: 0, lostLeases: 0 };
  const owner = `${opts.ownerPrefix ?? 'cf'}_${randomToken(6)}`;
  const { jobs: claimed } = await claimJobs(db, {
    slots: opts.slots ?? 4,
    perTenantCap: opts.perTenantConcurrency ?? 2,
    leaseMs,
    owner,
    now: now(),
    sweep: opts.sweep ?? true,
  });
  stats.claimed = claimed.length;
  const byTenant = new Map<string, ClaimedJob[]>();
  for (const c of claimed) byTenant.set(c.tenantId, [...(byTenant.get(c.tenantId) ?? []), c]);

  const ctx: RunContext = {
    db,
    handlers: opts.handlers,
    logger: opts.logger,
    now,
    leaseMs,
    backoff,
    maxRetryAfterMs: opts.maxRetryAfterMs ?? 6 * 3600_000,
    stats,
  };

  await Promise.all(
    [...byTenant].map(async ([tenantId, group]) => {
      let loaded: Map<string, { kind: string; payload: Record<string, unknown> }>;
      try {
        loaded = await loadClaimedJobs(
          db,
          tenantId,
          owner,
          group.map((c) => c.jobId),
        );
      } catch (e) {
        // The leases lapse and a later claim reruns these jobs.
        opts.logger.warn('job payload read failed', { tenantId, error: describeError(e) });
        stats.lostLeases += group.length;
        return;
      }
      await Promise.all(
        group.map((c) =>
          runClaimedJob(ctx, c, loaded.get(c.jobId)).catch((e) =>
            opts.logger.error('job bookkeeping failed', { jobId: c.jobId, error: describeError(e) }),
          ),
        ),
      );
    }),
  );
  return stats;
}
