import { and, eq, gt, ne } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { adminSessions, slackInstallations, tenants, zendeskConnections } from '../db/schema/index.ts';
import { withLookupRole } from '../db/tenant.ts';

/**
 * The few look-ups that must run before a tenant is known. Each returns a tenant id (or null)
 * and nothing else; the database role they run as can read only these key columns.
 * A caller must still prove the request belongs to that tenant (signature, verified token).
 */

/** Slack: org-wide installs are keyed by enterprise id, workspace installs by team id. */
export async function tenantIdBySlack(
  db: Db,
  key: { enterpriseId?: string | null; teamId?: string | null; isEnterpriseInstall: boolean },
): Promise<string | null> {
  return withLookupRole(db, async (tx) => {
    const where = key.isEnterpriseInstall
      ? and(
          eq(slackInstallations.enterpriseId, key.enterpriseId ?? ''),
          eq(slackInstallations.isEnterpriseInstall, true),
        )
      : and(
          eq(slackInstallations.teamId, key.teamId ?? ''),
          eq(slackInstallations.isEnterpriseInstall, false),
        );
    const rows = await tx
      .select({ tenantId: slackInstallations.tenantId })
      .from(slackInstallations)
      .where(and(where, ne(slackInstallations.status, 'revoked')))
      .limit(2);
    return rows.length === 1 ? rows[0]!.tenantId : null;
  });
}

export async function tenantIdByZendeskSubdomain(db: Db, subdomain: string): Promise<string | null> {
  return withLookupRole(db, async (tx) => {
    const rows = await tx
      .select({ tenantId: zendeskConnections.tenantId })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.subdomain, subdomain.toLowerCase()))
      .limit(1);
    return rows[0]?.tenantId ?? null;
  });
}

/** The webhook path's hook id names exactly one connection; its secret is then read inside withTenant. */
export async function tenantIdByZendeskHook(db: Db, hookId: string): Promise<string | null> {
  return withLookupRole(db, async (tx) => {
    const rows = await tx
      .select({ tenantId: zendeskConnections.tenantId })
      .from(zendeskConnections)
      .where(and(eq(zendeskConnections.hookId, hookId), ne(zendeskConnections.status, 'revoked')))
      .limit(1);
    return rows[0]?.tenantId ?? null;
  });
}

export async function tenantIdBySessionHash(
  db: Db,
  idHash: string,
  now = new Date(),
): Promise<string | null> {
  return withLookupRole(db, async (tx) => {
    const rows = await tx
      .select({ tenantId: adminSessions.tenantId })
      .from(adminSessions)
      .where(and(eq(adminSessions.idHash, idHash), gt(adminSessions.expiresAt, now)))
      .limit(1);
    return rows[0]?.tenantId ?? null;
  });
}

/** Tenants that are active (not being deleted), for sweeps that iterate tenants. */
export async function activeTenantIds(db: Db): Promise<string[]> {
  return withLookupRole(db, async (tx) => {
    const rows = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.status, 'active'));
    return rows.map((r) => r.id);
  });
}
