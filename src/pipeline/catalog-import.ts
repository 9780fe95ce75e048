import type { z } from 'zod';
import { sha256Hex } from '../lib/crypto.ts';
import { CsvSyntaxError, csvList, csvRecords, type LineError, parseCsv, toCsv } from '../lib/csv.ts';
import { lineOf } from '../lib/json-lines.ts';
import { ALLOWED_LINK_PLACEHOLDERS, disallowedLinkPlaceholder } from './context/link-template.ts';
import { type CatalogInput, catalogSchema } from './tenant-config.ts';

/**
 * The console's catalog import and item edits (src/http/admin-catalog.ts): a JSON document in
 * the shape `PUT /admin/api/catalog` takes, or one section as CSV, is validated by the same
 * `catalogSchema`, compared with the current catalog item by item (by key, kb id, or a
 * changelog entry's date and title) and only then, on a confirmation, given to replaceCatalog.
 */

export const CATALOG_SECTIONS = ['plans', 'features', 'links', 'kb', 'changelog', 'playbooks'] as const;
export type CatalogSection = (typeof CATALOG_SECTIONS)[number];
export type Catalog = z.output<typeof catalogSchema>;

export const SECTION_TITLES: Record<CatalogSection, string> = {
  plans: 'Plans',
  features: 'Features',
  links: 'Links',
  kb: 'Knowledge-base articles',
  changelog: 'Changelog',
  playbooks: 'Playbooks',
};

/**
 * The CSV columns of each section (header row required, in any order; `|` separates the items
 * of a list cell). Documented on the page and in the README.
 */
export const SECTION_CSV: Record<
  CatalogSection,
  { required: string[]; optional: string[]; lists: string[] }
> = {
  plans: { required: ['key', 'name'], optional: ['monthly_price'], lists: [] },
  features: { required: ['key', 'name'], optional: ['plans'], lists: ['plans'] },
  links: { required: ['key', 'url'], optional: ['purpose'], lists: [] },
  kb: { required: ['id', 'title'], optional: ['body'], lists: [] },
  changelog: { required: ['date', 'title'], optional: ['body'], lists: [] },
  playbooks: { required: ['key', 'when'], optional: ['steps', 'visibility', 'auto_send'], lists: ['steps'] },
};

/** CSV columns whose item field is named otherwise. */
const CSV_FIELD: Record<string, string> = { monthly_price: 'monthlyPrice', auto_send: 'autoSend' };

/** One catalog item, as the diff and the forms see it (links become `{ key, url, purpose }`). */
export type CatalogItem = Record<string, unknown>;

/** The items of a section in a stable, comparable form. */
export function sectionItems(c: Catalog, section: CatalogSection): CatalogItem[] {
  switch (section) {
    case 'plans':
      return c.plans.map((p) => ({ key: p.key, name: p.name, monthlyPrice: p.monthlyPrice ?? null }));
    case 'features':
      return c.features.map((f) => ({ key: f.key, name: f.name, plans: f.plans }));
    case 'links':
      return Object.entries(c.links).map(([key, l]) =>
        typeof l === 'string'
          ? { key, url: l, purpose: null }
          : { key, url: l.url, purpose: l.purpose ?? null },
      );
    case 'kb':
      return c.kb.map((a) => ({ id: a.id, title: a.title, body: a.body }));
    case 'changelog':
      return c.changelog.map((e) => ({ date: e.date, title: e.title, body: e.body }));
    case 'playbooks':
      return c.playbooks.map((p) => ({
        key: p.key,
        when: p.when,
        steps: p.steps,
        visibility: p.visibility,
        autoSend: p.autoSend,
      }));
  }
}

/** The raw (pre-validation) section value built from items as sectionItems returns them. */
function sectionValue(section: CatalogSection, items: CatalogItem[]): unknown {
  if (section !== 'links') return items;
  return Object.fromEntries(
    items.map((i) => [i.key, i.purpose ? { url: i.url, purpose: i.purpose } : i.url] as const),
  );
}

/** What names an item within its section: its key (kb: id; changelog: date and title). */
export function itemKey(section: CatalogSection, item: CatalogItem): string {
  if (section === 'kb') return String(item.id);
  if (section === 'changelog') return `${String(item.date)} ${String(item.title)}`;
  return String(item.key);
}

export interface SectionDiff {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}
export type CatalogDiff = Record<CatalogSection, SectionDiff>;

/** Added, changed and removed items per section, by key (repeated changelog keys get `#2`, ...). */
export function diffCatalog(current: Catalog, next: Catalog): CatalogDiff {
  const keyed = (c: Catalog, s: CatalogSection) => {
    const m = new Map<string, string>();
    for (const item of sectionItems(c, s)) {
      let k = itemKey(s, item);
      for (let n = 2; m.has(k); n++) k = `${itemKey(s, item)} #${n}`;
      m.set(k, JSON.stringify(item));
    }
    return m;
  };
  const out = {} as CatalogDiff;
  for (const s of CATALOG_SECTIONS) {
    const a = keyed(current, s);
    const b = keyed(next, s);
    const d: SectionDiff = { added: [], changed: [], removed: [], unchanged: 0 };
    for (const [k, v] of b) {
      if (!a.has(k)) d.added.push(k);
      else if (a.get(k) !== v) d.changed.push(k);
      else d.unchanged++;
    }
    for (const k of a.keys()) if (!b.has(k)) d.removed.push(k);
    out[s] = d;
  }
  return out;
}

export function diffIsEmpty(d: CatalogDiff): boolean {
  return CATALOG_SECTIONS.every((s) => !d[s].added.length && !d[s].changed.length && !d[s].removed.length);
}

/** A fingerprint of a catalog's content: a preview is confirmed only while it is unchanged. */
export function catalogFingerprint(c: Catalog): Promise<string> {
  return sha256Hex(JSON.stringify(CATALOG_SECTIONS.map((s) => sectionItems(c, s))));
}

/** One validation problem: where (section, item, field, CSV line) and what. */
export interface CatalogIssue {
  section?: CatalogSection;
  /** The item's position in its section (links: its key). */
  item?: number | string;
  field?: string;
  line?: number;
  message: string;
}

export type CatalogCheck = { ok: true; catalog: Catalog } | { ok: false; issues: CatalogIssue[] };

/**
 * Validates a whole catalog document the way the API does (catalogSchema, every section present
 * when `requireAll`), plus what the database or replaceCatalog would refuse: a key used twice in
 * a section, a link placeholder other than the allowed ones. `lines` maps `section.item` to the
 * CSV line it came from. Every problem is returned, not only the first.
 */
export function checkCatalog(
  doc: unknown,
  opts: { requireAll?: boolean; lines?: Map<string, number> } = {},
): CatalogCheck {
  const issues: CatalogIssue[] = [];
  const place = (path: PropertyKey[]): Omit<CatalogIssue, 'message'> => {
    const [s, item, ...rest] = path;
    if (typeof s !== 'string' || !(CATALOG_SECTIONS as readonly string[]).includes(s)) return {};
    const section = s as CatalogSection;
    const where: Omit<CatalogIssue, 'message'> = { section };
    if (typeof item === 'number' || typeof item === 'string') {
      where.item = item;
      const line = lineOf(opts.lines, path);
      if (line !== undefined) where.line = line;
    }
    if (rest.length) where.field = rest.map(String).join('.');
    return where;
  };
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return { ok: false, issues: [{ message: 'the document must be a JSON object with the six sections' }] };
  if (opts.requireAll)
    for (const s of CATALOG_SECTIONS)
      if (!(s in doc))
        issues.push({
          section: s,
          message: `${s} is required: an import replaces the whole catalog (send an empty list, or {} for links, to clear it)`,
        });
  const parsed = catalogSchema.safeParse(doc);
  if (!parsed.success) {
    for (const i of parsed.error.issues)
      issues.push({
        ...place(i.path),
        message: issueMessage(i),
      });
    return { ok: false, issues };
  }
  const c = parsed.data;
  for (const s of CATALOG_SECTIONS) {
    if (s === 'links' || s === 'changelog') continue;
    const seen = new Map<string, number>();
    sectionItems(c, s).forEach((item, i) => {
      const k = itemKey(s, item);
      if (seen.has(k))
        issues.push({
          ...place([s, i, s === 'kb' ? 'id' : 'key']),
          message: `${s === 'kb' ? 'id' : 'key'} "${k}" is used twice in ${s}`,
        });
      seen.set(k, i);
    });
  }
  for (const [k, l] of Object.entries(c.links)) {
    const bad = disallowedLinkPlaceholder(typeof l === 'string' ? l : l.url);
    if (bad !== null)
      issues.push({
        ...place(['links', k, 'url']),
        message: `the placeholder ${bad} is not allowed in links (allowed: ${ALLOWED_LINK_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`,
      });
  }
  return issues.length ? { ok: false, issues } : { ok: true, catalog: c };
}

/** A zod issue in words a person filling a form or a spreadsheet reads. */
export function issueMessage(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return `unknown field: ${i.keys.join(', ')}`;
  if (i.code === 'too_small' && i.origin === 'string' && Number(i.minimum) === 1) return 'must not be empty';
  if (i.code === 'invalid_type' && i.message.endsWith('received undefined')) return 'is required';
  return i.message;
}

/** The current catalog with one section replaced by `items` (raw, validated by checkCatalog). */
export function withSection(current: Catalog, section: CatalogSection, items: CatalogItem[]): CatalogInput {
  const doc: Record<string, unknown> = {};
  for (const s of CATALOG_SECTIONS) doc[s] = sectionValue(s, sectionItems(current, s));
  doc[section] = sectionValue(section, items);
  return doc as CatalogInput;
}

/**
 * One section from CSV (SECTION_CSV): the current catalog with that section replaced, and the
 * line of every item. Syntax problems and rows with too many cells come back as issues.
 */
export function catalogFromCsv(
  current: Catalog,
  section: CatalogSection,
  text: string,
): { ok: true; doc: CatalogInput; lines: Map<string, number> } | { ok: false; issues: CatalogIssue[] } {
  const cols = SECTION_CSV[section];
  let parsed: ReturnType<typeof csvRecords>;
  try {
    parsed = csvRecords(parseCsv(text), cols);
  } catch (e) {
    if (e instanceof CsvSyntaxError)
      return {
        ok: false,
        issues: [{ section, line: e.line, message: e.message.replace(/^line \d+: /, '') }],
      };
    throw e;
  }
  const issues: CatalogIssue[] = parsed.errors.map((e: LineError) => ({
    section,
    line: e.line,
    message: e.message,
  }));
  const lines = new Map<string, number>();
  const items: CatalogItem[] = [];
  for (const r of parsed.records) {
    const item: CatalogItem = {};
    for (const col of [...cols.required, ...cols.optional]) {
      const v = r.get(col);
      const field = CSV_FIELD[col] ?? col;
      if (cols.lists.includes(col)) item[field] = csvList(v);
      else if (col === 'auto_send') {
        if (v === '' || /^(false|no|0)$/i.test(v)) item[field] = false;
        else if (/^(true|yes|1)$/i.test(v)) item[field] = true;
        else issues.push({ section, line: r.line, field, message: `auto_send "${v}" is not true or false` });
      } else if (col === 'monthly_price') {
        if (v === '') item[field] = null;
        else if (Number.isFinite(Number(v))) item[field] = Number(v);
        else issues.push({ section, line: r.line, field, message: `monthly_price "${v}" is not a number` });
      } else if (v !== '' || cols.required.includes(col) || col === 'body') item[field] = v;
    }
    if (section === 'playbooks' && item.visibility === undefined) item.visibility = 'account';
    const key = section === 'links' ? String(item.key) : String(items.length);
    lines.set(`${section}.${key}`, r.line);
    if (section === 'links' && items.some((i) => i.key === item.key))
      issues.push({
        section,
        line: r.line,
        field: 'key',
        message: `key "${String(item.key)}" is used twice in links`,
      });
    items.push(item);
  }
  if (issues.length) return { ok: false, issues };
  return { ok: true, doc: withSection(current, section, items), lines };
}

/** A section as CSV in the import format (the page offers it as a starting point). */
export function sectionToCsv(c: Catalog, section: CatalogSection): string {
  const cols = [...SECTION_CSV[section].required, ...SECTION_CSV[section].optional];
  return toCsv(
    cols,
    sectionItems(c, section).map((item) =>
      cols.map((col) => {
        const v = item[CSV_FIELD[col] ?? col];
        if (Array.isArray(v)) return v.join('|');
        return v === null || v === undefined ? '' : String(v);
      }),
    ),
  );
}
