import { bigint, index, integer, jsonb, pgTable, primaryKey, real, text } from 'drizzle-orm/pg-core';
import { createdAt, tenantId, tenantIsolation, ts, updatedAt } from './columns.ts';

export const DRAFT_STATUS = ['pending', 'approved', 'sent', 'rejected', 'blocked', 'failed'] as const;

export const drafts = pgTable(
  'drafts',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    source: text('source', { enum: ['zendesk', 'slack'] }).notNull(),
    ticketId: text('ticket_id'),
    route: text('route', { enum: ['account', 'end_user', 'unknown'] }).notNull(),
    accountId: text('account_id'),
    endUserEmail: text('end_user_email'),
    status: text('status', { enum: DRAFT_STATUS }).notNull().default('pending'),
    body: text('body').notNull(),
    citations: jsonb('citations').$type<string[]>().notNull().default([]),
    confidence: real('confidence'),
    needsHumanReason: text('needs_human_reason'),
    contextSnapshot: jsonb('context_snapshot').$type<Record<string, unknown>>().notNull().default({}),
    guardVerdict: jsonb('guard_verdict').$type<Record<string, unknown>>().notNull().default({}),
    drafter: text('drafter').notNull(),
    model: text('model'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('drafts_ticket').on(t.tenantId, t.ticketId),
    // The console's drafts list (newest first), the daily draft quota and the usage report.
    index('drafts_tenant_created').on(t.tenantId, t.createdAt, t.id),
    tenantIsolation(),
  ],
);

/**
 * Idempotency ledger for external writes (Zendesk notes, Slack posts, public replies): the key is
 * claimed before the call and completed after, so a retried job never writes twice.
 */
export const externalEffects = pgTable(
  'external_effects',
  {
    tenantId: tenantId(),
    key: text('key').notNull(),
    kind: text('kind').notNull(),
    status: text('status', { enum: ['started', 'done', 'failed'] })
      .notNull()
      .default('started'),
    result: jsonb('result').$type<Record<string, unknown>>(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), tenantIsolation()],
);

/** Model usage per draft, for per-tenant cost reporting. Cost in micro-dollars (estimated). */
export const llmUsage = pgTable(
  'llm_usage',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    draftId: text('draft_id'),
    model: text('model').notNull(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    costMicroUsd: bigint('cost_micro_usd', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), tenantIsolation()],
);

/** Tenant Context API responses cached per key until `expiresAt`. */
export const contextCache = pgTable(
  'context_cache',
  {
    tenantId: tenantId(),
    cacheKey: text('cache_key').notNull(),
    value: jsonb('value').notNull(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.cacheKey] }), tenantIsolation()],
);
