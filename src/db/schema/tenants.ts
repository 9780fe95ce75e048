import { sql } from 'drizzle-orm';
import { boolean, integer, jsonb, pgPolicy, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt, lookupRead, tenantId, tenantIsolation, ts, updatedAt } from './columns.ts';

/** The security boundary. Status: active, deleting (retention window running), purged. */
export const tenants = pgTable(
  'tenants',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    status: text('status', { enum: ['active', 'deleting', 'purged'] })
      .notNull()
      .default('active'),
    deleteAfter: ts('delete_after'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  () => [
    pgPolicy('tenant_self', {
      as: 'permissive',
      for: 'all',
      to: 'public',
      using: sql`id = (select public.app_current_tenant())`,
      withCheck: sql`id = (select public.app_current_tenant())`,
    }),
    lookupRead(),
  ],
).enableRLS();

/** Per-tenant settings read at runtime (routing rules, context deadline, model, ...), validated by zod on read. */
export const tenantSettings = pgTable(
  'tenant_settings',
  {
    tenantId: tenantId().primaryKey(),
    settings: jsonb('settings').$type<Record<string, unknown>>().notNull().default({}),
    updatedAt: updatedAt(),
  },
  () => [tenantIsolation()],
);

/** Sealed tenant secrets by purpose (Context API signing secret, ...). Values are vault ciphertexts. */
export const tenantSecrets = pgTable(
  'tenant_secrets',
  {
    tenantId: tenantId(),
    purpose: text('purpose').notNull(),
    sealed: text('sealed').notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.purpose] }), tenantIsolation()],
);

/** Admin console sessions. The id is stored as a SHA-256 hash; the cookie holds the random value. */
export const adminSessions = pgTable(
  'admin_sessions',
  {
    tenantId: tenantId(),
    idHash: text('id_hash').notNull().unique(),
    userId: text('user_id').notNull(),
    userName: text('user_name'),
    role: text('role', { enum: ['owner', 'admin', 'member'] }).notNull(),
    via: text('via', { enum: ['slack_oidc', 'zendesk_oauth', 'local_link'] }).notNull(),
    expiresAt: ts('expires_at').notNull(),
    createdAt: createdAt(),
    /** When the session last made a request, written at most once per LAST_SEEN_EVERY_MS (sessions.ts). */
    lastSeenAt: ts('last_seen_at'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.idHash] }), tenantIsolation(), lookupRead()],
);

/**
 * OAuth `state` for install flows. Pre-tenant by nature (the tenant may not exist yet), so it is
 * not tenant-owned and only the owner connection (oauth/state-store.ts) touches it.
 * Single-use (consumed_at) and short-lived (expires_at).
 */
export const oauthStates = pgTable('oauth_states', {
  stateHash: text('state_hash').primaryKey(),
  provider: text('provider', { enum: ['slack', 'zendesk', 'slack_oidc', 'zendesk_signin'] }).notNull(),
  codeVerifier: text('code_verifier').notNull(),
  subdomain: text('subdomain'),
  joinTenantId: text('join_tenant_id'),
  joinUserId: text('join_user_id'),
  expiresAt: ts('expires_at').notNull(),
  consumedAt: ts('consumed_at'),
  createdAt: createdAt(),
});

/** Kept after a tenant is purged: proves the purge happened. Not tenant-owned (the tenant is gone). */
export const tenantTombstones = pgTable('tenant_tombstones', {
  tenantId: text('tenant_id_purged').primaryKey(),
  requestedAt: ts('requested_at').notNull(),
  purgedAt: ts('purged_at').notNull(),
  rowsDeleted: integer('rows_deleted').notNull(),
  auditEventsDeleted: integer('audit_events_deleted').notNull(),
  auditDigest: text('audit_digest').notNull(),
  /** Hash of the tenant's last audit event (the head of its chain) when it was purged. */
  auditChainHead: text('audit_chain_head'),
  requestedBy: text('requested_by').notNull(),
  dryRun: boolean('dry_run').notNull().default(false),
});
