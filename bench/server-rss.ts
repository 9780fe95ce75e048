/**
 * Resident memory of `npm start`'s server process (src/entry/node.ts, the job worker and the
 * sweeps in the same process, PostgreSQL as the runtime role) idle with T tenants configured:
 * each with settings, a Zendesk connection (sealed webhook secret and access token) and a Slack
 * installation, plus ten directory accounts. Samples the child's VmRSS from /proc after start-up,
 * after a 15 s idle, and after a burst of requests (GET /healthz and signed Zendesk webhooks for
 * 100 tenants, which warms the per-tenant caches).
 *
 * The server runs with the Node flags of package.json's `start` script (NODE_FLAGS replaces them,
 * e.g. NODE_FLAGS="" for none).
 *
 * Env: TENANTS (default 10000), IDLE_MS (15000), BENCH_DATABASE_URL (admin URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). Needs the runtime role helpdesk_runtime to be
 * able to log in (the test suite creates it; trust auth locally).
 */
import './usage.ts'; // --help: first, before any other module runs
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { sql } from 'drizzle-orm';
import { deriveClaimKey } from '../src/db/claims.ts';
import { openDatabase } from '../src/db/client.ts';
import { randomToken } from '../src/lib/ids.ts';
import { createBenchDatabase, prepareRequest } from './webhook-harness.ts';

const TENANTS = Number(process.env.TENANTS ?? 10_000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 15_000);

const bench = await createBenchDatabase();
const db = bench.database.db;
const t0 = performance.now();
// Bulk rows as the owner: the same shape createTenant and the install flows write.
const BATCH = 500;
const fixtures: { tenantId: string; connectionId: string; hookId: string; secret: string }[] = [];
for (let start = 0; start < TENANTS; start += BATCH) {
  const rows: { tenantId: string; connectionId: string; hookId: string; secret: string }[] = [];
  for (let i = start; i < Math.min(TENANTS, start + BATCH); i++)
    rows.push({
      tenantId: `tn_${randomToken(18).replace(/[^A-Za-z0-9_-]/g, 'x')}`,
      connectionId: `zc_${randomToken(10)}`,
      hookId: randomToken(24),
      secret: randomToken(32),
    });
  const sealed = await Promise.all(
    rows.map(async (r) => ({
      ...r,
      webhook: await bench.vault.seal(r.tenantId, 'zendesk_webhook_secret', r.secret),
      token: await bench.vault.seal(r.tenantId, 'zendesk_access_token', `zd-${r.hookId}`),
      bot: await bench.vault.seal(r.tenantId, 'slack_bot_token', `xoxb-${r.hookId}`),
    })),
  );
  const json = JSON.stringify(sealed);
  await db.execute(sql`insert into tenants (id, name) select x->>'tenantId', 'Tenant ' || (x->>'hookId')
    from jsonb_array_elements(${json}::jsonb) x`);
  await db.execute(sql`insert into tenant_settings (tenant_id, settings) select x->>'tenantId', '{}'::jsonb
    from jsonb_array_elements(${json}::jsonb) x`);
  await db.execute(sql`insert into zendesk_connections (tenant_id, id, subdomain, hook_id, webhook_secret,
      access_token, access_expires_at, status)
    select x->>'tenantId', x->>'connectionId', 'sub' || lower(replace(replace(x->>'hookId', '-', 'a'), '_', 'b')),
      x->>'hookId', x->>'webhook', x->>'token', now() + interval '365 days', 'active'
    from jsonb_array_elements(${json}::jsonb) x`);
  await db.execute(sql`insert into slack_installations (tenant_id, id, team_id, access_token, status)
    select x->>'tenantId', 'si_' || (x->>'hookId'), 'T' || upper(substr(md5(x->>'hookId'), 1, 10)),
      x->>'bot', 'active'
    from jsonb_array_elements(${json}::jsonb) x`);
  await db.execute(sql`insert into accounts (tenant_id, id, name, domains, emails)
    select x->>'tenantId', 'acc_' || g, 'Account ' || g, array['a' || g || '.example'], array[]::text[]
    from jsonb_array_elements(${json}::jsonb) x, generate_series(1, 10) g`);
  fixtures.push(...rows);
}
process.stderr.write(`seeded ${TENANTS} tenants in ${Math.round(performance.now() - t0)} ms\n`);

// The claim key the server derives from its ENCRYPTION_KEY, installed by the owner (as
// `npm run db:migrate` with MIGRATION_DATABASE_URL does).
const owner = await openDatabase({
  url: bench.url,
  maxConnections: 1,
  claimKey: deriveClaimKey(bench.encryptionKey),
});
await owner.migrate();
await owner.close();
const runtimeUrl = new URL(bench.url);
runtimeUrl.username = 'helpdesk_runtime';
runtimeUrl.password = '';
const freePort = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});
// Exactly the Node flags `npm start` passes (package.json), unless NODE_FLAGS says otherwise.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  scripts: { start: string };
};
const flags = (process.env.NODE_FLAGS ?? pkg.scripts.start).split(/\s+/).filter((a) => a.startsWith('--'));
const child = spawn(process.execPath, [...flags, new URL('../src/entry/node.ts', import.meta.url).pathname], {
  env: {
    ...process.env,
    DATABASE_URL: runtimeUrl.toString(),
    ENCRYPTION_KEY: bench.encryptionKey,
    PUBLIC_URL: 'https://copilot.bench.test',
    PORT: String(freePort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let stderr = '';
child.stderr!.on('data', (c) => {
  stderr += c;
});
const port = await new Promise<number>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      const m = JSON.parse(l) as { msg?: string };
      if (m.msg === 'listening') resolve(freePort);
    } catch {}
  });
});
const rssMb = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return Math.round(Number(m?.[1] ?? 0) / 1024);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
await sleep(1000);
const started = rssMb();
await sleep(IDLE_MS);
const idle = rssMb();
const base = `http://127.0.0.1:${port}`;
let accepted = 0;
for (let i = 0; i < 100; i++) {
  await fetch(`${base}/healthz`).then((r) => r.arrayBuffer());
  const f = fixtures[Math.floor((i * fixtures.length) / 100)]!;
  const req = await prepareRequest(f, 1000 + i);
  const res = await fetch(`${base}/webhooks/zendesk/${f.hookId}`, {
    method: 'POST',
    headers: req.headers,
    body: req.body,
  });
  if (res.status === 200) accepted++;
  else if (i === 0) process.stderr.write(`webhook answered ${res.status}: ${await res.clone().text()}\n`);
  await res.arrayBuffer();
}
await sleep(2000);
const afterBurst = rssMb();
// Where the resident memory is: anonymous (heaps, malloc, WASM) against file-backed (the binary, libraries).
const rollup = readFileSync(`/proc/${child.pid}/smaps_rollup`, 'utf8');
const kb = (name: string) =>
  Math.round(Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) / 1024);
const split = { anonymousMb: kb('Anonymous'), fileMb: kb('Rss') - kb('Anonymous') };
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
process.stdout.write(
  `${JSON.stringify({
    tenants: TENANTS,
    flags,
    rssMb: { started, idle, afterBurst },
    split,
    webhooksAccepted: accepted,
    load,
  })}\n`,
);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await bench.drop();
