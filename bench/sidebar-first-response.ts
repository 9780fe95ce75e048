/**
 * The sidebar's first response on PostgreSQL with the app's public key cached: verify the
 * signed-URL token (RS256, the tenant look-up, the installation), mint the bearer credential,
 * render the page; then the draft with its citations as the page's first API call loads it.
 * Both are timed together per iteration (what an agent waits for before the draft shows), on a
 * fresh database, in this process, no network.
 *
 * Usage: node bench/sidebar-first-response.ts [--help]
 *   BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres: a fresh database is
 *   created there and dropped after), ITERATIONS (default 500), WARMUP (default 50).
 */
import postgres from 'postgres';
import { openDatabase } from '../src/db/client.ts';
import { sidebarPage } from '../src/http/views/sidebar.ts';
import { randomToken } from '../src/lib/ids.ts';
import { createVault, generateMasterKey } from '../src/tenancy/vault.ts';
import { mintSidebarCredential, verifySidebarCredential } from '../src/zendesk/sidebar-credentials.ts';
import { sidebarTicketView } from '../src/zendesk/sidebar-drafts.ts';
import { createPublicKeyCache, verifySidebarToken } from '../src/zendesk/sidebar-token.ts';
import {
  seedSidebarTenant,
  sidebarZendeskFake,
  signSidebarToken,
  tokenManager,
} from '../test/integration/sidebar-fixture.ts';

if (process.argv.includes('--help')) {
  console.log(
    'node bench/sidebar-first-response.ts  (BENCH_DATABASE_URL, ITERATIONS=500, WARMUP=50): p50/p95 of the sidebar first response',
  );
  process.exit(0);
}

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const iterations = Number(process.env.ITERATIONS ?? 500);
const warmup = Number(process.env.WARMUP ?? 50);
const name = `hc_bench_sidebar_${randomToken(4)
  .toLowerCase()
  .replace(/[^a-z0-9]/g, '')}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${name}"`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const database = await openDatabase({ url: url.toString(), maxConnections: 5 });
try {
  await database.migrate();
  const vault = createVault([{ version: 1, key: generateMasterKey() }]);
  const fake = await sidebarZendeskFake('benchco');
  const seeded = await seedSidebarTenant(database.db, vault, fake, { ticketId: '1001' });
  const keys = createPublicKeyCache({ ttlMs: 3_600_000 });
  // The key is cached (as after the first load of this app in this process).
  await keys.get(`${fake.subdomain}:${fake.appId}`, async () => fake.publicKeyPem);
  const tokens = tokenManager(database.db, vault);
  const token = await signSidebarToken(fake, { agentId: '9001', expSeconds: 3600 });
  const deps = { database, tokens, now: () => new Date() };

  const once = async () => {
    const t0 = performance.now();
    const identity = await verifySidebarToken({ db: database.db, tokens, keys }, token);
    const { credential, expiresAt } = await mintSidebarCredential(database.db, identity, { now: new Date() });
    const page = String(await sidebarPage({ credential, expiresAt, subdomain: identity.subdomain }));
    const principal = await verifySidebarCredential(database.db, `Bearer ${credential}`, new Date());
    const view = JSON.stringify(await sidebarTicketView(deps, principal, seeded.ticketId));
    if (!page.includes('data-credential') || !view.includes('Single sign-on'))
      throw new Error('wrong output');
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) samples.push(await once());
  samples.sort((a, b) => a - b);
  const pct = (p: number) =>
    samples[Math.min(samples.length - 1, Math.ceil((p / 100) * samples.length) - 1)]!;
  const f = (n: number) => n.toFixed(2);
  console.log(
    `sidebar first response (verify + credential + page + draft with citations), n=${iterations}: p50 ${f(pct(50))} ms, p95 ${f(pct(95))} ms, p99 ${f(pct(99))} ms, max ${f(samples[samples.length - 1]!)} ms`,
  );
} finally {
  await database.close();
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.end({ timeout: 2 });
}
