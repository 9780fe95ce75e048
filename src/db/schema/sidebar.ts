import { boolean, index, integer, jsonb, pgTable, primaryKey, real, text } from 'drizzle-orm/pg-core';
import { createdAt, tenantId, tenantIsolation, ts, updatedAt } from './columns.ts';

/**
 * The Zendesk sidebar app as installed in one tenant's Zendesk account: which app id and
 * installation id are ours. A signed-URL token is accepted only when its `aud` names an
 * installation recorded here for the tenant its `iss` subdomain belongs to.
 */
export const sidebarInstallations = pgTable(
  'sidebar_installations',
  {
    tenantId: tenantId(),
    installationId: text('installation_id').notNull(),
    appId: text('app_id').notNull(),
    connectionId: text('connection_id').notNull(),
    /** `provisioned` (through the Apps API) or `manual` (zip uploaded by an admin). */
    origin: text('origin', { enum: ['provisioned', 'manual'] }).notNull(),
    status: text('status', { enum: ['active', 'removed'] })
      .notNull()
      .default('active'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.installationId] }), tenantIsolation()],
);

/**
 * Short-lived bearer credentials of the sidebar page, bound to (tenant, agent, installation).
 * Only a SHA-256 hash of the secret part is stored. Not a cookie: browsers block third-party
 * cookies inside the Zendesk iframe.
 */
export const sidebarCredentials = pgTable(
  'sidebar_credentials',
  {
    tenantId: tenantId(),
    idHash: text('id_hash').notNull(),
    installationId: text('installation_id').notNull(),
    agentId: text('agent_id').notNull(),
    agentName: text('agent_name'),
    expiresAt: ts('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.idHash] }),
    index('sidebar_credentials_expiry').on(t.tenantId, t.expiresAt),
    tenantIsolation(),
  ],
);

/**
 * Versions of a draft's text after the agent's edits (version 0 is `drafts.body`). Each carries
 * the diff against the original and its edit distance (Levenshtein, characters).
 */
export const draftVersions = pgTable(
  'draft_versions',
  {
    tenantId: tenantId(),
    draftId: text('draft_id').notNull(),
    version: integer('version').notNull(),
    body: text('body').notNull(),
    editDistance: integer('edit_distance').notNull(),
    diff: jsonb('diff').$type<DiffOp[]>().notNull().default([]),
    agentId: text('agent_id'),
    /** `sidebar` (edited then sent), `zendesk_button` (inserted, edited in Zendesk's editor, sent there). */
    via: text('via', { enum: ['sidebar', 'zendesk_button'] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.draftId, t.version] }), tenantIsolation()],
);

export type DiffOp = { op: 'eq' | 'del' | 'ins'; text: string };

/**
 * The approval and delivery of one draft: which version was approved by whom, and how its
 * public reply ended (`approved` -> `sent` | `failed`). One row per draft; the public reply
 * itself goes through the effect ledger with key `zendesk.reply:<draftId>:v<version>`.
 */
export const draftDeliveries = pgTable(
  'draft_deliveries',
  {
    tenantId: tenantId(),
    draftId: text('draft_id').notNull(),
    ticketId: text('ticket_id').notNull(),
    version: integer('version').notNull(),
    status: text('status', { enum: ['approved', 'sent', 'failed', 'rejected'] }).notNull(),
    /** `sidebar`, `auto_send` or `zendesk_button`. */
    mode: text('mode', { enum: ['sidebar', 'auto_send', 'zendesk_button'] }).notNull(),
    agentId: text('agent_id'),
    agentName: text('agent_name'),
    commentId: text('comment_id'),
    /** Human-readable reason of a failure or rejection. */
    reason: text('reason'),
    /** The last attempt ended without knowing whether Zendesk stored the reply. */
    outcomeUnknown: boolean('outcome_unknown').notNull().default(false),
    overrideReason: text('override_reason'),
    editDistance: integer('edit_distance'),
    playbookId: text('playbook_id'),
    approvedAt: ts('approved_at'),
    sentAt: ts('sent_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.draftId] }),
    index('draft_deliveries_ticket').on(t.tenantId, t.ticketId),
    tenantIsolation(),
  ],
);

/**
 * Per-tenant sidebar settings: auto-send per playbook (off unless a row says so) and the ticket
 * status to set after a send (none unless chosen; ids read from the tenant's Zendesk).
 */
export const sidebarSettings = pgTable(
  'sidebar_settings',
  {
    tenantId: tenantId(),
    /** `*` for the tenant-wide default, else a playbook id. */
    scope: text('scope').notNull(),
    autoSend: boolean('auto_send').notNull().default(false),
    autoSendThreshold: real('auto_send_threshold'),
    /** Zendesk custom status id (or a standard status category such as `pending`) to set after a send. */
    statusAfterSend: text('status_after_send'),
    statusAfterSendLabel: text('status_after_send_label'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.scope] }), tenantIsolation()],
);

/**
 * How provisioning the sidebar app through the Apps API went for one connection: `installed`,
 * `plan_refused` (the account's plan does not allow private apps: an admin uploads the zip by
 * hand, README "Zendesk sidebar"), or `failed` (with the reason). Read by the console's checklist.
 */
export const sidebarAppProvisioning = pgTable(
  'sidebar_app_provisioning',
  {
    tenantId: tenantId(),
    connectionId: text('connection_id').notNull(),
    status: text('status', { enum: ['installed', 'plan_refused', 'failed', 'removed'] }).notNull(),
    appId: text('app_id'),
    installationId: text('installation_id'),
    detail: text('detail'),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.connectionId] }), tenantIsolation()],
);
