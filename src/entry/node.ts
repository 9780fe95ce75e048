import { serve } from '@hono/node-server';
import { createApp } from '../app.ts';
import { appliedMigrations, EXPECTED_MIGRATIONS } from '../db/client.ts';
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

const app = createApp({ config, database: rt.database, vault: rt.vault, logger: rt.logger });
const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
  rt.logger.info('listening', { url: `http://${info.address}:${info.port}`, publicUrl: config.PUBLIC_URL });
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  rt.logger.info('shutting down', { signal });
  server.close();
  await rt.database.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
