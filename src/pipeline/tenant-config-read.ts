import { asc, count, eq, gt, inArray } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import {
  accounts,
  catalogEntries,
  endUsers,
  kbArticles,
  playbooks,
  tenantSecrets,
} from '../db/schema/index.ts';
import { readPipelineSettings } from './settings.ts';
import type { CatalogInput } from './tenant-config.ts';

/**
 * The read side of the configuration API: every document that can be PUT can be read back in
 * the shape the PUT accepts (a GET's output is a valid PUT body), so an admin tool can fetch,
 * edit and send it back. Secrets are never returned: the Context API says only whether its
 * secret is set.
 */

/** The catalog as `PUT /admin/api/catalog` takes it. */
export async function readCatalog(tx: Tx): Promise<Required<CatalogInput>> {
  const [entries, kb, books] = await Promise.all([
    tx.select().from(catalogEntries).orderBy(asc(catalogEntries.kind), asc(catalogEntries.key)),
    tx
      .select({ id: kbArticles.id, title: kbArticles.title, body: kbArticles.body })
      .from(kbArticles)
      .orderBy(asc(kbArticles.id)),
    tx.select().from(playbooks).orderBy(asc(playbooks.key)),
  ]);
  const of = (kind: string) => entries.filter((e) => e.kind === kind);
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    plans: of('plan').map((e) => ({
      key: e.key,
      name: str(e.data.name),
      monthlyPrice: typeof e.data.monthlyPrice === 'number' ? e.data.monthlyPrice : null,
    })),
    features: of('feature').map((e) => ({
      key: e.key,
      name: str(e.data.name),
      plans: Array.isArray(e.data.plans)
        ? e.data.plans.filter((p): p is string => typeof p === 'string')
        : [],
    })),
    links: Object.fromEntries(
      of('link').map((e) => [
        e.key,
        typeof e.data.purpose === 'string'
          ? { url: str(e.data.url), purpose: e.data.purpose }
          : str(e.data.url),
      ]),
    ),
    kb,
    // Stored keys are `<date>-<n>`, n in the order they were given.
    changelog: of('changelog')
      .sort((a, b) => {
        const n = (k: string) => Number(k.slice(k.lastIndexOf('-') + 1));
        return n(a.key) - n(b.key);
      })
      .map((e) => ({ date: str(e.data.date), title: str(e.data.title), body: str(e.data.body) })),
    playbooks: books.map((p) => ({
      key: p.key,
      when: p.whenText,
      steps: p.steps,
      visibility: p.visibility,
      autoSend: p.autoSend,
    })),
  };
}

export const DIRECTORY_PAGE_MAX = 1000;

/**
 * One page of the account directory, ordered by account id, in the shape of a directory PUT's
 * `accounts` (end users are not listed: their count is; a PUT without `endUsers` keeps them).
 */
export async function readDirectoryPage(tx: Tx, opts: { after?: string | undefined; limit: number }) {
  const limit = Math.min(Math.max(1, opts.limit), DIRECTORY_PAGE_MAX);
  const rows = await tx
    .select()
    .from(accounts)
    .where(opts.after ? gt(accounts.id, opts.after) : undefined)
    .orderBy(asc(accounts.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const counts = new Map(
    page.length
      ? (
          await tx
            .select({ accountId: endUsers.accountId, n: count() })
            .from(endUsers)
            .where(
              inArray(
                endUsers.accountId,
                page.map((a) => a.id),
              ),
            )
            .groupBy(endUsers.accountId)
        ).map((r) => [r.accountId, Number(r.n)] as const)
      : [],
  );
  type User = { email: string; name: string | null; role: string | null };
  return {
    accounts: page.map((a) => {
      const data = a.data as { users?: User[]; internalNotes?: string };
      return {
        id: a.id,
        name: a.name,
        plan: a.plan,
        domains: a.domains,
        users: data.users ?? a.emails.map((email) => ({ email, name: null, role: null })),
        internalNotes: data.internalNotes ?? null,
      };
    }),
    endUserCounts: Object.fromEntries(page.map((a) => [a.id, counts.get(a.id) ?? 0])),
    nextCursor: rows.length > limit ? page.at(-1)!.id : null,
  };
}

/** The Context API settings without the secret, and whether one is stored. */
export async function readContextApi(tx: Tx) {
  const settings = await readPipelineSettings(tx);
  const [secret] = await tx
    .select({ purpose: tenantSecrets.purpose })
    .from(tenantSecrets)
    .where(eq(tenantSecrets.purpose, 'context_api_secret'))
    .limit(1);
  return {
    configured: Boolean(settings.contextApi),
    settings: settings.contextApi ?? null,
    secretSet: Boolean(secret),
  };
}
