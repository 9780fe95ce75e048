/**
 * withTenant read cost: one indexed read of one account inside withTenant, against a plain
 * transaction doing the pre-issue-13 opening statement (set_config app.tenant_id + role) and the
 * same read as the owner. Run: BENCH_PG=postgres://postgres@127.0.0.1:5432/postgres node bench/with-tenant-read.ts
 * Creates and drops its own databases.
 */
import { sql } from 'drizzle-orm';
import { openDatabase } from '../src/db/client.ts';
import { accounts } from '../src/db/schema/index.ts';
import { withTenant } from '../src/db/tenant.ts';
import { createTenant } from '../src/tenancy/tenants.ts';

const admin = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.N ?? 2000);
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

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await fn();
    xs.push(performance.now() - s);
  }
  return median(xs);
}
const read = `select id, name from accounts where tenant_id = $1 and id = 'acc_1'`;
// After: the real withTenant as the runtime role (signed claim, policies verify it).
const after = await time(() =>
  withTenant(rt.db, t, (tx) =>
    tx.execute(sql`select id, name from accounts where tenant_id = ${t} and id = 'acc_1'`),
  ),
);
// Before-shaped: the old opening statement (plain settings) and the same read, as the owner
// (superuser here, so RLS is bypassed: this is the floor of a transaction with two statements).
const before = await time(() =>
  owner.db.transaction(async (tx) => {
    await tx.execute(
      sql`select set_config('app.tenant_id', ${t}, true), set_config('role', 'helpdesk_app', true)`,
    );
    await tx.execute(sql.raw(read.replace('$1', `'${t}'`)));
  }),
);
console.log(JSON.stringify({ n: N, medianMs: { before, after }, ratio: after / before }));
await rt.close();
await owner.close();
await root.unsafe(`drop database "${name}" with (force)`);
await root.end();
