import type { Tx } from '../db/client.ts';
import { createMatcherCache, type MatcherCache } from './guard-cache.ts';
import {
  buildDirectoryMatcher,
  buildEndUserMatcher,
  buildNotesMatcher,
  nameWords,
  readGuardState,
} from './guard-matchers.ts';
import { type NormalizedText, normalizeText } from './match-text.ts';
import type { NeedleIndex } from './needle-index.ts';
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
 * Matching is on a normal form of both sides (match-text.ts: format characters such as
 * zero-width spaces removed, NFKC, lower case), on word boundaries: a needle never matches
 * inside a longer word, a domain never inside an email or a longer domain. Other accounts' names
 * are also caught by their distinctive words ("Globex" of "Globex Industrial Holdings"; not a
 * generic company word, nor a word of the route's own account name, and only written as a name:
 * capitalised, as "forms" in "your forms" is not "Rival Forms"). Redaction replaces the span of
 * the original text the match came from.
 *
 * Cost: the needles are compiled into matchers once per directory version and cached
 * (guard-matchers.ts, guard-cache.ts); checking a draft reads one row (the version) and costs
 * time in the draft's length and its hits, not in the directory's size.
 *
 * The guard is the second line: the loader already keeps these values out of an end-user or
 * unknown draft's context.
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
  /** How many distinct needles the draft was checked against. */
  checked: number;
}

export const REDACTED = '[redacted]';

function mask(s: string): string {
  return s.length <= 2 ? '**' : `${s[0]}${'*'.repeat(Math.min(s.length - 2, 12))}${s[s.length - 1]}`;
}

/** Matchers of every tenant in this process (see guard-cache.ts for the bound and the key). */
const sharedCache = createMatcherCache();

export interface GuardOptions {
  /** The matcher cache; the process-wide one by default. */
  cache?: MatcherCache;
}

/** One distinct needle found in the draft, with its hits (normalised offsets). */
interface Candidate {
  length: number;
  /** 0: the directory, 1: internal notes, 2: end-user private values (the old needle order). */
  source: 0 | 1 | 2;
  needle: number;
  hits: { start: number; end: number }[];
}

function candidatesOf(index: NeedleIndex, source: Candidate['source'], text: NormalizedText): Candidate[] {
  const byNeedle = new Map<number, Candidate>();
  for (const h of index.find(text)) {
    let c = byNeedle.get(h.needle);
    if (!c) {
      c = { length: index.needles[h.needle]!.length, source, needle: h.needle, hits: [] };
      byNeedle.set(h.needle, c);
    }
    c.hits.push({ start: h.start, end: h.end });
  }
  return [...byNeedle.values()];
}

/** Checks `body` for the route; returns the verdict and the body to store (redacted when needed). */
export async function guardDraft(
  tx: Tx,
  route: RouteDecision,
  body: string,
  opts: GuardOptions = {},
): Promise<{ verdict: GuardVerdict; body: string }> {
  // The version first, then the data: a matcher is never older than the version it is kept under.
  const state = await readGuardState(tx, route.accountId);
  const { tenantId, version } = state;
  const cached = <T extends { weight: number }>(key: string, build: () => Promise<T>): Promise<T> =>
    state.dirty ? build() : (opts.cache ?? sharedCache).get(tenantId, version, key, build);
  const directory = await cached('directory', () => buildDirectoryMatcher(tx));
  const own = route.accountId ? (directory.accountIndex.get(route.accountId) ?? -1) : -1;
  const endUser = route.level === 'end_user';
  const notes = state.notes === undefined ? null : await buildNotesMatcher(state.notes);
  const endUserValues =
    endUser && route.accountId
      ? (
          await cached(`end-user:${route.accountId}`, async () => {
            const matcher = await buildEndUserMatcher(tx, route.accountId!);
            return { matcher, weight: matcher?.weight ?? 64 };
          })
        ).matcher
      : null;
  const privateOf = (source: 1 | 2) => (source === 1 ? notes : endUserValues)!;

  const text = normalizeText(body);
  const candidates = candidatesOf(directory.index, 0, text);
  if (notes) candidates.push(...candidatesOf(notes.index, 1, text));
  if (endUserValues) candidates.push(...candidatesOf(endUserValues.index, 2, text));
  // Longest first, so "Pine & Co Rewards" is matched (and redacted) before "Pine & Co".
  candidates.sort((a, b) => b.length - a.length || a.source - b.source || a.needle - b.needle);

  const ownWords = own >= 0 ? new Set(nameWords(directory.accountNames[own]!)) : new Set<string>();
  const me = route.endUserEmail?.toLowerCase() ?? '';
  const mine = endUserValues?.ownValues.get(me) ?? new Set<string>();

  /** The finding a candidate makes on this route, or null when it is this route's own value. */
  const judge = (c: Candidate): (GuardFinding & { block: boolean }) | null => {
    if (c.source === 0) {
      const entries = directory.entries[c.needle]!;
      const key = directory.index.needles[c.needle]!;
      const other = entries.some((e) =>
        e.part
          ? // A word of the route's own account name is that account's, whoever else has it; and
            // a name's word counts only written as a name ("Rival", not "rival forms").
            e.account !== own && !ownWords.has(key) && c.hits.some((h) => capitalised(body, text, h.start))
          : e.account !== own,
      );
      return other ? { kind: 'other_account', match: mask(directory.values[c.needle]!), block: true } : null;
    }
    const m = privateOf(c.source);
    // The end user's own data is theirs to see, even when it equals a private value (120 points
    // and a $120 plan).
    if (endUser && mine.has(m.index.needles[c.needle]!)) return null;
    const entry = m.entries[c.needle]!.find((e) => (!e.endUserOnly || endUser) && e.endUser !== me);
    return entry ? { kind: entry.kind, match: mask(m.values[c.needle]!), block: false } : null;
  };

  const findings: GuardFinding[] = [];
  const redacted: { start: number; end: number }[] = [];
  const overlapsRedacted = (h: { start: number; end: number }) =>
    redacted.some((r) => h.start < r.end && r.start < h.end);
  let blocked = false;
  for (const c of candidates) {
    const finding = judge(c);
    if (!finding) continue;
    // What a longer needle already redacted is gone; occurrences of one needle do not overlap.
    const hits: { start: number; end: number }[] = [];
    for (const h of c.hits.sort((a, b) => a.start - b.start))
      if (!overlapsRedacted(h) && !(hits.length && h.start < hits[hits.length - 1]!.end)) hits.push(h);
    if (!hits.length) continue;
    findings.push({ kind: finding.kind, match: finding.match });
    if (finding.block) blocked = true;
    else redacted.push(...hits);
  }
  const action = blocked ? 'blocked' : findings.length ? 'redacted' : 'pass';
  const checked =
    directory.index.needles.length +
    (notes?.index.needles.length ?? 0) +
    (endUserValues?.index.needles.length ?? 0);
  return { verdict: { action, findings, checked }, body: blocked ? body : redact(body, text, redacted) };
}

/** Whether the original character at normalised offset `at` is upper case (after NFKC). */
function capitalised(body: string, text: NormalizedText, at: number): boolean {
  const first = body.slice(text.from[at]!, text.to[at]!).normalize('NFKC');
  return first !== first.toLowerCase();
}

/** Replaces each span (normalised offsets) of `body` with REDACTED, in the original text. */
function redact(body: string, text: NormalizedText, spans: { start: number; end: number }[]): string {
  if (!spans.length) return body;
  const original = spans
    .map((s) => ({ from: text.from[s.start]!, to: text.to[s.end - 1]! }))
    .sort((a, b) => a.from - b.from);
  let out = '';
  let at = 0;
  for (const s of original) {
    if (s.from < at) continue;
    out += body.slice(at, s.from) + REDACTED;
    at = s.to;
  }
  return out + body.slice(at);
}
