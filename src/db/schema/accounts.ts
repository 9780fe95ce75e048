import { foreignKey, index, jsonb, pgTable, primaryKey, text, unique } from 'drizzle-orm/pg-core';
import { createdAt, tenantId, tenantIsolation, updatedAt } from './columns.ts';

/**
 * The tenant's customers (merchants in B2B2C). `domains` and `emails` are the directory used for
 * routing by requester; everything else about an account comes from context providers.
 */
export const accounts = pgTable(
  'accounts',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    name: text('name').notNull(),
    plan: text('plan'),
    domains: text('domains').array().notNull().default([]),
    emails: text('emails').array().notNull().default([]),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), tenantIsolation()],
);

/** Customers of an account (B2B2C end users). Their records are the only account data an end-user draft may use. */
export const endUsers = pgTable(
  'end_users',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    accountId: text('account_id').notNull(),
    email: text('email').notNull(),
    name: text('name'),
    records: jsonb('records').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('end_users_email').on(t.tenantId, t.accountId, t.email),
    foreignKey({
      columns: [t.tenantId, t.accountId],
      foreignColumns: [accounts.tenantId, accounts.id],
    }).onDelete('cascade'),
    index('end_users_email_idx').on(t.tenantId, t.email),
    tenantIsolation(),
  ],
);
