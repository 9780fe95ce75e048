/**
 * The real app on @hono/node-server, for the webhook benchmarks (spawned by bench/webhook-harness.ts
 * so the load generator does not share its event loop). Env: DATABASE_URL, ENCRYPTION_KEY, and
 * optionally BENCH_WORKER=1 with BENCH_JOB_DELAY_MS, BENCH_CONCURRENCY, BENCH_PER_TENANT, BENCH_POLL_MS
 * to run the job worker in the same process with a fixed-delay 'zendesk.ticket' handler.
 * Prints one JSON line `{"port":N}` when listening; stops on SIGTERM.
 */
import { serve } from '@hono/node-server';
import { createApp } from '../src/app.ts';
import { parseConfig } from '../src/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { createJobQueue } from '../src/jobs/queue.ts';
import { createWorker } from '../src/jobs/worker.ts';
import { createLogger } from '../src/lib/logger.ts';
import { createVault } from '../src/tenancy/vault.ts';

const config = parseConfig({
  DATABASE_URL: process.env.DATABASE_URL,
  ENCRYPTION_KEY: process.env.ENCRYPTION_KEY,
  LOG_LEVEL: 'silent',
  HOST: '127.0.0.1',
});
const logger = createLogger('warn');
const database = await openDatabase({ url: config.DATABASE_URL, maxConnections: 10 });
const vault = createVault(config.ENCRYPTION_KEY ?? []);

const delayMs = Number(process.env.BENCH_JOB_DELAY_MS ?? 50);
const worker =
  process.env.BENCH_WORKER === '1'
    ? createWorker({
        database,
        logger,
        handlers: { 'zendesk.ticket': () => new Promise((r) => setTimeout(r, delayMs)) },
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
