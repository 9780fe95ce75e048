import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgPolicy, pgTable, primaryKey, text, unique } from 'drizzle-orm/pg-core';
import { createdAt, tenantId, tenantIsolation, ts, updatedAt } from './columns.ts';

/**
 * The job claimer's role (src/jobs/claim.ts), created by migration 0003: sees every tenant's jobs,
 * but only their scheduling columns (column grants; no payload, kind or last_error).
 */
export const SCHEDULER_ROLE = 'helpdesk_scheduler';

export const JOB_STATUS = ['queued', 'running', 'done', 'dead'] as const;

/**
 * Durable per-tenant job queue. At-least-once: a worker leases a job (`leaseUntil`), and a job
 * whose lease lapsed is runnable again. `dedupeKey` makes enqueueing idempotent per tenant.
 *
 * Two policies: `tenant_isolation` (every role, one tenant at a time: enqueue, payload reads,
 * completion) and `scheduler_claim` for the scheduler role, which sees every tenant's rows but,
 * by column grants (migration 0003), only the scheduling columns: never `payload`.
 */
export const jobs = pgTable(
  'jobs',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    dedupeKey: text('dedupe_key'),
    status: text('status', { enum: JOB_STATUS }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(8),
    runAt: ts('run_at').notNull().defaultNow(),
    leaseUntil: ts('lease_until'),
    leaseOwner: text('lease_owner'),
    lastError: text('last_error'),
    finishedAt: ts('finished_at'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('jobs_dedupe').on(t.tenantId, t.dedupeKey),
    index('jobs_tenant_runnable').on(t.tenantId, t.status, t.runAt),
    // Claim: skip-scan over tenants with queued jobs, then each tenant's oldest due job.
    index('jobs_queued').on(t.tenantId, t.runAt, t.id).where(sql`status = 'queued'`),
    // Per-tenant running counts and the lapsed-lease sweep.
    index('jobs_running').on(t.leaseUntil).where(sql`status = 'running'`),
    tenantIsolation(),
    pgPolicy('scheduler_claim', {
      as: 'permissive',
      for: 'all',
      to: SCHEDULER_ROLE,
      using: sql`true`,
      withCheck: sql`true`,
    }),
  ],
);

/** Every accepted webhook delivery, deduplicated by invocation id and by (ticket, event) key. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    tenantId: tenantId(),
    connectionId: text('connection_id').notNull(),
    invocationId: text('invocation_id').notNull(),
    eventKey: text('event_key').notNull(),
    ticketId: text('ticket_id').notNull(),
    event: text('event').notNull(),
    jobId: text('job_id').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.invocationId] }),
    unique('webhook_deliveries_event').on(t.tenantId, t.eventKey),
    // A ticket's deliveries: a queued event a newer one of its ticket supersedes (process-ticket.ts).
    index('webhook_deliveries_ticket').on(t.tenantId, t.connectionId, t.ticketId),
    tenantIsolation(),
  ],
);
