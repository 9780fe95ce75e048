/**
 * Directory size vs the per-draft cost of routing and the leak guard (issue 15 item 5).
 *
 * Builds one tenant per directory size (100, 1,000 and 10,000 accounts by default, three users
 * each, written through `syncDirectory` as the admin API does), all in one fresh database, then
 * for each tenant measures, each call in its own `withTenant` transaction as the pipeline runs it:
 *
 * - routing by requester email, by requester domain (a new person at a known domain) and an end
 *   user on a brand mapped to an account (`routeTicket`);
 * - the leak guard (`guardDraft`) on an account draft (~900 characters naming the account's own
 *   name, people, plan and a link; every 10th also names another account, which must block) and
 *   on an end-user draft (the end user's own reservation; must pass);
 * - the first guard call after the directory write (cold: the matchers are built) separately
 *   from the warm ones, and again after a one-account directory write (the rebuild it causes);
 * - on PostgreSQL, EXPLAIN ANALYZE of the email and domain look-ups as the runtime role.
 *
 * Prints median and p95 per size and the ratio of the largest size to the smallest (warm p50).
 *
 * Usage: node bench/directory-scale.ts [--help]
 *   BENCH_DATABASE_URL  admin URL (default postgres://postgres@127.0.0.1:5432/postgres); a fresh
 *                       database is created there, migrated as that user, used as the runtime role
 *                       (helpdesk_runtime, row-level security on), and dropped after
 *   SIZES=100,1000,10000   USERS=3 (users per account)   N=200 (warm drafts per size and measure)
 *   MAX_SECONDS=60      stop a measure early after this long (at least 3 warm samples)
 *   PGLITE=1            also run on in-memory PGlite (after PostgreSQL); PG=0 skips PostgreSQL
 */
import './usage.ts'; // --help: first, before any other module runs
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { type Database, openDatabase, rowsOf } from '../src/db/client.ts';
import { withTenant } from '../src/db/tenant.ts';
import { randomToken } from '../src/lib/ids.ts';
import { guardDraft } from '../src/pipeline/leak-guard.ts';
import { accountsByIdentifier, type RouteDecision, routeTicket } from '../src/pipeline/routing.ts';
import { readPipelineSettings } from '../src/pipeline/settings.ts';
import { replaceCatalog, syncDirectory, updateSettings } from '../src/pipeline/tenant-config.ts';
import type { PipelineTicket } from '../src/pipeline/types.ts';
import { createTenant } from '../src/tenancy/tenants.ts';

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SIZES = (process.env.SIZES ?? '100,1000,10000').split(',').map(Number);
const USERS = Number(process.env.USERS ?? 3);
const N = Number(process.env.N ?? 200);
const MAX_MS = Number(process.env.MAX_SECONDS ?? 60) * 1000;
const END_USERS = 40;
const actor = { type: 'system', name: 'bench' } as const;

// ------------------------------------------------------------------ a synthetic directory
/** Deterministic PRNG (mulberry32) so every run builds the same directories. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const ONSETS = [
  'b',
  'br',
  'c',
  'd',
  'f',
  'g',
  'gl',
  'k',
  'l',
  'm',
  'n',
  'p',
  'qu',
  'r',
  's',
  't',
  'tr',
  'v',
  'z',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io'];
const CODAS = ['', 'n', 'r', 'x', 'l', 'm', 'nd', 'st', 'rk'];
const SUFFIXES = [
  'Systems',
  'Labs',
  'Holdings',
  'Group',
  'Ltd',
  'Inc',
  'Analytics',
  'Foods',
  'Studio',
  'GmbH',
];
const FIRST = ['Maya', 'Noor', 'Liam', 'Ava', 'Kai', 'Lena', 'Omar', 'Sofia', 'Ivan', 'Zoe', 'Ravi', 'Emma'];
const LAST = [
  'Ortiz',
  'Haddad',
  'Brandt',
  'Nakamura',
  'Okafor',
  'Silva',
  'Novak',
  'Reyes',
  'Kowalski',
  'Chen',
];
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

interface SeedAccount {
  id: string;
  name: string;
  domain: string;
  plan: string;
  users: { email: string; name: string; role: string }[];
}

function directory(size: number, seed: number): SeedAccount[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  // Invented words, unique in the directory and never a word of the drafts below (a company
  // called "Second Labs" would make "the second failure" a partial-name hit).
  const used = new Set<string>(DRAFT_WORDS);
  const word = (minLength: number) => {
    let w = '';
    do {
      w = '';
      for (let s = 0; s < 2 + Math.floor(r() * 2); s++) w += pick(ONSETS) + pick(VOWELS) + pick(CODAS);
    } while (w.length < minLength || used.has(w));
    used.add(w);
    return w;
  };
  const out: SeedAccount[] = [];
  for (let i = 0; i < size; i++) {
    const company = word(5);
    const domain = `${company}.example`;
    const users = Array.from({ length: USERS }, (_, u) => {
      const first = pick(FIRST);
      const last = cap(word(4));
      return {
        email: `${first}.${last}@${domain}`.toLowerCase(),
        name: `${first} ${last}`,
        role: u === 0 ? 'owner' : 'member',
      };
    });
    out.push({
      id: `acc_${String(i + 1).padStart(5, '0')}`,
      name: `${cap(company)} ${pick(SUFFIXES)}`,
      domain,
      plan: pick(['starter', 'pro', 'enterprise']),
      users,
    });
  }
  return out;
}

const PLAN_NAMES: Record<string, string> = { starter: 'Starter', pro: 'Pro', enterprise: 'Enterprise' };

function accountDraft(a: SeedAccount, other: SeedAccount | null): string {
  const [owner, second] = [a.users[0]!, a.users[1] ?? a.users[0]!];
  return [
    `Hi ${owner.name.split(' ')[0]},`,
    '',
    `Thanks for writing in about the Reports tab for ${a.name}. I looked at your workspace: the ${PLAN_NAMES[a.plan]} plan`,
    'includes scheduled reports, and the export you set up on 2026-11-28 ran as planned, but its delivery',
    `to ${owner.email} bounced twice, so the schedule paused itself after the second failure.`,
    other ? `Like ${other.name}, you can also send the export to a shared inbox instead.` : '',
    '',
    'To resume it: open Settings, then Reports, choose the paused schedule and press Resume. If the',
    'address is right, ask your mail administrator to allow messages from reports@mailer.example;',
    `${second.name} (${second.email}) can do this too, as an admin of the account.`,
    'More about delivery rules: https://help.example/reports/scheduling#delivery',
    '',
    'Best regards,',
    'The support team',
  ].join('\n');
}

function endUserDraft(name: string, reservation: string): string {
  return [
    `Hi ${name},`,
    '',
    `Your reservation ${reservation} is confirmed and ready for pickup from 2026-12-02 at the store counter.`,
    'Please bring the reservation code; reservations are held for three days after the pickup date.',
    'You can read more at https://help.example/shoppers/pickup.',
    '',
    'Have a nice day!',
  ].join('\n');
}

/** Every word of the draft templates, lower case: the invented names avoid them. */
const DRAFT_WORDS: string[] = (() => {
  const dummy: SeedAccount = {
    id: 'x',
    name: 'X',
    domain: 'x',
    plan: 'pro',
    users: [{ email: 'x', name: 'X', role: 'x' }],
  };
  return [
    ...`${accountDraft(dummy, dummy)} ${endUserDraft('X', 'X')}`.toLowerCase().matchAll(/\p{L}+/gu),
  ].map((m) => m[0]);
})();

const ticket = (email: string, brand: string | null = null): PipelineTicket => ({
  id: '1',
  subject: 'Reports tab',
  body: 'Our scheduled report stopped arriving.',
  requester: { id: '11', email, name: 'Someone' },
  organization: null,
  brand,
  recipient: null,
  via: 'email',
  createdAt: null,
});

// ------------------------------------------------------------------ measuring
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const f = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ms = (n: number) => (Number.isNaN(n) ? 'n/a' : `${f(n)} ms`);

/**
 * The longest event-loop stall seen (ms), or NaN when the timer never got a turn: PGlite runs
 * in this thread and its queries resolve without one, so on PGlite this is not measured.
 */
const loopMax = (h: ReturnType<typeof monitorEventLoopDelay>) => (h.count ? h.max / 1e6 : Number.NaN);

interface Series {
  p50: number;
  p95: number;
  n: number;
  loopMaxMs: number;
}

async function series(fn: (i: number) => Promise<void>): Promise<Series> {
  const xs: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const start = performance.now();
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await fn(i);
    xs.push(performance.now() - t0);
    if (i >= 2 && performance.now() - start > MAX_MS) break;
  }
  loop.disable();
  return { p50: pct(xs, 50), p95: pct(xs, 95), n: xs.length, loopMaxMs: loopMax(loop) };
}

interface SizeResult {
  size: number;
  syncSeconds: number;
  routeEmail: Series;
  routeDomain: Series;
  routeEndUser: Series;
  guardColdMs: number;
  guardColdLoopMaxMs: number;
  guardEndUserColdMs: number;
  oneAccountWriteMs: number;
  guardAfterWriteMs: number;
  plans: string[];
  guard: Series;
  guardEndUser: Series;
  blocked: number;
  expectedBlocked: number;
}

interface Seeded {
  size: number;
  tenantId: string;
  accounts: SeedAccount[];
  brandAccount: SeedAccount;
  syncSeconds: number;
}

async function seed(database: Database, size: number): Promise<Seeded> {
  const tenantId = (await createTenant(database.db, { name: `Directory ${size}`, actor })).id;
  const accounts = directory(size, size);
  const brandAccount = accounts[Math.floor(size / 2)]!;
  const t0 = performance.now();
  await withTenant(database.db, tenantId, async (tx) => {
    const ctx = { tenantId, tx, actor };
    await replaceCatalog(ctx, {
      plans: [
        { key: 'starter', name: 'Starter', monthlyPrice: 49 },
        { key: 'pro', name: 'Pro', monthlyPrice: 149 },
        { key: 'enterprise', name: 'Enterprise', monthlyPrice: 990 },
      ],
    });
    await updateSettings(ctx, {
      routing: { orgField: 'account_id', brands: { 'Shop Help': brandAccount.id } },
    });
    await syncDirectory(ctx, {
      mode: 'replace',
      accounts: accounts.map((a) => ({
        id: a.id,
        name: a.name,
        plan: a.plan,
        domains: [a.domain],
        users: a.users,
        internalNotes: `Renewal call booked for Q1; asked about a discount for ${a.users.length} seats.`,
        ...(a === brandAccount
          ? {
              endUsers: Array.from({ length: END_USERS }, (_, i) => ({
                email: `shopper${i}@mailbox.example`,
                name: `${FIRST[i % FIRST.length]} ${LAST[(i * 7) % LAST.length]}`,
                records: { reservations: [{ id: `R-${7000 + i}`, status: 'confirmed' }], points: 10 + i },
              })),
            }
          : {}),
      })),
    });
  });
  return { size, tenantId, accounts, brandAccount, syncSeconds: (performance.now() - t0) / 1000 };
}

async function measure(database: Database, s: Seeded): Promise<SizeResult> {
  const { tenantId, accounts, brandAccount } = s;
  const routing = await withTenant(
    database.db,
    tenantId,
    async (tx) => (await readPipelineSettings(tx)).routing,
  );
  const r = rng(s.size + 1);
  const pick = () => accounts[Math.floor(r() * accounts.length)]!;
  const route = (t: PipelineTicket) => withTenant(database.db, tenantId, (tx) => routeTicket(tx, t, routing));
  const guard = (rt: RouteDecision, body: string) =>
    withTenant(database.db, tenantId, (tx) => guardDraft(tx, rt, body));
  const expect = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`bench: wrong result: ${what}`);
  };

  // Cold: the first guard calls after the directory was written.
  let a0 = pick();
  while (a0 === accounts[0]) a0 = pick();
  const accountRoute: RouteDecision = {
    level: 'account',
    accountId: a0.id,
    endUserEmail: null,
    endUserId: null,
    reason: 'requester_email',
  };
  const coldLoop = monitorEventLoopDelay({ resolution: 1 });
  coldLoop.enable();
  let t0 = performance.now();
  expect((await guard(accountRoute, accountDraft(a0, null))).verdict.action === 'pass', 'cold guard pass');
  const guardColdMs = performance.now() - t0;
  coldLoop.disable();
  const endUserRoute = await route(ticket('shopper3@mailbox.example', 'Shop Help'));
  expect(endUserRoute.level === 'end_user' && endUserRoute.accountId === brandAccount.id, 'end-user route');
  t0 = performance.now();
  const eu = await guard(endUserRoute, endUserDraft('Kai', 'R-7003'));
  expect(eu.verdict.action === 'pass', `cold end-user guard: ${JSON.stringify(eu.verdict)}`);
  const guardEndUserColdMs = performance.now() - t0;

  const routeEmail = await series(async () => {
    const a = pick();
    const d = await route(ticket(a.users[1 % a.users.length]!.email.toUpperCase()));
    expect(d.accountId === a.id && d.reason === 'requester_email', 'route by email');
  });
  const routeDomain = await series(async (i) => {
    const a = pick();
    const d = await route(ticket(`new.hire${i}@${a.domain}`));
    expect(d.accountId === a.id && d.reason === 'requester_domain', 'route by domain');
  });
  const routeEndUser = await series(async (i) => {
    const d = await route(ticket(`shopper${i % END_USERS}@mailbox.example`, 'Shop Help'));
    expect(d.level === 'end_user', 'end-user route');
  });
  let blocked = 0;
  let expectedBlocked = 0;
  const guardSeries = await series(async (i) => {
    const a = pick();
    let other: SeedAccount | null = null;
    if (i % 10 === 9) {
      do other = pick();
      while (other.id === a.id);
      expectedBlocked++;
    }
    const v = await guard({ ...accountRoute, accountId: a.id }, accountDraft(a, other));
    if (v.verdict.action === 'blocked') blocked++;
    expect(v.verdict.action === (other ? 'blocked' : 'pass'), `guard ${JSON.stringify(v.verdict)}`);
  });
  const guardEndUser = await series(async (i) => {
    const k = i % END_USERS;
    const v = await guard(
      { ...endUserRoute, endUserEmail: `shopper${k}@mailbox.example` },
      endUserDraft(FIRST[k % FIRST.length]!, `R-${7000 + k}`),
    );
    expect(v.verdict.action === 'pass', `end-user guard ${JSON.stringify(v.verdict)}`);
  });

  // One account changes (a user added, as a sync of one account does): the next draft rebuilds.
  const changed = accounts[0]!;
  t0 = performance.now();
  await withTenant(database.db, tenantId, (tx) =>
    syncDirectory(
      { tenantId, tx, actor },
      {
        accounts: [
          {
            id: changed.id,
            name: changed.name,
            plan: changed.plan,
            domains: [changed.domain],
            users: [
              ...changed.users,
              { email: `rebuild.check@${changed.domain}`, name: 'Rebuild Check', role: 'member' },
            ],
          },
        ],
      },
    ),
  );
  const oneAccountWriteMs = performance.now() - t0;
  t0 = performance.now();
  expect(
    (await guard(accountRoute, `${accountDraft(a0, null)}\nCc: rebuild.check@${changed.domain}`)).verdict
      .action === 'blocked',
    'guard sees the change',
  );
  const guardAfterWriteMs = performance.now() - t0;

  const plans: string[] = [];
  if (database.kind === 'postgres') {
    for (const [kind, value] of [
      ['email', pick().users[0]!.email],
      ['domain', pick().domain],
    ] as const) {
      const plan = await withTenant(database.db, tenantId, async (tx) =>
        rowsOf<{ 'QUERY PLAN': string }>(
          await tx.execute(
            sql`explain (analyze, costs off, timing off, summary on) ${accountsByIdentifier(tx, kind, value).getSQL()}`,
          ),
        ).map((row) => row['QUERY PLAN']),
      );
      plans.push(`-- ${kind} = '${value}'\n${plan.join('\n')}`);
    }
  }
  return {
    size: s.size,
    syncSeconds: s.syncSeconds,
    routeEmail,
    routeDomain,
    routeEndUser,
    guardColdMs,
    guardColdLoopMaxMs: loopMax(coldLoop),
    guardEndUserColdMs,
    oneAccountWriteMs,
    guardAfterWriteMs,
    plans,
    guard: guardSeries,
    guardEndUser,
    blocked,
    expectedBlocked,
  };
}

function report(label: string, results: SizeResult[]) {
  const ps = (x: Series) => `${f(x.p50)} / ${f(x.p95)}`;
  console.log(`\n### ${label}\n`);
  console.log(
    '| accounts | directory write | route email p50 / p95 | route domain p50 / p95 | route end user p50 / p95 | guard cold | guard warm p50 / p95 (n) | guard end-user cold | guard end-user warm p50 / p95 | event-loop max (guard) | blocked / expected |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.size.toLocaleString('en')} | ${r.syncSeconds.toFixed(1)} s | ${ps(r.routeEmail)} ms | ${ps(r.routeDomain)} ms | ${ps(r.routeEndUser)} ms | ${f(r.guardColdMs)} ms | ${ps(r.guard)} ms (${r.guard.n}) | ${f(r.guardEndUserColdMs)} ms | ${ps(r.guardEndUser)} ms | ${ms(r.guard.loopMaxMs)} | ${r.blocked} / ${r.expectedBlocked} |`,
    );
  console.log(
    '\n| accounts | guard cold: event-loop max | one-account directory write | first guard after it (rebuild) |\n|---|---|---|---|',
  );
  for (const r of results)
    console.log(
      `| ${r.size.toLocaleString('en')} | ${ms(r.guardColdLoopMaxMs)} | ${f(r.oneAccountWriteMs)} ms | ${f(r.guardAfterWriteMs)} ms |`,
    );
  const lo = results[0];
  const hi = results[results.length - 1];
  if (hi?.plans.length)
    console.log(`\nEXPLAIN ANALYZE at ${hi.size} accounts (runtime role):\n\n${hi.plans.join('\n\n')}`);
  if (lo && hi && hi !== lo) {
    const ratio = (g: (x: SizeResult) => number) => (g(hi) / g(lo)).toFixed(2);
    console.log(
      `\nratio ${hi.size}/${lo.size} (warm p50): route email ${ratio((x) => x.routeEmail.p50)}x, route domain ${ratio((x) => x.routeDomain.p50)}x, guard ${ratio((x) => x.guard.p50)}x, guard end-user ${ratio((x) => x.guardEndUser.p50)}x, route email + guard ${ratio((x) => x.routeEmail.p50 + x.guard.p50)}x`,
    );
  }
}

async function run(label: string, database: Database) {
  const seeded: Seeded[] = [];
  for (const size of SIZES) {
    seeded.push(await seed(database, size));
    console.error(`${label}: seeded ${size} accounts in ${seeded.at(-1)!.syncSeconds.toFixed(1)} s`);
  }
  const results: SizeResult[] = [];
  for (const s of seeded) {
    results.push(await measure(database, s));
    console.error(`${label}: measured ${s.size}`);
  }
  report(label, results);
}

console.log(
  `directory-scale: sizes ${SIZES.join(', ')}, ${USERS} users per account, N=${N}, MAX_SECONDS=${MAX_MS / 1000}, node ${process.version}`,
);
if (process.env.PG !== '0') {
  const name = `hc_bench_directory_${randomToken(4)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const ownerUrl = new URL(adminUrl);
  ownerUrl.pathname = `/${name}`;
  let database: Database | null = null;
  try {
    const owner = await openDatabase({ url: ownerUrl.toString(), maxConnections: 1 });
    await owner.migrate();
    await owner.close();
    // The runtime role as the server connects (row-level security applies to every query).
    await admin.unsafe('alter role helpdesk_runtime login nosuperuser nobypassrls');
    const runtimeUrl = new URL(ownerUrl);
    runtimeUrl.username = 'helpdesk_runtime';
    runtimeUrl.password = '';
    database = await openDatabase({ url: runtimeUrl.toString(), maxConnections: 4 });
    await run(`PostgreSQL (${(await admin`show server_version`)[0]!.server_version})`, database);
  } finally {
    await database?.close();
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end({ timeout: 5 });
  }
}
if (process.env.PGLITE === '1') {
  const database = await openDatabase({ dataDir: 'memory://' });
  try {
    await database.migrate();
    await run('PGlite (in memory)', database);
  } finally {
    await database.close();
  }
}
