import type { ContextFact } from '../../types.ts';
import type { Lang } from '../language.ts';
import { PHRASES, type Phrases } from '../phrases.ts';
import type { Playbook } from '../playbooks.ts';
import { formatWhen, humanize, overlap, titleCase, wordSet } from '../text.ts';
import type { DraftInput } from '../types.ts';

/**
 * What every finding module shares: the catalog read out of the context facts, the writer that
 * collects cited paragraphs, the account's own facts, and link choice by declared purpose.
 */
export type Rec = Record<string, unknown>;
export const isRec = (v: unknown): v is Rec => !!v && typeof v === 'object' && !Array.isArray(v);
export const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v : null);

export interface Link {
  factId: string;
  key: string;
  url: string;
  purpose: string | null;
}

export interface Catalog {
  plans: { factId: string; key: string; name: string; price: number | null }[];
  features: { factId: string; key: string; name: string; plans: string[] }[];
  links: Link[];
  changelog: { factId: string; date: string; title: string; body: string }[];
  kb: { factId: string; title: string; body: string; rank: number; language: string | null }[];
}

export function readCatalog(facts: ContextFact[]): Catalog {
  const c: Catalog = { plans: [], features: [], links: [], changelog: [], kb: [] };
  for (const f of facts) {
    const v = isRec(f.value) ? f.value : {};
    if (f.key === 'catalog_plan')
      c.plans.push({
        factId: f.id,
        key: String(v.key ?? ''),
        name: str(v.name) ?? String(v.key ?? ''),
        price: typeof v.monthlyPrice === 'number' ? v.monthlyPrice : null,
      });
    else if (f.key === 'catalog_feature')
      c.features.push({
        factId: f.id,
        key: String(v.key ?? ''),
        name: str(v.name) ?? String(v.key ?? ''),
        plans: Array.isArray(v.plans) ? v.plans.map(String) : [],
      });
    else if (f.key === 'link' && str(v.url))
      c.links.push({ factId: f.id, key: String(v.key ?? ''), url: String(v.url), purpose: str(v.purpose) });
    else if (f.key === 'changelog')
      c.changelog.push({
        factId: f.id,
        date: String(v.date ?? ''),
        title: String(v.title ?? ''),
        body: String(v.body ?? ''),
      });
    else if (f.key === 'kb_article')
      c.kb.push({
        factId: f.id,
        title: String(v.title ?? ''),
        body: String(v.body ?? ''),
        rank: Number(v.rank ?? 0),
        language: str(v.language),
      });
  }
  return c;
}

/** Collects the draft's paragraphs, the facts they cite, findings and reasons for a human look. */
export class Writer {
  readonly paragraphs: string[] = [];
  readonly cited = new Set<string>();
  readonly reasons: string[] = [];
  readonly usedKb = new Set<string>();
  readonly usedLinks = new Set<string>();
  /** Words describing what the findings showed (help pick the playbook and links). */
  readonly signals: string[] = [];
  /** The fact ids each paragraph cites (a shortened draft keeps only its paragraphs' citations). */
  readonly citedBy = new Map<string, string[]>();
  findings = 0;
  say(text: string, ...factIds: (string | undefined | null)[]) {
    this.paragraphs.push(text);
    const ids = factIds.filter((id): id is string => !!id);
    this.citedBy.set(text, [...(this.citedBy.get(text) ?? []), ...ids]);
    for (const id of ids) this.cited.add(id);
  }
}

/** Everything a finding module reads. */
export interface FindingInput {
  input: DraftInput;
  catalog: Catalog;
  ticketText: string;
  ticketWords: Set<string>;
  lang: Lang;
  p: Phrases;
  books: Playbook[];
}

export function findingInput(input: DraftInput, lang: Lang, books: Playbook[]): FindingInput {
  const ticketText = `${input.ticket.subject}\n${input.ticket.body}`;
  return {
    input,
    catalog: readCatalog(input.context.facts),
    ticketText,
    ticketWords: wordSet(ticketText),
    lang,
    p: PHRASES[lang],
    books,
  };
}

export function accountFacts(facts: ContextFact[]) {
  const ctx = (key: string) => facts.find((f) => f.source === 'context_api' && f.key === key);
  const directory = facts.find((f) => f.id === 'directory:account');
  const dir = directory && isRec(directory.value) ? directory.value : {};
  return { ctx, directory, name: str(dir.name), dirPlan: str(dir.plan) };
}

export function currentPlan(facts: ContextFact[], catalog: Catalog) {
  const { ctx, dirPlan, directory } = accountFacts(facts);
  const planFact = ctx('plan');
  const raw = planFact
    ? isRec(planFact.value)
      ? (planFact.value.key ?? planFact.value.name)
      : planFact.value
    : dirPlan;
  const key = typeof raw === 'string' ? raw.toLowerCase() : null;
  if (!key) return null;
  const plan = catalog.plans.find((p) => p.key.toLowerCase() === key || p.name.toLowerCase() === key);
  return {
    key: plan?.key ?? key,
    name: plan?.name ?? titleCase(key),
    factIds: [planFact?.id ?? directory?.id, plan?.factId],
  };
}

/** `Api_Keys`, `api-keys`, `apiKeys` -> `api keys`. */
export const norm = (s: string) => humanize(s).replace(/\s+/g, ' ');

/** Words that name the kind of a thing rather than the thing, so they do not identify it. */
export const GENERIC = new Set(
  wordSet(
    'integration integrations sync export import feature features api app plan report reports access link page settings setting url http https www example com',
  ),
);

function linkWords(l: Link): Set<string> {
  let path = l.url;
  try {
    const u = new URL(l.url);
    path = `${u.pathname} ${[...u.searchParams.keys()].join(' ')}`;
  } catch {}
  return wordSet(`${humanize(l.key)} ${l.purpose ?? ''} ${path.replace(/[/?=&_-]+/g, ' ')}`);
}

/**
 * The link for one of `purposes`: first one whose declared purpose names it, then one whose key
 * does, then (when `needle` is given: a feature, plan or integration key) one whose URL holds it.
 */
export function linkFor(
  links: Link[],
  purposes: string[],
  opts: { needle?: string | null; exclude?: Set<string> } = {},
): Link | null {
  const pool = links.filter((l) => !opts.exclude?.has(l.factId));
  const wanted = purposes.map((x) => norm(x));
  const has = (s: string | null) => {
    if (!s) return false;
    const n = norm(s);
    return wanted.some((w) => n === w || n.split(' ').includes(w) || n.includes(w));
  };
  const byPurpose = pool.filter((l) => has(l.purpose));
  const byKey = pool.filter((l) => !l.purpose && has(l.key));
  const needle = opts.needle?.toLowerCase();
  const withNeedle = (ls: Link[]) =>
    needle ? (ls.find((l) => l.url.toLowerCase().includes(needle)) ?? ls[0]) : ls[0];
  return withNeedle(byPurpose) ?? withNeedle(byKey) ?? null;
}

/** A link whose URL names `needle` (a feature, plan or integration key). */
export function linkNaming(links: Link[], needle: string, exclude?: Set<string>): Link | null {
  const n = needle.toLowerCase();
  const variants = [n, n.replace(/[\s_]+/g, '-'), n.replace(/[\s_-]+/g, '')];
  return (
    links.find((l) => !exclude?.has(l.factId) && variants.some((v) => l.url.toLowerCase().includes(v))) ??
    null
  );
}

/** The link whose key, purpose and path share the most distinctive words with `words`. */
export function bestLink(links: Link[], words: Set<string>, exclude: Set<string> = new Set()): Link | null {
  let best: { link: Link; score: number } | null = null;
  for (const l of links) {
    if (exclude.has(l.factId)) continue;
    const score = overlap(linkWords(l), words).filter((w) => !GENERIC.has(w)).length;
    if (score > 0 && (!best || score > best.score)) best = { link: l, score };
  }
  return best?.link ?? null;
}

/** "on 2026-11-17 08:13 UTC (3 days ago)" in the draft's language. */
export function whenText(p: Phrases, iso: string | null, now: Date): string {
  if (!iso) return '';
  const d = new Date(iso);
  const day = (x: Date) => Date.UTC(x.getUTCFullYear(), x.getUTCMonth(), x.getUTCDate());
  const days = Number.isNaN(d.getTime()) || d > now ? null : Math.round((day(now) - day(d)) / 86_400_000);
  return p.on(formatWhen(iso), days === null ? null : p.ago(days));
}

/** A scalar as the draft shows it (null -> "not yet", booleans -> yes/no, timestamps formatted). */
export function showValue(p: Phrases, v: unknown): string | null {
  if (v === null) return p.notYet;
  if (typeof v === 'boolean') return v ? p.yes : p.no;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return /^\d{4}-\d{2}-\d{2}T/.test(v) ? formatWhen(v) : v;
  return null;
}
