/**
 * The real app on @hono/node-server, for the webhook benchmarks (spawned by bench/webhook-harness.ts
 * so the load generator does not share its event loop). Env: DATABASE_URL, ENCRYPTION_KEY, and
 * optionally BENCH_WORKER=1 with BENCH_JOB_DELAY_MS, BENCH_CONCURRENCY, BENCH_PER_TENANT, BENCH_POLL_MS
 * to run the job worker in the same process with a fixed-delay 'zendesk.ticket' handler, or with
 * BENCH_HANDLER=pipeline and BENCH_STUB_URL the REAL handler (src/pipeline/process-ticket.ts, offline
 * drafter, real token manager) with https://<subdomain>.zendesk.com sent to the local stub
 * (bench/pipeline-fixture.ts) and every other host refused. BENCH_LIMITS=1 gives that handler the
 * shared per-tenant upstream limiter, as `npm start` does (src/limits/upstream.ts).
 * BENCH_SLACK_SECRET turns POST /slack/events on (no Bolt mounted: verify, parse, tenant look-up).
 * Without DATABASE_URL the embedded database (PGlite, in memory) is used: the server migrates it
 * and, with BENCH_SEED_ZENDESK=N, creates N Zendesk tenants and prints them as `{"fixtures":[...]}`
 * before the port line (the parent cannot reach an in-process database).
 * Prints one JSON line `{"port":N}` when listening; stops on SIGTERM.
 */
import './usage.ts'; // --help: first, before any other module runs
import { serve } from '@hono/node-server';
import { createApp } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { createJobQueue } from '../src/jobs/queue.ts';
import { createWorker } from '../src/jobs/worker.ts';
import { createLogger } from '../src/lib/logger.ts';
import { createUpstreamLimiter } from '../src/limits/upstream.ts';
import { createTokenManager } from '../src/oauth/token-manager.ts';
import { createOfflineDrafter } from '../src/pipeline/drafting/offline.ts';
import { createTicketHandler } from '../src/pipeline/process-ticket.ts';
import { createVault } from '../src/tenancy/vault.ts';
import { createZendeskTenant } from '../test/helpers/zendesk-sign.ts';

const config = parseConfig({
  DATABASE_URL: process.env.DATABASE_URL,
  ENCRYPTION_KEY: process.env.ENCRYPTION_KEY,
  SLACK_SIGNING_SECRET: process.env.BENCH_SLACK_SECRET,
  LOG_LEVEL: 'silent',
  HOST: '127.0.0.1',
});
const logger = createLogger('warn');
const database = await openDatabase({
  url: config.DATABASE_URL,
  maxConnections: Number(process.env.BENCH_POOL ?? 10),
});
const vault = createVault(config.ENCRYPTION_KEY ?? []);
if (database.kind === 'pglite') {
  await database.migrate();
  const n = Number(process.env.BENCH_SEED_ZENDESK ?? 0);
  const fixtures = [];
  for (let i = 0; i < n; i++) fixtures.push(await createZendeskTenant(database.db, vault));
  process.stdout.write(`${JSON.stringify({ fixtures })}\n`);
}

const delayMs = Number(process.env.BENCH_JOB_DELAY_MS ?? 50);
const sleepHandler = () => new Promise<void>((r) => setTimeout(r, delayMs));
let ticketHandler: typeof sleepHandler | ReturnType<typeof createTicketHandler> = sleepHandler;
if (process.env.BENCH_HANDLER === 'pipeline') {
  const stub = process.env.BENCH_STUB_URL;
  if (!stub) throw new Error('BENCH_HANDLER=pipeline needs BENCH_STUB_URL');
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const u = new URL(req.url);
    const m = /^([a-z0-9-]+)\.zendesk\.com$/.exec(u.hostname);
    if (u.protocol !== 'https:' || !m) return Promise.reject(new Error(`network closed: ${u.origin}`));
    return realFetch(new Request(`${stub}/${m[1]}${u.pathname}${u.search}`, req));
  };
  const pipelineLogger = createLogger('silent');
  ticketHandler = createTicketHandler({
    database,
    vault,
    tokens: createTokenManager({ db: database.db, vault, config, logger: pipelineLogger }),
    drafter: createOfflineDrafter(),
    logger: pipelineLogger,
    ...(process.env.BENCH_LIMITS === '1' ? { limits: createUpstreamLimiter({ db: database.db }) } : {}),
  });
}
const worker =
  process.env.BENCH_WORKER === '1'
    ? createWorker({
        database,
        logger,
        handlers: { 'zendesk.ticket': ticketHandler },
        concurrency: Number(process.env.BENCH_CONCURRENCY ?? 8),
        perTenantConcurrency: Number(process.env.BENCH_PER_TENANT ?? 4),
        pollMs: Number(process.env.BENCH_POLL_MS ?? 50),
      })
    : undefined;
worker?.start();
const app = createApp({
  config,
  database,
  vault,
  logger: createLogger('silent'),
  queue: createJobQueue(),
  ...(worker && process.env.BENCH_NUDGE !== '0' ? { jobsEnqueued: () => worker.notify() } : {}),
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
process.on('SIGTERM', async () => {
  server.close();
  await worker?.stop({ timeoutMs: 5_000 });
  await database.close();
  process.exit(0);
});
