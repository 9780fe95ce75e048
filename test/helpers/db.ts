import { inject } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { randomToken } from '../../src/lib/ids.ts';

export type Backend = 'pglite' | 'postgres';

/** The backends database suites run on: PGlite always, PostgreSQL when a server answers. */
export function backends(): Backend[] {
  return inject('pgAdminUrl') ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestDatabase extends Database {
  /** URL of the fresh PostgreSQL database (postgres backend only), for opening more connections. */
  url?: string;
}

/**
 * A fresh, migrated database: in-memory PGlite, or a new database on the PostgreSQL server
 * (dropped again by `close`). Every test file gets its own, so files run in parallel.
 */
export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const database = await openDatabase({ dataDir: 'memory://' });
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
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), maxConnections: 5 });
  await database.migrate();
  return {
    ...database,
    url: url.toString(),
    async close() {
      await database.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 2 });
    },
  };
}
