import { bigint, index, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { tenantId, tenantIsolation, ts } from './columns.ts';

/**
 * Append-only audit trail. The application role may INSERT and SELECT only (migration 0002):
 * no UPDATE, no DELETE. Ids are time-ordered, so (tenant, id) orders events. Tamper-evident: each
 * event's hash covers its content and the previous event of the same tenant (seq, prev_hash).
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    at: ts('at').notNull().defaultNow(),
    actor: jsonb('actor').$type<Record<string, unknown>>().notNull(),
    action: text('action').notNull(),
    target: text('target'),
    outcome: text('outcome', { enum: ['success', 'failure', 'denied'] }).notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
    requestId: text('request_id'),
    /** Position in the tenant's chain (1, 2, ...); set by the insert trigger (migration 0008). */
    seq: bigint('seq', { mode: 'number' }),
    /** Hash of the tenant's previous event (null for the first). */
    prevHash: text('prev_hash'),
    /** SHA-256 over this event's content and prevHash (app_audit_hash, migration 0008). */
    hash: text('hash'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('audit_events_at').on(t.tenantId, t.at),
    uniqueIndex('audit_events_chain').on(t.tenantId, t.seq),
    tenantIsolation(),
  ],
);
