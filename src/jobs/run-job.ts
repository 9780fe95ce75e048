import type { Db } from '../db/client.ts';
import { AppError, describeError, isAppError, isRetryLater } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ClaimedJob } from './claim.ts';
import { completeJob, extendLease, failJob } from './store.ts';
import type { JobHandler } from './types.ts';

/**
 * One claimed job, run and recorded: the rules every runner shares (the Node worker,
 * src/jobs/worker.ts, and the one-shot sweep of runtimes without a loop, src/jobs/sweep-once.ts),
 * so a Node worker and a Worker on one database treat a job alike. Imports nothing that cannot
 * load on workerd.
 */
export interface WorkerStats {
  claimed: number;
  succeeded: number;
  /** Failed attempts put back in the queue with a delay. */
  retried: number;
  /** Jobs put back, attempt kept, because their tenant's limits held a call back. */
  deferred: number;
  /** Jobs this worker dead-lettered. */
  dead: number;
  /** Claims whose lease was gone when the worker came to use or complete them. */
  lostLeases: number;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
  random: () => number;
}

/**
 * Full jitter over min(maxMs, baseMs * 2^(attempt-1)); an AppError's `detail.retryAfterMs` hint
 * raises it (up to maxMs).
 */
export function retryDelayMs(attempt: number, error: unknown, opts: Backoff): number {
  const cap = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, attempt - 1));
  const jitter = Math.floor(opts.random() * cap);
  const hint = isAppError(error) ? error.detail?.retryAfterMs : undefined;
  return typeof hint === 'number' && Number.isFinite(hint)
    ? Math.max(jitter, Math.min(hint, opts.maxMs))
    : jitter;
}

export interface RunContext {
  db: Db;
  handlers: Record<string, JobHandler>;
  /** The runner's logger; each job logs with its tenant, id, kind and attempt. */
  logger: Logger;
  now: () => Date;
  leaseMs: number;
  backoff: Backoff;
  /** Longest wait a handler's own retry time (RetryLaterError.retryAt) may ask for. */
  maxRetryAfterMs: number;
  stats: WorkerStats;
}

/** The handler's own retry time when it gave one (bounded to [now, now + cap]), else backoff. */
export function nextRunAt(ctx: RunContext, attempt: number, e: unknown): Date {
  const at = ctx.now().getTime();
  if (isRetryLater(e)) {
    const wanted = e.retryAt.getTime();
    if (Number.isFinite(wanted)) return new Date(Math.min(Math.max(wanted, at), at + ctx.maxRetryAfterMs));
  }
  return new Date(at + retryDelayMs(attempt, e, ctx.backoff));
}

/**
 * Runs the handler of `job` with its lease renewed every third of the lease (a lost lease aborts
 * the handler through `abort`), then records done, retry (the handler's retry time or backoff) or
 * dead, but only while the row still carries this claim's lease owner.
 */
export async function runClaimedJob(
  ctx: RunContext,
  c: ClaimedJob,
  job: { kind: string; payload: Record<string, unknown> } | null | undefined,
  abort: AbortController = new AbortController(),
): Promise<void> {
  const { db, now, stats } = ctx;
  if (!job) {
    stats.lostLeases++;
    return;
  }
  const log = ctx.logger.child({ tenantId: c.tenantId, jobId: c.jobId, kind: job.kind, attempt: c.attempt });
  let renewing = false;
  const heartbeat = setInterval(
    () => {
      if (renewing) return;
      renewing = true;
      extendLease(db, c, new Date(now().getTime() + ctx.leaseMs), now())
        .then((ok) => {
          if (!ok && !abort.signal.aborted) {
            log.warn('job lease lost while running; aborting the handler');
            abort.abort(new AppError('conflict', 'job lease lost'));
          }
        })
        .catch((e) => log.warn('job lease renewal failed', { error: describeError(e) }))
        .finally(() => {
          renewing = false;
        });
    },
    Math.max(50, Math.floor(ctx.leaseMs / 3)),
  );
  try {
    const handler = ctx.handlers[job.kind];
    if (!handler) throw new AppError('internal', `no handler for job kind ${job.kind}`, { retryable: true });
    await handler({
      tenantId: c.tenantId,
      jobId: c.jobId,
      kind: job.kind,
      payload: job.payload,
      attempt: c.attempt,
      maxAttempts: c.maxAttempts,
      signal: abort.signal,
    });
    clearInterval(heartbeat);
    if (await completeJob(db, c, now())) {
      stats.succeeded++;
      log.debug('job done');
    } else {
      stats.lostLeases++;
      log.warn('job finished after its lease was lost; its new owner decides its state');
    }
  } catch (e) {
    clearInterval(heartbeat);
    const error = describeError(e).slice(0, 2000);
    // Held back by the tenant's own limits (a pause, an open breaker): the call was never made,
    // so the job keeps its attempt and waits, however many attempts it has had.
    const keep = isRetryLater(e) && e.keepsAttempt;
    const final = !keep && ((isAppError(e) && !e.retryable) || c.attempt >= c.maxAttempts);
    const retryAt = final ? null : nextRunAt(ctx, c.attempt, e);
    if (!(await failJob(db, c, error, retryAt, now(), { keepAttempt: keep }))) {
      stats.lostLeases++;
      log.warn('job failed after its lease was lost; its new owner decides its state', { error });
    } else if (retryAt && keep) {
      stats.deferred++;
      log.info("job deferred by its tenant's limits", { error, retryAt: retryAt.toISOString() });
    } else if (retryAt) {
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
