import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { tenantSettings, tenants } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { newId } from '../lib/ids.ts';
import type { Actor } from './context.ts';

/**
 * Creates a tenant: inside withTenant(new id), whose claim lets the application role insert
 * exactly that tenants row (column grant on id and name, policy `id = app_current_tenant()`),
 * then the settings row and the first audit event, in one transaction.
 */
export async function createTenant(
  db: Db,
  input: { name: string; actor: Actor; requestId?: string },
): Promise<{ id: string }> {
  const id = newId('tn');
  await withTenant(db, id, async (tx) => {
    await tx.insert(tenants).values({ id, name: input.name });
    await tx.insert(tenantSettings).values({ tenantId: id, settings: {} });
    await audit(
      { tenantId: id, tx, actor: input.actor, requestId: input.requestId },
      { action: 'tenant.created', target: id, outcome: 'success', detail: { name: input.name } },
    );
  });
  return { id };
}
