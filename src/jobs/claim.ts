import { sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../db/client.ts';

/**
 * Claiming jobs across tenants: the one place that looks at more than one tenant's jobs.
 *
 * THE TENANCY PROBLEM. Fair scheduling needs every tenant's queue at once, but the application
 * role sees one tenant (forced RLS). Claims therefore run in narrow SECURITY DEFINER functions
 * owned by `helpdesk_scheduler` (migration 0008: `app_claim_jobs`, `app_sweep_lapsed_leases`,
 * `app_queue_state`; the runtime role cannot SET ROLE to it): a policy lets that role see all
 * tenants' `jobs` rows, and column grants let it read only tenant_id, id, status, run_at,
 * lease_until, lease_owner, attempts, max_attempts, created_at (and update the lease columns). It cannot read `payload`, `kind` or `last_error`, nor any other
 * table. A claim returns (tenant id, job id, lease) only; the worker then reads the job's kind and
 * payload inside `withTenant(tenantId)`, so "withTenant is the only way services reach tenant-owned
 * data" holds for everything a job carries. On Workers the same function runs from the cron sweep.
 *
 * Fairness: each claim takes, per tenant with due jobs, up to (per-tenant cap - jobs of that tenant
 * running anywhere) of its oldest due jobs, ranks them within the tenant, and fills the free slots
 * rank by rank in round-robin order over tenant ids starting after `cursor` (the last tenant
 * served). So every tenant's first job comes before any tenant's second one: 10,000 queued jobs of
 * one tenant do not delay another tenant's first job by more than one claim.
 *
 * Claims are serialized by a transaction-scoped advisory lock so the per-tenant cap is exact
 * across processes (two claimers could otherwise both see a free slot); a claim is one short
 * statement, so this bounds claim throughput at a few hundred claims per second, each claiming a
 * batch. Rows are still taken with FOR UPDATE SKIP LOCKED, so a row locked by a completion in
 * flight is passed over instead of waited for.
 */

export interface ClaimedJob {
  tenantId: string;
  jobId: string;
  /** Attempt number of this run (1 on the first run). */
  attempt: number;
  maxAttempts: number;
  /** Unique per claim: completion applies only while the row still carries it. */
  leaseOwner: string;
  leaseUntil: Date;
}

export interface ClaimOptions {
  /** Most jobs to claim (free slots of the calling worker). */
  slots: number;
  /** Most jobs of one tenant running at once, across every worker on this database. */
  perTenantCap: number;
  leaseMs: number;
  /** Lease owner written on the claimed rows; make it unique per claim. */
  owner: string;
  now: Date;
  /** Round-robin position: tenants after this id are served first. */
  cursor?: string;
  /**
   * Whether to return lapsed leases to the queue first (default true). Lapses are rare (a worker
   * died or stalled), so a busy worker sweeps about once a second rather than on every claim.
   */
  sweep?: boolean;
}

const iso = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export interface ClaimResult {
  /** Claimed jobs in claim order. */
  jobs: ClaimedJob[];
  /**
   * Whether due jobs were left behind (more than the free slots, or tenants at their cap): a
   * worker then claims again as soon as a slot or a tenant's capacity frees up, and otherwise
   * waits for its poll interval.
   */
  more: boolean;
}

/** Sweeps lapsed leases, then claims up to `slots` due jobs fairly. */
export async function claimJobs(db: Db, o: ClaimOptions): Promise<ClaimResult> {
  if (o.slots <= 0) return { jobs: [], more: false };
  const leaseUntil = new Date(o.now.getTime() + o.leaseMs);
  const now = iso(o.now);
  const rows = await db.transaction(async (tx) => {
    if (o.sweep !== false) await tx.execute(sql`select public.app_sweep_lapsed_leases(${now})`);
    return rowsOf<{
      tenant_id: string;
      id: string;
      attempts: number | string;
      max_attempts: number | string;
      ord: number | string;
      more: boolean;
    }>(
      await tx.execute(
        sql`select claimed_tenant_id as tenant_id, claimed_id as id, claimed_attempts as attempts, claimed_max_attempts as max_attempts, claimed_ord as ord, more_due as more from public.app_claim_jobs(${now}, ${iso(leaseUntil)}, ${o.perTenantCap}::int, ${o.slots}::int, ${o.cursor ?? ''}, ${o.owner})`,
      ),
    );
  });
  const more = Boolean(rows[0]?.more);
  const jobs = rows
    .filter((r) => r.id !== null)
    .sort((a, b) => Number(a.ord) - Number(b.ord))
    .map((r) => ({
      tenantId: r.tenant_id,
      jobId: r.id,
      attempt: Number(r.attempts),
      maxAttempts: Number(r.max_attempts),
      leaseOwner: o.owner,
      leaseUntil,
    }));
  return { jobs, more };
}

export interface QueueState {
  /** Queued jobs whose run_at has come. */
  due: number;
  /** Running jobs whose lease has not lapsed. */
  running: number;
  /** Queued jobs waiting for a later run_at (backoff). */
  scheduled: number;
}

/** Counts across tenants (scheduler role; no payloads), e.g. for "is the queue idle?". */
export async function queueState(db: Db, now: Date): Promise<QueueState> {
  const rows = rowsOf<{ due: number | string; running: number | string; scheduled: number | string }>(
    await db.execute(
      sql`select due_count as due, running_count as running, scheduled_count as scheduled from public.app_queue_state(${iso(now)})`,
    ),
  );
  const r = rows[0];
  return { due: Number(r?.due ?? 0), running: Number(r?.running ?? 0), scheduled: Number(r?.scheduled ?? 0) };
}
