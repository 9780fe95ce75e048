import { and, eq, ne, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { accounts, catalogEntries, endUsers } from '../db/schema/index.ts';
import type { RouteDecision } from './routing.ts';

/**
 * Checks a draft before it is stored, against what must never reach this requester:
 *
 * - identifiers of the tenant's OTHER accounts (ids, names, domains, user emails and names from
 *   the directory): every hit blocks the draft (status `blocked`, a human must look);
 * - for end-user tickets, the account's private values (staff names and emails, plan name and
 *   price, internal notes, other end users' names, emails and record values): hits are redacted;
 * - for every level, the account's internal notes verbatim: redacted.
 *
 * Matching is case-insensitive on word boundaries. The guard is the second line: the loader
 * already keeps these values out of an end-user or unknown draft's context.
 */
export interface GuardFinding {
  kind:
    | 'other_account'
    | 'staff'
    | 'plan'
    | 'price'
    | 'internal_note'
    | 'other_end_user'
    | 'other_end_user_record';
  /** The matched value, masked (first and last character) so the verdict itself does not spread it. */
  match: string;
}

export interface GuardVerdict {
  action: 'pass' | 'redacted' | 'blocked';
  findings: GuardFinding[];
  checked: number;
}

export const REDACTED = '[redacted]';

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => !!v && typeof v === 'object' && !Array.isArray(v);

function mask(s: string): string {
  return s.length <= 2 ? '**' : `${s[0]}${'*'.repeat(Math.min(s.length - 2, 12))}${s[s.length - 1]}`;
}

function pattern(value: string): RegExp {
  const esc = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  return new RegExp(`(?<![\\p{L}\\p{N}_@.-])${esc}(?![\\p{L}\\p{N}_-]|\\.[\\p{L}\\p{N}])`, 'giu');
}

function scalarValues(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 5) return out;
  if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) scalarValues(x, out, depth + 1);
  else if (isRec(v)) for (const x of Object.values(v)) scalarValues(x, out, depth + 1);
  return out;
}

interface Needle {
  kind: GuardFinding['kind'];
  value: string;
  block: boolean;
}

async function needles(tx: Tx, route: RouteDecision): Promise<Needle[]> {
  const out: Needle[] = [];
  const add = (kind: GuardFinding['kind'], value: unknown, block: boolean, min = 3) => {
    if (typeof value !== 'string' && typeof value !== 'number') return;
    const s = String(value).trim();
    if (s.length >= min) out.push({ kind, value: s, block });
  };
  const others = await tx
    .select()
    .from(accounts)
    .where(route.accountId ? ne(accounts.id, route.accountId) : undefined);
  for (const a of others) {
    add('other_account', a.id, true);
    add('other_account', a.name, true);
    for (const d of a.domains) add('other_account', d, true);
    for (const e of a.emails) add('other_account', e, true);
    const users = Array.isArray(a.data.users) ? a.data.users.filter(isRec) : [];
    for (const u of users) {
      add('other_account', u.email, true);
      add('other_account', u.name, true, 5);
    }
  }
  if (!route.accountId) return out;
  const [own] = await tx.select().from(accounts).where(eq(accounts.id, route.accountId)).limit(1);
  if (!own) return out;
  const notes = own.data.internalNotes;
  for (const n of Array.isArray(notes) ? notes : [notes]) add('internal_note', n, false, 8);
  if (route.level !== 'end_user') return out;

  for (const e of own.emails) add('staff', e, false);
  const users = Array.isArray(own.data.users) ? own.data.users.filter(isRec) : [];
  for (const u of users) {
    add('staff', u.email, false);
    add('staff', u.name, false, 4);
  }
  if (own.plan) {
    const [plan] = await tx
      .select()
      .from(catalogEntries)
      .where(
        and(eq(catalogEntries.kind, 'plan'), sql`lower(${catalogEntries.key}) = ${own.plan.toLowerCase()}`),
      )
      .limit(1);
    add('plan', plan?.data.name ?? own.plan, false);
    add('plan', own.plan, false);
    if (plan && (typeof plan.data.monthlyPrice === 'number' || typeof plan.data.monthlyPrice === 'string'))
      add('price', plan.data.monthlyPrice, false, 2);
  }
  const me = route.endUserEmail?.toLowerCase() ?? '';
  const people = await tx.select().from(endUsers).where(eq(endUsers.accountId, own.id));
  const mine = new Set(scalarValues(people.find((p) => p.email.toLowerCase() === me)?.records ?? {}));
  for (const p of people) {
    if (p.email.toLowerCase() === me) continue;
    add('other_end_user', p.email, false);
    add('other_end_user', p.name, false, 4);
    // Identifier-like values only (order ids, codes, emails): plain words like "shipped" are everyone's.
    for (const v of scalarValues(p.records))
      if (!mine.has(v) && /\d|@/.test(v)) add('other_end_user_record', v, false, 4);
  }
  // The end user's own data is theirs to see, even when it happens to equal a private value
  // (120 points and a $120 plan).
  const ownValues = new Set([...mine].map((v) => v.toLowerCase()));
  return out.filter((n) => n.block || !ownValues.has(n.value.toLowerCase()));
}

/** Checks `body` for the route; returns the verdict and the body to store (redacted when needed). */
export async function guardDraft(
  tx: Tx,
  route: RouteDecision,
  body: string,
): Promise<{ verdict: GuardVerdict; body: string }> {
  const list = await needles(tx, route);
  // Longest first, so "Pine & Co Rewards" is matched before "Pine & Co".
  list.sort((a, b) => b.value.length - a.value.length);
  const findings: GuardFinding[] = [];
  let out = body;
  let blocked = false;
  for (const n of list) {
    const re = pattern(n.value);
    if (!re.test(out)) continue;
    findings.push({ kind: n.kind, match: mask(n.value) });
    if (n.block) blocked = true;
    else out = out.replace(pattern(n.value), REDACTED);
  }
  const action = blocked ? 'blocked' : findings.length ? 'redacted' : 'pass';
  return { verdict: { action, findings, checked: list.length }, body: blocked ? body : out };
}
