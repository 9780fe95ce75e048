import { index, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { tenantId, tenantIsolation, ts } from './columns.ts';

/**
 * Append-only audit trail. The application role may INSERT and SELECT only (migration 0002):
 * no UPDATE, no DELETE. Ids are time-ordered, so (tenant, id) orders events.
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
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('audit_events_at').on(t.tenantId, t.at),
    tenantIsolation(),
  ],
);
