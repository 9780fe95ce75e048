import { html } from 'hono/html';
import {
  CATALOG_SECTIONS,
  type Catalog,
  type CatalogDiff,
  type CatalogIssue,
  type CatalogItem,
  type CatalogSection,
  diffIsEmpty,
  SECTION_CSV,
  SECTION_TITLES,
  sectionItems,
} from '../../pipeline/catalog-import.ts';
import type { Html } from './layout.ts';

/** The console's catalog pages (src/http/admin-catalog.ts). Every value is escaped by `html`. */

export interface FieldSpec {
  name: string;
  label: string;
  kind: 'text' | 'textarea' | 'number' | 'lines' | 'visibility' | 'checkbox';
  hint?: string;
}

const KEY_HINT = 'Stable identifier that drafts and other items refer to.';
export const SECTION_FIELDS: Record<CatalogSection, FieldSpec[]> = {
  plans: [
    { name: 'key', label: 'Key', kind: 'text', hint: KEY_HINT },
    { name: 'name', label: 'Name', kind: 'text' },
    { name: 'monthlyPrice', label: 'Monthly price', kind: 'number', hint: 'Optional; a number, e.g. 49.' },
  ],
  features: [
    { name: 'key', label: 'Key', kind: 'text', hint: KEY_HINT },
    { name: 'name', label: 'Name', kind: 'text' },
    { name: 'plans', label: 'Plans that include it', kind: 'lines', hint: 'Plan keys, one per line.' },
  ],
  links: [
    { name: 'key', label: 'Key', kind: 'text', hint: KEY_HINT },
    {
      name: 'url',
      label: 'URL',
      kind: 'text',
      hint: 'May contain {account.id}, {account.name} or {account.plan}; they are filled per ticket.',
    },
    { name: 'purpose', label: 'Purpose', kind: 'text', hint: 'Optional: when a draft should offer it.' },
  ],
  kb: [
    { name: 'id', label: 'Id', kind: 'text', hint: KEY_HINT },
    { name: 'title', label: 'Title', kind: 'text' },
    { name: 'body', label: 'Body', kind: 'textarea' },
  ],
  changelog: [
    { name: 'date', label: 'Date', kind: 'text', hint: 'As you write it, e.g. 2026-11-30.' },
    { name: 'title', label: 'Title', kind: 'text' },
    { name: 'body', label: 'Body', kind: 'textarea', hint: 'Optional.' },
  ],
  playbooks: [
    { name: 'key', label: 'Key', kind: 'text', hint: KEY_HINT },
    { name: 'when', label: 'When it applies', kind: 'textarea' },
    { name: 'steps', label: 'Steps', kind: 'lines', hint: 'One step per line.' },
    {
      name: 'visibility',
      label: 'Visibility',
      kind: 'visibility',
      hint: 'Internal guidance by default; only end_user or public playbooks reach end-user drafts.',
    },
    {
      name: 'autoSend',
      label: 'Send its drafts without review',
      kind: 'checkbox',
      hint: "Off by default. On: a draft that follows this playbook, passes the leak guard and reaches the sidebar's auto-send threshold is sent as a public reply by itself (Zendesk sidebar settings).",
    },
  ],
};

const SINGULAR: Record<CatalogSection, string> = {
  plans: 'plan',
  features: 'feature',
  links: 'link',
  kb: 'article',
  changelog: 'changelog entry',
  playbooks: 'playbook',
};

/** The columns a section's table shows (its summary; the edit page shows everything). */
function summary(section: CatalogSection, item: CatalogItem): Array<string | Html> {
  const s = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  switch (section) {
    case 'plans':
      return [html`<code>${s(item.key)}</code>`, s(item.name), s(item.monthlyPrice)];
    case 'features':
      return [html`<code>${s(item.key)}</code>`, s(item.name), (item.plans as string[]).join(', ')];
    case 'links':
      return [html`<code>${s(item.key)}</code>`, html`<small>${s(item.url)}</small>`, s(item.purpose)];
    case 'kb':
      return [html`<code>${s(item.id)}</code>`, s(item.title)];
    case 'changelog':
      return [s(item.date), s(item.title)];
    case 'playbooks':
      return [
        html`<code>${s(item.key)}</code>`,
        s(item.when).slice(0, 120),
        s(item.visibility),
        item.autoSend === true ? 'on' : 'off',
      ];
  }
}
const HEADS: Record<CatalogSection, string[]> = {
  plans: ['key', 'name', 'monthly price'],
  features: ['key', 'name', 'plans'],
  links: ['key', 'URL', 'purpose'],
  kb: ['id', 'title'],
  changelog: ['date', 'title'],
  playbooks: ['key', 'when', 'visibility', 'auto-send'],
};

/** "a plan", "an article". */
const aOne = (section: CatalogSection) =>
  `${/^[aeiou]/.test(SINGULAR[section]) ? 'an' : 'a'} ${SINGULAR[section]}`;

const label = (section: CatalogSection, item: CatalogItem) =>
  String(section === 'kb' ? item.id : section === 'changelog' ? `${item.date} ${item.title}` : item.key);

function sectionTable(c: Catalog, section: CatalogSection, hashes: string[]): Html {
  const items = sectionItems(c, section);
  const one = SINGULAR[section];
  return html`<section aria-labelledby="h-${section}">
<h2 id="h-${section}">${SECTION_TITLES[section]} <small>(${items.length})</small></h2>
${
  items.length
    ? html`<table><caption class="visually-hidden">${SECTION_TITLES[section]}</caption>
<tr>${HEADS[section].map((h) => html`<th scope="col">${h}</th>`)}<th scope="col"><span class="visually-hidden">actions</span></th></tr>
${items.map(
  (
    item,
    i,
  ) => html`<tr>${summary(section, item).map((v) => html`<td>${v}</td>`)}<td class="actions"><a href="/admin/catalog/item?section=${section}&amp;index=${i}" aria-label="Edit ${one} ${label(section, item)}">Edit</a>
<form method="post" action="/admin/catalog/item/remove" class="inline"><input type="hidden" name="section" value="${section}"><input type="hidden" name="index" value="${i}"><input type="hidden" name="hash" value="${hashes[i] ?? ''}"><button type="submit" aria-label="Remove ${one} ${label(section, item)}">Remove</button></form></td></tr>`,
)}</table>`
    : html`<p class="muted">No ${SECTION_TITLES[section].toLowerCase()} yet.</p>`
}
<p><a href="/admin/catalog/item?section=${section}">Add ${aOne(section)}</a>${items.length ? html` · <a href="/admin/catalog/export.csv?section=${section}" download>Download ${SECTION_TITLES[section].toLowerCase()} as CSV</a>` : ''}</p>
</section>`;
}

export function csvFormatHelp(): Html {
  return html`<details><summary>CSV columns per section</summary>
<p>The first line names the columns, in any order (required ones in bold). A cell holding a list separates its items with <code>|</code>. Quote a cell with <code>"</code> when it holds a comma, a quote (written <code>""</code>) or a line break. A CSV replaces that one section; the other sections stay as they are.</p>
<table><caption class="visually-hidden">CSV columns</caption><tr><th scope="col">section</th><th scope="col">columns</th></tr>
${CATALOG_SECTIONS.map(
  (s) =>
    html`<tr><td>${SECTION_TITLES[s]}</td><td>${SECTION_CSV[s].required.map((c) => html`<strong><code>${c}</code></strong> `)}${SECTION_CSV[
      s
    ].optional.map(
      (c) => html`<code>${c}</code>${SECTION_CSV[s].lists.includes(c) ? ' (list)' : ''} `,
    )}</td></tr>`,
)}</table>
<p>Example (plans): <code>key,name,monthly_price</code> then <code>pro,Pro,49</code>. Playbook <code>visibility</code> is <code>account</code> (default), <code>end_user</code> or <code>public</code>; <code>auto_send</code> is <code>true</code> or <code>false</code> (default).</p>
</details>`;
}

export interface ImportFormState {
  format: string;
  text: string;
  error: string | null;
}

export function importForm(f: ImportFormState): Html {
  const described = f.error ? 'document-hint document-error' : 'document-hint';
  return html`<form method="post" action="/admin/catalog/import" enctype="multipart/form-data" class="stack" aria-labelledby="h-import">
<h2 id="h-import">Import</h2>
<p>Import the whole catalog as JSON (the shape <code>GET /admin/api/catalog</code> returns and <code>PUT /admin/api/catalog</code> takes), or one section as CSV. You see the differences first; nothing changes until you confirm.</p>
<label for="format">What you import</label>
<select id="format" name="format">
<option value="json"${f.format === 'json' ? ' selected' : ''}>JSON: the whole catalog</option>
${CATALOG_SECTIONS.map((s) => html`<option value="csv:${s}"${f.format === `csv:${s}` ? ' selected' : ''}>CSV: ${SECTION_TITLES[s].toLowerCase()} only</option>`)}
</select>
<label for="file">File</label>
<input id="file" name="file" type="file" accept=".json,.csv,application/json,text/csv" aria-describedby="document-hint">
<label for="document">Or paste it here</label>
<textarea id="document" name="document" rows="8" cols="60" aria-describedby="${described}">${f.text}</textarea>
<small id="document-hint">A chosen file is used instead of the pasted text.</small>
${f.error ? html`<p class="error" id="document-error" role="alert">${f.error}</p>` : ''}
${csvFormatHelp()}
<button type="submit">Preview import</button>
</form>`;
}

export function catalogBody(
  c: Catalog,
  hashes: Record<CatalogSection, string[]>,
  notice: string | null,
  form: ImportFormState,
): Html {
  return html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<p>What drafts know about your product: plans, features, links, knowledge-base articles, the changelog and your playbooks. Edit one item at a time below, or import many at once. The same catalog is <code>GET</code>/<code>PUT /admin/api/catalog</code>.</p>
<p class="skip">${CATALOG_SECTIONS.map((s, i) => html`${i ? ' · ' : ''}<a href="#h-${s}">${SECTION_TITLES[s]}</a>`)} · <a href="#h-import">Import</a></p>
${CATALOG_SECTIONS.map((s) => sectionTable(c, s, hashes[s]))}
${importForm(form)}`;
}

export function issuesList(issues: CatalogIssue[], title = 'Problems'): Html {
  return html`<h2>${title} <small>(${issues.length})</small></h2>
<ul class="issues" aria-label="${title}">${issues
    .slice(0, 200)
    .map(
      (i) =>
        html`<li>${i.line !== undefined ? html`<strong>line ${i.line}</strong>: ` : ''}${i.section ? html`${i.section}${i.item !== undefined ? html` item ${typeof i.item === 'number' ? i.item + 1 : `"${i.item}"`}` : ''}${i.field ? html`, ${i.field}` : ''}: ` : ''}${i.message}</li>`,
    )}${issues.length > 200 ? html`<li>and ${issues.length - 200} more</li>` : ''}</ul>`;
}

const SHOWN = 50;
const keys = (ks: string[]) =>
  html`${ks.slice(0, SHOWN).map((k, i) => html`${i ? ', ' : ''}<code>${k}</code>`)}${ks.length > SHOWN ? html` and ${ks.length - SHOWN} more` : ''}`;

export function diffBody(d: CatalogDiff): Html {
  if (diffIsEmpty(d))
    return html`<p class="notice">No differences: the import is the same as the current catalog.</p>`;
  return html`<table class="diff"><caption class="visually-hidden">Differences per section</caption>
<tr><th scope="col">section</th><th scope="col">added</th><th scope="col">changed</th><th scope="col">removed</th><th scope="col">unchanged</th></tr>
${CATALOG_SECTIONS.map(
  (s) =>
    html`<tr><th scope="row">${SECTION_TITLES[s]}</th><td>${d[s].added.length}</td><td>${d[s].changed.length}</td><td>${d[s].removed.length}</td><td>${d[s].unchanged}</td></tr>`,
)}</table>
${CATALOG_SECTIONS.filter((s) => d[s].added.length || d[s].changed.length || d[s].removed.length).map(
  (s) => html`<h3>${SECTION_TITLES[s]}</h3><ul class="changes">
${d[s].added.length ? html`<li class="added">Added: ${keys(d[s].added)}</li>` : ''}
${d[s].changed.length ? html`<li class="changed">Changed: ${keys(d[s].changed)}</li>` : ''}
${d[s].removed.length ? html`<li class="removed">Removed: ${keys(d[s].removed)}</li>` : ''}
</ul>`,
)}`;
}

export function previewBody(opts: { diff: CatalogDiff; token: string; source: string }): Html {
  return html`<p>${opts.source}. Nothing has changed yet. Below is what applying it would do, item by item (by key; knowledge-base articles by id; changelog entries by date and title).</p>
${diffBody(opts.diff)}
<form method="post" action="/admin/catalog/import/confirm" class="stack">
<input type="hidden" name="preview" value="${opts.token}">
<button type="submit">Apply this import</button>
</form>
<p><a href="/admin/catalog">Cancel</a> (nothing is applied). The preview stays valid for 30 minutes and only while the catalog is unchanged.</p>`;
}

export interface ItemFormState {
  section: CatalogSection;
  index: number | null;
  hash: string;
  values: Record<string, string>;
  errors: Record<string, string>;
  formError: string | null;
}

export function itemForm(f: ItemFormState): Html {
  const one = SINGULAR[f.section];
  const err = (n: string) =>
    f.errors[n] ? html`<p class="error" id="${n}-error" role="alert">${f.errors[n]}</p>` : '';
  const describedBy = (field: FieldSpec) =>
    [field.hint ? `${field.name}-hint` : '', f.errors[field.name] ? `${field.name}-error` : '']
      .filter(Boolean)
      .join(' ');
  return html`${f.formError ? html`<p class="error" role="alert">${f.formError}</p>` : ''}
<form method="post" action="/admin/catalog/item" class="stack">
<input type="hidden" name="section" value="${f.section}">
<input type="hidden" name="index" value="${f.index === null ? '' : String(f.index)}">
<input type="hidden" name="hash" value="${f.hash}">
${SECTION_FIELDS[f.section].map((field) => {
  const v = f.values[field.name] ?? '';
  const aria = describedBy(field);
  const ariaAttr = aria ? html` aria-describedby="${aria}"` : '';
  const invalid = f.errors[field.name] ? html` aria-invalid="true"` : '';
  const input =
    field.kind === 'textarea' || field.kind === 'lines'
      ? html`<textarea id="${field.name}" name="${field.name}" rows="${field.kind === 'lines' ? 4 : 8}" cols="60"${ariaAttr}${invalid}>${v}</textarea>`
      : field.kind === 'checkbox'
        ? html`<input type="checkbox" id="${field.name}" name="${field.name}" value="1"${v === 'true' || v === '1' ? ' checked' : ''}${ariaAttr}>`
        : field.kind === 'visibility'
          ? html`<select id="${field.name}" name="${field.name}"${ariaAttr}>${[
              'account',
              'end_user',
              'public',
            ].map(
              (o) => html`<option value="${o}"${o === (v || 'account') ? ' selected' : ''}>${o}</option>`,
            )}</select>`
          : html`<input id="${field.name}" name="${field.name}" value="${v}"${field.kind === 'number' ? html` inputmode="decimal"` : ''} size="40"${ariaAttr}${invalid}>`;
  return html`<label for="${field.name}">${field.label}</label>
${input}
${field.hint ? html`<small id="${field.name}-hint">${field.hint}</small>` : ''}
${err(field.name)}`;
})}
<button type="submit">${f.index === null ? `Add ${one}` : 'Save'}</button>
</form>
<p><a href="/admin/catalog#h-${f.section}">Cancel</a></p>`;
}

export const itemTitle = (section: CatalogSection, index: number | null) =>
  index === null ? `Add ${aOne(section)}` : `Edit ${SINGULAR[section]}`;
