/**
 * withTenant read cost: one indexed read of one account, timed one at a time on one connection,
 * against the same read as a bare statement. Run:
 *
 *   BENCH_PG=postgres://postgres@127.0.0.1:5432/postgres N=2000 REPEAT=3 node bench/with-tenant-read.ts
 *
 * Variants (interleaved, REPEAT rounds of N each; medians per round, then the median of rounds):
 *   bare          the read alone, one prepared statement, as the owner (no transaction, no claim, no RLS)
 *   txn-owner     postgres.js sql.begin with the read, as the owner (the transaction alone)
 *   withTenant    the general path: db.transaction + app_enter_tenant + the read, one round trip each
 *   withTenantRead  begin read only + claim + the read + commit written at once (src/db/tenant.ts)
 * The tenant variants run as helpdesk_runtime (signed claim, role switch, forced RLS). Creates and
 * drops its own database.
 */
import './usage.ts'; // --help: first, before any other module runs
import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../src/db/client.ts';
import { accounts } from '../src/db/schema/index.ts';
import { withTenant, withTenantRead } from '../src/db/tenant.ts';
import { createTenant } from '../src/tenancy/tenants.ts';

const admin = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.N ?? 2000);
const REPEAT = Number(process.env.REPEAT ?? 3);
const { default: postgres } = await import('postgres');
const root = postgres(admin, { max: 1, onnotice: () => {} });
const name = `hc_bench_${Date.now().toString(36)}`;
await root.unsafe(`create database "${name}"`);
const ownerUrl = new URL(admin);
ownerUrl.pathname = `/${name}`;
const owner = await openDatabase({ url: ownerUrl.toString(), maxConnections: 1 });
await owner.migrate();
await root.unsafe(`alter role helpdesk_runtime login`);
const runtimeUrl = new URL(ownerUrl);
runtimeUrl.username = 'helpdesk_runtime';
const rt = await openDatabase({ url: runtimeUrl.toString(), maxConnections: 1 });
const system = { type: 'system', name: 'bench' } as const;
const t = (await createTenant(rt.db, { name: 'Bench', actor: system })).id;
await withTenant(rt.db, t, (tx) => tx.insert(accounts).values({ tenantId: t, id: 'acc_1', name: 'One' }));
const ownerClient = postgres(ownerUrl.toString(), { max: 1, onnotice: () => {} });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await fn();
    xs.push(performance.now() - s);
  }
  return median(xs);
}
const READ = `select id, name from accounts where tenant_id = $1 and id = 'acc_1'`;
const variants: Record<string, () => Promise<unknown>> = {
  bare: () => ownerClient.unsafe(READ, [t]),
  'txn-owner': () => ownerClient.begin((s) => [s.unsafe(READ, [t])] as unknown as Promise<unknown>),
  withTenant: () =>
    withTenant(rt.db, t, (tx) =>
      tx.execute(sql`select id, name from accounts where tenant_id = ${t} and id = 'acc_1'`),
    ),
  withTenantRead: async () => {
    const rows = await withTenantRead(rt.db, t, { text: READ, params: [t] });
    if (rows.length !== 1) throw new Error('withTenantRead did not see the row');
  },
};
for (const fn of Object.values(variants)) for (let i = 0; i < 300; i++) await fn();
const rounds: Record<string, number[]> = {};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadBefore = load();
for (let r = 0; r < REPEAT; r++) {
  for (const [k, fn] of Object.entries(variants)) rounds[k] = [...(rounds[k] ?? []), await time(fn)];
}
const med = Object.fromEntries(
  Object.entries(rounds).map(([k, v]) => [k, Math.round(median(v) * 1000) / 1000]),
);
const bare = med.bare!;
console.log(
  JSON.stringify({
    n: N,
    repeat: REPEAT,
    load: `${loadBefore} -> ${load()}`,
    medianMs: med,
    perRound: rounds,
    vsBare: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, Math.round((v / bare) * 100) / 100])),
  }),
);
await ownerClient.end();
await rt.close();
await owner.close();
await root.unsafe(`drop database "${name}" with (force)`);
await root.end();
