/**
 * Webhook ack latency: signed Zendesk trigger calls at a fixed rate against the real app
 * (@hono/node-server, child process) on a fresh PostgreSQL database, measured at the client.
 *
 *   npm run bench:webhook                       # 200 req/s, 20 s, 3 runs, without and with the worker
 *   RATE=200 SECONDS=20 REPEAT=3 MODES=plain,worker node bench/webhook-ack.ts
 *
 * Target: p99 < 50 ms. Each run sends new tickets over 3 tenants; the last lines check that every
 * 200 produced exactly one delivery row and one job.
 */
import './usage.ts'; // --help: first, before any other module runs
import { sql } from 'drizzle-orm';
import { rowsOf } from '../src/db/client.ts';
import { withTenant } from '../src/db/tenant.ts';
import {
  createBenchDatabase,
  createTenants,
  median,
  percentile,
  prepareRequest,
  round,
  runOpenLoop,
  startServer,
} from './webhook-harness.ts';

const RATE = Number(process.env.RATE ?? 200);
const SECONDS = Number(process.env.SECONDS ?? 20);
const REPEAT = Number(process.env.REPEAT ?? 3);
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 3);
const MODES = (process.env.MODES ?? 'plain,worker').split(',');

const db = await createBenchDatabase();
const tenants = await createTenants(db, 3);
let nextTicket = 1;

/** Webhook calls at `rate`, plus a control `GET /healthz` (no database) after every tenth one. */
async function schedule(rate: number, seconds: number) {
  const n = Math.round(rate * seconds);
  const out = [];
  for (let i = 0; i < n; i++) {
    const req = await prepareRequest(tenants[i % tenants.length]!, nextTicket++);
    out.push({ at: (i * 1000) / rate, req });
    if (i % 10 === 5) out.push({ at: ((i + 0.5) * 1000) / rate, req: { ...req, control: true } });
  }
  return out;
}

const summary: Record<string, unknown>[] = [];
try {
  for (const mode of MODES) {
    const server = await startServer(
      db,
      mode === 'worker' ? { BENCH_WORKER: '1', BENCH_JOB_DELAY_MS: '5', BENCH_POLL_MS: '50' } : {},
    );
    try {
      await runOpenLoop(server.port, await schedule(50, WARMUP_SECONDS));
      const runs = [];
      for (let r = 0; r < REPEAT; r++) {
        const { samples, skipped, errors, elapsedMs } = await runOpenLoop(
          server.port,
          await schedule(RATE, SECONDS),
        );
        const ok = samples.filter((s) => !s.control && s.status === 200).map((s) => s.ms);
        const control = samples.filter((s) => s.control).map((s) => s.ms);
        const run = {
          mode,
          run: r + 1,
          sent: samples.length - control.length,
          ok: ok.length,
          non200: samples.length - control.length - ok.length,
          skipped,
          errors,
          achievedRps: round((samples.length - control.length) / (elapsedMs / 1000)),
          p50: round(percentile(ok, 50), 2),
          p90: round(percentile(ok, 90), 2),
          p99: round(percentile(ok, 99), 2),
          max: round(Math.max(...ok), 2),
          healthzP50: round(percentile(control, 50), 2),
          healthzP99: round(percentile(control, 99), 2),
        };
        runs.push(run);
        process.stdout.write(`${JSON.stringify(run)}\n`);
      }
      summary.push({
        mode,
        rate: RATE,
        seconds: SECONDS,
        runs: runs.length,
        medianP50: median(runs.map((r) => r.p50)),
        medianP99: median(runs.map((r) => r.p99)),
        medianHealthzP99: median(runs.map((r) => r.healthzP99)),
        worstP99: Math.max(...runs.map((r) => r.p99)),
        non200: runs.reduce((n, r) => n + r.non200 + r.errors + r.skipped, 0),
      });
    } finally {
      await server.stop();
    }
  }
  // Every accepted request: one delivery and one job (counted as the owner, per tenant scope).
  let deliveries = 0;
  let jobCount = 0;
  for (const t of tenants) {
    await withTenant(db.database.db, t.tenantId, async (tx) => {
      const r = rowsOf<{ d: number; j: number }>(
        await tx.execute(
          sql`select (select count(*)::int from webhook_deliveries) as d, (select count(*)::int from jobs) as j`,
        ),
      );
      deliveries += Number(r[0]?.d ?? 0);
      jobCount += Number(r[0]?.j ?? 0);
    });
  }
  process.stdout.write(
    `${JSON.stringify({ summary, ticketsSent: nextTicket - 1, deliveries, jobs: jobCount })}\n`,
  );
  for (const s of summary) {
    process.stdout.write(
      `| ${s.mode} | ${s.rate} req/s x ${s.seconds} s x ${s.runs} | ${s.medianP50} ms | ${s.medianP99} ms | ${s.worstP99} ms | ${s.medianHealthzP99} ms | ${s.non200} |\n`,
    );
  }
} finally {
  await db.drop();
}
