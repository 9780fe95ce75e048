import { eq, sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../../db/client.ts';
import { accounts, catalogEntries, playbooks } from '../../db/schema/index.ts';
import { withTenant } from '../../db/tenant.ts';
import { detectLanguage } from '../drafting/language.ts';
import { isStopword } from '../drafting/text.ts';
import type { ContextFact } from '../types.ts';
import { fillLink, hasLinkPlaceholders, type LinkSource } from './link-template.ts';
import type { ContextProvider, ProviderInput } from './loader.ts';

/**
 * The tenant's own catalog, read from our database: plans and features (account tickets only:
 * prices and plan names are not for end users), links (`{account.id}`, `{account.name}` and
 * `{account.plan}` placeholders filled from the account, URL-encoded, link-template.ts; a link is
 * left out when there is no account to fill it, a value is missing or it names another field), changelog entries, knowledge-base articles found
 * by full-text search over the ticket's words, and the tenant's playbooks (guidance, not data).
 */
export interface CatalogProviderOptions {
  db: Db;
  kbLimit: number;
  /** Changelog entries loaded (newest first, not after `now`). */
  changelogLimit?: number;
}

/**
 * The ticket's content words as a full-text query with OR semantics (any word may match; rank
 * orders). Function words of the drafter's languages are left out: the `simple` configuration
 * has no stopwords of its own, and "the" or "der" would match every article.
 */
export function ticketSearchText(text: string): string {
  const words = [...new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [])].filter(
    (w) => w.length > 1 && w !== 'or' && !isStopword(w),
  );
  return words.slice(0, 40).join(' or ');
}

/** PostgreSQL text-search configuration for a detected language (`simple` when none fits). */
export const TS_CONFIG: Record<string, string> = {
  en: 'english',
  de: 'german',
  es: 'spanish',
  fr: 'french',
  pt: 'portuguese',
  it: 'italian',
  nl: 'dutch',
};

export function searchConfig(text: string): string {
  return TS_CONFIG[detectLanguage(text) ?? ''] ?? 'simple';
}

export function createCatalogProvider(opts: CatalogProviderOptions): ContextProvider {
  return {
    source: 'catalog',
    async load(input: ProviderInput, signal: AbortSignal): Promise<ContextFact[]> {
      const { route, ticket } = input;
      const fetchedAt = input.now.toISOString();
      const isAccount = route.level === 'account' && route.accountId !== null;
      const text = `${ticket.subject}\n${ticket.body}`;
      const query = ticketSearchText(text);
      const config = searchConfig(text);
      const data = await withTenant(opts.db, input.tenantId, async (tx) => {
        const entries = await tx.select().from(catalogEntries);
        const kb = query
          ? rowsOf<{ id: string; title: string; body: string; rank: number }>(
              // Three matches, any of which finds an article: the stored English vector, the
              // ticket's language (stemmed), and `simple` (exact words, any language). Title and
              // body weigh the same ({D,C,B,A} = {0.1,0.2,1,1}): a title cannot drown the body.
              await tx.execute(sql`
                select id, title, body, rank from (
                  select id, title, body,
                    ts_rank('{0.1,0.2,1.0,1.0}', search, qe)
                      + ts_rank(to_tsvector(${config}::regconfig, title || ' ' || body), ql)
                      + ts_rank(to_tsvector('simple', title || ' ' || body), qs) as rank,
                    search @@ qe
                      or to_tsvector(${config}::regconfig, title || ' ' || body) @@ ql
                      or to_tsvector('simple', title || ' ' || body) @@ qs as hit
                  from kb_articles,
                    websearch_to_tsquery('english', ${query}) qe,
                    websearch_to_tsquery(${config}::regconfig, ${query}) ql,
                    websearch_to_tsquery('simple', ${query}) qs
                ) found
                where hit
                order by rank desc, id
                limit ${opts.kbLimit}`),
            )
          : [];
        const books = await tx.select().from(playbooks);
        const account = isAccount
          ? (await tx.select().from(accounts).where(eq(accounts.id, route.accountId!)).limit(1))[0]
          : undefined;
        return { entries, kb, books, account };
      });
      signal.throwIfAborted();

      const facts: ContextFact[] = [];
      const add = (f: Omit<ContextFact, 'fetchedAt'>) => facts.push({ ...f, fetchedAt });
      // Links are filled from these three fields only (never the account's data: notes, users).
      const accountSource: LinkSource | null = data.account
        ? { id: data.account.id, name: data.account.name, plan: data.account.plan }
        : null;
      if (data.account) {
        add({
          id: 'directory:account',
          source: 'directory',
          key: 'account',
          value: {
            id: data.account.id,
            name: data.account.name,
            plan: data.account.plan,
            domains: data.account.domains,
          },
          visibility: 'account',
        });
      }
      const changelog: { key: string; date: string; data: Record<string, unknown> }[] = [];
      for (const e of data.entries) {
        if (e.kind === 'plan' && isAccount) {
          add({
            id: `catalog:plan:${e.key}`,
            source: 'catalog',
            key: 'catalog_plan',
            value: { key: e.key, ...e.data },
            visibility: 'account',
          });
        } else if (e.kind === 'feature' && isAccount) {
          add({
            id: `catalog:feature:${e.key}`,
            source: 'catalog',
            key: 'catalog_feature',
            value: { key: e.key, ...e.data },
            visibility: 'account',
          });
        } else if (e.kind === 'link') {
          const template = typeof e.data.url === 'string' ? e.data.url : null;
          if (!template) continue;
          const hasPlaceholders = hasLinkPlaceholders(template);
          if (hasPlaceholders && !isAccount) continue;
          const url = fillLink(template, accountSource);
          if (!url) continue;
          add({
            id: `catalog:link:${e.key}`,
            source: 'catalog',
            key: 'link',
            value: {
              key: e.key,
              url,
              ...(typeof e.data.purpose === 'string' ? { purpose: e.data.purpose } : {}),
            },
            visibility: hasPlaceholders ? 'account' : 'public',
          });
        } else if (e.kind === 'changelog') {
          const date = typeof e.data.date === 'string' ? e.data.date : '';
          if (date && date.slice(0, 10) > fetchedAt.slice(0, 10)) continue;
          changelog.push({ key: e.key, date, data: e.data });
        }
      }
      changelog.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
      for (const c of changelog.slice(0, opts.changelogLimit ?? 10)) {
        add({
          id: `catalog:changelog:${c.key}`,
          source: 'catalog',
          key: 'changelog',
          value: { ...c.data },
          visibility: 'public',
        });
      }
      for (const a of data.kb) {
        add({
          id: `kb:${a.id}`,
          source: 'kb',
          key: 'kb_article',
          value: { id: a.id, title: a.title, body: a.body, rank: Number(a.rank) },
          visibility: 'public',
        });
      }
      for (const b of data.books) {
        add({
          id: `playbook:${b.key}`,
          source: 'playbooks',
          key: 'playbook',
          value: {
            key: b.key,
            when: b.whenText,
            steps: b.steps,
            autoSend: b.autoSend,
            visibility: b.visibility,
          },
          visibility: 'public',
        });
      }
      return facts;
    },
  };
}
