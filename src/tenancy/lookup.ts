import { and, eq, type SQL, sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../db/client.ts';
import { slackInstallations } from '../db/schema/index.ts';

/**
 * The look-ups that must run before a tenant is known, and the sweeps that must find which
 * tenants have work. Each is one narrow SECURITY DEFINER function (migration 0008, owned by
 * helpdesk_lookup, which reads key columns only) answering one question: the tenant of this hook
 * id, Slack team, subdomain or session hash; a tenant's status; the tenants in one state. They
 * return tenant ids (or a status) and nothing else, and none enumerates keys: the runtime role
 * cannot switch to a role that sees every tenant. A caller must still prove a request belongs to
 * the tenant found (signature, verified token) and then reads everything else inside withTenant.
 */

export interface SlackKey {
  enterpriseId?: string | null | undefined;
  teamId?: string | null | undefined;
  isEnterpriseInstall: boolean;
}

/** `where` for one installation key, for queries inside withTenant (slack/uninstall.ts). */
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

async function one(db: Db, q: ReturnType<typeof sql>): Promise<string | null> {
  const rows = rowsOf<{ v: string | null }>(await db.execute(q));
  return rows[0]?.v ?? null;
}

async function many(db: Db, q: ReturnType<typeof sql>): Promise<string[]> {
  return rowsOf<{ v: string }>(await db.execute(q)).map((r) => r.v);
}

/**
 * The tenant of a Slack installation (org-wide installs by enterprise id, workspace installs by
 * team id; null unless exactly one matches). By default revoked installations are skipped (right
 * for ordinary events); `includeRevoked` finds them too, so uninstall events repeated or
 * reordered after a revoke, and reinstalls, land on the same tenant.
 */
export async function tenantIdBySlack(
  db: Db,
  key: SlackKey,
  opts: { includeRevoked?: boolean } = {},
): Promise<string | null> {
  if (key.isEnterpriseInstall ? !key.enterpriseId : !key.teamId) return null;
  return one(
    db,
    sql`select public.app_tenant_by_slack(${key.enterpriseId ?? ''}, ${key.teamId ?? ''}, ${key.isEnterpriseInstall}, ${opts.includeRevoked === true}) as v`,
  );
}

/**
 * The tenant of a live Slack installation (tenantIdBySlack) when that tenant is active: events,
 * interactions and commands of a tenant whose deletion was requested are treated as coming from
 * no installed tenant (deletion revokes its installations too; this also holds if one was missed).
 */
export async function activeTenantIdBySlack(db: Db, key: SlackKey): Promise<string | null> {
  const tenantId = await tenantIdBySlack(db, key);
  if (!tenantId) return null;
  return (await tenantStatus(db, tenantId)) === 'active' ? tenantId : null;
}

export async function tenantIdByZendeskSubdomain(db: Db, subdomain: string): Promise<string | null> {
  return one(db, sql`select public.app_tenant_by_zendesk_subdomain(${subdomain.toLowerCase()}) as v`);
}

/** The webhook path's hook id names exactly one connection; its secret is then read inside withTenant. */
export async function tenantIdByZendeskHook(db: Db, hookId: string): Promise<string | null> {
  return one(db, sql`select public.app_tenant_by_zendesk_hook(${hookId}) as v`);
}

export async function tenantIdBySessionHash(
  db: Db,
  idHash: string,
  now = new Date(),
): Promise<string | null> {
  return one(
    db,
    sql`select public.app_tenant_by_session_hash(${idHash}, ${now.toISOString()}::timestamptz) as v`,
  );
}

/** A tenant's lifecycle status (active, deleting, purged), or null for an unknown id. */
export async function tenantStatus(
  db: Db,
  tenantId: string,
): Promise<'active' | 'deleting' | 'purged' | null> {
  return (await one(db, sql`select public.app_tenant_status(${tenantId}) as v`)) as
    | 'active'
    | 'deleting'
    | 'purged'
    | null;
}

/** Tenants in one lifecycle status, for sweeps (token refresh: active; purge: deleting). */
export async function tenantIdsByStatus(db: Db, status: 'active' | 'deleting'): Promise<string[]> {
  return many(db, sql`select v from public.app_tenant_ids_by_status(${status}) as v`);
}

/** Tenants that are active (not being deleted), for sweeps that iterate tenants. */
export function activeTenantIds(db: Db): Promise<string[]> {
  return tenantIdsByStatus(db, 'active');
}

/** Tenants holding admin sessions that expired by `now` (the session sweep deletes them per tenant). */
export async function tenantIdsWithExpiredSessions(db: Db, now: Date): Promise<string[]> {
  return many(
    db,
    sql`select v from public.app_tenants_with_expired_sessions(${now.toISOString()}::timestamptz) as v`,
  );
}

/** Tenants with a connection that needs re-authorization (readiness detail; at most `limit` per provider). */
export async function tenantIdsNeedingReauth(
  db: Db,
  limit = 100,
): Promise<{ tenantId: string; provider: 'slack' | 'zendesk' }[]> {
  const rows = rowsOf<{ tenant_id: string; provider: 'slack' | 'zendesk' }>(
    await db.execute(sql`select tenant_id, provider from public.app_tenants_needing_reauth(${limit}::int)`),
  );
  return rows.map((r) => ({ tenantId: r.tenant_id, provider: r.provider }));
}
