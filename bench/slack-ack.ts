/**
 * Slack ack latency and time to first streamed text, in one process: the real app (createApp
 * with Bolt and the ask listeners, called in-process with app.request: no network hop), the
 * worker running beside it, embedded PGlite, the offline drafter, and a 0-ms Slack stub (an
 * injected fetch answering every Web API call at once).
 *
 *   node bench/slack-ack.ts                    # 100 events/s for 10 s
 *   RATE=100 SECONDS=10 node bench/slack-ack.ts
 *   PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres node bench/slack-ack.ts   # on PostgreSQL
 *
 * Targets: ack p99 < 50 ms at 100 events/s; event -> first streamed text (the draft's
 * markdown_text append) < 1 s.
 */
import './usage.ts'; // --help: first, before any other module runs
import { createHmac } from 'node:crypto';
import { createApp } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { accounts, slackInstallations } from '../src/db/schema/index.ts';
import { withTenant } from '../src/db/tenant.ts';
import { createJobQueue } from '../src/jobs/queue.ts';
import { createWorker } from '../src/jobs/worker.ts';
import { createLogger } from '../src/lib/logger.ts';
import { UNLIMITED } from '../src/limits/upstream.ts';
import type { TokenProvider } from '../src/oauth/token-provider.ts';
import { createOfflineDrafter } from '../src/pipeline/drafting/offline.ts';
import { createAskHandler } from '../src/slack/ask.ts';
import { SLACK_ASK_JOB_KIND } from '../src/slack/ask-job.ts';
import { createSlackBolt } from '../src/slack/bolt.ts';
import { registerSlackListeners } from '../src/slack/listeners.ts';
import { updateSlackSettings } from '../src/slack/settings.ts';
import { createTenant } from '../src/tenancy/tenants.ts';
import { createVault, generateMasterKey } from '../src/tenancy/vault.ts';

const RATE = Number(process.env.RATE ?? 100);
const SECONDS = Number(process.env.SECONDS ?? 10);
const SECRET = 'bench-signing-secret';

// PG_ADMIN_URL=postgres://postgres@127.0.0.1:5432/postgres: a fresh PostgreSQL database (dropped
// after); otherwise embedded in-memory PGlite (one connection: the worker and the acks share it).
const adminUrl = process.env.PG_ADMIN_URL;
const benchDb = `hc_bench_slack_${Date.now().toString(36)}`;
let admin: import('postgres').Sql | undefined;
if (adminUrl) {
  const { default: postgres } = await import('postgres');
  admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${benchDb}"`);
}
const dbUrl = adminUrl ? Object.assign(new URL(adminUrl), { pathname: `/${benchDb}` }).toString() : undefined;
const database = await openDatabase(dbUrl ? { url: dbUrl, maxConnections: 10 } : { dataDir: 'memory://' });
await database.migrate();
const vault = createVault([{ version: 1, key: generateMasterKey() }]);
const logger = createLogger('silent');
const { id: tenantId } = await createTenant(database.db, {
  name: 'Bench',
  actor: { type: 'system', name: 'bench' },
});
await withTenant(database.db, tenantId, async (tx) => {
  await tx.insert(slackInstallations).values({
    tenantId,
    id: 'si_bench',
    teamId: 'TBENCH',
    botUserId: 'UBOT',
    botId: 'BBOT',
    accessToken: 'unused',
  });
  await tx
    .insert(accounts)
    .values({ tenantId, id: 'acct-1', name: 'Acme', plan: 'pro', domains: ['acme.example'] });
  await updateSlackSettings(tx, tenantId, (s) => ({ ...s, channels: { CBENCH0001: 'acct-1' } }));
});
// The bench's own token source: the Slack stub accepts any token.
const tokens: TokenProvider = { getAccessToken: async () => 'xoxb-bench' };

const firstText = new Map<string, number>();
const sentAt = new Map<string, number>();
const slackFetch: typeof fetch = async (input, init) => {
  const method = String(input).split('/api/')[1] ?? '';
  const form = new URLSearchParams(String(init?.body ?? ''));
  if (method === 'chat.appendStream' && (form.get('chunks') ?? '').includes('"markdown_text"')) {
    const key = form.get('ts') ?? '';
    const thread = streamThread.get(key);
    if (thread && !firstText.has(thread)) firstText.set(thread, performance.now());
  }
  let ts = `1700000000.${String(++seq).padStart(6, '0')}`;
  if (method === 'chat.startStream') streamThread.set(ts, form.get('thread_ts') ?? '');
  if (method === 'conversations.info')
    return Response.json({ ok: true, channel: { id: form.get('channel'), is_ext_shared: false } });
  ts = ts.trim();
  return Response.json({ ok: true, ts });
};
const streamThread = new Map<string, string>();
let seq = 0;

const queue = createJobQueue();
const limiter = UNLIMITED;
const drafter = createOfflineDrafter();
const worker = createWorker({
  database,
  logger,
  concurrency: 4,
  perTenantConcurrency: 4,
  handlers: {
    [SLACK_ASK_JOB_KIND]: createAskHandler({
      database,
      vault,
      tokens,
      drafter,
      logger,
      limiter,
      queue,
      publicUrl: 'https://copilot.bench',
      slackFetch,
    }),
  },
});
const bolt = createSlackBolt({ db: database.db, tokens, logger });
registerSlackListeners(bolt.app, { database, queue, jobsEnqueued: () => worker.notify() });
const app = createApp({
  config: parseConfig({
    LOG_LEVEL: 'silent',
    PUBLIC_URL: 'https://copilot.bench',
    SLACK_SIGNING_SECRET: SECRET,
  }),
  database,
  vault,
  logger,
  tokens,
  queue,
  drafter,
  slackBolt: bolt,
  slackLimiter: limiter,
  jobsEnqueued: () => worker.notify(),
});
worker.start();

function event(i: number) {
  const threadTs = `1699999999.${String(i).padStart(6, '0')}`;
  const body = JSON.stringify({
    type: 'event_callback',
    team_id: 'TBENCH',
    api_app_id: 'A0BENCH',
    event_id: `EvBENCH${i}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'TBENCH', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
    event: {
      type: 'app_mention',
      user: 'UREP',
      user_team: 'TBENCH',
      channel: 'CBENCH0001',
      ts: threadTs,
      event_ts: threadTs,
      text: '<@UBOT> why is the sync failing?',
    },
  });
  const t = Math.floor(Date.now() / 1000);
  const sig = `v0=${createHmac('sha256', SECRET).update(`v0:${t}:${body}`).digest('hex')}`;
  return {
    threadTs,
    init: {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': String(t),
        'x-slack-signature': sig,
      },
    },
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

// Warm-up (JIT, first queries), not measured.
for (let i = 0; i < 20; i++) await app.request('/slack/events', event(1_000_000 + i).init);
await worker.runUntilIdle({ timeoutMs: 60_000 });

const n = RATE * SECONDS;
const acks: number[] = [];
const start = performance.now();
const pending: Promise<void>[] = [];
let non200 = 0;
for (let i = 0; i < n; i++) {
  const due = start + (i * 1000) / RATE;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const e = event(i);
  pending.push(
    (async () => {
      const t0 = performance.now();
      sentAt.set(e.threadTs, t0);
      const res = await app.request('/slack/events', e.init);
      if (res.status !== 200) non200++;
      acks.push(performance.now() - t0);
    })(),
  );
}
await Promise.all(pending);
await worker.runUntilIdle({ timeoutMs: 300_000 });
const toText = [...sentAt]
  .map(([thread, t0]) => (firstText.get(thread) ?? Number.NaN) - t0)
  .filter(Number.isFinite);
console.log(
  JSON.stringify(
    {
      rate: RATE,
      seconds: SECONDS,
      events: n,
      non200,
      answered: toText.length,
      ackMs: { p50: r1(pct(acks, 50)), p99: r1(pct(acks, 99)), max: r1(pct(acks, 100)) },
      firstTextMs: { p50: r1(pct(toText, 50)), p99: r1(pct(toText, 99)), max: r1(pct(toText, 100)) },
    },
    null,
    2,
  ),
);
await worker.stop({ timeoutMs: 5_000 });
await database.close();
if (admin) {
  await admin.unsafe(`drop database if exists "${benchDb}" with (force)`);
  await admin.end({ timeout: 2 });
}
