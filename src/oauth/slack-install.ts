import { and, eq, sql } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { slackInstallations } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, dbErrorCode } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import type { Actor } from '../tenancy/context.ts';
import { tenantIdBySlack } from '../tenancy/lookup.ts';
import type { Vault } from '../tenancy/vault.ts';
import { chooseConnectionTenant, isSecondLiveConnection, liveSlackInstallation } from './connections.ts';
import type { SlackInstallResponse } from './slack.ts';

const TAKEN = 'This Slack workspace is already connected to another Helpdesk Copilot tenant.';
const secondWorkspace = (teamName: string | null) =>
  `This tenant is already connected to another Slack workspace${teamName ? ` (${teamName})` : ''}. Uninstall it first.`;

export interface InstallDeps {
  db: Db;
  vault: Vault;
  now?: () => Date;
}

export interface SlackInstallResult {
  tenantId: string;
  installationId: string;
  name: string;
  reinstall: boolean;
  tenantCreated: boolean;
}

/**
 * Stores a completed Slack install. The installation is keyed by (enterprise id, team id,
 * is-enterprise-install): org-wide Enterprise Grid installs have no team and are keyed by the
 * enterprise. A reinstall updates that one row (new tokens, status active again).
 *
 * Tenant: the signed-in admin's tenant when they started the flow (`joinTenantId`); else the
 * tenant this workspace/org already belongs to; else a new tenant. A workspace that belongs to
 * one tenant is never moved into another (chooseConnectionTenant), and a tenant holds one live
 * Slack installation: installing another workspace into it is a 409 (uninstall first), also when
 * two installs race (the one-live index decides).
 */
export async function storeSlackInstall(
  deps: InstallDeps,
  input: {
    grant: SlackInstallResponse;
    joinTenantId?: string | null;
    joinUserId?: string | null;
    requestId?: string;
  },
): Promise<SlackInstallResult> {
  const g = input.grant;
  const now = (deps.now ?? (() => new Date()))();
  const key = {
    enterpriseId: g.enterprise?.id ?? null,
    teamId: g.is_enterprise_install ? null : (g.team?.id ?? null),
    isEnterpriseInstall: g.is_enterprise_install,
  };
  const name =
    (g.is_enterprise_install ? g.enterprise?.name : g.team?.name) ??
    key.teamId ??
    key.enterpriseId ??
    'Slack';
  const actor: Actor = g.authed_user?.id
    ? { type: 'slack_user', userId: g.authed_user.id, ...(key.teamId ? { teamId: key.teamId } : {}) }
    : { type: 'system', name: 'slack-install' };

  // Whatever its status: after an uninstall (row kept as `revoked`) a reinstall returns to the
  // same tenant and reactivates that row instead of colliding with it.
  const { tenantId, tenantCreated } = await chooseConnectionTenant(deps.db, {
    ownerTenantId: await tenantIdBySlack(deps.db, key, { includeRevoked: true }),
    joinTenantId: input.joinTenantId,
    newTenantName: name,
    takenMessage: TAKEN,
    actor,
    requestId: input.requestId,
  });
  const sealed = {
    accessToken: await deps.vault.seal(tenantId, 'slack_access_token', g.access_token),
    refreshToken: g.refresh_token
      ? await deps.vault.seal(tenantId, 'slack_refresh_token', g.refresh_token)
      : null,
    accessExpiresAt: g.expires_in ? new Date(now.getTime() + g.expires_in * 1000) : null,
  };
  const keyWhere = and(
    key.enterpriseId === null
      ? sql`${slackInstallations.enterpriseId} is null`
      : eq(slackInstallations.enterpriseId, key.enterpriseId),
    key.teamId === null
      ? sql`${slackInstallations.teamId} is null`
      : eq(slackInstallations.teamId, key.teamId),
    eq(slackInstallations.isEnterpriseInstall, key.isEnterpriseInstall),
  );
  try {
    return await withTenant(deps.db, tenantId, async (tx) => {
      const mine = await tx
        .select({ id: slackInstallations.id })
        .from(slackInstallations)
        .where(keyWhere)
        .limit(1);
      const live = await liveSlackInstallation(tx);
      if (live && live.id !== mine[0]?.id) throw new AppError('conflict', secondWorkspace(live.teamName));
      const fields = {
        teamName: g.team?.name ?? null,
        enterpriseName: g.enterprise?.name ?? null,
        appId: g.app_id ?? null,
        botUserId: g.bot_user_id ?? null,
        scopes: g.scope,
        installerUserId: g.authed_user?.id ?? null,
        ...sealed,
        status: 'active' as const,
        statusDetail: null,
        updatedAt: now,
      };
      const installationId = mine[0]?.id ?? newId('si');
      if (!mine[0])
        await tx.insert(slackInstallations).values({ tenantId, id: installationId, ...key, ...fields });
      else
        await tx
          .update(slackInstallations)
          .set({ ...fields, tokenVersion: sql`${slackInstallations.tokenVersion} + 1` })
          .where(eq(slackInstallations.id, installationId));
      await audit(
        { tenantId, tx, actor, requestId: input.requestId },
        {
          action: mine[0] ? 'slack.reinstalled' : 'slack.installed',
          target: installationId,
          outcome: 'success',
          detail: {
            ...key,
            name,
            scopes: g.scope,
            tokenRotation: Boolean(g.refresh_token),
            joinedBy: input.joinUserId ?? null,
            tenantCreated,
          },
        },
      );
      return { tenantId, installationId, name, reinstall: Boolean(mine[0]), tenantCreated };
    });
  } catch (e) {
    if (dbErrorCode(e) !== '23505') throw e;
    // A concurrent install of another workspace into this tenant won the one-live index.
    if (isSecondLiveConnection(e)) throw new AppError('conflict', secondWorkspace(null));
    // The key is unique across tenants: a row we cannot see (another tenant's, e.g. a revoked one) holds it.
    throw new AppError('conflict', TAKEN);
  }
}
