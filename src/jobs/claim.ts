import { sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../db/client.ts';
import { SCHEDULER_ROLE } from '../db/schema/jobs.ts';

/**
 * Claiming jobs across tenants: the one place that looks at more than one tenant's jobs.
 *
 * THE TENANCY PROBLEM. Fair scheduling needs every tenant's queue at once, but the application
 * role sees one tenant (forced RLS). Claims therefore run as `helpdesk_scheduler` (migration
 * 0003/0004): a policy lets it see all tenants' `jobs` rows, and column grants let it read only
 * tenant_id, id, status, run_at, lease_until, lease_owner, attempts, max_attempts, created_at
 * (and update the lease columns). It cannot read `payload`, `kind` or `last_error`, nor any other
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

/**
 * One round trip: the claim lock, then the scheduler role for the rest of the transaction
 * (`set_config('role', ..., true)` is `SET LOCAL ROLE`).
 */
const CLAIM_LOCK_AND_ROLE = sql`select pg_advisory_xact_lock(hashtext('helpdesk-copilot:jobs:claim')),
  set_config('role', ${SCHEDULER_ROLE}, true)`;

const iso = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/**
 * Returns lapsed leases to the queue (or dead-letters them when that was the last attempt).
 * Runs inside the claim transaction, as the scheduler role.
 */
function sweepLapsedLeases(now: Date) {
  return sql`
    update jobs set
      status = case when attempts >= max_attempts then 'dead' else 'queued' end,
      last_error = 'lease expired on attempt ' || attempts || ': the worker stopped, crashed or stalled',
      finished_at = case when attempts >= max_attempts then ${iso(now)} else null end,
      lease_owner = null,
      lease_until = null,
      updated_at = ${iso(now)}
    where status = 'running' and lease_until < ${iso(now)}`;
}

function claimStatement(o: ClaimOptions) {
  const now = iso(o.now);
  const leaseUntil = iso(new Date(o.now.getTime() + o.leaseMs));
  return sql`
    with recursive due_tenants as (
      (select j.tenant_id from jobs j
        where j.status = 'queued' and j.run_at <= ${now}
        order by j.tenant_id limit 1)
      union all
      select (select j.tenant_id from jobs j
               where j.status = 'queued' and j.run_at <= ${now} and j.tenant_id > d.tenant_id
               order by j.tenant_id limit 1)
      from due_tenants d where d.tenant_id is not null
    ),
    busy as (
      select tenant_id, count(*)::int as n from jobs
      where status = 'running' and lease_until >= ${now}
      group by tenant_id
    ),
    candidates as (
      -- Each tenant's oldest due jobs up to its remaining capacity, plus one: that extra row (never
      -- claimed) tells "this tenant has more due work than it may run now".
      select c.tenant_id, c.id, c.cap_left,
             row_number() over (partition by c.tenant_id order by c.run_at, c.id) as rnk
      from due_tenants d
      left join busy b on b.tenant_id = d.tenant_id
      cross join lateral (
        select j.tenant_id, j.id, j.run_at, greatest(${o.perTenantCap}::int - coalesce(b.n, 0), 0) as cap_left
        from jobs j
        where j.tenant_id = d.tenant_id and j.status = 'queued' and j.run_at <= ${now}
        order by j.run_at, j.id
        limit greatest(${o.perTenantCap}::int - coalesce(b.n, 0), 0) + 1
        for update of j skip locked
      ) c
      where d.tenant_id is not null
    ),
    picked as (
      select tenant_id, id,
             row_number() over (order by rnk, (tenant_id <= ${o.cursor ?? ''}), tenant_id) as ord
      from candidates
      where rnk <= cap_left
      order by ord
      limit ${o.slots}::int
    ),
    updated as (
      update jobs j set
        status = 'running',
        attempts = j.attempts + 1,
        lease_owner = ${o.owner},
        lease_until = ${leaseUntil},
        updated_at = ${now}
      from picked p
      where j.tenant_id = p.tenant_id and j.id = p.id and j.status = 'queued'
      returning j.tenant_id, j.id, j.attempts, j.max_attempts, p.ord
    ),
    summary as (
      -- Due work left behind: beyond the free slots, or beyond a tenant's remaining capacity.
      select (select count(*) from candidates) > (select count(*) from updated) as more
    )
    select u.tenant_id, u.id, u.attempts, u.max_attempts, u.ord, s.more
    from summary s left join updated u on true`;
}

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
  const rows = await db.transaction(async (tx) => {
    await tx.execute(CLAIM_LOCK_AND_ROLE);
    if (o.sweep !== false) await tx.execute(sweepLapsedLeases(o.now));
    return rowsOf<{
      tenant_id: string;
      id: string;
      attempts: number | string;
      max_attempts: number | string;
      ord: number | string;
      more: boolean;
    }>(await tx.execute(claimStatement(o)));
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
  const rows = await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local role ${SCHEDULER_ROLE}`));
    return rowsOf<{ due: number | string; running: number | string; scheduled: number | string }>(
      await tx.execute(sql`
        select
          count(*) filter (where status = 'queued' and run_at <= ${iso(now)})::int as due,
          count(*) filter (where status = 'running')::int as running,
          count(*) filter (where status = 'queued' and run_at > ${iso(now)})::int as scheduled
        from jobs where status in ('queued', 'running')`),
    );
  });
  const r = rows[0];
  return { due: Number(r?.due ?? 0), running: Number(r?.running ?? 0), scheduled: Number(r?.scheduled ?? 0) };
}
