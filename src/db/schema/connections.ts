import { sql } from 'drizzle-orm';
import {
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  unique,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { createdAt, lookupRead, tenantId, tenantIsolation, ts, updatedAt } from './columns.ts';

export const CONNECTION_STATUS = ['active', 'needs_reauth', 'revoked'] as const;

/**
 * One row per Slack installation, keyed by (enterprise id, team id, is-enterprise-install):
 * a reinstall upserts, never adds. Tokens are vault ciphertexts (purpose slack_bot_token /
 * slack_refresh_token). `tokenVersion` increments on every refresh (compare-and-swap).
 */
export const slackInstallations = pgTable(
  'slack_installations',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    enterpriseId: text('enterprise_id'),
    teamId: text('team_id'),
    isEnterpriseInstall: boolean('is_enterprise_install').notNull().default(false),
    teamName: text('team_name'),
    enterpriseName: text('enterprise_name'),
    appId: text('app_id'),
    botUserId: text('bot_user_id'),
    botId: text('bot_id'),
    scopes: text('scopes').notNull().default(''),
    installerUserId: text('installer_user_id'),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    accessExpiresAt: ts('access_expires_at'),
    tokenVersion: integer('token_version').notNull().default(0),
    status: text('status', { enum: CONNECTION_STATUS }).notNull().default('active'),
    statusDetail: text('status_detail'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('slack_installations_key').on(t.enterpriseId, t.teamId, t.isEnterpriseInstall).nullsNotDistinct(),
    // "The tenant's Slack connection" is a database invariant: at most one live row per tenant.
    uniqueIndex('slack_installations_one_live').on(t.tenantId).where(sql`status <> 'revoked'`),
    tenantIsolation(),
    lookupRead(),
  ],
);

/**
 * One row per Zendesk account (subdomain). `hookId` is the unguessable id in our webhook path;
 * `zendeskWebhookId` / `triggerIds` are what we provisioned in Zendesk; `webhookSecret` is sealed.
 */
export const zendeskConnections = pgTable(
  'zendesk_connections',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    subdomain: text('subdomain').notNull().unique(),
    scopes: text('scopes').notNull().default(''),
    accessToken: text('access_token'),
    refreshToken: text('refresh_token'),
    accessExpiresAt: ts('access_expires_at'),
    refreshExpiresAt: ts('refresh_expires_at'),
    tokenVersion: integer('token_version').notNull().default(0),
    status: text('status', { enum: CONNECTION_STATUS }).notNull().default('active'),
    statusDetail: text('status_detail'),
    hookId: text('hook_id').notNull().unique(),
    zendeskWebhookId: text('zendesk_webhook_id'),
    webhookSecret: text('webhook_secret'),
    triggerIds: jsonb('trigger_ids').$type<Record<string, string>>().notNull().default({}),
    provisionedAt: ts('provisioned_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('zendesk_connections_expiry').on(t.accessExpiresAt),
    // "The tenant's Zendesk connection" is a database invariant: at most one live row per tenant.
    uniqueIndex('zendesk_connections_one_live').on(t.tenantId).where(sql`status <> 'revoked'`),
    tenantIsolation(),
    lookupRead(),
  ],
);

/**
 * What "erase a connection's credentials" writes: every sealed secret and its expiry, nulled.
 * Uninstall, disconnect and tenant deletion all spread these, so a credential column added later
 * is erased everywhere by adding it here.
 */
export const ERASED_SLACK_CREDENTIALS = {
  accessToken: null,
  refreshToken: null,
  accessExpiresAt: null,
} as const;

export const ERASED_ZENDESK_CREDENTIALS = {
  accessToken: null,
  refreshToken: null,
  accessExpiresAt: null,
  refreshExpiresAt: null,
  webhookSecret: null,
} as const;
