import { and, eq, gt, lte, ne, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { adminSessions, slackInstallations, tenants, zendeskConnections } from '../db/schema/index.ts';
import { withLookupRole } from '../db/tenant.ts';

/**
 * The look-ups that must run before a tenant is known, and the sweeps that must find which
 * tenants have work. Every function here returns tenant ids (or a tenant's status) and nothing
 * else; the database role they run as (helpdesk_lookup, migration 0002) can read only key
 * columns: tenant ids, team/enterprise ids, subdomains, hook ids, statuses, session hashes and
 * expiries. A caller must still prove a request belongs to the tenant found (signature, verified
 * token) and then reads everything else inside withTenant. Nothing outside this file uses the
 * look-up role.
 */

export interface SlackKey {
  enterpriseId?: string | null | undefined;
  teamId?: string | null | undefined;
  isEnterpriseInstall: boolean;
}

/** `where` for one installation key: org-wide installs by enterprise id, workspace installs by team id. */
export function slackKeyWhere(key: SlackKey): SQL {
  return key.isEnterpriseInstall
    ? and(
        eq(slackInstallations.enterpriseId, key.enterpriseId ?? ''),
        eq(slackInstallations.isEnterpriseInstall, true),
      )!
    : and(
        eq(slackInstallations.teamId, key.teamId ?? ''),
        eq(slackInstallations.isEnterpriseInstall, false),
      )!;
}

/**
 * The tenant of a Slack installation. By default revoked installations are skipped (right for
 * ordinary events); `includeRevoked` finds them too, so uninstall events repeated or reordered
 * after a revoke, and reinstalls, land on the same tenant.
 */
export async function tenantIdBySlack(
  db: Db,
  key: SlackKey,
  opts: { includeRevoked?: boolean } = {},
): Promise<string | null> {
  if (key.isEnterpriseInstall ? !key.enterpriseId : !key.teamId) return null;
  return withLookupRole(db, async (tx) => {
    const rows = await tx
      .select({ tenantId: slackInstallations.tenantId })
      .from(slackInstallations)
      .where(
        opts.includeRevoked
          ? slackKeyWhere(key)
          : and(slackKeyWhere(key), ne(slackInstallations.status, 'revoked')),
      )
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

/** A tenant's lifecycle status (active, deleting, purged), or null for an unknown id. */
export async function tenantStatus(
  db: Db,
  tenantId: string,
): Promise<'active' | 'deleting' | 'purged' | null> {
  return withLookupRole(db, async (tx) => {
    const rows = await tx
      .select({ status: tenants.status })
      .from(tenants)
      .where(eq(tenants.id, tenantId))
      .limit(1);
    return rows[0]?.status ?? null;
  });
}

/** Tenants in one lifecycle status, for sweeps (token refresh: active; purge: deleting). */
export async function tenantIdsByStatus(db: Db, status: 'active' | 'deleting'): Promise<string[]> {
  return withLookupRole(db, async (tx) => {
    const rows = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.status, status));
    return rows.map((r) => r.id);
  });
}

/** Tenants that are active (not being deleted), for sweeps that iterate tenants. */
export function activeTenantIds(db: Db): Promise<string[]> {
  return tenantIdsByStatus(db, 'active');
}

/** Tenants holding admin sessions that expired by `now` (the session sweep deletes them per tenant). */
export async function tenantIdsWithExpiredSessions(db: Db, now: Date): Promise<string[]> {
  return withLookupRole(db, async (tx) => {
    const rows = await tx
      .selectDistinct({ tenantId: adminSessions.tenantId })
      .from(adminSessions)
      .where(lte(adminSessions.expiresAt, now));
    return rows.map((r) => r.tenantId);
  });
}

/** Tenants with a connection that needs re-authorization (readiness detail; at most `limit` per provider). */
export async function tenantIdsNeedingReauth(
  db: Db,
  limit = 100,
): Promise<{ tenantId: string; provider: 'slack' | 'zendesk' }[]> {
  return withLookupRole(db, async (tx) => {
    const s = await tx
      .select({ tenantId: slackInstallations.tenantId })
      .from(slackInstallations)
      .where(eq(slackInstallations.status, 'needs_reauth'))
      .limit(limit);
    const z = await tx
      .select({ tenantId: zendeskConnections.tenantId })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.status, 'needs_reauth'))
      .limit(limit);
    return [
      ...s.map((r) => ({ tenantId: r.tenantId, provider: 'slack' as const })),
      ...z.map((r) => ({ tenantId: r.tenantId, provider: 'zendesk' as const })),
    ];
  });
}
