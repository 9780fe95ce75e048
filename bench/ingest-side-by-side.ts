/**
 * Ingest side by side (issue 15): the same closed-loop load against five servers, in one run, legs
 * interleaved, so the ratios between them hold whatever else the machine is doing.
 *
 *   npm run bench:ingest
 *   SECONDS=10 REPEAT=3 CONNECTIONS=32 LEGS=floor,bolt,slack,zendesk-pg,zendesk-pglite node bench/ingest-side-by-side.ts
 *
 * Legs (each server its own child process; the load generator is this process):
 *   floor           bare node:http + the Slack HMAC check (bench/ingest-servers.ts)
 *   bolt            @slack/bolt HTTPReceiver, one `message` listener, static authorize, in memory
 *   slack           our POST /slack/events on PostgreSQL (verify, parse, tenant look-up; no Bolt)
 *   zendesk-pg      our POST /webhooks/zendesk/:hookId on PostgreSQL (verify, dedupe, delivery + job, durable)
 *   zendesk-pglite  the same route on the embedded database (PGlite in memory, in the server process)
 *
 * Our servers are bench/webhook-server.ts (the real createApp on @hono/node-server) connected as
 * the runtime role helpdesk_runtime, exactly as a deployed server. Every webhook is a new ticket
 * (a new job); every Slack event a new event id. CONNECTIONS keep-alive connections each send one
 * request at a time (closed loop) for SECONDS; the first WARMUP_SECONDS of every server are not
 * measured. Per leg: requests/s, p50/p99 at the client, server CPU per request (from
 * /proc/<pid>/stat) and, on PostgreSQL, the CPU of this database's backends per request. After the
 * run, every 200 of the webhook legs is checked against the database: one delivery and one job.
 * Load (`/proc/loadavg`) is printed before and after every leg. Env: BENCH_DATABASE_URL (admin URL,
 * default postgres://postgres@127.0.0.1:5432/postgres), BENCH_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof": passed to our servers only), BENCH_POOL (server pool size, default 10).
 */
import './usage.ts'; // --help: first, before any other module runs
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import { rowsOf } from '../src/db/client.ts';
import { slackInstallations } from '../src/db/schema/index.ts';
import { withTenant } from '../src/db/tenant.ts';
import { createTenant } from '../src/tenancy/tenants.ts';
import type { ZendeskFixture } from '../test/helpers/zendesk-sign.ts';
import { signedZendeskHeaders } from '../test/helpers/zendesk-sign.ts';
import { createBenchDatabase, createTenants, median, percentile, round } from './webhook-harness.ts';

const SECONDS = Number(process.env.SECONDS ?? 10);
const REPEAT = Number(process.env.REPEAT ?? 3);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 3);
const LEGS = (process.env.LEGS ?? 'floor,bolt,slack,zendesk-pg,zendesk-pglite').split(',');
const SLACK_SECRET = 'bench-slack-signing-secret';
const TICK = 100; // USER_HZ: /proc/<pid>/stat counts CPU in 1/100 s on Linux

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICK;
  } catch {
    return 0;
  }
}

interface Server {
  name: string;
  port: number;
  pid: number;
  fixtures?: ZendeskFixture[];
  stop(): Promise<void>;
}

function startChild(name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, new URL(script, import.meta.url).pathname], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  let fixtures: ZendeskFixture[] | undefined;
  return new Promise<Server>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    lines.on('line', (l) => {
      try {
        const m = JSON.parse(l) as { port?: number; fixtures?: ZendeskFixture[] };
        if (m.fixtures) fixtures = m.fixtures;
        if (m.port)
          resolve({
            name,
            port: m.port,
            pid: child.pid!,
            ...(fixtures ? { fixtures } : {}),
            stop: () =>
              new Promise<void>((done) => {
                child.once('exit', () => done());
                child.kill('SIGTERM');
              }),
          });
      } catch {}
    });
  });
}

// ---------------------------------------------------------------- requests
let seq = 0;
const slackBody = () => {
  const n = ++seq;
  return JSON.stringify({
    type: 'event_callback',
    team_id: 'TBENCH',
    api_app_id: 'A0BENCH',
    event_id: `EvBENCH${n}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'TBENCH', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
    event: {
      type: 'message',
      channel_type: 'channel',
      user: 'UREP',
      channel: 'CBENCH0001',
      ts: `1699999999.${String(n).padStart(6, '0')}`,
      text: 'a message the copilot only acknowledges',
    },
  });
};
function slackRequest(): { path: string; headers: Record<string, string>; body: string } {
  const body = slackBody();
  const t = String(Math.floor(Date.now() / 1000));
  const sig = `v0=${createHmac('sha256', SLACK_SECRET).update(`v0:${t}:${body}`).digest('hex')}`;
  return {
    path: '/slack/events',
    body,
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': t,
      'x-slack-signature': sig,
    },
  };
}
let ticket = 0;
async function zendeskRequest(fixtures: ZendeskFixture[], tag: string) {
  const n = ++ticket;
  const f = fixtures[n % fixtures.length]!;
  const body = JSON.stringify({ ticket_id: String(n), event: 'ticket_created' });
  return {
    path: `/webhooks/zendesk/${f.hookId}`,
    body,
    headers: await signedZendeskHeaders(f.secret, body, { invocationId: `${tag}-${n}` }),
  };
}

// ---------------------------------------------------------------- closed loop
interface LegResult {
  ok: number;
  non200: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
  cpuMsPerReq: number;
  pgCpuMsPerReq: number | null;
}

async function closedLoop(
  port: number,
  seconds: number,
  make: () => Promise<{ path: string; headers: Record<string, string>; body: string }>,
  cpu: { server: number; pg: () => Promise<number> | number },
): Promise<LegResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const lat: number[] = [];
  let ok = 0;
  let non200 = 0;
  let errors = 0;
  const send = (r: { path: string; headers: Record<string, string>; body: string }) =>
    new Promise<number>((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: r.path,
          agent,
          headers: { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(-1));
      req.end(r.body);
    });
  const cpu0 = cpuMs(cpu.server);
  const pg0 = await cpu.pg();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < until) {
        const r = await make();
        const s = performance.now();
        const status = await send(r);
        lat.push(performance.now() - s);
        if (status === 200) ok++;
        else if (status < 0) errors++;
        else non200++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = cpuMs(cpu.server);
  const pg1 = await cpu.pg();
  agent.destroy();
  const n = ok + non200 + errors;
  return {
    ok,
    non200,
    errors,
    rps: round(n / elapsed, 0),
    p50: round(percentile(lat, 50), 2),
    p99: round(percentile(lat, 99), 2),
    cpuMsPerReq: round((cpu1 - cpu0) / Math.max(n, 1), 3),
    pgCpuMsPerReq: Number.isNaN(pg0) ? null : round((pg1 - pg0) / Math.max(n, 1), 3),
  };
}

// ---------------------------------------------------------------- set-up
const db = await createBenchDatabase();
const servers = new Map<string, Server>();
const { default: postgres } = await import('postgres');
const admin = postgres(db.url, { max: 1, onnotice: () => {} });
const dbName = new URL(db.url).pathname.slice(1);
/** CPU of this database's backends (our servers' pool connections), in ms. */
async function pgCpu(): Promise<number> {
  const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity
    where datname = ${dbName} and usename = 'helpdesk_runtime'`;
  return rows.reduce((n, r) => n + cpuMs(r.pid), 0);
}
const noPg = () => Number.NaN;
let summary: Record<string, unknown> | undefined;
try {
  await admin.unsafe('alter role helpdesk_runtime login');
  const runtimeUrl = Object.assign(new URL(db.url), { username: 'helpdesk_runtime' }).toString();
  const fixtures = await createTenants(db, 3);
  const { id: slackTenant } = await createTenant(db.database.db, {
    name: 'Slack bench',
    actor: { type: 'system', name: 'bench' },
  });
  await withTenant(db.database.db, slackTenant, (tx) =>
    tx.insert(slackInstallations).values({
      tenantId: slackTenant,
      id: 'si_bench',
      teamId: 'TBENCH',
      botUserId: 'UBOT',
      botId: 'BBOT',
      accessToken: 'unused',
    }),
  );
  const ours = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const pool = process.env.BENCH_POOL ?? '10';
  const starts: Record<string, () => Promise<Server>> = {
    floor: () =>
      startChild('floor', './ingest-servers.ts', { BENCH_SERVER: 'floor', BENCH_SLACK_SECRET: SLACK_SECRET }),
    bolt: () =>
      startChild('bolt', './ingest-servers.ts', { BENCH_SERVER: 'bolt', BENCH_SLACK_SECRET: SLACK_SECRET }),
    slack: () =>
      startChild(
        'slack',
        './webhook-server.ts',
        {
          DATABASE_URL: runtimeUrl,
          ENCRYPTION_KEY: db.encryptionKey,
          BENCH_SLACK_SECRET: SLACK_SECRET,
          BENCH_POOL: pool,
        },
        ours,
      ),
    'zendesk-pg': async () => ({
      ...(await startChild(
        'zendesk-pg',
        './webhook-server.ts',
        { DATABASE_URL: runtimeUrl, ENCRYPTION_KEY: db.encryptionKey, BENCH_POOL: pool },
        ours,
      )),
      fixtures,
    }),
    'zendesk-pglite': () =>
      startChild(
        'zendesk-pglite',
        './webhook-server.ts',
        { DATABASE_URL: '', ENCRYPTION_KEY: db.encryptionKey, BENCH_SEED_ZENDESK: '3' },
        ours,
      ),
  };
  for (const leg of LEGS) {
    const start = starts[leg];
    if (!start) throw new Error(`unknown leg ${leg}`);
    servers.set(leg, await start());
  }
  const makeFor = (leg: string, tag: string) => {
    const s = servers.get(leg)!;
    return leg.startsWith('zendesk') ? () => zendeskRequest(s.fixtures!, tag) : async () => slackRequest();
  };
  const legCpu = (leg: string) => ({
    server: servers.get(leg)!.pid,
    pg: leg === 'slack' || leg === 'zendesk-pg' ? pgCpu : noPg,
  });
  const results: Record<string, (LegResult & { load: string })[]> = {};
  const okByLeg: Record<string, number> = {};
  for (const leg of LEGS) {
    const w = await closedLoop(servers.get(leg)!.port, WARMUP_SECONDS, makeFor(leg, 'warm'), legCpu(leg));
    okByLeg[leg] = w.ok;
    process.stdout.write(`${JSON.stringify({ warmup: leg, rps: w.rps, ok: w.ok, non200: w.non200 })}\n`);
  }
  for (let r = 0; r < REPEAT; r++) {
    // Interleaved, order rotated each repeat so no leg always follows the same one.
    const order = LEGS.map((_, i) => LEGS[(i + r) % LEGS.length]!);
    for (const leg of order) {
      const before = loadavg();
      const res = await closedLoop(servers.get(leg)!.port, SECONDS, makeFor(leg, `r${r}`), legCpu(leg));
      const load = `${before} -> ${loadavg()}`;
      results[leg] = [...(results[leg] ?? []), { ...res, load }];
      okByLeg[leg] = (okByLeg[leg] ?? 0) + res.ok;
      process.stdout.write(`${JSON.stringify({ leg, repeat: r + 1, ...res, load })}\n`);
    }
  }
  // Durability check: every 200 on the PostgreSQL webhook leg is one delivery and one job.
  let durable: Record<string, number> | undefined;
  if (LEGS.includes('zendesk-pg')) {
    let deliveries = 0;
    let jobs = 0;
    for (const f of fixtures) {
      await withTenant(db.database.db, f.tenantId, async (tx) => {
        const c = rowsOf<{ d: number; j: number }>(
          await tx.execute(
            sql`select (select count(*)::int from webhook_deliveries) as d, (select count(*)::int from jobs) as j`,
          ),
        )[0]!;
        deliveries += Number(c.d);
        jobs += Number(c.j);
      });
    }
    durable = { deliveries, jobs };
  }
  const med = (leg: string, k: 'rps' | 'p50' | 'p99' | 'cpuMsPerReq' | 'pgCpuMsPerReq') => {
    const xs = (results[leg] ?? []).map((x) => x[k]).filter((x): x is number => typeof x === 'number');
    return xs.length ? median(xs) : null;
  };
  const table = LEGS.map((leg) => ({
    leg,
    rps: med(leg, 'rps'),
    p50: med(leg, 'p50'),
    p99: med(leg, 'p99'),
    cpuMsPerReq: med(leg, 'cpuMsPerReq'),
    pgCpuMsPerReq: med(leg, 'pgCpuMsPerReq'),
    perRun: (results[leg] ?? []).map((x) => x.rps),
    non200: (results[leg] ?? []).reduce((n, x) => n + x.non200 + x.errors, 0),
  }));
  const bolt = med('bolt', 'rps');
  const ratio = (leg: string) => {
    const v = med(leg, 'rps');
    return bolt && v ? round(v / bolt, 2) : null;
  };
  summary = {
    seconds: SECONDS,
    repeat: REPEAT,
    connections: CONNECTIONS,
    table,
    vsBolt: Object.fromEntries(LEGS.map((l) => [l, ratio(l)])),
    ...(durable ? { zendeskPgAccepted: okByLeg['zendesk-pg'] ?? 0, durable } : {}),
  };
  process.stdout.write(`${JSON.stringify({ summary })}\n`);
  process.stdout.write(
    '| leg | req/s (median; per run) | p50 | p99 | server CPU/req | PostgreSQL CPU/req | vs Bolt | non-200 |\n|---|---|---|---|---|---|---|---|\n',
  );
  for (const t of table) {
    process.stdout.write(
      `| ${t.leg} | ${t.rps} (${t.perRun.join(' / ')}) | ${t.p50} ms | ${t.p99} ms | ${t.cpuMsPerReq} ms | ${t.pgCpuMsPerReq ?? '-'}${t.pgCpuMsPerReq === null ? '' : ' ms'} | ${ratio(t.leg) ?? '-'} | ${t.non200} |\n`,
    );
  }
} finally {
  for (const s of servers.values()) await s.stop().catch(() => {});
  await admin.end({ timeout: 2 });
  await db.drop();
}
