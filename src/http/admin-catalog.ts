import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { audit } from '../audit/audit.ts';
import type { Tx } from '../db/client.ts';
import { withTenant } from '../db/tenant.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { jsonValueLines, nulLine, parseUploadedJson } from '../lib/json-lines.ts';
import {
  CATALOG_SECTIONS,
  type Catalog,
  type CatalogIssue,
  type CatalogItem,
  type CatalogSection,
  catalogFingerprint,
  catalogFromCsv,
  checkCatalog,
  diffCatalog,
  itemKey,
  sectionItems,
  sectionToCsv,
  withSection,
} from '../pipeline/catalog-import.ts';
import { catalogSchema, replaceCatalog } from '../pipeline/tenant-config.ts';
import { readCatalog } from '../pipeline/tenant-config-read.ts';
import type { ServiceCtx } from '../tenancy/context.ts';
import type { Principal } from '../tenancy/principal.ts';
import { requireAdminPage } from './auth.ts';
import { confirmPreview, lockTenantDocument, PREVIEW_TTL_MS, sealPreview } from './console-preview.ts';
import { requireSameOriginPosts } from './middleware.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import {
  catalogBody,
  type ImportFormState,
  type ItemFormState,
  importForm,
  issuesList,
  itemForm,
  itemTitle,
  previewBody,
  SECTION_FIELDS,
} from './views/catalog.ts';
import { type Html, sendPage } from './views/layout.ts';

/**
 * The console's catalog (owners and admins): `GET /admin/catalog` lists every section with an
 * edit page per item (`GET /admin/catalog/item?section=&index=`, `POST /admin/catalog/item`) and
 * a remove button (`POST /admin/catalog/item/remove`); an item form is refused (`409`) when the
 * item changed since the form was opened. `POST /admin/catalog/import` takes the whole catalog as
 * JSON (as the API) or one section as CSV and shows the differences; nothing is written until
 * `POST /admin/catalog/import/confirm` brings back the sealed preview (console-preview.ts), which
 * applies exactly that document, and only while the catalog still has the previewed fingerprint.
 * Every write goes through replaceCatalog (validated by catalogSchema, audited `catalog.replaced`).
 * `GET /admin/catalog/export.csv?section=` downloads a section in the CSV import format.
 */
const TITLE = 'Catalog';
const NAV = CONSOLE_NAV;

type Page = { title?: string; children: Html; status?: 200 | 400 | 403 | 404 | 409 };
const page = (c: Context<AppEnv>, p: Page) =>
  sendPage(c, { title: p.title ?? TITLE, nav: NAV, children: p.children }, { status: p.status ?? 200 });

function ctxOf(c: Context<AppEnv>, p: Principal, tx: Tx): ServiceCtx {
  return {
    tenantId: p.tenantId,
    tx,
    actor: { type: 'admin', userId: p.userId, via: p.via },
    requestId: c.get('requestId'),
  };
}

/** The stored catalog in the schema's output form (what diffs and fingerprints compare). */
async function currentCatalog(tx: Tx): Promise<Catalog> {
  const stored = await readCatalog(tx);
  const parsed = catalogSchema.safeParse(stored);
  return parsed.success ? parsed.data : (stored as Catalog);
}

const itemHash = (item: CatalogItem) => sha256Hex(JSON.stringify(item)).then((h) => h.slice(0, 32));

const asSection = (v: unknown): CatalogSection | null =>
  typeof v === 'string' && (CATALOG_SECTIONS as readonly string[]).includes(v) ? (v as CatalogSection) : null;
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** The item form's text fields from an item, and back. */
function toValues(section: CatalogSection, item: CatalogItem): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of SECTION_FIELDS[section]) {
    const v = item[f.name];
    out[f.name] = Array.isArray(v) ? v.join('\n') : v === null || v === undefined ? '' : String(v);
  }
  return out;
}
function fromValues(
  section: CatalogSection,
  values: Record<string, string>,
): { item: CatalogItem; errors: Record<string, string> } {
  const item: CatalogItem = {};
  const errors: Record<string, string> = {};
  for (const f of SECTION_FIELDS[section]) {
    const v = values[f.name] ?? '';
    if (f.kind === 'lines')
      item[f.name] = v
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter(Boolean);
    else if (f.kind === 'number') {
      if (v.trim() === '') item[f.name] = null;
      else if (Number.isFinite(Number(v.trim()))) item[f.name] = Number(v.trim());
      else errors[f.name] = `"${v.trim()}" is not a number.`;
    } else if (f.kind === 'textarea') item[f.name] = v.replace(/\r\n/g, '\n');
    else if (f.kind === 'checkbox') item[f.name] = v === '1' || v === 'true';
    else item[f.name] = v.trim() === '' && f.name === 'purpose' ? null : v.trim();
    if (nulLine(v) !== null) errors[f.name] = 'contains a NUL character, which cannot be stored.';
  }
  return { item, errors };
}

/** Issues about the item at `index` (or link `key`) as errors beside its fields; the rest at the top. */
function issuesToForm(section: CatalogSection, issues: CatalogIssue[]) {
  const errors: Record<string, string> = {};
  const other: string[] = [];
  const names = SECTION_FIELDS[section].map((f) => f.name);
  for (const i of issues) {
    const field =
      i.field?.split('.')[0] ?? (section === 'links' && i.section === 'links' ? 'url' : undefined);
    if (i.section === section && field && names.includes(field)) errors[field] ??= i.message;
    else other.push(`${i.section ?? ''}${i.field ? `.${i.field}` : ''}: ${i.message}`);
  }
  return { errors, formError: other.length ? `The catalog would not be valid: ${other.join('; ')}` : null };
}

export function adminCatalogRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/catalog/*', requireSameOriginPosts);
  app.use('/admin/catalog/*', requireAdminPage(TITLE, 'see and change the catalog'));
  const db = (c: Context<AppEnv>) => c.get('deps').database.db;
  const principal = (c: Context<AppEnv>) => c.get('principal')!;

  async function overview(
    c: Context<AppEnv>,
    notice: string | null,
    form: ImportFormState,
    status: 200 | 400 = 200,
  ) {
    const cat = await withTenant(db(c), principal(c).tenantId, currentCatalog);
    const hashes = {} as Record<CatalogSection, string[]>;
    for (const s of CATALOG_SECTIONS) hashes[s] = await Promise.all(sectionItems(cat, s).map(itemHash));
    return page(c, { children: catalogBody(cat, hashes, notice, form), status });
  }

  app.get('/admin/catalog', (c) => {
    const q = c.req.query();
    const notice =
      q.applied === '1' ? 'The import was applied.' : q.saved ? 'Saved.' : q.removed ? 'Removed.' : null;
    return overview(c, notice, { format: 'json', text: '', error: null });
  });

  /** One section in the CSV import format: a spreadsheet to edit and import again. */
  app.get('/admin/catalog/export.csv', async (c) => {
    const section = asSection(c.req.query('section'));
    if (!section) return page(c, { children: messageBody(['No such catalog section.']), status: 404 });
    const cat = await withTenant(db(c), principal(c).tenantId, currentCatalog);
    return c.body(sectionToCsv(cat, section), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="catalog-${section}.csv"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
  });

  app.get('/admin/catalog/item', async (c) => {
    const section = asSection(c.req.query('section'));
    if (!section) return page(c, { children: messageBody(['No such catalog section.']), status: 404 });
    const rawIndex = c.req.query('index');
    const cat = await withTenant(db(c), principal(c).tenantId, currentCatalog);
    if (rawIndex === undefined)
      return page(c, {
        title: itemTitle(section, null),
        children: itemForm({
          section,
          index: null,
          hash: '',
          values: toValues(section, {}),
          errors: {},
          formError: null,
        }),
      });
    const index = /^\d{1,6}$/.test(rawIndex) ? Number(rawIndex) : -1;
    const item = sectionItems(cat, section)[index];
    if (!item)
      return page(c, {
        children: messageBody(
          ['That item is not in the catalog (any more).'],
          [{ href: '/admin/catalog', label: 'Back to the catalog' }],
        ),
        status: 404,
      });
    return page(c, {
      title: itemTitle(section, index),
      children: itemForm({
        section,
        index,
        hash: await itemHash(item),
        values: toValues(section, item),
        errors: {},
        formError: null,
      }),
    });
  });

  /** Saves (index given) or adds one item, or removes it; refused when the item changed meanwhile. */
  async function writeItem(c: Context<AppEnv>, remove: boolean) {
    const body = await c.req.parseBody();
    const section = asSection(body.section);
    if (!section) return page(c, { children: messageBody(['No such catalog section.']), status: 400 });
    const rawIndex = str(body.index);
    const index = rawIndex === '' ? null : /^\d{1,6}$/.test(rawIndex) ? Number(rawIndex) : -1;
    if (index === -1 || (remove && index === null))
      return page(c, { children: messageBody(['That is not an item of the catalog.']), status: 400 });
    const values: Record<string, string> = {};
    for (const f of SECTION_FIELDS[section]) values[f.name] = str(body[f.name]).slice(0, 200_000);
    const hash = str(body.hash);
    const form: ItemFormState = { section, index, hash, values, errors: {}, formError: null };
    const built = remove ? { item: {}, errors: {} } : fromValues(section, values);
    if (Object.keys(built.errors).length)
      return page(c, {
        title: itemTitle(section, index),
        children: itemForm({ ...form, errors: built.errors }),
        status: 400,
      });
    const p = principal(c);
    const outcome = await withTenant(db(c), p.tenantId, async (tx) => {
      await lockTenantDocument(tx, p.tenantId, 'catalog');
      const cat = await currentCatalog(tx);
      const items = sectionItems(cat, section);
      if (index !== null && (!items[index] || (await itemHash(items[index]!)) !== hash))
        return { kind: 'stale' as const };
      const next =
        index === null
          ? [...items, built.item]
          : remove
            ? items.filter((_, i) => i !== index)
            : items.map((it, i) => (i === index ? built.item : it));
      // Links are a record by key: a clash would silently drop one, so it is refused here.
      const at = index ?? next.length - 1;
      const key = remove || section === 'changelog' ? null : itemKey(section, built.item);
      if (key !== null && next.some((it, i) => i !== at && itemKey(section, it) === key)) {
        const field = section === 'kb' ? 'id' : 'key';
        return {
          kind: 'invalid' as const,
          issues: [{ section, item: at, field, message: `${field} "${key}" is used twice in ${section}` }],
        };
      }
      const check = checkCatalog(withSection(cat, section, next));
      if (!check.ok) return { kind: 'invalid' as const, issues: check.issues };
      await replaceCatalog(ctxOf(c, p, tx), check.catalog);
      return { kind: 'ok' as const };
    });
    if (outcome.kind === 'stale')
      return page(c, {
        children: messageBody(
          ['This item was changed or removed by someone else since you opened it. Nothing was saved.'],
          [{ href: '/admin/catalog', label: 'See the catalog as it is now' }],
        ),
        status: 409,
      });
    if (outcome.kind === 'invalid') {
      if (remove)
        return page(c, {
          children: issuesList(outcome.issues, 'The catalog would not be valid without it'),
          status: 400,
        });
      return page(c, {
        title: itemTitle(section, index),
        children: itemForm({ ...form, ...issuesToForm(section, outcome.issues) }),
        status: 400,
      });
    }
    return c.redirect(`/admin/catalog?${remove ? 'removed' : 'saved'}=${section}#h-${section}`, 303);
  }
  app.post('/admin/catalog/item', (c) => writeItem(c, false));
  app.post('/admin/catalog/item/remove', (c) => writeItem(c, true));

  app.post('/admin/catalog/import', async (c) => {
    const body = await c.req.parseBody();
    const format = str(body.format) || 'json';
    const file = body.file;
    const text = file instanceof File && file.size > 0 ? await file.text() : str(body.document);
    const form: ImportFormState = {
      format,
      text: file instanceof File && file.size > 0 ? '' : text,
      error: null,
    };
    const refuse = (error: string) => overview(c, null, { ...form, error }, 400);
    const section = format.startsWith('csv:') ? asSection(format.slice(4)) : null;
    if (format !== 'json' && !section) return refuse('Choose what you import: JSON or a CSV section.');
    if (!text.trim()) return refuse('Choose a file or paste the document.');
    const nul = nulLine(text);
    if (nul !== null) return refuse(`line ${nul}: contains a NUL character, which cannot be stored.`);
    const p = principal(c);
    const result = await withTenant(db(c), p.tenantId, async (tx) => {
      const current = await currentCatalog(tx);
      let check: ReturnType<typeof checkCatalog>;
      if (!section) {
        const parsed = parseUploadedJson(text);
        if (!parsed.ok)
          return {
            ok: false as const,
            issues: [{ ...(parsed.line ? { line: parsed.line } : {}), message: parsed.message }],
          };
        const twice: { path: string; line: number }[] = [];
        const lines = jsonValueLines(text, 6, twice);
        if (twice.length)
          return {
            ok: false as const,
            issues: twice.map((d) => ({
              line: d.line,
              message: `${d.path} is given twice (only one can be kept)`,
            })),
          };
        check = checkCatalog(parsed.value, { requireAll: true, lines });
      } else {
        const fromCsv = catalogFromCsv(current, section, text);
        if (!fromCsv.ok) return { ok: false as const, issues: fromCsv.issues };
        check = checkCatalog(fromCsv.doc, { lines: fromCsv.lines });
      }
      if (!check.ok) return { ok: false as const, issues: check.issues };
      return {
        ok: true as const,
        catalog: check.catalog,
        diff: diffCatalog(current, check.catalog),
        base: await catalogFingerprint(current),
      };
    });
    const source = section
      ? `The CSV replaces the ${section} section`
      : 'The JSON replaces the whole catalog';
    if (!result.ok)
      return page(c, {
        title: 'Catalog import: not valid',
        children: html`${issuesList(result.issues, 'Problems: nothing was imported')}${importForm(form)}`,
        status: 400,
      });
    const now = c.get('deps').now?.() ?? new Date();
    const token = await sealPreview(c.get('deps').vault, p.tenantId, 'catalog', {
      doc: result.catalog,
      base: result.base,
      userId: p.userId,
      expiresAt: now.getTime() + PREVIEW_TTL_MS,
    });
    return page(c, {
      title: 'Catalog import: preview',
      children: previewBody({ diff: result.diff, token, source }),
    });
  });

  app.post('/admin/catalog/import/confirm', async (c) => {
    const body = await c.req.parseBody();
    const p = principal(c);
    const refused = await confirmPreview<Catalog>(c, p.tenantId, str(body.preview), {
      kind: 'catalog',
      noun: 'preview',
      again: { href: '/admin/catalog#h-import', label: 'Import again' },
      changed:
        'The catalog changed since this preview (an edit, another import or the API). Nothing was applied: import again to see the differences against the catalog as it is now.',
      async apply(tx, doc, base) {
        const current = await currentCatalog(tx);
        if ((await catalogFingerprint(current)) !== base) return false;
        const ctx = ctxOf(c, p, tx);
        const diff = diffCatalog(current, catalogSchema.parse(doc));
        await replaceCatalog(ctx, doc);
        await audit(ctx, {
          action: 'catalog.import_confirmed',
          target: p.tenantId,
          outcome: 'success',
          detail: Object.fromEntries(
            CATALOG_SECTIONS.map((s) => [
              s,
              {
                added: diff[s].added.length,
                changed: diff[s].changed.length,
                removed: diff[s].removed.length,
              },
            ]),
          ),
        });
        return true;
      },
    });
    if (refused) return refused;
    return c.redirect('/admin/catalog?applied=1', 303);
  });
  return app;
}
