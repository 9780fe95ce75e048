import { date, doublePrecision, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { lookupRead, tenantId, tenantIsolation, ts } from './columns.ts';

/** The upstreams a tenant's calls are limited toward (src/limits/upstream.ts). */
export const UPSTREAMS = ['zendesk', 'slack', 'model'] as const;
export type Upstream = (typeof UPSTREAMS)[number];

export const BREAKER_STATES = ['closed', 'open', 'half_open'] as const;

/**
 * One row per (tenant, upstream, key): the tenant's token bucket toward that upstream, its pause
 * (a 429's Retry-After) and its circuit breaker, shared by every process on the database. `key`
 * narrows the bucket ('' for the whole upstream; a Slack method tier or channel). Taken and
 * updated only by `app_take_upstream` / `app_record_upstream` (migration 0014), one statement each.
 */
export const upstreamLimits = pgTable(
  'upstream_limits',
  {
    tenantId: tenantId(),
    upstream: text('upstream', { enum: UPSTREAMS }).notNull(),
    key: text('key').notNull().default(''),
    tokens: doublePrecision('tokens').notNull(),
    /** The bucket's size (a burst) and its refill per second, as last taken. */
    capacity: doublePrecision('capacity').notNull(),
    refillPerSec: doublePrecision('refill_per_sec').notNull(),
    /** What the upstream said the limit is (Zendesk's X-Rate-Limit, per minute). */
    learnedPerMinute: doublePrecision('learned_per_minute'),
    refilledAt: ts('refilled_at').notNull(),
    pausedUntil: ts('paused_until'),
    breaker: text('breaker', { enum: BREAKER_STATES }).notNull().default('closed'),
    failures: integer('failures').notNull().default(0),
    openedAt: ts('opened_at'),
    /** While half-open: the one probe call's lease. */
    probeUntil: ts('probe_until'),
    lastFailure: text('last_failure'),
  },
  // lookupRead: /readyz counts open breakers and pauses across tenants (app_upstream_health, counts only).
  (t) => [primaryKey({ columns: [t.tenantId, t.upstream, t.key] }), tenantIsolation(), lookupRead()],
);

/** Per tenant, UTC day and upstream: calls made, calls deferred by our limits, 429s, failures, breaker openings. */
export const upstreamUsage = pgTable(
  'upstream_usage',
  {
    tenantId: tenantId(),
    day: date('day', { mode: 'string' }).notNull(),
    upstream: text('upstream', { enum: UPSTREAMS }).notNull(),
    calls: integer('calls').notNull().default(0),
    deferred: integer('deferred').notNull().default(0),
    throttled: integer('throttled').notNull().default(0),
    failures: integer('failures').notNull().default(0),
    breakerOpenings: integer('breaker_openings').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day, t.upstream] }), tenantIsolation()],
);
