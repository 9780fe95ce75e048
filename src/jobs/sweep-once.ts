import type { Database } from '../db/client.ts';
import { AppError, describeError, isAppError } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { type ClaimedJob, claimJobs } from './claim.ts';
import { completeJob, extendLease, failJob, loadClaimedJobs } from './store.ts';
import type { JobHandler } from './types.ts';
import { retryDelayMs, type WorkerStats } from './worker.ts';

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
  const stats: WorkerStats = { claimed: 0, succeeded: 0, retried: 0, dead: 0, lostLeases: 0 };
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

  async function run(c: ClaimedJob, job: { kind: string; payload: Record<string, unknown> } | undefined) {
    if (!job) {
      stats.lostLeases++;
      return;
    }
    const log = opts.logger.child({
      tenantId: c.tenantId,
      jobId: c.jobId,
      kind: job.kind,
      attempt: c.attempt,
    });
    const abort = new AbortController();
    let renewing = false;
    const heartbeat = setInterval(
      () => {
        if (renewing) return;
        renewing = true;
        extendLease(db, c, new Date(now().getTime() + leaseMs), now())
          .then((ok) => {
            if (!ok && !abort.signal.aborted) abort.abort(new AppError('conflict', 'job lease lost'));
          })
          .catch((e) => log.warn('job lease renewal failed', { error: describeError(e) }))
          .finally(() => {
            renewing = false;
          });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    try {
      const handler = opts.handlers[job.kind];
      if (!handler)
        throw new AppError('internal', `no handler for job kind ${job.kind}`, { retryable: true });
      await handler({
        tenantId: c.tenantId,
        jobId: c.jobId,
        kind: job.kind,
        payload: job.payload,
        attempt: c.attempt,
        signal: abort.signal,
      });
      clearInterval(heartbeat);
      if (await completeJob(db, c, now())) stats.succeeded++;
      else stats.lostLeases++;
    } catch (e) {
      clearInterval(heartbeat);
      const error = describeError(e).slice(0, 2000);
      const final = (isAppError(e) && !e.retryable) || c.attempt >= c.maxAttempts;
      const retryAt = final ? null : new Date(now().getTime() + retryDelayMs(c.attempt, e, backoff));
      if (!(await failJob(db, c, error, retryAt, now()))) stats.lostLeases++;
      else if (retryAt) {
        stats.retried++;
        log.warn('job failed; will retry', { error, retryAt: retryAt.toISOString() });
      } else {
        stats.dead++;
        log.error('job dead-lettered', { error, attempts: c.attempt });
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

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
          run(c, loaded.get(c.jobId)).catch((e) =>
            opts.logger.error('job bookkeeping failed', { jobId: c.jobId, error: describeError(e) }),
          ),
        ),
      );
    }),
  );
  return stats;
}
