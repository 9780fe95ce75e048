import { and, eq, ne, sql } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { slackInstallations } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, dbErrorCode } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import type { Actor } from '../tenancy/context.ts';
import { tenantIdBySlack, tenantStatus } from '../tenancy/lookup.ts';
import { createTenant } from '../tenancy/tenants.ts';
import type { Vault } from '../tenancy/vault.ts';
import type { SlackInstallResponse } from './slack.ts';

/**
 * Refuses to attach a connection to a tenant that is being deleted (its data is about to be
 * purged). Reads only tenants.id/status, as the look-up role.
 */
export async function assertTenantActive(db: Db, tenantId: string): Promise<void> {
  const status = await tenantStatus(db, tenantId);
  if (status !== 'active') {
    throw new AppError(
      'conflict',
      status === 'deleting'
        ? 'This account is being deleted. Install again once the deletion has completed, or contact support to cancel it.'
        : 'This account no longer exists.',
    );
  }
}

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
 * one tenant is never moved into another, and a tenant holds one Slack installation.
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
  const existing = await tenantIdBySlack(deps.db, key, { includeRevoked: true });
  let tenantId: string;
  let tenantCreated = false;
  if (input.joinTenantId) {
    if (existing && existing !== input.joinTenantId) {
      throw new AppError(
        'conflict',
        'This Slack workspace is already connected to another Helpdesk Copilot tenant.',
      );
    }
    tenantId = input.joinTenantId;
  } else if (existing) {
    tenantId = existing;
  } else {
    tenantId = (
      await createTenant(deps.db, { name, actor, ...(input.requestId ? { requestId: input.requestId } : {}) })
    ).id;
    tenantCreated = true;
  }

  if (!tenantCreated) await assertTenantActive(deps.db, tenantId);
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
      const other = await tx
        .select({ id: slackInstallations.id, teamName: slackInstallations.teamName })
        .from(slackInstallations)
        .where(and(ne(slackInstallations.status, 'revoked'), sql`not (${keyWhere})`))
        .limit(1);
      if (other.length) {
        throw new AppError(
          'conflict',
          `This tenant is already connected to another Slack workspace (${other[0]!.teamName ?? 'unknown'}). Uninstall it first.`,
        );
      }
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
      let installationId: string;
      if (mine[0]) {
        installationId = mine[0].id;
        await tx
          .update(slackInstallations)
          .set({ ...fields, tokenVersion: sql`${slackInstallations.tokenVersion} + 1` })
          .where(eq(slackInstallations.id, installationId));
      } else {
        installationId = newId('si');
        await tx.insert(slackInstallations).values({ tenantId, id: installationId, ...key, ...fields });
      }
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
    // The key is unique across tenants: a row we cannot see (another tenant's, e.g. a revoked one) holds it.
    if (dbErrorCode(e) === '23505') {
      throw new AppError(
        'conflict',
        'This Slack workspace is already connected to another Helpdesk Copilot tenant.',
      );
    }
    throw e;
  }
}
