import { isolationEvidence } from '../db/evidence.ts';
import { activeTenantIds } from '../tenancy/lookup.ts';
import { loadConfigOrExit, openRuntime } from './runtime.ts';

/** `npm run isolation:evidence [tenant-id]`: prints the isolation report (JSON) for one tenant or all. */
const config = loadConfigOrExit(process.env);
const rt = await openRuntime(config, { migrate: !config.DATABASE_URL, roleCheck: false });
try {
  const only = process.argv[2];
  const ids = only ? [only] : await activeTenantIds(rt.database.db);
  const report = await isolationEvidence(rt.database, ids);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const held = report.probes.every((p) => p.held) && report.auditChains.every((c) => c.ok);
  process.exitCode = held ? 0 : 1;
} finally {
  await rt.database.close();
}
