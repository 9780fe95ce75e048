import { serve } from '@hono/node-server';
import { createApp } from '../app.ts';
import { appliedMigrations, EXPECTED_MIGRATIONS } from '../db/client.ts';
import { createJobQueue } from '../jobs/queue.ts';
import type { JobHandler } from '../jobs/types.ts';
import { createWorker } from '../jobs/worker.ts';
import { loadConfigOrExit, openRuntime } from './runtime.ts';

/** Node entry: wiring only. Embedded PGlite is migrated on start; PostgreSQL via `npm run db:migrate`. */
const config = loadConfigOrExit(process.env);
const rt = await openRuntime(config, { migrate: !config.DATABASE_URL });
if (rt.database.kind === 'postgres') {
  const applied = await appliedMigrations(rt.database.db);
  if (applied !== EXPECTED_MIGRATIONS) {
    rt.logger.warn(
      'database migrations are not current: run `npm run db:migrate`; /readyz answers 503 until then',
      {
        applied,
        expected: EXPECTED_MIGRATIONS,
      },
    );
  }
}

const queue = createJobQueue();
const app = createApp({ config, database: rt.database, vault: rt.vault, logger: rt.logger, queue });

// Job handlers by kind; the ticket pipeline registers 'zendesk.ticket' here.
const jobHandlers: Record<string, JobHandler> = {};
const worker = config.WORKER_ENABLED
  ? createWorker({ database: rt.database, handlers: jobHandlers, logger: rt.logger })
  : undefined;
worker?.start();
const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
  rt.logger.info('listening', { url: `http://${info.address}:${info.port}`, publicUrl: config.PUBLIC_URL });
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  rt.logger.info('shutting down', { signal });
  server.close();
  // Graceful: running jobs finish (or are aborted after 25 s and rerun elsewhere after their lease).
  await worker?.stop({ timeoutMs: 25_000 });
  await rt.database.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
