import { sql } from 'drizzle-orm';
import { pgPolicy, text, timestamp } from 'drizzle-orm/pg-core';

/** The non-owner role that `withTenant` switches to. Created by migration 0000; never owns tables. */
export const APP_ROLE = 'helpdesk_app';
/** Pre-tenant look-ups (tenant by Slack team, Zendesk subdomain, hook id): SELECT on key columns only. */
export const LOOKUP_ROLE = 'helpdesk_lookup';

export const tenantId = () => text('tenant_id').notNull();
export const createdAt = () =>
  timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const updatedAt = () =>
  timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/**
 * Every tenant-owned table carries this policy: a row is visible and writable only when its
 * tenant_id equals `app_current_tenant()` (migration 0006): the tenant of the transaction's signed
 * claim, which SQL cannot forge. With no valid claim it is NULL and nothing matches. The sub-select
 * makes it an init plan, evaluated once per statement rather than once per row.
 * RLS is also FORCED (migration 0002), so the table owner is bound by it too.
 */
export const tenantIsolation = () =>
  pgPolicy('tenant_isolation', {
    as: 'permissive',
    for: 'all',
    to: 'public',
    using: sql`tenant_id = (select public.app_current_tenant())`,
    withCheck: sql`tenant_id = (select public.app_current_tenant())`,
  });

/** Read access for the look-up role; column grants (0002) limit it to key columns. */
export const lookupRead = () =>
  pgPolicy('lookup_read', { as: 'permissive', for: 'select', to: LOOKUP_ROLE, using: sql`true` });
