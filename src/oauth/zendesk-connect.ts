import { eq, sql } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import { zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, dbErrorCode } from '../lib/errors.ts';
import { newId, randomToken } from '../lib/ids.ts';
import type { Actor } from '../tenancy/context.ts';
import { tenantIdByZendeskSubdomain } from '../tenancy/lookup.ts';
import { chooseConnectionTenant, isSecondLiveConnection, liveZendeskConnection } from './connections.ts';
import type { RefreshedPair } from './slack.ts';
import type { InstallDeps } from './slack-install.ts';

export interface ZendeskConnectResult {
  tenantId: string;
  connectionId: string;
  hookId: string;
  reconnect: boolean;
  tenantCreated: boolean;
}

const TAKEN = 'This Zendesk account is already connected to another Helpdesk Copilot tenant.';
/**
 * A tenant holds one live Zendesk connection. Another subdomain is refused rather than swapped in:
 * the old account's webhook and triggers must be removed in Zendesk first (disconnect), which a
 * database transaction cannot do.
 */
const secondAccount = (subdomain: string | null) =>
  `This tenant is already connected to ${subdomain ? `${subdomain}.zendesk.com` : 'another Zendesk account'}. Disconnect it first.`;

/**
 * Stores a completed Zendesk authorization for `subdomain` (sealed pair, expiries, scopes).
 *
 * Tenant: the signed-in admin's tenant when they started the flow; else the tenant already
 * connected to this subdomain; else a new tenant named after it (chooseConnectionTenant). A
 * subdomain that belongs to one tenant is never taken over by another, and a tenant with a live
 * connection to another subdomain gets a 409 (also when two connects race: the one-live index). `hookId` (our webhook path secret) is generated on the
 * first connect and kept on every reconnect, so Zendesk's webhook keeps working.
 */
export async function storeZendeskConnection(
  deps: InstallDeps,
  input: {
    subdomain: string;
    pair: RefreshedPair & { scope: string };
    joinTenantId?: string | null;
    joinUserId?: string | null;
    requestId?: string;
  },
): Promise<ZendeskConnectResult> {
  const now = (deps.now ?? (() => new Date()))();
  const subdomain = input.subdomain.toLowerCase();
  const actor: Actor = { type: 'system', name: 'zendesk-oauth' };
  const { tenantId, tenantCreated } = await chooseConnectionTenant(deps.db, {
    ownerTenantId: await tenantIdByZendeskSubdomain(deps.db, subdomain),
    joinTenantId: input.joinTenantId,
    newTenantName: subdomain,
    takenMessage: TAKEN,
    actor,
    requestId: input.requestId,
  });
  const sealed = {
    accessToken: await deps.vault.seal(tenantId, 'zendesk_access_token', input.pair.accessToken),
    refreshToken: await deps.vault.seal(tenantId, 'zendesk_refresh_token', input.pair.refreshToken),
    accessExpiresAt: input.pair.accessExpiresAt,
    refreshExpiresAt: input.pair.refreshExpiresAt,
  };
  try {
    return await withTenant(deps.db, tenantId, async (tx) => {
      const rows = await tx
        .select()
        .from(zendeskConnections)
        .where(eq(zendeskConnections.subdomain, subdomain))
        .limit(1);
      const live = await liveZendeskConnection(tx);
      if (live && live.subdomain !== subdomain) throw new AppError('conflict', secondAccount(live.subdomain));
      const fields = {
        scopes: input.pair.scope,
        ...sealed,
        status: 'active' as const,
        statusDetail: null,
        updatedAt: now,
      };
      const prior = rows[0];
      // The hook id is kept on every reconnect, so Zendesk's webhook keeps working.
      const connectionId = prior?.id ?? newId('zc');
      const hookId = prior?.hookId ?? randomToken(24);
      const renewed = { ...fields, tokenVersion: sql`${zendeskConnections.tokenVersion} + 1` };
      await (prior
        ? tx.update(zendeskConnections).set(renewed).where(eq(zendeskConnections.id, connectionId))
        : tx.insert(zendeskConnections).values({ tenantId, id: connectionId, subdomain, hookId, ...fields }));
      await audit(
        { tenantId, tx, actor, requestId: input.requestId },
        {
          action: prior ? 'zendesk.reconnected' : 'zendesk.connected',
          target: connectionId,
          outcome: 'success',
          detail: {
            subdomain,
            scopes: input.pair.scope,
            accessExpiresAt: input.pair.accessExpiresAt.toISOString(),
            refreshExpiresAt: input.pair.refreshExpiresAt?.toISOString() ?? null,
            startedBy: input.joinUserId ?? null,
            tenantCreated,
          },
        },
      );
      return { tenantId, connectionId, hookId, reconnect: Boolean(prior), tenantCreated };
    });
  } catch (e) {
    if (dbErrorCode(e) !== '23505') throw e;
    // A concurrent connect of another subdomain into this tenant won the one-live index.
    if (isSecondLiveConnection(e)) throw new AppError('conflict', secondAccount(null));
    throw new AppError('conflict', TAKEN);
  }
}
