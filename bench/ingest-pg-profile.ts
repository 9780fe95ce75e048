/**
 * Where PostgreSQL's CPU goes per accepted webhook (issue 15): the group-commit transaction of
 * src/zendesk/webhook.ts taken apart. One connection as helpdesk_runtime, batches of BATCH
 * deliveries over TENANTS tenants, run back to back ROUNDS times per variant; the CPU of that one
 * backend (/proc/<pid>/stat) is divided by the deliveries it carried (or, for the claim-only
 * variants, by the transactions).
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BATCH=10 TENANTS=3 ROUNDS=300 node bench/ingest-pg-profile.ts
 *
 * Variants: `begin-commit` (an empty transaction), `claims` (begin, one app_enter_tenant per tenant,
 * commit), `ingest` (the real transaction: claims plus one ingest statement per tenant), and
 * `ingest-1` (the same with one delivery per transaction: no group commit).
 */
import './usage.ts'; // --help: first, before any other module runs
import { readFileSync } from 'node:fs';
import { tenantTransaction } from '../src/db/tenant.ts';
import { newId } from '../src/lib/ids.ts';
import { type IngestItem, ingestStatement } from '../src/zendesk/webhook.ts';
import { createBenchDatabase, createTenants, round } from './webhook-harness.ts';

const BATCH = Number(process.env.BATCH ?? 10);
const TENANTS = Number(process.env.TENANTS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 300);

const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / 100;
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const db = await createBenchDatabase();
const { default: postgres } = await import('postgres');
const admin = postgres(db.url, { max: 1, onnotice: () => {} });
const { openDatabase } = await import('../src/db/client.ts');
let rt: Awaited<ReturnType<typeof openDatabase>> | undefined;
try {
  await admin.unsafe('alter role helpdesk_runtime login');
  const fixtures = await createTenants(db, TENANTS);
  const sealed = new Map<string, string>();
  for (const f of fixtures) {
    const [row] = await admin<
      { s: string }[]
    >`select webhook_secret as s from zendesk_connections where id = ${f.connectionId}`;
    sealed.set(f.tenantId, row!.s);
  }
  rt = await openDatabase({
    url: Object.assign(new URL(db.url), { username: 'helpdesk_runtime' }).toString(),
    maxConnections: 1,
  });
  const rtDb = rt.db;
  let n = 0;
  const item = (f: (typeof fixtures)[number]): IngestItem => {
    n++;
    const key = `${n}:ticket_created`;
    return {
      hookId: f.hookId,
      connectionId: f.connectionId,
      sealed: sealed.get(f.tenantId)!,
      invocationId: `prof-${n}`,
      eventKey: key,
      ticketId: String(n),
      event: 'ticket_created',
      jobId: newId('job'),
      receivedAt: new Date().toISOString(),
      payload: JSON.stringify({
        connectionId: f.connectionId,
        ticketId: String(n),
        event: 'ticket_created',
        invocationId: `prof-${n}`,
        eventKey: key,
      }),
    };
  };
  const batch = (size: number) => {
    const by = new Map<string, IngestItem[]>();
    for (let i = 0; i < size; i++) {
      const f = fixtures[i % fixtures.length]!;
      by.set(f.tenantId, [...(by.get(f.tenantId) ?? []), item(f)]);
    }
    return [...by].map(([tenantId, items]) => ({ tenantId, statements: [ingestStatement(tenantId, items)] }));
  };
  const client = (rtDb as unknown as { $client: import('postgres').Sql }).$client;
  const backendPid = async () => {
    const [r] = await client<{ pid: number }[]>`select pg_backend_pid() as pid`;
    return r!.pid;
  };
  const variants: Record<string, { per: number; run: () => Promise<unknown> }> = {
    'begin-commit': { per: 1, run: () => client.begin(async () => {}) },
    claims: {
      per: 1,
      run: () =>
        tenantTransaction(
          rtDb,
          fixtures.map((f) => ({ tenantId: f.tenantId, statements: [] })),
        ),
    },
    ingest: { per: BATCH, run: () => tenantTransaction(rtDb, batch(BATCH)) },
    'ingest-1': { per: 1, run: () => tenantTransaction(rtDb, batch(1)) },
  };
  const pid = await backendPid();
  for (const v of Object.values(variants)) for (let i = 0; i < 30; i++) await v.run();
  const out: Record<string, unknown> = {};
  const before = load();
  for (const [name, v] of Object.entries(variants)) {
    const c0 = cpuMs(pid);
    const t0 = performance.now();
    for (let i = 0; i < ROUNDS; i++) await v.run();
    const wall = performance.now() - t0;
    const cpu = cpuMs(pid) - c0;
    out[name] = {
      pgCpuMsPerTxn: round(cpu / ROUNDS, 3),
      pgCpuMsPerDelivery: v.per > 1 ? round(cpu / ROUNDS / v.per, 3) : undefined,
      wallMsPerTxn: round(wall / ROUNDS, 3),
    };
  }
  console.log(
    JSON.stringify(
      { batch: BATCH, tenants: TENANTS, rounds: ROUNDS, load: `${before} -> ${load()}`, variants: out },
      null,
      1,
    ),
  );
} finally {
  await rt?.close();
  await admin.end({ timeout: 2 });
  await db.drop();
}
