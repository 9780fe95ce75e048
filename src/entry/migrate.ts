import { appliedMigrations, EXPECTED_MIGRATIONS } from '../db/client.ts';
import { environment, loadConfigOrExit, openRuntime, wantsHelp } from './runtime.ts';

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database). */
if (wantsHelp()) {
  process.stdout.write(
    'usage: npm run db:migrate\n  Applies pending migrations (drizzle/) to DATABASE_URL, or to the embedded database under DATA_DIR.\n  Safe to run from several machines at once. Settings: see README.md, "Settings".\n',
  );
  process.exit(0);
}
const config = loadConfigOrExit(environment());
const rt = await openRuntime(config, { migrate: true });
const applied = await appliedMigrations(rt.database.db);
rt.logger.info('migrations applied', { database: rt.database.kind, applied, expected: EXPECTED_MIGRATIONS });
await rt.database.close();
