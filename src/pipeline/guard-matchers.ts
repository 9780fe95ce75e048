import { and, asc, eq, sql } from 'drizzle-orm';
import { rowsOf, type Tx } from '../db/client.ts';
import { accounts, catalogEntries, directoryVersions, endUsers } from '../db/schema/index.ts';
import { AppError } from '../lib/errors.ts';
import { normalizeKey, symbolsOf, WORD_CHAR } from './match-text.ts';
import { buildNeedleIndex, type NeedleIndex, yieldToLoop } from './needle-index.ts';

/**
 * What the leak guard matches a draft against, built once per directory version and cached
 * (guard-cache.ts). Needles are in the normal form of match-text.ts; each distinct needle keeps
 * who it belongs to, so one matcher serves every route and the route's own values are filtered
 * out per hit, not by building a matcher per account.
 *
 * - The directory matcher: every account's id, name, domains, emails, and users' emails and
 *   names, plus the distinctive words of multi-word account names ("Globex" of "Globex
 *   Industrial Holdings": at least 4 characters, not a generic company word, in at most two
 *   accounts' names). A hit blocks unless it belongs only to the route's own account; a name's
 *   word also not when it is a word of the route's own account name, or is not written as a
 *   name (capitalised) in the draft (leak-guard.ts).
 * - An account's end-user matcher: what an end user of it must not see (staff, plan and price,
 *   other end users and their identifier-like record values). Built per (version, account) for
 *   end-user routes (which concentrate on the few accounts brands are mapped to).
 * - The route's account's internal notes (redacted at every level): read with the version, in
 *   the same round trip, and matched per draft, so an account draft needs no per-account build.
 */

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Words of company names that say nothing about which company: legal forms, trades, and common
 * words a support reply uses anyway. A part of a name on this list is never matched alone.
 */
const GENERIC_NAME_WORDS = new Set(
  `inc incorporated ltd limited llc llp plc gmbh mbh corp corporation company companies group groups
  holding holdings industries industrial international global worldwide systems system solutions
  solution services service labs laboratories laboratory technologies technology tech software
  digital data analytics consulting consultants partners partnership associates enterprises
  enterprise ventures capital investments trading traders brands products studio studios media
  networks network cloud online agency foods retail store stores shop shops market markets health
  healthcare medical care financial finance bank insurance energy logistics transport design
  creative marketing management development engineering manufacturing supply supplies electronics
  pharma motors automotive realty properties property estate hotels hospitality education academy
  institute university school foundation trust society club center centre team works factory
  house home with from your account accounts support help customer customers client clients
  people first best united national american general standard premier prime smart blue green black
  white north south east west northern southern eastern western city star open next plus direct
  express quick simple easy bright true pure good great little mountain river lake ocean valley
  park garden world life royal modern future advanced applied integrated innovations innovative
  dynamics dynamic strategic security safety office sales billing goods wholesale imports exports
  distribution apparel clothing fashion coffee cafe bakery kitchen restaurant fitness travel tours
  events dental clinic legal accounting florists flowers plumbing architects bikes freight shipping
  forms apps print printing photo books toys games sports outdoor outdoors pets beauty salon`
    .split(/\s+/)
    .filter(Boolean),
);
/** A name part is distinctive only if at most this many accounts' names contain it. */
const PART_MAX_ACCOUNTS = 2;
const PART_MIN_LENGTH = 4;

/** Distinct needles in insertion order, with an entry list each. */
class NeedleSet<E> {
  readonly needles: string[] = [];
  readonly entries: E[][] = [];
  readonly values: string[] = [];
  private readonly ids = new Map<string, number>();

  /** Adds `value` (raw) if its normal form has at least `min` characters; returns its index. */
  add(value: unknown, min: number, entry: E): number | null {
    if (typeof value !== 'string' && typeof value !== 'number') return null;
    const raw = String(value).trim();
    const key = normalizeKey(raw);
    if (key.length < min) return null;
    return this.addKey(key, raw, entry);
  }

  addKey(key: string, raw: string, entry: E): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.needles.length;
      this.ids.set(key, id);
      this.needles.push(key);
      this.entries.push([]);
      this.values.push(raw);
    }
    this.entries[id]!.push(entry);
    return id;
  }
}

/** Normalised words of a name (letters, digits, marks, `_`). */
export function nameWords(name: string): string[] {
  return symbolsOf(normalizeKey(name)).filter((s) => WORD_CHAR.test(s));
}

// ------------------------------------------------------------------ directory

export interface DirectoryEntry {
  /** Index into `accountIds`. */
  account: number;
  /** A distinctive word of the account's name, not a whole identifier. */
  part: boolean;
}

export interface DirectoryMatcher {
  index: NeedleIndex;
  entries: readonly DirectoryEntry[][];
  /** The original value of each needle (for the masked finding). */
  values: readonly string[];
  accountIds: readonly string[];
  accountNames: readonly string[];
  accountIndex: ReadonlyMap<string, number>;
  weight: number;
}

export interface GuardState {
  tenantId: string;
  /** The directory version (`initial` before the first write). */
  version: string;
  /** This transaction itself changed the directory: what is built now must not be cached. */
  dirty: boolean;
  /** `data.internalNotes` of the route's account (undefined without one). */
  notes: unknown;
}

/**
 * The transaction's tenant, its directory version and the route's account's internal notes, in
 * one round trip.
 */
export async function readGuardState(tx: Tx, accountId: string | null): Promise<GuardState> {
  const [row] = rowsOf<{ t: string | null; v: string | null; d: boolean | null; n: unknown }>(
    await tx.execute(
      sql`select public.app_current_tenant() as t, v.version::text as v,
        v.changed_xact = pg_current_xact_id_if_assigned()::text::bigint as d,
        ${accountId === null ? sql`null::jsonb` : sql`(select ${accounts.data}->'internalNotes' from ${accounts} where ${accounts.id} = ${accountId})`} as n
        from (select 1) one left join ${directoryVersions} v on true`,
    ),
  );
  if (!row?.t) throw new AppError('internal', 'the leak guard runs inside withTenant');
  return { tenantId: row.t, version: row.v ?? 'initial', dirty: row.d === true, notes: row.n ?? undefined };
}

export async function buildDirectoryMatcher(tx: Tx): Promise<DirectoryMatcher> {
  const rows = await tx
    .select({
      id: accounts.id,
      name: accounts.name,
      domains: accounts.domains,
      emails: accounts.emails,
      users: sql<unknown>`${accounts.data}->'users'`,
    })
    .from(accounts)
    .orderBy(asc(accounts.id));
  const set = new NeedleSet<DirectoryEntry>();
  const accountIds: string[] = [];
  const accountNames: string[] = [];
  const accountIndex = new Map<string, number>();
  const partsOf = new Map<string, number[]>();
  for (const a of rows) {
    const k = accountIds.length;
    if (k % 2000 === 1999) await yieldToLoop();
    accountIds.push(a.id);
    accountNames.push(a.name);
    accountIndex.set(a.id, k);
    const full: DirectoryEntry = { account: k, part: false };
    set.add(a.id, 3, full);
    set.add(a.name, 3, full);
    for (const d of a.domains) set.add(d, 3, full);
    for (const e of a.emails) set.add(e, 3, full);
    for (const u of Array.isArray(a.users) ? a.users.filter(isRec) : []) {
      set.add(u.email, 3, full);
      set.add(u.name, 5, full);
    }
    const words = nameWords(a.name);
    if (words.length < 2) continue;
    for (const w of new Set(words)) {
      if ([...w].length < PART_MIN_LENGTH || GENERIC_NAME_WORDS.has(w) || !/\p{L}/u.test(w)) continue;
      const owners = partsOf.get(w);
      if (owners) owners.push(k);
      else partsOf.set(w, [k]);
    }
  }
  for (const [w, owners] of partsOf) {
    // A word many names share is this tenant's trade ("Coffee", "Dental"), not a name.
    if (owners.length > PART_MAX_ACCOUNTS) continue;
    for (const k of owners) set.addKey(w, w, { account: k, part: true });
  }
  const index = await buildNeedleIndex(set.needles);
  let weight = index.weight + set.needles.length * 64;
  for (const n of accountNames) weight += n.length * 2 + 80;
  return {
    index,
    entries: set.entries,
    values: set.values,
    accountIds,
    accountNames,
    accountIndex,
    weight,
  };
}

// ------------------------------------------------------------------ one account's private values

export type PrivateKind =
  | 'staff'
  | 'plan'
  | 'price'
  | 'internal_note'
  | 'other_end_user'
  | 'other_end_user_record';

export interface PrivateEntry {
  kind: PrivateKind;
  /** Only checked on end-user drafts (internal notes are checked at every level). */
  endUserOnly: boolean;
  /** The end user (email, lower case) it belongs to: not a leak in that end user's own draft. */
  endUser?: string;
}

export interface PrivateMatcher {
  index: NeedleIndex;
  entries: readonly PrivateEntry[][];
  values: readonly string[];
  /** Per end user (email, lower case): the normal forms of their own record values. */
  ownValues: ReadonlyMap<string, ReadonlySet<string>>;
  weight: number;
}

function scalarValues(v: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 5) return out;
  if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
  else if (Array.isArray(v)) for (const x of v) scalarValues(x, out, depth + 1);
  else if (isRec(v)) for (const x of Object.values(v)) scalarValues(x, out, depth + 1);
  return out;
}

async function privateMatcher(
  set: NeedleSet<PrivateEntry>,
  ownValues: Map<string, ReadonlySet<string>>,
  extraWeight = 0,
): Promise<PrivateMatcher> {
  const index = await buildNeedleIndex(set.needles);
  const weight = extraWeight + index.weight + set.needles.length * 64;
  return { index, entries: set.entries, values: set.values, ownValues, weight };
}

/** The internal notes (a string or a list of them) as a matcher: each note verbatim. */
export function buildNotesMatcher(notes: unknown): Promise<PrivateMatcher> {
  const set = new NeedleSet<PrivateEntry>();
  for (const n of Array.isArray(notes) ? notes : [notes])
    set.add(n, 8, { kind: 'internal_note', endUserOnly: false });
  return privateMatcher(set, new Map());
}

/** What an end user of `accountId` must not see, or null when the directory does not know it. */
export async function buildEndUserMatcher(tx: Tx, accountId: string): Promise<PrivateMatcher | null> {
  const [own] = await tx
    .select({ id: accounts.id, plan: accounts.plan, emails: accounts.emails, data: accounts.data })
    .from(accounts)
    .where(eq(accounts.id, accountId))
    .limit(1);
  if (!own) return null;
  const set = new NeedleSet<PrivateEntry>();
  const staff: PrivateEntry = { kind: 'staff', endUserOnly: true };
  for (const e of own.emails) set.add(e, 3, staff);
  const users = Array.isArray(own.data.users) ? own.data.users.filter(isRec) : [];
  for (const u of users) {
    set.add(u.email, 3, staff);
    set.add(u.name, 4, staff);
  }
  if (own.plan) {
    const [plan] = await tx
      .select()
      .from(catalogEntries)
      .where(
        and(eq(catalogEntries.kind, 'plan'), sql`lower(${catalogEntries.key}) = ${own.plan.toLowerCase()}`),
      )
      .limit(1);
    const planEntry: PrivateEntry = { kind: 'plan', endUserOnly: true };
    set.add(plan?.data.name ?? own.plan, 3, planEntry);
    set.add(own.plan, 3, planEntry);
    const price = plan?.data.monthlyPrice;
    if (typeof price === 'number' || typeof price === 'string')
      set.add(price, 2, { kind: 'price', endUserOnly: true });
  }
  const people = await tx
    .select({ email: endUsers.email, name: endUsers.name, records: endUsers.records })
    .from(endUsers)
    .where(eq(endUsers.accountId, own.id))
    .orderBy(asc(endUsers.id));
  const ownValues = new Map<string, Set<string>>();
  let weight = 0;
  for (const [i, p] of people.entries()) {
    if (i % 2000 === 1999) await yieldToLoop();
    const email = p.email.toLowerCase();
    const values = scalarValues(p.records);
    const mine = ownValues.get(email) ?? new Set<string>();
    for (const v of values) {
      const key = normalizeKey(v);
      mine.add(key);
      weight += key.length * 2 + 40;
    }
    ownValues.set(email, mine);
    const theirs: PrivateEntry = { kind: 'other_end_user', endUserOnly: true, endUser: email };
    set.add(p.email, 3, theirs);
    set.add(p.name, 4, theirs);
    // Identifier-like values only (order ids, codes, emails): plain words like "shipped" are everyone's.
    const record: PrivateEntry = { kind: 'other_end_user_record', endUserOnly: true, endUser: email };
    for (const v of values) if (/\d|@/.test(v)) set.add(v, 4, record);
  }
  return privateMatcher(set, ownValues, weight);
}
