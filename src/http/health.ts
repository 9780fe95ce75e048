import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { appliedMigrations, EXPECTED_MIGRATIONS } from '../db/client.ts';
import { describeRuntimeRole, isolationLevel } from '../db/role-check.ts';
import { describeError } from '../lib/errors.ts';
import type { AppEnv } from './types.ts';

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: unknown }>;

/**
 * `/healthz`: the process is up. `/readyz`: the database answers, its migrations are current, and
 * which tenant isolation level is in force.
 */
export function healthRoutes(extraChecks: Record<string, ReadinessCheck> = {}) {
  const app = new Hono<AppEnv>();
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    const { database } = c.get('deps');
    const checks: Record<string, { ok: boolean; detail?: unknown }> = {};
    try {
      await database.db.execute(sql`select 1`);
      const applied = await appliedMigrations(database.db);
      checks.database = { ok: true, detail: { kind: database.kind } };
      // Which isolation is in force: database-enforced (PostgreSQL, runtime role, signed claims)
      // or application-only (the embedded database, or a role the start check would refuse).
      const role = await describeRuntimeRole(database);
      checks.isolation = { ok: true, detail: { level: isolationLevel(database, role) } };
      checks.migrations = {
        ok: applied === EXPECTED_MIGRATIONS,
        detail: { applied: Math.max(applied, 0), expected: EXPECTED_MIGRATIONS },
      };
    } catch (e) {
      c.get('log').warn('readiness: database unreachable', { error: describeError(e) });
      checks.database = { ok: false, detail: 'unreachable' };
    }
    for (const [name, check] of Object.entries(extraChecks)) {
      try {
        checks[name] = await check();
      } catch (e) {
        checks[name] = { ok: false, detail: describeError(e) };
      }
    }
    const ok = Object.values(checks).every((x) => x.ok);
    if (!ok) {
      return c.json(
        {
          ok,
          checks,
          error: { code: 'not_ready', message: 'Not ready: see checks.', requestId: c.get('requestId') },
        },
        503,
      );
    }
    return c.json({ ok, checks });
  });
  return app;
}
