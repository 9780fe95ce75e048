import { bigint, index, pgTable, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { tenantId, tenantIsolation, ts } from './columns.ts';

/**
 * Routing's index of the directory: one row per lower-cased email or domain an account lists
 * (`accounts.emails` / `accounts.domains`). Written only by triggers on `accounts` (migration
 * 0011: insert, update and delete, in the same statement as the account), so it cannot drift
 * from it; no foreign key (the delete trigger does a cascade's work, without a check per row on
 * every insert). A look-up by value is one primary-key probe: text equality is leakproof, so the
 * index is usable under row-level security, which an array containment operator is not.
 */
export const accountIdentifiers = pgTable(
  'account_identifiers',
  {
    tenantId: tenantId(),
    kind: text('kind').$type<'email' | 'domain'>().notNull(),
    value: text('value').notNull(),
    accountId: text('account_id').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.kind, t.value, t.accountId] }),
    // For the triggers, which replace or delete an account's rows.
    index('account_identifiers_account').on(t.tenantId, t.accountId),
    tenantIsolation(),
  ],
);

/**
 * A stamp that changes whenever the tenant's directory does (accounts, end users, catalog
 * entries: whatever the leak guard's matchers are built from). Set by statement triggers
 * (migration 0011) to a fresh random value, so it is never reused, not even after a rollback:
 * the guard's in-process caches are keyed by it and so cannot serve a stale directory, whichever
 * process wrote it. It changes once per writing transaction (`changed_xact`: a sync of 10,000
 * accounts would otherwise rewrite this row 10,000 times); a guard running inside that
 * transaction sees `changed_xact` is its own and does not cache what it builds.
 */
export const directoryVersions = pgTable(
  'directory_versions',
  {
    tenantId: tenantId().primaryKey(),
    version: uuid('version').notNull().defaultRandom(),
    changedAt: ts('changed_at').notNull().defaultNow(),
    /** The writing transaction's id (pg_current_xact_id). */
    changedXact: bigint('changed_xact', { mode: 'number' }),
  },
  () => [tenantIsolation()],
);
