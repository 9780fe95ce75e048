/**
 * Fairness: does a noisy tenant slow a quiet one? The real app with its job worker in one process
 * (@hono/node-server, fresh PostgreSQL database); a 'zendesk.ticket' handler with a fixed delay
 * stands in for the pipeline. The quiet tenant's webhook-to-job-completion latency
 * (jobs.finished_at - webhook_deliveries.received_at, both stamped by the server) is measured
 * alone, then with a noisy tenant sending NOISY_FACTOR times its rate.
 *
 *   npm run bench:fairness
 *   QUIET_RPS=5 NOISY_FACTOR=20 SECONDS=20 REPEAT=3 JOB_DELAY_MS=50 CONCURRENCY=8 PER_TENANT=4 node bench/fairness.ts
 *
 * With the defaults the noisy tenant (100 jobs/s x 50 ms) asks for more than its per-tenant cap
 * allows (4 running x 50 ms = 80 jobs/s), so its backlog grows during the run: exactly the case
 * where a FIFO queue would make the quiet tenant wait behind it. Target: quiet p95 +20% at most.
 *
 * HANDLER=pipeline runs the REAL 'zendesk.ticket' handler instead of the sleep (offline drafter,
 * real token manager reading a sealed non-expiring token, seeded settings/catalog/directory) against
 * a local Zendesk stub answering after STUB_MS (bench/pipeline-fixture.ts); latency is then
 * webhook-to-draft (drafts.created_at - webhook_deliveries.received_at):
 *
 *   HANDLER=pipeline STUB_MS=20 QUIET_RPS=5 NOISY_FACTOR=20 SECONDS=20 REPEAT=3 CONCURRENCY=8 PER_TENANT=4 node bench/fairness.ts
 */
import './usage.ts'; // --help: first, before any other module runs
import { and, eq, gte, inArray } from 'drizzle-orm';
import { drafts, jobs, webhookDeliveries } from '../src/db/schema/index.ts';
import { withTenant } from '../src/db/tenant.ts';
import type { ZendeskFixture } from '../test/helpers/zendesk-sign.ts';
import { seedPipelineTenant, startZendeskStub, type ZendeskStub } from './pipeline-fixture.ts';
import {
  type BenchDb,
  createBenchDatabase,
  createTenants,
  median,
  percentile,
  prepareRequest,
  round,
  runOpenLoop,
  startServer,
} from './webhook-harness.ts';

const QUIET_RPS = Number(process.env.QUIET_RPS ?? 5);
const NOISY_FACTOR = Number(process.env.NOISY_FACTOR ?? 20);
const SECONDS = Number(process.env.SECONDS ?? 20);
const REPEAT = Number(process.env.REPEAT ?? 3);
const JOB_DELAY_MS = process.env.JOB_DELAY_MS ?? '50';
const CONCURRENCY = process.env.CONCURRENCY ?? '8';
const PER_TENANT = process.env.PER_TENANT ?? '4';
const POLL_MS = process.env.POLL_MS ?? '50';
const HANDLER = process.env.HANDLER === 'pipeline' ? 'pipeline' : 'sleep';
const STUB_MS = Number(process.env.STUB_MS ?? 20);
/** Longest wait for the backlog to drain after a phase (then the run reports what is unfinished). */
const DRAIN_S = Number(process.env.DRAIN_S ?? 180);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nextTicket = 1;

async function schedule(tenant: ZendeskFixture, rps: number, seconds: number) {
  const out = [];
  const n = Math.round(rps * seconds);
  for (let i = 0; i < n; i++)
    out.push({ at: (i * 1000) / rps, req: await prepareRequest(tenant, nextTicket++) });
  return out;
}

/**
 * Waits (at most DRAIN_S) until no job of these tenants is queued or running, then returns the
 * quiet tenant's latencies for tickets >= firstTicket: to job completion and, with the pipeline,
 * to the stored draft.
 */
async function quietLatencies(
  db: BenchDb,
  quiet: ZendeskFixture,
  all: ZendeskFixture[],
  firstTicket: number,
) {
  const deadline = Date.now() + DRAIN_S * 1000;
  let open = 0;
  let dead = 0;
  for (;;) {
    open = 0;
    dead = 0;
    for (const t of all) {
      const rows = await withTenant(db.database.db, t.tenantId, (tx) =>
        tx
          .select({ status: jobs.status })
          .from(jobs)
          .where(inArray(jobs.status, ['queued', 'running', 'dead'])),
      );
      open += rows.filter((r) => r.status !== 'dead').length;
      dead += rows.filter((r) => r.status === 'dead').length;
    }
    if (open === 0 || Date.now() > deadline) break;
    await sleep(200);
  }
  const rows = await withTenant(db.database.db, quiet.tenantId, (tx) =>
    tx
      .select({
        receivedAt: webhookDeliveries.receivedAt,
        finishedAt: jobs.finishedAt,
        ticketId: webhookDeliveries.ticketId,
      })
      .from(webhookDeliveries)
      .innerJoin(
        jobs,
        and(eq(jobs.tenantId, webhookDeliveries.tenantId), eq(jobs.id, webhookDeliveries.jobId)),
      )
      .where(gte(webhookDeliveries.receivedAt, new Date(0))),
  );
  const mine = rows.filter((r) => Number(r.ticketId) >= firstTicket);
  const toJob = mine.map((r) => (r.finishedAt?.getTime() ?? Number.NaN) - r.receivedAt.getTime());
  if (HANDLER !== 'pipeline') return { latencies: toJob, toJob, drafts: 0, open, dead };
  const draftRows = await withTenant(db.database.db, quiet.tenantId, (tx) =>
    tx.select({ ticketId: drafts.ticketId, createdAt: drafts.createdAt }).from(drafts),
  );
  const draftAt = new Map<string, number>();
  for (const d of draftRows)
    if (d.ticketId && !draftAt.has(d.ticketId)) draftAt.set(d.ticketId, d.createdAt.getTime());
  const toDraft = mine
    .filter((r) => draftAt.has(r.ticketId))
    .map((r) => draftAt.get(r.ticketId)! - r.receivedAt.getTime());
  return { latencies: toDraft, toJob, drafts: toDraft.length, open, dead };
}

const db = await createBenchDatabase();
const [quiet, noisy] = (await createTenants(db, 2)) as [ZendeskFixture, ZendeskFixture];
let stub: ZendeskStub | undefined;
if (HANDLER === 'pipeline') {
  stub = await startZendeskStub(STUB_MS);
  for (const t of [quiet, noisy]) await seedPipelineTenant(db, t);
}
const server = await startServer(db, {
  BENCH_WORKER: '1',
  ...(stub ? { BENCH_HANDLER: 'pipeline', BENCH_STUB_URL: stub.url } : {}),
  BENCH_JOB_DELAY_MS: JOB_DELAY_MS,
  BENCH_CONCURRENCY: CONCURRENCY,
  BENCH_PER_TENANT: PER_TENANT,
  BENCH_POLL_MS: POLL_MS,
});
const results: Record<string, number>[] = [];
try {
  // Warm up connections and JIT.
  await runOpenLoop(server.port, await schedule(quiet, 20, 2));
  await quietLatencies(db, quiet, [quiet, noisy], 0);
  process.stdout.write(`${JSON.stringify({ handler: HANDLER, ...(stub ? { stubMs: STUB_MS } : {}) })}\n`);
  for (let r = 0; r < REPEAT; r++) {
    // Alone.
    let first = nextTicket;
    const alone = await runOpenLoop(server.port, await schedule(quiet, QUIET_RPS, SECONDS));
    const lAlone = await quietLatencies(db, quiet, [quiet, noisy], first);
    // With the noisy neighbour: both schedules interleaved by send time.
    first = nextTicket;
    const mixed = [
      ...(await schedule(quiet, QUIET_RPS, SECONDS)),
      ...(await schedule(noisy, QUIET_RPS * NOISY_FACTOR, SECONDS)),
    ].sort((a, b) => a.at - b.at);
    const withNoisy = await runOpenLoop(server.port, mixed);
    // The noisy tenant's backlog when its sending stops (> 0: it asked for more than its cap allows).
    const noisyBacklog = (
      await withTenant(db.database.db, noisy.tenantId, (tx) =>
        tx
          .select({ id: jobs.id })
          .from(jobs)
          .where(inArray(jobs.status, ['queued', 'running'])),
      )
    ).length;
    const lMixed = await quietLatencies(db, quiet, [quiet, noisy], first);
    const noisyAcks = withNoisy.samples.filter((s) => s.tenantId === noisy.tenantId).map((s) => s.ms);
    const quietAcks = withNoisy.samples.filter((s) => s.tenantId === quiet.tenantId).map((s) => s.ms);
    const a = lAlone.latencies;
    const b = lMixed.latencies;
    const row = {
      run: r + 1,
      quietJobs: lAlone.toJob.length,
      aloneP50: round(percentile(a, 50)),
      aloneP95: round(percentile(a, 95)),
      withNoisyJobs: lMixed.toJob.length,
      withNoisyP50: round(percentile(b, 50)),
      withNoisyP95: round(percentile(b, 95)),
      ratioP95: round(percentile(b, 95) / percentile(a, 95), 3),
      ...(HANDLER === 'pipeline'
        ? {
            quietDraftsAlone: lAlone.drafts,
            quietDraftsWithNoisy: lMixed.drafts,
            jobP95Alone: round(percentile(lAlone.toJob, 95)),
            jobP95WithNoisy: round(percentile(lMixed.toJob, 95)),
          }
        : {}),
      unfinishedJobs: lMixed.open,
      deadJobs: lMixed.dead,
      mixedPhaseMs: Math.round(withNoisy.elapsedMs),
      skipped: alone.skipped + withNoisy.skipped,
      noisySent: noisyAcks.length,
      noisyBacklog,
      quietAckP99WithNoisy: round(percentile(quietAcks, 99), 2),
      noisyAckP99: round(percentile(noisyAcks, 99), 2),
      non200:
        [...alone.samples, ...withNoisy.samples].filter((s) => s.status !== 200).length +
        alone.errors +
        withNoisy.errors,
    };
    results.push(row);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  }
  const m = (k: string) => median(results.map((x) => x[k]!));
  const summary = {
    quietRps: QUIET_RPS,
    noisyRps: QUIET_RPS * NOISY_FACTOR,
    seconds: SECONDS,
    runs: REPEAT,
    handler: HANDLER,
    ...(stub
      ? {
          stubMs: STUB_MS,
          stubRequests: Object.fromEntries(stub.counts),
          stubUnexpected: stub.unexpected.length,
        }
      : { jobDelayMs: Number(JOB_DELAY_MS) }),
    concurrency: Number(CONCURRENCY),
    perTenant: Number(PER_TENANT),
    pollMs: Number(POLL_MS),
    medianAloneP95: m('aloneP95'),
    medianWithNoisyP95: m('withNoisyP95'),
    medianRatioP95: m('ratioP95'),
    medianAloneP50: m('aloneP50'),
    medianWithNoisyP50: m('withNoisyP50'),
  };
  process.stdout.write(`${JSON.stringify({ summary })}\n`);
} finally {
  await server.stop();
  await stub?.close();
  await db.drop();
}
