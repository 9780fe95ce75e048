import { sql } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { tenantSettings, tenants } from '../db/schema/index.ts';
import { newId } from '../lib/ids.ts';
import type { Actor } from './context.ts';

/**
 * Creates a tenant. Runs as the owner with `app.tenant_id` set to the new id (tenants has
 * forced RLS, and the application role may not insert tenants), then writes the settings row
 * and the first audit event in the same transaction.
 */
export async function createTenant(
  db: Db,
  input: { name: string; actor: Actor; requestId?: string },
): Promise<{ id: string }> {
  const id = newId('tn');
  await db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('app.tenant_id', ${id}, true)`);
    await tx.insert(tenants).values({ id, name: input.name });
    await tx.insert(tenantSettings).values({ tenantId: id, settings: {} });
    await audit(
      { tenantId: id, tx, actor: input.actor, requestId: input.requestId },
      { action: 'tenant.created', target: id, outcome: 'success', detail: { name: input.name } },
    );
  });
  return { id };
}
