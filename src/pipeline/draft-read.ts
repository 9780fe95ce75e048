import { and, asc, desc, eq, gte, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../db/client.ts';
import { accounts, DRAFT_STATUS, draftDeliveries, drafts, draftVersions } from '../db/schema/index.ts';
import { liveZendeskConnection } from '../oauth/connections.ts';

/**
 * The console's reads of a tenant's drafts, inside its transaction (RLS: another tenant's draft
 * is simply not there). The list is newest first, filtered by status, route, account, playbook
 * (the snapshot's `playbookId`, as feedback groups it) and UTC dates, a page at a time: `before`
 * names the last draft of the previous page (keyset on created_at, id).
 */
export const DRAFTS_PAGE = 50;
const optionalDate = z.union([z.literal(''), z.iso.date('a date as YYYY-MM-DD')]).default('');
const idLike = (what: string) =>
  z
    .string()
    .trim()
    .max(200, 'at most 200 characters')
    .regex(/^[A-Za-z0-9_.:@+-]*$/, `${what}: letters, digits and _ . : @ + - only`)
    .default('');

export const draftFilterSchema = z
  .object({
    status: z
      .enum(['', ...DRAFT_STATUS], 'one of pending, approved, sent, rejected, blocked, failed')
      .default(''),
    route: z.enum(['', 'account', 'end_user', 'unknown'], 'one of account, end_user, unknown').default(''),
    account: idLike('an account id'),
    playbook: idLike('a playbook key'),
    from: optionalDate,
    to: optionalDate,
    before: z.union([z.literal(''), z.string().regex(/^[A-Za-z0-9_:-]{1,100}$/, 'a draft id')]).default(''),
  })
  .refine((f) => !f.from || !f.to || f.from <= f.to, { message: 'must not be after "to"', path: ['from'] });
export type DraftFilters = z.infer<typeof draftFilterSchema>;
export const NO_FILTERS: DraftFilters = {
  status: '',
  route: '',
  account: '',
  playbook: '',
  from: '',
  to: '',
  before: '',
};

/** The first problem of a filter query, as "field: message". */
export function filterError(e: z.ZodError): string {
  const i = e.issues[0]!;
  return `${i.path.join('.') || 'query'}: ${i.message}`;
}

export interface DraftListRow {
  id: string;
  createdAt: Date;
  source: string;
  ticketId: string | null;
  status: string;
  route: string;
  accountId: string | null;
  accountName: string | null;
  playbookId: string | null;
  drafter: string;
  guard: string;
  excerpt: string;
}

const playbookOf = sql<string | null>`${drafts.contextSnapshot}->>'playbookId'`;

export async function listDrafts(
  tx: Tx,
  f: DraftFilters,
  pageSize = DRAFTS_PAGE,
): Promise<{ rows: DraftListRow[]; more: boolean }> {
  const conds = [
    f.status ? eq(drafts.status, f.status) : undefined,
    f.route ? eq(drafts.route, f.route) : undefined,
    f.account ? eq(drafts.accountId, f.account) : undefined,
    f.playbook ? sql`${playbookOf} = ${f.playbook}` : undefined,
    f.from ? gte(drafts.createdAt, new Date(`${f.from}T00:00:00Z`)) : undefined,
    f.to ? lt(drafts.createdAt, new Date(Date.parse(`${f.to}T00:00:00Z`) + 86_400_000)) : undefined,
    f.before
      ? sql`(${drafts.createdAt}, ${drafts.id}) < (select b.created_at, b.id from drafts b where b.id = ${f.before})`
      : undefined,
  ].filter((x) => x !== undefined);
  const rows = await tx
    .select({
      id: drafts.id,
      createdAt: drafts.createdAt,
      source: drafts.source,
      ticketId: drafts.ticketId,
      status: drafts.status,
      route: drafts.route,
      accountId: drafts.accountId,
      accountName: accounts.name,
      playbookId: playbookOf,
      drafter: drafts.drafter,
      guard: sql<string | null>`${drafts.guardVerdict}->>'action'`,
      excerpt: sql<string>`left(${drafts.body}, 140)`,
    })
    .from(drafts)
    .leftJoin(accounts, and(eq(accounts.tenantId, drafts.tenantId), eq(accounts.id, drafts.accountId)))
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(drafts.createdAt), desc(drafts.id))
    .limit(pageSize + 1);
  return {
    rows: rows.slice(0, pageSize).map((r) => ({ ...r, guard: r.guard ?? 'pass' })),
    more: rows.length > pageSize,
  };
}

export interface DraftDetail {
  draft: typeof drafts.$inferSelect;
  accountName: string | null;
  versions: (typeof draftVersions.$inferSelect)[];
  delivery: typeof draftDeliveries.$inferSelect | null;
  /** The ticket in Zendesk (the tenant's live connection's subdomain), when the draft names one. */
  zendeskUrl: string | null;
}

/** One draft with its edits and delivery, or null when the tenant has no draft with this id. */
export async function readDraftDetail(tx: Tx, draftId: string): Promise<DraftDetail | null> {
  const [draft] = await tx.select().from(drafts).where(eq(drafts.id, draftId)).limit(1);
  if (!draft) return null;
  const [account] = draft.accountId
    ? await tx.select({ name: accounts.name }).from(accounts).where(eq(accounts.id, draft.accountId)).limit(1)
    : [];
  const versions = await tx
    .select()
    .from(draftVersions)
    .where(eq(draftVersions.draftId, draft.id))
    .orderBy(asc(draftVersions.version));
  const [delivery] = await tx
    .select()
    .from(draftDeliveries)
    .where(eq(draftDeliveries.draftId, draft.id))
    .limit(1);
  const conn =
    draft.ticketId && /^\d{1,20}$/.test(draft.ticketId) ? await liveZendeskConnection(tx) : undefined;
  return {
    draft,
    accountName: account?.name ?? null,
    versions,
    delivery: delivery ?? null,
    zendeskUrl: conn ? `https://${conn.subdomain}.zendesk.com/agent/tickets/${draft.ticketId}` : null,
  };
}
