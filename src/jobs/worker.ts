import type { Database } from '../db/client.ts';
import { AppError, describeError } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import { type ClaimedJob, claimJobs, queueState } from './claim.ts';
import { type RunContext, runClaimedJob, type WorkerStats } from './run-job.ts';
import { loadClaimedJobs } from './store.ts';
import type { JobHandler } from './types.ts';

export { retryDelayMs, type WorkerStats } from './run-job.ts';

export interface WorkerOptions {
  database: Database;
  /** Handler per job kind. A job of an unknown kind fails (retryable) and ends dead-lettered. */
  handlers: Record<string, JobHandler>;
  logger: Logger;
  /** Jobs this worker runs at once (default 4). */
  concurrency?: number;
  /** Jobs of one tenant running at once across ALL workers on the database (default 2). */
  perTenantConcurrency?: number;
  /** Lease length; renewed every third of it while a handler runs (default 60 s). */
  leaseMs?: number;
  /** Idle poll interval (default 500 ms). A finishing job also wakes the loop. */
  pollMs?: number;
  /** Clock for leases, backoff and timestamps (tests move it forward). */
  now?: () => Date;
  /** Retry delay: full jitter over min(maxMs, baseMs * 2^(attempt-1)) (defaults 2 s, 15 min). */
  backoff?: { baseMs?: number; maxMs?: number };
  /**
   * Longest wait a handler's own retry time (RetryLaterError.retryAt, e.g. a model's 429
   * Retry-After) may ask for (default 6 h); the job's attempt is spent either way.
   */
  maxRetryAfterMs?: number;
  /** Random source for the jitter, in [0, 1). */
  random?: () => number;
  /** Shown in lease owners and logs (default a random id). */
  workerId?: string;
}

export interface Worker {
  readonly id: string;
  /** Starts the polling loop (idempotent). */
  start(): void;
  /**
   * Stops claiming and waits for running jobs. After `timeoutMs` (default 30 s) their signals are
   * aborted; anything still running after that is left to lease expiry (another worker reruns it).
   */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /**
   * Claims and runs jobs until no job is due and none is running anywhere on the database, then
   * resolves with this worker's counters. Jobs waiting for a later run_at (backoff) do not count.
   * Works whether or not `start()` was called. Throws AppError('upstream_timeout') after `timeoutMs`.
   */
  runUntilIdle(opts?: { timeoutMs?: number }): Promise<WorkerStats>;
  stats(): WorkerStats;
  /**
   * Says jobs were just committed (e.g. by a webhook in this process): a started worker claims
   * now instead of at its next poll. Cheap and safe to call often; bursts are coalesced.
   */
  notify(): void;
}

/** Full-jitter exponential backoff; a longer Retry-After hint (AppError detail.retryAfterMs) wins. */
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/**
 * Lets timers and I/O run. On PGlite every query resolves in-process, so a loop of awaits would
 * otherwise never leave the microtask queue and starve the HTTP server sharing the process.
 */
/** Lapsed leases are swept by at most one claim per this interval (of the worker's clock). */
const SWEEP_EVERY_MS = 1_000;

/** How long a busy worker waits for more free slots before claiming (see pollLoop). */
const CLAIM_BATCH_MS = 5;
/**
 * Least time between two claims prompted by notify(): a burst of webhooks becomes one claim, and
 * at most 100 nudged claims a second compete with the requests for the database (measured in
 * bench/RESULTS.md: 2 ms made acks slower under load for little gain in pickup latency).
 */
const NUDGE_MIN_MS = 10;

const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * The job worker: claims fairly (src/jobs/claim.ts), reads each job inside withTenant, runs its
 * handler with a renewed lease, then records done / retry / dead, but only while it still holds
 * the lease. At-least-once: a crash between the handler's effect and the completion reruns the
 * job, so handlers make external writes idempotent (external_effects ledger).
 */
export function createWorker(opts: WorkerOptions): Worker {
  const id = opts.workerId ?? `w_${randomToken(6)}`;
  const db = opts.database.db;
  const concurrency = opts.concurrency ?? 4;
  const perTenantCap = opts.perTenantConcurrency ?? 2;
  const leaseMs = opts.leaseMs ?? 60_000;
  const pollMs = opts.pollMs ?? 500;
  const now = opts.now ?? (() => new Date());
  const backoff = {
    baseMs: opts.backoff?.baseMs ?? 2_000,
    maxMs: opts.backoff?.maxMs ?? 15 * 60_000,
    random: opts.random ?? Math.random,
  };
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 6 * 3600_000;
  const log = opts.logger.child({ worker: id });
  if (concurrency < 1 || perTenantCap < 1 || leaseMs < 100)
    throw new AppError(
      'internal',
      'worker needs concurrency >= 1, perTenantConcurrency >= 1, leaseMs >= 100',
    );

  const stats: WorkerStats = { claimed: 0, succeeded: 0, retried: 0, deferred: 0, dead: 0, lostLeases: 0 };
  const inflight = new Map<string, { done: Promise<void>; abort: AbortController }>();
  let cursor = '';
  let claimSeq = 0;
  let filling: Promise<number> | null = null;
  let loop: Promise<void> | null = null;
  let stopping = false;
  /** Naps that a finishing job may cut short, and naps that only stop() may. */
  const jobWaiters = new Set<() => void>();
  const stopWaiters = new Set<() => void>();
  /** Whether the last claim left due jobs behind (slots or tenant caps ran out). */
  let moreDue = false;
  /** Set by notify(): jobs were enqueued after the last claim started. */
  let nudged = false;
  let lastClaimAt = 0;
  /** Clock time (worker's `now`) of the last lapsed-lease sweep. */
  let lastSweep = Number.NEGATIVE_INFINITY;

  const wakeAll = () => {
    for (const w of [...jobWaiters, ...stopWaiters]) w();
  };
  const onJobDone = () => {
    for (const w of [...jobWaiters]) w();
  };
  const nap = (ms: number, wakeOnJobDone = true) =>
    new Promise<void>((resolve) => {
      const set = wakeOnJobDone ? jobWaiters : stopWaiters;
      const done = () => {
        clearTimeout(t);
        jobWaiters.delete(done);
        stopWaiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      set.add(done);
    });

  type Loaded = { kind: string; payload: Record<string, unknown> } | null;

  const runContext: RunContext = {
    db,
    handlers: opts.handlers,
    logger: log,
    now,
    leaseMs,
    backoff,
    maxRetryAfterMs,
    stats,
  };

  async function runJob(c: ClaimedJob, abort: AbortController, loaded: Promise<Loaded>): Promise<void> {
    await runClaimedJob(runContext, c, await loaded, abort);
  }

  function launch(c: ClaimedJob, loaded: Promise<Loaded>) {
    const key = `${c.tenantId}/${c.jobId}`;
    const abort = new AbortController();
    const done = runJob(c, abort, loaded)
      .catch((e) => log.error('job bookkeeping failed', { jobId: c.jobId, error: describeError(e) }))
      .finally(() => {
        inflight.delete(key);
        onJobDone();
      });
    inflight.set(key, { done, abort });
  }

  /** Claims up to the free slots and launches them; one claim at a time per worker. */
  async function fill(): Promise<number> {
    if (filling) return filling;
    filling = (async () => {
      const free = concurrency - inflight.size;
      if (free <= 0 || stopping) return 0;
      nudged = false;
      lastClaimAt = Date.now();
      const at = now();
      const sweep = at.getTime() - lastSweep >= SWEEP_EVERY_MS;
      if (sweep) lastSweep = at.getTime();
      const result = await claimJobs(db, {
        slots: free,
        perTenantCap,
        leaseMs,
        owner: `${id}:${++claimSeq}:${randomToken(4)}`,
        now: at,
        cursor,
        sweep,
      });
      const { jobs: claimed, more } = result;
      moreDue = more;
      stats.claimed += claimed.length;
      const last = claimed[claimed.length - 1];
      if (last) cursor = last.tenantId;
      // One payload read per tenant of the batch, inside that tenant's scope.
      const byTenant = new Map<string, ClaimedJob[]>();
      for (const c of claimed) byTenant.set(c.tenantId, [...(byTenant.get(c.tenantId) ?? []), c]);
      for (const [tenantId, group] of byTenant) {
        const loading = loadClaimedJobs(
          db,
          tenantId,
          group[0]!.leaseOwner,
          group.map((c) => c.jobId),
        ).catch((e) => {
          // The leases lapse and another claim reruns these jobs.
          log.warn('job payload read failed', { tenantId, error: describeError(e) });
          return new Map<string, NonNullable<Loaded>>();
        });
        for (const c of group)
          launch(
            c,
            loading.then((m) => m.get(c.jobId) ?? null),
          );
      }
      return claimed.length;
    })();
    try {
      return await filling;
    } finally {
      filling = null;
    }
  }

  async function pollLoop() {
    let failures = 0;
    while (!stopping) {
      await yieldToEventLoop();
      try {
        await fill();
        failures = 0;
      } catch (e) {
        failures++;
        log.warn('job claim failed', { error: describeError(e) });
        await nap(Math.min(30_000, pollMs * 2 ** Math.min(failures, 6)));
        continue;
      }
      if (stopping) break;
      // A claim takes everything claimable now. With due jobs left behind (no free slot, or their
      // tenant at its cap), a finishing job frees what they wait for: claim again when one does.
      // Otherwise new work only arrives by enqueue: poll.
      if (nudged && inflight.size >= concurrency) {
        // No free slot for the new jobs: the next finishing job brings the claim.
        nudged = false;
        moreDue = true;
      }
      if (!nudged) await nap(pollMs, moreDue);
      if (nudged) {
        // Enqueued here (notify): claim now, but at most one nudged claim per NUDGE_MIN_MS.
        const since = Date.now() - lastClaimAt;
        if (since < NUDGE_MIN_MS) await sleep(NUDGE_MIN_MS - since);
        continue;
      }
      // Woken by a finishing job while most slots are still busy: let a few more finish so one
      // claim fills several slots (fewer claim transactions under load).
      if (!stopping && concurrency - inflight.size < Math.ceil(concurrency / 2)) await sleep(CLAIM_BATCH_MS);
    }
  }

  async function drain(timeoutMs: number) {
    const all = () => Promise.all([...inflight.values()].map((j) => j.done));
    const timedOut = await Promise.race([all().then(() => false), sleep(timeoutMs).then(() => true)]);
    if (!timedOut) return;
    log.warn('stopping: aborting jobs still running', { jobs: inflight.size });
    for (const j of inflight.values())
      j.abort.abort(new AppError('internal', 'worker stopping', { retryable: true }));
    await Promise.race([all(), sleep(5_000)]);
  }

  return {
    id,
    start() {
      if (loop || stopping) return;
      log.info('worker started', { concurrency, perTenantConcurrency: perTenantCap, leaseMs, pollMs });
      loop = pollLoop();
    },
    async stop({ timeoutMs = 30_000 } = {}) {
      stopping = true;
      wakeAll();
      await loop;
      if (filling) await filling.catch(() => 0);
      await drain(timeoutMs);
      loop = null;
      log.info('worker stopped', { ...stats });
    },
    async runUntilIdle({ timeoutMs = 30_000 } = {}) {
      if (stopping) throw new AppError('internal', 'this worker was stopped');
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await yieldToEventLoop();
        await fill();
        if (inflight.size === 0) {
          const state = await queueState(db, now());
          if (state.due === 0 && state.running === 0) return { ...stats };
        }
        if (Date.now() > deadline) {
          throw new AppError('upstream_timeout', `jobs still pending after ${timeoutMs} ms`, {
            detail: { inflight: inflight.size },
          });
        }
        await nap(Math.min(pollMs, 50));
      }
    },
    stats: () => ({ ...stats }),
    notify() {
      if (!loop || stopping) return;
      nudged = true;
      wakeAll();
    },
  };
}
