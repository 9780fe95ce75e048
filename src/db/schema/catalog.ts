import { sql } from 'drizzle-orm';
import { boolean, customType, index, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt, tenantId, tenantIsolation, updatedAt } from './columns.ts';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

/** Plans, features, links and changelog entries of a tenant's product catalog (kind + key -> data). */
export const catalogEntries = pgTable(
  'catalog_entries',
  {
    tenantId: tenantId(),
    kind: text('kind', { enum: ['plan', 'feature', 'link', 'changelog'] }).notNull(),
    key: text('key').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.kind, t.key] }), tenantIsolation()],
);

/** Knowledge-base articles, searched with PostgreSQL full-text search. Public pages. */
export const kbArticles = pgTable(
  'kb_articles',
  {
    tenantId: tenantId(),
    id: text('id').notNull(),
    title: text('title').notNull(),
    body: text('body').notNull(),
    search: tsvector('search')
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('english', coalesce(title, '')), 'A') || setweight(to_tsvector('english', coalesce(body, '')), 'B')`,
      ),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    index('kb_articles_search').using('gin', t.search),
    tenantIsolation(),
  ],
);

/** The tenant's guidance per kind of question. `autoSend` is the only way a draft may send itself. */
export const playbooks = pgTable(
  'playbooks',
  {
    tenantId: tenantId(),
    key: text('key').notNull(),
    whenText: text('when_text').notNull(),
    steps: jsonb('steps').$type<string[]>().notNull().default([]),
    autoSend: boolean('auto_send').notNull().default(false),
    /** Who may see this guidance in a prompt: `account` (internal, the default), `end_user`, `public`. */
    visibility: text('visibility', { enum: ['account', 'end_user', 'public'] })
      .notNull()
      .default('account'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] }), tenantIsolation()],
);
