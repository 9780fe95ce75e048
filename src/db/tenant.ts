import { sql } from 'drizzle-orm';
import { AppError } from '../lib/errors.ts';
import { isTenantId } from '../lib/ids.ts';
import type { Db, Tx } from './client.ts';
import { APP_ROLE, LOOKUP_ROLE } from './schema/columns.ts';

/**
 * The only way services reach tenant-owned data. Runs `fn` in a transaction that has switched
 * (SET LOCAL ROLE, via set_config) to the non-owner application role and set `app.tenant_id`; row-level security (enabled and
 * forced on every tenant-owned table) then hides every other tenant's rows and refuses writes
 * of rows for another tenant. Both settings are transaction-local and vanish at commit.
 */
export async function withTenant<T>(db: Db, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (!isTenantId(tenantId)) throw new AppError('internal', 'withTenant needs a valid tenant id');
  return db.transaction(async (tx) => {
    // One round trip: set_config('role', ..., true) is exactly SET LOCAL ROLE (transaction-local),
    // and both settings are in place before the first statement of `fn`.
    await tx.execute(
      sql`select set_config('app.tenant_id', ${tenantId}, true), set_config('role', ${APP_ROLE}, true)`,
    );
    return fn(tx);
  });
}

/**
 * Runs `fn` as the look-up role, which may read only the key columns granted in migration 0002
 * (tenant ids, team/enterprise ids, subdomains, hook ids). Used by tenancy/lookup.ts alone.
 */
export async function withLookupRole<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql.raw(`set local role ${LOOKUP_ROLE}`));
    return fn(tx);
  });
}
