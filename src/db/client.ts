import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import journal from '../../drizzle/meta/_journal.json' with { type: 'json' };
import { claimKeyOf, claimKeyPads, setClaimKey } from './claims.ts';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
/** Either driver's database: postgres.js (production) or PGlite (embedded). Same queries, same RLS. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** A database handle or an open transaction: what query helpers accept. */
export type Queryable = Db | Tx;

export interface Database {
  db: Db;
  kind: 'pglite' | 'postgres';
  /**
   * Applies pending migrations (advisory-locked on PostgreSQL, so several processes may call it),
   * then installs this handle's claim key (src/db/claims.ts). Needs the owner's connection.
   */
  migrate(): Promise<void>;
  /**
   * Embedded only: the data directory as an uncompressed tarball, which `openDatabase`'s
   * `pgliteTemplate` starts a new in-memory database from (the test suite migrates one template
   * and loads it per file: loading takes a fraction of a fresh database's start-up).
   */
  dump?(): Promise<Blob>;
  close(): Promise<void>;
}

export const EXPECTED_MIGRATIONS = journal.entries.length;

/** Rows of a raw `execute` result, whichever driver produced it. */
export function rowsOf<T = Record<string, unknown>>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  if (result && typeof result === 'object' && 'rows' in result && Array.isArray(result.rows))
    return result.rows as T[];
  return [];
}

/** Number of migrations applied to this database, or -1 when the ledger does not exist yet. */
export async function appliedMigrations(db: Db): Promise<number> {
  const exists = rowsOf<{ ok: boolean }>(
    await db.execute(sql`select to_regclass('drizzle.__drizzle_migrations') is not null as ok`),
  );
  if (!exists[0]?.ok) return -1;
  const r = rowsOf<{ n: number | string }>(
    await db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`),
  );
  return Number(r[0]?.n ?? 0);
}

/**
 * Computed when migrating, not at import: on workerd a bundled module has no file URL, so this
 * would throw "Invalid URL string" at import (the Worker never migrates).
 */
const migrationsFolder = () => new URL('../../drizzle', import.meta.url).pathname;

export interface OpenDatabaseOptions {
  /** postgres:// URL. When absent, the embedded PGlite database is used. */
  url?: string | undefined;
  /** PGlite data directory; `memory://` for an in-memory database. */
  dataDir?: string;
  /**
   * PostgreSQL only: called with every statement's text (placeholders, never the parameters)
   * before it is sent; benchmarks count the statements a ticket costs.
   */
  onStatement?: ((statement: string) => void) | undefined;
  /** PGlite only: start from this dump (see `Database.dump`) instead of an empty cluster. */
  pgliteTemplate?: Blob | undefined;
  /** postgres.js pool size. */
  maxConnections?: number;
  /** Key for signed tenant claims (src/db/claims.ts); the public development key when absent. */
  claimKey?: Uint8Array | undefined;
}

/** Stores the claim key where only the owner (and the claim functions) can read it. */
async function installClaimKey(db: Db): Promise<void> {
  const { ikey, okey } = claimKeyPads(claimKeyOf(db));
  await db.execute(sql`insert into public.app_claim_key (id, ikey, okey) values (1, ${ikey}, ${okey})
    on conflict (id) do update set ikey = excluded.ikey, okey = excluded.okey, installed_at = now()
    where app_claim_key.ikey <> excluded.ikey or app_claim_key.okey <> excluded.okey`);
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const database = opts.url
    ? await openPostgres(opts.url, opts.maxConnections ?? 10, opts.onStatement)
    : await openPglite(opts.dataDir ?? 'memory://', opts.pgliteTemplate);
  if (opts.claimKey) setClaimKey(database.db, opts.claimKey);
  return database;
}

async function openPostgres(
  url: string,
  max: number,
  onStatement?: (statement: string) => void,
): Promise<Database> {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const client = postgres(url, {
    max,
    onnotice: () => {},
    connection: { application_name: 'helpdesk-copilot' },
    ...(onStatement ? { debug: (_connection: number, query: string) => onStatement(query) } : {}),
  });
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    async migrate() {
      const { migrate } = await import('drizzle-orm/postgres-js/migrator');
      const single = postgres(url, { max: 1, onnotice: () => {} });
      try {
        // One migrator at a time across processes; the others wait, then find nothing to do.
        await single`select pg_advisory_lock(hashtext('helpdesk-copilot:migrate'))`;
        await migrate(drizzle(single), { migrationsFolder: migrationsFolder() });
        await installClaimKey(db);
      } finally {
        await single.end({ timeout: 5 });
      }
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string, template?: Blob): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  if (dataDir !== 'memory://') {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dataDir, { recursive: true });
  }
  const client = await PGlite.create({
    ...(dataDir === 'memory://' ? {} : { dataDir }),
    ...(template ? { loadDataDir: template } : {}),
  });
  const db = drizzle(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    async migrate() {
      const { migrate } = await import('drizzle-orm/pglite/migrator');
      await migrate(drizzle(client), { migrationsFolder: migrationsFolder() });
      await installClaimKey(db);
    },
    dump: () => client.dumpDataDir('none'),
    close: () => client.close(),
  };
}
