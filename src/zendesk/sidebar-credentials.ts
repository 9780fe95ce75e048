import { and, eq, gt, lte } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { sidebarCredentials, sidebarInstallations, tenants } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { AppError } from '../lib/errors.ts';
import { isTenantId, randomToken } from '../lib/ids.ts';
import type { SidebarIdentity } from './sidebar-token.ts';

/**
 * The sidebar page's bearer credential, minted after a verified signed-URL token:
 * `sbc.<tenantId>.<32 random bytes>`, valid `SIDEBAR_CREDENTIAL_TTL_MS`, bound to (tenant, agent,
 * installation). Only the SHA-256 of the secret is stored, in the tenant's own table, so the
 * tenant id in the credential only says where to look: a credential moved to another tenant's
 * id finds nothing. The page sends it as `Authorization: Bearer`; it is never a cookie.
 */
export const SIDEBAR_CREDENTIAL_TTL_MS = 30 * 60_000;

export interface SidebarPrincipal {
  tenantId: string;
  agentId: string;
  agentName: string | null;
  installationId: string;
  expiresAt: Date;
  /** Set only by auto-send (src/zendesk/sidebar-auto-send.ts): the sender is the system, not an agent's click. */
  autoSend?: true;
}

const CREDENTIAL = /^sbc\.(tn_[A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{43})$/;

export async function mintSidebarCredential(
  db: Db,
  identity: SidebarIdentity,
  opts: { now: Date; requestId?: string; ttlMs?: number },
): Promise<{ credential: string; expiresAt: Date }> {
  const secret = randomToken(32);
  const expiresAt = new Date(opts.now.getTime() + (opts.ttlMs ?? SIDEBAR_CREDENTIAL_TTL_MS));
  const idHash = await sha256Hex(secret);
  await withTenant(db, identity.tenantId, async (tx) => {
    const [t] = await tx.select({ status: tenants.status }).from(tenants);
    if (t?.status !== 'active')
      throw new AppError('tenant_inactive', "This account's deletion was requested: the sidebar is off.");
    // Expired credentials of this tenant go as new ones come.
    await tx.delete(sidebarCredentials).where(lte(sidebarCredentials.expiresAt, opts.now));
    await tx.insert(sidebarCredentials).values({
      tenantId: identity.tenantId,
      idHash,
      installationId: identity.installationId,
      agentId: identity.agentId,
      expiresAt,
      createdAt: opts.now,
    });
    await audit(
      {
        tenantId: identity.tenantId,
        tx,
        actor: { type: 'zendesk_agent', userId: identity.agentId },
        requestId: opts.requestId,
      },
      {
        action: 'sidebar.opened',
        target: `zendesk:installation:${identity.installationId}`,
        outcome: 'success',
        detail: { appId: identity.appId, expiresAt: expiresAt.toISOString() },
      },
    );
  });
  return { credential: `sbc.${identity.tenantId}.${secret}`, expiresAt };
}

/**
 * The principal of an `Authorization: Bearer sbc...` header; throws 401 for anything else,
 * including a credential of a tenant that is not active.
 */
export async function verifySidebarCredential(
  db: Db,
  authorization: string | undefined,
  now: Date,
): Promise<SidebarPrincipal> {
  const m = /^Bearer (\S+)$/.exec(authorization ?? '');
  const parts = m ? CREDENTIAL.exec(m[1]!) : null;
  if (!parts || !isTenantId(parts[1])) {
    throw new AppError('unauthorized', 'The sidebar credential is missing or malformed. Reload the ticket.');
  }
  const tenantId = parts[1]!;
  const idHash = await sha256Hex(parts[2]!);
  const row = await withTenant(db, tenantId, async (tx) => {
    const [r] = await tx
      .select({
        agentId: sidebarCredentials.agentId,
        agentName: sidebarCredentials.agentName,
        installationId: sidebarCredentials.installationId,
        expiresAt: sidebarCredentials.expiresAt,
      })
      .from(sidebarCredentials)
      .innerJoin(
        sidebarInstallations,
        and(
          eq(sidebarInstallations.tenantId, sidebarCredentials.tenantId),
          eq(sidebarInstallations.installationId, sidebarCredentials.installationId),
          eq(sidebarInstallations.status, 'active'),
        ),
      )
      // A tenant that is not active (deletion requested) has no sidebar principals.
      .innerJoin(tenants, and(eq(tenants.id, sidebarCredentials.tenantId), eq(tenants.status, 'active')))
      .where(and(eq(sidebarCredentials.idHash, idHash), gt(sidebarCredentials.expiresAt, now)))
      .limit(1);
    return r;
  });
  if (!row) throw new AppError('unauthorized', 'The sidebar credential has expired. Reload the ticket.');
  return { tenantId, ...row };
}

/** Remembers the agent's display name on the credential (read from Zendesk once per credential). */
export async function rememberAgentName(db: Db, principal: SidebarPrincipal, name: string): Promise<void> {
  await withTenant(db, principal.tenantId, (tx) =>
    tx
      .update(sidebarCredentials)
      .set({ agentName: name })
      .where(
        and(
          eq(sidebarCredentials.agentId, principal.agentId),
          eq(sidebarCredentials.installationId, principal.installationId),
        ),
      ),
  );
}
