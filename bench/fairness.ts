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
 */
import { and, eq, gte } from 'drizzle-orm';
import { jobs, webhookDeliveries } from '../src/db/schema/index.ts';
import { withTenant } from '../src/db/tenant.ts';
import type { ZendeskFixture } from '../test/helpers/zendesk-sign.ts';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nextTicket = 1;

async function schedule(tenant: ZendeskFixture, rps: number, seconds: number) {
  const out = [];
  const n = Math.round(rps * seconds);
  for (let i = 0; i < n; i++)
    out.push({ at: (i * 1000) / rps, req: await prepareRequest(tenant, nextTicket++) });
  return out;
}

/** Waits until every job of these tenants is done, then returns the quiet tenant's latencies. */
async function quietLatencies(
  db: BenchDb,
  quiet: ZendeskFixture,
  all: ZendeskFixture[],
  firstTicket: number,
) {
  for (;;) {
    let open = 0;
    for (const t of all) {
      open += await withTenant(db.database.db, t.tenantId, async (tx) => {
        const rows = await tx.select({ status: jobs.status }).from(jobs);
        return rows.filter((r) => r.status !== 'done').length;
      });
    }
    if (open === 0) break;
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
  return rows
    .filter((r) => Number(r.ticketId) >= firstTicket)
    .map((r) => (r.finishedAt?.getTime() ?? Number.NaN) - r.receivedAt.getTime());
}

const db = await createBenchDatabase();
const [quiet, noisy] = (await createTenants(db, 2)) as [ZendeskFixture, ZendeskFixture];
const server = await startServer(db, {
  BENCH_WORKER: '1',
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
    const lMixed = await quietLatencies(db, quiet, [quiet, noisy], first);
    const noisyAcks = withNoisy.samples.filter((s) => s.tenantId === noisy.tenantId).map((s) => s.ms);
    const quietAcks = withNoisy.samples.filter((s) => s.tenantId === quiet.tenantId).map((s) => s.ms);
    const row = {
      run: r + 1,
      quietJobs: lAlone.length,
      aloneP50: round(percentile(lAlone, 50)),
      aloneP95: round(percentile(lAlone, 95)),
      withNoisyJobs: lMixed.length,
      withNoisyP50: round(percentile(lMixed, 50)),
      withNoisyP95: round(percentile(lMixed, 95)),
      ratioP95: round(percentile(lMixed, 95) / percentile(lAlone, 95), 3),
      noisySent: noisyAcks.length,
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
    jobDelayMs: Number(JOB_DELAY_MS),
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
  await db.drop();
}
