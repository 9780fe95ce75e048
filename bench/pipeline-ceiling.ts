/**
 * The ticket pipeline's ceiling in one worker process: N `zendesk.ticket` jobs queued at once
 * for T tenants, drained by the real worker and the real handler (src/pipeline/process-ticket.ts:
 * Zendesk read, routing, context, offline drafter, leak guard, draft record, internal note through
 * the effect ledger) against a fresh PostgreSQL database and a local Zendesk stub that answers
 * every call at once (bench/pipeline-fixture.ts). Reports tickets per second, the process's CPU
 * per ticket, PostgreSQL's CPU per ticket (its processes' /proc times), and transactions and
 * statements per ticket (pg_stat_database, and every statement the driver sent).
 *
 * Env: TICKETS (default 1000), TENANTS (4), CONCURRENCY (8), PER_TENANT (4), REPEAT (3),
 * BENCH_DATABASE_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import './usage.ts'; // --help: first, before any other module runs
import { readdirSync, readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { parseConfig } from '../src/config.ts';
import { openDatabase, rowsOf } from '../src/db/client.ts';
import { withTenant } from '../src/db/tenant.ts';
import { createJobQueue } from '../src/jobs/queue.ts';
import { createWorker } from '../src/jobs/worker.ts';
import { createLogger } from '../src/lib/logger.ts';
import { createTokenManager } from '../src/oauth/token-manager.ts';
import { createOfflineDrafter } from '../src/pipeline/drafting/offline.ts';
import { createTicketHandler, TICKET_JOB_KIND } from '../src/pipeline/process-ticket.ts';
import { ticketJob } from '../src/pipeline/ticket-job.ts';
import { seedPipelineTenant, startZendeskStub } from './pipeline-fixture.ts';
import { createBenchDatabase, createTenants, median, round } from './webhook-harness.ts';

const TICKETS = Number(process.env.TICKETS ?? 1000);
const TENANTS = Number(process.env.TENANTS ?? 4);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const PER_TENANT = Number(process.env.PER_TENANT ?? 4);
const REPEAT = Number(process.env.REPEAT ?? 3);

/** User plus system CPU of every process named `postgres`, in milliseconds. */
function postgresCpuMs(): number {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let total = 0;
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (comm !== 'postgres') continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) * tick;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

const bench = await createBenchDatabase();
const stub = await startZendeskStub(0);
const realFetch = globalThis.fetch;
globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
  const req = new Request(input, init);
  const u = new URL(req.url);
  const m = /^([a-z0-9-]+)\.zendesk\.com$/.exec(u.hostname);
  if (u.protocol !== 'https:' || !m) return Promise.reject(new Error(`network closed: ${u.origin}`));
  return realFetch(new Request(`${stub.url}/${m[1]}${u.pathname}${u.search}`, req));
};

let statements = 0;
const database = await openDatabase({
  url: bench.url,
  maxConnections: 10,
  onStatement: () => {
    statements++;
  },
});
const tenants = await createTenants(bench, TENANTS);
for (const t of tenants) await seedPipelineTenant(bench, t);
const logger = createLogger('silent');
const config = parseConfig({ LOG_LEVEL: 'silent' });
const handler = createTicketHandler({
  database,
  vault: bench.vault,
  tokens: createTokenManager({ db: database.db, vault: bench.vault, config, logger }),
  drafter: createOfflineDrafter(),
  logger,
});
const queue = createJobQueue();
const dbName = new URL(bench.url).pathname.slice(1);
const xacts = async () =>
  Number(
    rowsOf<{ n: string }>(
      await bench.database.db.execute(
        sql`select (xact_commit + xact_rollback)::text as n from pg_stat_database where datname = ${dbName}`,
      ),
    )[0]?.n ?? 0,
  );

let nextTicket = 1;
async function enqueue(n: number) {
  for (let i = 0; i < n; i++) {
    const t = tenants[i % tenants.length]!;
    const ticketId = String(nextTicket++);
    await withTenant(bench.database.db, t.tenantId, (tx) =>
      queue.enqueue(
        tx,
        t.tenantId,
        ticketJob({
          connectionId: t.connectionId,
          ticketId,
          event: 'ticket_created',
          invocationId: `inv_${ticketId}`,
          eventKey: `${ticketId}:ticket_created`,
        }),
      ),
    );
  }
}

async function round1(n: number) {
  await enqueue(n);
  const worker = createWorker({
    database,
    logger,
    handlers: { [TICKET_JOB_KIND]: handler },
    concurrency: CONCURRENCY,
    perTenantConcurrency: PER_TENANT,
    pollMs: 20,
  });
  // pg_stat_database is updated by backends at transaction end and read from a snapshot: wait it out.
  await new Promise((r) => setTimeout(r, 600));
  const x0 = await xacts();
  const s0 = statements;
  const pg0 = postgresCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await worker.runUntilIdle({ timeoutMs: 600_000 });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const pg = postgresCpuMs() - pg0;
  const s = statements - s0;
  await new Promise((r) => setTimeout(r, 600));
  const x = (await xacts()) - x0 - 2; // less the two reads of the counter itself
  return {
    ticketsPerSecond: (n / ms) * 1000,
    cpuMsPerTicket: (cpu.user + cpu.system) / 1000 / n,
    pgCpuMsPerTicket: pg / n,
    statementsPerTicket: s / n,
    transactionsPerTicket: x / n,
  };
}

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
process.stderr.write(`warm-up (${Math.min(200, TICKETS)} tickets), load ${load()}\n`);
await round1(Math.min(200, TICKETS));
const runs: Awaited<ReturnType<typeof round1>>[] = [];
for (let r = 0; r < REPEAT; r++) {
  const res = await round1(TICKETS);
  runs.push(res);
  process.stderr.write(
    `run ${r + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(res).map(([k, v]) => [k, round(v, 2)])))} load ${load()}\n`,
  );
}
const done = rowsOf<{ status: string; n: number }>(
  await bench.database.db.execute(sql`select status, count(*)::int as n from jobs group by status`),
);
const notes = stub.counts.get('PUT ticket (note)') ?? 0;
const result = {
  tickets: TICKETS,
  tenants: TENANTS,
  concurrency: CONCURRENCY,
  medians: Object.fromEntries(
    Object.keys(runs[0]!).map((k) => [k, round(median(runs.map((r) => r[k as keyof typeof r])), 2)]),
  ),
  jobs: Object.fromEntries(done.map((d) => [d.status, d.n])),
  notesPosted: notes,
  unexpectedStubRequests: stub.unexpected.length,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
await database.close();
await stub.close();
await bench.drop();
