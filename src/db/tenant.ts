import { sql } from 'drizzle-orm';
import { AppError } from '../lib/errors.ts';
import { isTenantId } from '../lib/ids.ts';
import { claimKeyOf, signEnterClaim } from './claims.ts';
import type { Db, Tx } from './client.ts';
import { APP_ROLE } from './schema/columns.ts';

/**
 * The only way services reach tenant-owned data. Runs `fn` in a transaction that first, in one
 * statement, presents a claim signed by the application (`app_enter_tenant`, migration 0006: the
 * database verifies the HMAC and sets a claim bound to this transaction) and switches to the
 * non-owner application role (`set_config('role', ..., true)` is SET LOCAL ROLE). Row-level
 * security (enabled and forced on every tenant-owned table) compares rows with
 * `app_current_tenant()`, which trusts only that verified claim: SQL in the transaction can change
 * settings and roles as it likes and still sees only this tenant. Everything is transaction-local.
 */
export async function withTenant<T>(db: Db, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (!isTenantId(tenantId)) throw new AppError('internal', 'withTenant needs a valid tenant id');
  const claim = signEnterClaim(claimKeyOf(db), tenantId);
  return db.transaction(async (tx) => {
    // One round trip. The claim is entered before the role switch (left to right), so on a
    // superuser connection (PGlite) it runs with the connection's own rights either way.
    await tx.execute(
      sql`select public.app_enter_tenant(${tenantId}, ${claim.issued}::bigint, ${claim.nonce}, ${claim.mac}), set_config('role', ${APP_ROLE}, true)`,
    );
    return fn(tx);
  });
}
