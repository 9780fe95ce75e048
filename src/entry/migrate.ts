import { appliedMigrations, EXPECTED_MIGRATIONS } from '../db/client.ts';
import { loadConfigOrExit, openRuntime } from './runtime.ts';

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database). */
const config = loadConfigOrExit(process.env);
const rt = await openRuntime(config, { migrate: true });
const applied = await appliedMigrations(rt.database.db);
rt.logger.info('migrations applied', { database: rt.database.kind, applied, expected: EXPECTED_MIGRATIONS });
await rt.database.close();
