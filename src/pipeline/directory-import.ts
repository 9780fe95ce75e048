import { inArray, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { rowsOf, type Tx } from '../db/client.ts';
import { accounts, endUsers } from '../db/schema/index.ts';
import { CsvSyntaxError, csvList, csvRecords, parseCsv } from '../lib/csv.ts';
import { isFreeMailDomain, normaliseDomain } from '../lib/free-mail.ts';
import { lineOf } from '../lib/json-lines.ts';
import { issueMessage } from './catalog-import.ts';
import { type DirectoryInput, directorySchema } from './tenant-config.ts';

/**
 * The console's directory upload (src/http/admin-directory.ts): a JSON document as
 * `PUT /admin/api/directory` takes it, or the CSV below, is validated by `directorySchema` (and
 * the free-mail rule syncDirectory applies), compared with the stored directory, checked for
 * domains that two accounts would claim, and only on a confirmation given to syncDirectory.
 *
 * CSV: a header row, then one row per account, per person of an account, or per end user:
 *
 *   kind,account_id,name,plan,domains,email,role,notes
 *   account,acme,Acme Inc,pro,acme.com|acme.io,,,Pays yearly
 *   user,acme,Ann Admin,,,ann@acme.com,owner,
 *   end_user,acme,Eve Buyer,,,eve@example.org,,
 *
 * `kind` and `account_id` are required; `domains` separates domains with `|`; `notes` are the
 * account's internal notes. `user` and `end_user` rows name an account that has an `account` row
 * in the same file. An account with at least one `end_user` row has its end users replaced by
 * those rows (without their records, which only JSON carries); an account without keeps its end
 * users. The form's mode (upsert or replace) applies to CSV; a JSON document carries its own.
 */

export type Directory = z.output<typeof directorySchema>;
export const DIRECTORY_CSV_COLUMNS = [
  'kind',
  'account_id',
  'name',
  'plan',
  'domains',
  'email',
  'role',
  'notes',
];

export interface DirectoryIssue {
  line?: number;
  accountId?: string;
  /** Where in the document (`accounts.3.domains.0`). */
  path?: string;
  message: string;
}

/** The directory from CSV (format above), with the line of every account, user and end user. */
export function directoryFromCsv(
  text: string,
  mode: 'upsert' | 'replace',
): { ok: true; doc: DirectoryInput; lines: Map<string, number> } | { ok: false; issues: DirectoryIssue[] } {
  let parsed: ReturnType<typeof csvRecords>;
  try {
    parsed = csvRecords(parseCsv(text), {
      required: ['kind', 'account_id'],
      optional: DIRECTORY_CSV_COLUMNS.slice(2),
    });
  } catch (e) {
    if (e instanceof CsvSyntaxError)
      return { ok: false, issues: [{ line: e.line, message: e.message.replace(/^line \d+: /, '') }] };
    throw e;
  }
  const issues: DirectoryIssue[] = [...parsed.errors];
  const lines = new Map<string, number>();
  type Acc = {
    id: string;
    name: string;
    plan?: string;
    domains: string[];
    internalNotes?: string;
    users: { email: string; name?: string; role?: string }[];
    endUsers?: { email: string; name?: string }[];
  };
  const list: Acc[] = [];
  const byId = new Map<string, number>();
  const people: {
    line: number;
    kind: 'user' | 'end_user';
    accountId: string;
    email: string;
    name: string;
    role: string;
  }[] = [];
  for (const r of parsed.records) {
    const kind = r.get('kind').toLowerCase();
    const id = r.get('account_id');
    if (kind === 'account') {
      const a: Acc = { id, name: r.get('name'), domains: csvList(r.get('domains')), users: [] };
      if (r.get('plan')) a.plan = r.get('plan');
      if (r.get('notes')) a.internalNotes = r.get('notes');
      lines.set(`accounts.${list.length}`, r.line);
      if (!byId.has(id)) byId.set(id, list.length);
      list.push(a);
    } else if (kind === 'user' || kind === 'end_user') {
      people.push({
        line: r.line,
        kind,
        accountId: id,
        email: r.get('email'),
        name: r.get('name'),
        role: r.get('role'),
      });
    } else {
      issues.push({
        line: r.line,
        accountId: id || undefined,
        message: `kind "${kind}" is not account, user or end_user`,
      });
    }
  }
  for (const p of people) {
    const at = byId.get(p.accountId);
    if (at === undefined) {
      issues.push({
        line: p.line,
        accountId: p.accountId,
        message: `account "${p.accountId}" has no account row in this file`,
      });
      continue;
    }
    const a = list[at]!;
    if (p.kind === 'user') {
      lines.set(`accounts.${at}.users.${a.users.length}`, p.line);
      a.users.push({
        email: p.email,
        ...(p.name ? { name: p.name } : {}),
        ...(p.role ? { role: p.role } : {}),
      });
    } else {
      a.endUsers ??= [];
      lines.set(`accounts.${at}.endUsers.${a.endUsers.length}`, p.line);
      a.endUsers.push({ email: p.email, ...(p.name ? { name: p.name } : {}) });
    }
  }
  if (issues.length) return { ok: false, issues: issues.sort((x, y) => (x.line ?? 0) - (y.line ?? 0)) };
  return { ok: true, doc: { mode, accounts: list }, lines };
}

/**
 * Validates a directory document as the API does (directorySchema, then the free-mail rule),
 * reporting every problem with its line (`lines`: path -> line, from CSV or jsonValueLines).
 */
export function checkDirectory(
  doc: unknown,
  lines?: Map<string, number>,
): { ok: true; directory: Directory } | { ok: false; issues: DirectoryIssue[] } {
  const parsed = directorySchema.safeParse(doc);
  const raw = (doc as { accounts?: unknown } | null)?.accounts;
  const idAt = (i: unknown) => {
    if (!Array.isArray(raw) || typeof i !== 'number') return undefined;
    const id = (raw[i] as { id?: unknown } | undefined)?.id;
    return typeof id === 'string' ? id : undefined;
  };
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const issue: DirectoryIssue = {
        path: i.path.map(String).join('.') || 'document',
        message: issueMessage(i),
      };
      const line = lineOf(lines, i.path);
      if (line !== undefined) issue.line = line;
      const id = i.path[0] === 'accounts' ? idAt(i.path[1]) : undefined;
      if (id !== undefined) issue.accountId = id;
      return issue;
    });
    return { ok: false, issues: issues.sort((x, y) => (x.line ?? 0) - (y.line ?? 0)) };
  }
  const issues: DirectoryIssue[] = [];
  for (const [i, a] of parsed.data.accounts.entries())
    for (const [j, d] of a.domains.entries())
      if (isFreeMailDomain(d)) {
        const issue: DirectoryIssue = {
          path: `accounts.${i}.domains.${j}`,
          accountId: a.id,
          message: `${normaliseDomain(d)} is a shared mailbox provider's domain: list its people by email in users instead`,
        };
        const line = lineOf(lines, ['accounts', i, 'domains', j]);
        if (line !== undefined) issue.line = line;
        issues.push(issue);
      }
  return issues.length ? { ok: false, issues } : { ok: true, directory: parsed.data };
}

/** A domain that more than one account would list after the sync. */
export interface SharedDomain {
  domain: string;
  /** Sorted account ids. */
  accountIds: string[];
  /** `upload`: only accounts of the upload; `existing`: only stored accounts it keeps; `both`. */
  between: 'upload' | 'existing' | 'both';
}

/**
 * The domains that two or more accounts would claim once `upload` is synced onto `existing`:
 * an uploaded account replaces the stored one with its id; a stored account not in the upload
 * survives in `upsert` mode and is deleted in `replace` mode. Free-mail domains are left out
 * (routing never matches them and the sync refuses them). Routing treats a requester whose
 * domain two accounts claim as unknown (src/pipeline/routing.ts, `ambiguous_requester`).
 */
export function findSharedDomains(
  upload: readonly { id: string; domains: readonly string[] }[],
  existing: readonly { id: string; domains: readonly string[] }[],
  mode: 'upsert' | 'replace',
): SharedDomain[] {
  const uploaded = new Set(upload.map((a) => a.id));
  const claims = new Map<string, Map<string, 'upload' | 'existing'>>();
  const add = (id: string, domains: readonly string[], from: 'upload' | 'existing') => {
    for (const raw of domains) {
      const d = normaliseDomain(raw);
      if (!d || isFreeMailDomain(d)) continue;
      const m = claims.get(d) ?? new Map<string, 'upload' | 'existing'>();
      m.set(id, from);
      claims.set(d, m);
    }
  };
  for (const a of upload) add(a.id, a.domains, 'upload');
  if (mode === 'upsert') for (const a of existing) if (!uploaded.has(a.id)) add(a.id, a.domains, 'existing');
  const out: SharedDomain[] = [];
  for (const [domain, m] of claims) {
    if (m.size < 2) continue;
    const from = new Set(m.values());
    out.push({
      domain,
      accountIds: [...m.keys()].sort(),
      between: from.size === 2 ? 'both' : from.has('upload') ? 'upload' : 'existing',
    });
  }
  return out.sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
}

export interface DirectoryReport {
  mode: 'upsert' | 'replace';
  accounts: { added: string[]; changed: string[]; removed: string[]; unchanged: number };
  /** `kept`: end users that stay as they are (of accounts whose end users are not listed, or listed unchanged). */
  endUsers: { added: number; changed: number; removed: number; kept: number };
  sharedDomains: SharedDomain[];
}

/** JSON with object keys sorted at every level (jsonb hands keys back in its own order). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

type User = { email: string; name: string | null; role: string | null };
const accountShape = (a: {
  name: string;
  plan: string | null;
  domains: readonly string[];
  users: readonly User[];
  internalNotes: string | null;
}) =>
  // Field by field: jsonb does not keep key order.
  JSON.stringify([
    a.name,
    a.plan,
    [...new Set(a.domains)],
    a.users.map((u) => [u.email, u.name ?? null, u.role ?? null]),
    a.internalNotes,
  ]);

/**
 * What syncing `d` would do to the stored directory, read in the caller's transaction: accounts
 * added, changed and (replace) removed by id; end users added, changed (name or records) and
 * removed (by account and email; a removed account's end users go with it); shared domains.
 */
export async function previewDirectory(tx: Tx, d: Directory): Promise<DirectoryReport> {
  const stored = await tx
    .select({
      id: accounts.id,
      name: accounts.name,
      plan: accounts.plan,
      domains: accounts.domains,
      emails: accounts.emails,
      data: accounts.data,
    })
    .from(accounts);
  const current = new Map(stored.map((a) => [a.id, a]));
  const report: DirectoryReport = {
    mode: d.mode,
    accounts: { added: [], changed: [], removed: [], unchanged: 0 },
    endUsers: { added: 0, changed: 0, removed: 0, kept: 0 },
    sharedDomains: findSharedDomains(d.accounts, stored, d.mode),
  };
  for (const a of d.accounts) {
    const old = current.get(a.id);
    const next = accountShape({
      name: a.name,
      plan: a.plan ?? null,
      domains: a.domains,
      users: a.users.map((u) => ({ email: u.email, name: u.name ?? null, role: u.role ?? null })),
      internalNotes: a.internalNotes || null,
    });
    if (!old) report.accounts.added.push(a.id);
    else {
      const data = old.data as { users?: User[]; internalNotes?: string };
      const before = accountShape({
        name: old.name,
        plan: old.plan,
        domains: old.domains,
        users: data.users ?? old.emails.map((email) => ({ email, name: null, role: null })),
        internalNotes: data.internalNotes ?? null,
      });
      if (before === next) report.accounts.unchanged++;
      else report.accounts.changed.push(a.id);
    }
  }
  const listed = new Set(d.accounts.map((a) => a.id));
  if (d.mode === 'replace')
    report.accounts.removed = stored
      .filter((a) => !listed.has(a.id))
      .map((a) => a.id)
      .sort();
  const removed = new Set(report.accounts.removed);
  const replacing = d.accounts.filter((a) => a.endUsers && current.has(a.id)).map((a) => a.id);
  const storedUsers = replacing.length
    ? await tx
        .select({
          accountId: endUsers.accountId,
          email: endUsers.email,
          name: endUsers.name,
          records: endUsers.records,
        })
        .from(endUsers)
        .where(inArray(endUsers.accountId, replacing))
    : [];
  for (const a of d.accounts) {
    if (!a.endUsers) continue;
    const before = new Map(
      storedUsers.filter((u) => u.accountId === a.id).map((u) => [u.email.toLowerCase(), u] as const),
    );
    const after = new Map(a.endUsers.map((e) => [e.email, e]));
    for (const [email, e] of after) {
      const old = before.get(email);
      if (!old) report.endUsers.added++;
      else if (canonical([old.name, old.records]) !== canonical([e.name ?? null, e.records]))
        report.endUsers.changed++;
      else report.endUsers.kept++;
    }
    for (const email of before.keys()) if (!after.has(email)) report.endUsers.removed++;
  }
  const counts = rowsOf<{ account_id: string; n: number | string }>(
    await tx.execute(
      sql`select ${endUsers.accountId} as account_id, count(*) as n from ${endUsers} group by 1`,
    ),
  );
  const replaced = new Set(replacing);
  for (const r of counts) {
    if (removed.has(r.account_id)) report.endUsers.removed += Number(r.n);
    else if (!replaced.has(r.account_id)) report.endUsers.kept += Number(r.n);
  }
  report.accounts.added.sort();
  report.accounts.changed.sort();
  return report;
}

/** A fingerprint of the stored directory (accounts and end users): a preview is confirmed only while it holds. */
export async function directoryFingerprint(tx: Tx): Promise<string> {
  const [r] = rowsOf<{ a: string | null; e: string | null }>(
    await tx.execute(sql`select
      (select md5(coalesce(string_agg(md5(x::text), ',' order by x.id), '')) from ${accounts} x) as a,
      (select md5(coalesce(string_agg(md5(y::text), ',' order by y.id), '')) from ${endUsers} y) as e`),
  );
  return `${r?.a ?? ''}:${r?.e ?? ''}`;
}

/** Domains that two or more stored accounts list now (non-free-mail), from the routing index. */
export async function storedSharedDomains(tx: Tx): Promise<SharedDomain[]> {
  const rows = rowsOf<{ value: string; ids: string[] }>(
    await tx.execute(sql`select value, array_agg(account_id order by account_id) as ids
      from account_identifiers where kind = 'domain' group by value having count(*) > 1 order by value limit 200`),
  );
  return rows
    .filter((r) => !isFreeMailDomain(r.value))
    .map((r) => ({ domain: r.value, accountIds: r.ids, between: 'existing' as const }));
}
