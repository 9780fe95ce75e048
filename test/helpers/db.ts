import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { randomToken } from '../../src/lib/ids.ts';

export type Backend = 'pglite' | 'postgres';

/** The backends database suites run on: PGlite always, PostgreSQL when a server answers. */
export function backends(): Backend[] {
  return inject('pgAdminUrl') ? ['pglite', 'postgres'] : ['pglite'];
}

let template: Promise<Blob> | undefined;
/** The migrated PGlite template the global set-up wrote, read once per worker. */
export function pgliteTemplate(): Promise<Blob> {
  template ??= readFile(inject('pgliteTemplate')).then((b) => new Blob([new Uint8Array(b)]));
  return template;
}

/** The login role the server connects as in production (migration 0006); tests use it too. */
export const RUNTIME_ROLE = 'helpdesk_runtime';

export interface TestDatabase extends Database {
  /**
   * URL of the fresh PostgreSQL database as the runtime role (postgres backend only), for
   * opening more connections the way a server process would.
   */
  url?: string;
  /** The same database as its owner (the migration user): for set-up and inspection only. */
  ownerUrl?: string;
}

/** Makes sure the runtime role exists and may log in (trust auth on the test server). */
async function ensureRuntimeLogin(admin: import('postgres').Sql): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`do $$ begin
        if not exists (select 1 from pg_roles where rolname = '${RUNTIME_ROLE}') then
          create role ${RUNTIME_ROLE} login nosuperuser nobypassrls nocreatedb nocreaterole inherit;
        else
          alter role ${RUNTIME_ROLE} login nosuperuser nobypassrls;
        end if;
      end $$`);
      return;
    } catch (e) {
      // Test files run in parallel: another one may have created the role a moment ago.
      if (attempt >= 3) throw e;
    }
  }
}

/**
 * A fresh, migrated database: in-memory PGlite, or a new database on the PostgreSQL server
 * (dropped again by `close`). Every test file gets its own, so files run in parallel. On
 * PostgreSQL, migrations run as the owner (the server's admin user) and `db` connects as the
 * runtime role, exactly as a deployed server does: every suite runs under the real role.
 */
export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const database = await openDatabase({ dataDir: 'memory://', pgliteTemplate: await pgliteTemplate() });
    // Already migrated; this checks so (a no-op when the template is current) and installs the claim key.
    await database.migrate();
    return database;
  }
  const adminUrl = inject('pgAdminUrl');
  if (!adminUrl) throw new Error('no PostgreSQL server for this suite');
  const { default: postgres } = await import('postgres');
  const name = `hc_test_${randomToken(6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await ensureRuntimeLogin(admin);
  await admin.unsafe(`create database "${name}"`);
  const ownerUrl = new URL(adminUrl);
  ownerUrl.pathname = `/${name}`;
  const owner = await openDatabase({ url: ownerUrl.toString(), maxConnections: 1 });
  await owner.migrate();
  await owner.close();
  const runtimeUrl = new URL(ownerUrl);
  runtimeUrl.username = RUNTIME_ROLE;
  runtimeUrl.password = '';
  const database = await openDatabase({ url: runtimeUrl.toString(), maxConnections: 5 });
  return {
    ...database,
    url: runtimeUrl.toString(),
    ownerUrl: ownerUrl.toString(),
    async migrate() {
      const o = await openDatabase({ url: ownerUrl.toString(), maxConnections: 1 });
      try {
        await o.migrate();
      } finally {
        await o.close();
      }
    },
    async close() {
      await database.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 2 });
    },
  };
}

/**
 * The database as its owner, for set-up and inspection a server never does (reading tombstones,
 * switching to the look-up or scheduler roles to check their grants). On PGlite that is the
 * database itself (one superuser).
 */
export async function openOwner(
  database: TestDatabase,
): Promise<{ db: Database['db']; close(): Promise<void> }> {
  if (!database.ownerUrl) return { db: database.db, close: async () => {} };
  const owner = await openDatabase({ url: database.ownerUrl, maxConnections: 2 });
  return { db: owner.db, close: () => owner.close() };
}
