import { sql } from 'drizzle-orm';
import type { Tx } from './client.ts';

/**
 * Serialises the writes of one tenant document (the catalog, the directory) until the caller's
 * transaction ends: replaceCatalog and syncDirectory take it, and so do the console's
 * confirmations before they compare the stored document with the previewed fingerprint, so an
 * API write cannot slip in between that check and the write. A transaction-scoped advisory lock
 * (re-entrant within the transaction; released at commit or rollback), named like the audit
 * trail's (`helpdesk-copilot:audit:<tenant>`, migration 0008), which a write takes after this one.
 */
export async function lockTenantDocument(
  tx: Tx,
  tenantId: string,
  kind: 'catalog' | 'directory',
): Promise<void> {
  await tx.execute(
    sql`select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(${`helpdesk-copilot:${kind}:${tenantId}`}, 0))`,
  );
}
