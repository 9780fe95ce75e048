import { and, eq, gt, lte } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { adminSessions, tenants } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { AppError } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';
import { activeTenantIds, tenantIdBySessionHash, tenantIdsWithExpiredSessions } from './lookup.ts';
import type { Principal } from './principal.ts';
import { createTenant } from './tenants.ts';

/** Admin console session cookie: 32 random bytes (base64url); only its SHA-256 hash is stored. */
export const SESSION_COOKIE = 'hc_session';
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/**
 * How stale `last_seen_at` may get: a request writes it only when it is older than this, so a
 * busy session costs one UPDATE per 5 minutes, not one per request (the read happens anyway).
 */
export const LAST_SEEN_EVERY_MS = 5 * 60 * 1000;

export interface NewSession {
  tenantId: string;
  userId: string;
  userName?: string | undefined;
  role: Principal['role'];
  via: Principal['via'];
  requestId?: string | undefined;
  now?: Date;
}

/**
 * Creates a session for an already verified user (OIDC sign-in or the local admin link) and
 * audits it in the same transaction; `403 tenant_inactive` for a tenant that is not active.
 * Returns the cookie value, which is never stored.
 */
export async function createSession(db: Db, input: NewSession): Promise<{ token: string; expiresAt: Date }> {
  const now = input.now ?? new Date();
  const token = randomToken(32);
  const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
  await withTenant(db, input.tenantId, async (tx) => {
    const [t] = await tx
      .select({ status: tenants.status })
      .from(tenants)
      .where(eq(tenants.id, input.tenantId));
    if (t?.status !== 'active')
      throw new AppError('tenant_inactive', 'This tenant is being deleted: nobody can sign in to it.');
    await tx.insert(adminSessions).values({
      tenantId: input.tenantId,
      idHash: await sha256Hex(token),
      userId: input.userId,
      userName: input.userName ?? null,
      role: input.role,
      via: input.via,
      expiresAt,
      createdAt: now,
      lastSeenAt: now,
    });
    await audit(
      {
        tenantId: input.tenantId,
        tx,
        actor: { type: 'admin', userId: input.userId, via: input.via },
        requestId: input.requestId,
      },
      { action: 'admin.signed_in', target: input.userId, outcome: 'success', detail: { role: input.role } },
    );
  });
  return { token, expiresAt };
}

/** What a session cookie value stands for. */
export type SessionLookup =
  | { kind: 'none' }
  | { kind: 'principal'; principal: Principal }
  /** A session of a tenant that is not active (deletion requested, purged): ended, and refused. */
  | { kind: 'tenant_inactive'; tenantId: string };

/**
 * Resolves a session cookie value: `none` (malformed, unknown or expired), the principal, or
 * `tenant_inactive`. The tenant comes from the look-up role (hash -> tenant id); the session and
 * the tenant's status are then read inside withTenant, so RLS confirms the session belongs to that
 * tenant. A session of a tenant that is not active is deleted on the spot (deletion also ends
 * them all at once, requestTenantDeletion) and never yields a principal.
 */
export async function lookupSession(db: Db, token: string, now = new Date()): Promise<SessionLookup> {
  if (!TOKEN_SHAPE.test(token)) return { kind: 'none' };
  const idHash = await sha256Hex(token);
  const tenantId = await tenantIdBySessionHash(db, idHash, now);
  if (!tenantId) return { kind: 'none' };
  return withTenant(db, tenantId, async (tx): Promise<SessionLookup> => {
    const [s] = await tx
      .select({ session: adminSessions, tenantStatus: tenants.status })
      .from(adminSessions)
      .innerJoin(tenants, eq(tenants.id, adminSessions.tenantId))
      .where(and(eq(adminSessions.idHash, idHash), gt(adminSessions.expiresAt, now)))
      .limit(1);
    if (!s) return { kind: 'none' };
    if (s.tenantStatus !== 'active') {
      await tx.delete(adminSessions).where(eq(adminSessions.idHash, idHash));
      return { kind: 'tenant_inactive', tenantId };
    }
    const row = s.session;
    if (!row.lastSeenAt || now.getTime() - row.lastSeenAt.getTime() >= LAST_SEEN_EVERY_MS)
      await tx
        .update(adminSessions)
        .set({ lastSeenAt: now })
        .where(and(eq(adminSessions.idHash, idHash), eq(adminSessions.tenantId, tenantId)));
    return {
      kind: 'principal',
      principal: {
        tenantId: row.tenantId,
        userId: row.userId,
        userName: row.userName ?? undefined,
        role: row.role,
        via: row.via,
      },
    };
  });
}

/** Ends a session (sign out). Idempotent; audited when a session was actually removed. */
export async function endSession(
  db: Db,
  principal: Principal,
  token: string,
  requestId?: string,
): Promise<void> {
  const idHash = await sha256Hex(token);
  await withTenant(db, principal.tenantId, async (tx) => {
    const gone = await tx
      .delete(adminSessions)
      .where(eq(adminSessions.idHash, idHash))
      .returning({ userId: adminSessions.userId });
    if (gone.length === 0) return;
    await audit(
      {
        tenantId: principal.tenantId,
        tx,
        actor: { type: 'admin', userId: principal.userId, via: principal.via },
        requestId,
      },
      { action: 'admin.signed_out', target: principal.userId, outcome: 'success' },
    );
  });
}

/**
 * One-time local admin links for the embedded database. The token is random, kept only as a
 * SHA-256 hash, single-use and short-lived. It lives in the memory of the process that printed
 * the link: oauth_states (the only pre-tenant table) has no provider value for it, and the link
 * is meant for that process alone (PGlite allows one process per data directory anyway).
 */
export const LOCAL_LINK_TTL_MS = 15 * 60 * 1000;

export interface LocalLoginLinks {
  /** Issues a new link token for `tenantId` (earlier unused tokens stay valid until they expire). */
  issue(tenantId: string, now?: Date): Promise<string>;
  /** The tenant of a valid, unused token, consuming it; null otherwise. */
  consume(token: string, now?: Date): Promise<string | null>;
}

export function createLocalLoginLinks(ttlMs = LOCAL_LINK_TTL_MS): LocalLoginLinks {
  const byHash = new Map<string, { tenantId: string; expiresAt: number }>();
  return {
    async issue(tenantId, now = new Date()) {
      const token = randomToken(32);
      byHash.set(await sha256Hex(token), { tenantId, expiresAt: now.getTime() + ttlMs });
      return token;
    },
    async consume(token, now = new Date()) {
      if (!TOKEN_SHAPE.test(token)) return null;
      const h = await sha256Hex(token);
      const entry = byHash.get(h);
      if (!entry) return null;
      byHash.delete(h);
      return entry.expiresAt > now.getTime() ? entry.tenantId : null;
    },
  };
}

export const LOCAL_TENANT_NAME = 'Local tenant';

/**
 * The tenant the local admin link signs into: the active tenant named "Local tenant", else the
 * oldest active tenant, else a new "Local tenant". Embedded database only (the caller checks).
 */
export async function ensureLocalTenant(db: Db): Promise<string> {
  const ids = await activeTenantIds(db);
  const found: { id: string; name: string; createdAt: Date }[] = [];
  for (const id of ids) {
    const rows = await withTenant(db, id, (tx) =>
      tx.select({ id: tenants.id, name: tenants.name, createdAt: tenants.createdAt }).from(tenants),
    );
    if (rows[0]) found.push(rows[0]);
  }
  const named = found.find((t) => t.name === LOCAL_TENANT_NAME);
  if (named) return named.id;
  const oldest = found.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())[0];
  if (oldest) return oldest.id;
  const created = await createTenant(db, {
    name: LOCAL_TENANT_NAME,
    actor: { type: 'system', name: 'local-link' },
  });
  return created.id;
}

/**
 * Deletes expired sessions, tenant by tenant (the look-up role finds which tenants have any; each
 * delete runs inside withTenant). Run by the periodic sweep. Returns how many were deleted.
 */
export async function deleteExpiredSessions(db: Db, now = new Date()): Promise<number> {
  const ids = await tenantIdsWithExpiredSessions(db, now);
  let deleted = 0;
  for (const tenantId of ids) {
    const gone = await withTenant(db, tenantId, (tx) =>
      tx
        .delete(adminSessions)
        .where(lte(adminSessions.expiresAt, now))
        .returning({ h: adminSessions.idHash }),
    );
    deleted += gone.length;
  }
  return deleted;
}
