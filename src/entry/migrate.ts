import { appliedMigrations, EXPECTED_MIGRATIONS } from '../db/client.ts';
import { loadConfigOrExit, openRuntime } from './runtime.ts';

/**
 * `npm run db:migrate`: applies pending migrations as MIGRATION_DATABASE_URL (the owner; else
 * DATABASE_URL, or the embedded database) and installs the tenant-claim key.
 */
const config = loadConfigOrExit(process.env);
const rt = await openRuntime(config, { migrate: true, roleCheck: false });
const applied = await appliedMigrations(rt.database.db);
rt.logger.info('migrations applied', { database: rt.database.kind, applied, expected: EXPECTED_MIGRATIONS });
await rt.database.close();
