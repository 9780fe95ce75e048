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

/**
 * Per upstream, how many tenants have an open or half-open breaker or a 429 pause now (the
 * look-up role's app_upstream_health, migration 0014): counts for the anonymous /readyz, never
 * tenant ids. Which tenants: each tenant's console (/admin/limits) and usage API.
 */
export async function upstreamHealth(
  db: Db,
  now: Date,
): Promise<Record<string, { open: number; halfOpen: number; paused: number }>> {
  const rows = rowsOf<{
    upstream: string;
    open_count: number;
    half_open_count: number;
    paused_count: number;
  }>(
    await db.execute(
      sql`select upstream, open_count, half_open_count, paused_count from public.app_upstream_health(${now.toISOString()}::timestamptz)`,
    ),
  );
  return Object.fromEntries(
    rows.map((r) => [
      r.upstream,
      { open: Number(r.open_count), halfOpen: Number(r.half_open_count), paused: Number(r.paused_count) },
    ]),
  );
}

// ---------------------------------------------------------------- hot-path caches

/**
 * A bounded cache with a bounded lifetime for the ingest look-ups (Slack team/enterprise ->
 * tenant; Zendesk hook id -> tenant, connection and opened signing secret). Only found keys are
 * stored (unknown ids cannot fill it); an entry lives at most `ttlMs`; past `max` entries the
 * oldest is dropped. `forgetTenantLookups(tenantId)` drops a tenant's entries from every cache in
 * this process: the disconnect, uninstall and deletion paths call it.
 *
 * What a revocation in ANOTHER process costs: this process may keep using an entry for up to
 * `ttlMs`. Each user says what that can and cannot do; neither lets it create work for a revoked
 * connection or a tenant that is not active (the Zendesk ingest statement re-checks connection,
 * secret and tenant status in the same statement as the insert; Slack events resolved from the
 * cache still go through Bolt's authorize, which reads the installation and its token inside the
 * tenant, and the plain route only acknowledges).
 */
export interface LookupCache<V extends { tenantId: string }> {
  get(key: string, now?: number): V | undefined;
  set(key: string, value: V, now?: number): void;
  delete(key: string): void;
  forgetTenant(tenantId: string): void;
  readonly size: number;
}

const liveCaches = new Set<WeakRef<LookupCache<{ tenantId: string }>>>();

export function createLookupCache<V extends { tenantId: string }>(
  opts: { ttlMs?: number; max?: number } = {},
): LookupCache<V> {
  const ttl = opts.ttlMs ?? 30_000;
  const max = opts.max ?? 10_000;
  const map = new Map<string, { value: V; until: number }>();
  const cache: LookupCache<V> = {
    get(key, now = Date.now()) {
      const e = map.get(key);
      if (!e) return undefined;
      if (e.until <= now) {
        map.delete(key);
        return undefined;
      }
      return e.value;
    },
    set(key, value, now = Date.now()) {
      map.delete(key);
      while (map.size >= max) map.delete(map.keys().next().value as string);
      map.set(key, { value, until: now + ttl });
    },
    delete(key) {
      map.delete(key);
    },
    forgetTenant(tenantId) {
      for (const [k, e] of map) if (e.value.tenantId === tenantId) map.delete(k);
    },
    get size() {
      return map.size;
    },
  };
  liveCaches.add(new WeakRef(cache as unknown as LookupCache<{ tenantId: string }>));
  return cache;
}

/** Drops every cached look-up of this tenant in this process (after a disconnect, uninstall or deletion). */
export function forgetTenantLookups(tenantId: string): void {
  for (const ref of liveCaches) {
    const c = ref.deref();
    if (c) c.forgetTenant(tenantId);
    else liveCaches.delete(ref);
  }
}

/** The cache key of a Slack installation key (the same key tenantIdBySlack looks up). */
export function slackKeyString(key: SlackKey): string | null {
  if (key.isEnterpriseInstall) return key.enterpriseId ? `E:${key.enterpriseId}` : null;
  return key.teamId ? `T:${key.teamId}` : null;
}

/** One cache per database handle (a process, or a test file, may open several databases). */
const slackTenantsByDb = new WeakMap<object, LookupCache<{ tenantId: string }>>();
function slackTenantsOf(db: Db): LookupCache<{ tenantId: string }> {
  let c = slackTenantsByDb.get(db);
  if (!c) {
    c = createLookupCache<{ tenantId: string }>({ ttlMs: 30_000, max: 10_000 });
    slackTenantsByDb.set(db, c);
  }
  return c;
}

/**
 * tenantIdBySlack for inbound events (revoked installations skipped), through a 30-second
 * process-wide cache of found keys. For the event routes only: a tenant resolved from the cache
 * is used to ack and to hand the event to Bolt, whose authorize re-reads the installation inside
 * the tenant (a revoked one has no token: nothing runs). Sign-in, interactivity and installs keep
 * the uncached look-up.
 */
export async function tenantIdBySlackCached(db: Db, key: SlackKey): Promise<string | null> {
  const k = slackKeyString(key);
  if (!k) return null;
  const cache = slackTenantsOf(db);
  const hit = cache.get(k);
  if (hit) return hit.tenantId;
  // Only an active tenant's installation answers (and is cached): a tenant being deleted gets
  // nothing done, as activeTenantIdBySlack; a deletion in this process drops the entry at once.
  const tenantId = await activeTenantIdBySlack(db, key);
  if (tenantId) cache.set(k, { tenantId });
  return tenantId;
}

/** Drops one Slack key from the event cache (its uninstall or token revocation was just handled). */
export function forgetSlackKey(db: Db, key: SlackKey): void {
  const k = slackKeyString(key);
  if (k) slackTenantsOf(db).delete(k);
}
