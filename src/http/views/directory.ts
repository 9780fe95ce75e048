import { html } from 'hono/html';
import type { DirectoryIssue, DirectoryReport, SharedDomain } from '../../pipeline/directory-import.ts';
import type { Html } from './layout.ts';

/** The console's directory pages (src/http/admin-directory.ts). Every value is escaped by `html`. */

export interface DirectoryRow {
  id: string;
  name: string;
  plan: string | null;
  domains: string[];
  users: number;
  endUsers: number;
}

/** What routing does with a shared domain (src/pipeline/routing.ts), said where the flag is. */
export const SHARED_DOMAIN_EXPLAINED = html`<p>A ticket from someone at a domain that two or more accounts list is routed as <strong>unknown</strong> (routing reason <code>ambiguous_requester</code>): it gets no account context, and the draft asks the requester to identify themselves. That holds even on a brand or support address mapped to an account. Routing still finds the account when the Zendesk organization's account field names it, or when exactly one account lists the requester's own email address. To route such tickets, keep the domain on one account only, or list the people by email.</p>`;

export function sharedDomainsList(shared: SharedDomain[], caption: string): Html {
  const between = {
    upload: 'within this upload',
    existing: 'between accounts you keep',
    both: 'between this upload and accounts you keep',
  };
  return html`<table class="flagged"><caption class="visually-hidden">${caption}</caption>
<tr><th scope="col">domain</th><th scope="col">claimed by</th><th scope="col">where</th></tr>
${shared.map(
  (s) =>
    html`<tr><td><span class="badge flag">shared</span> <code>${s.domain}</code></td><td>${s.accountIds.map((id, i) => html`${i ? ', ' : ''}<code>${id}</code>`)}</td><td>${between[s.between]}</td></tr>`,
)}</table>`;
}

export interface UploadFormState {
  mode: string;
  text: string;
  error: string | null;
}

export function uploadForm(f: UploadFormState): Html {
  const described = f.error ? 'dir-document-hint dir-document-error' : 'dir-document-hint';
  return html`<form method="post" action="/admin/directory/upload" enctype="multipart/form-data" class="stack" aria-labelledby="h-upload">
<h2 id="h-upload">Upload</h2>
<p>JSON as <code>PUT /admin/api/directory</code> takes it, or CSV (below). You get a validation report first; nothing changes until you confirm it.</p>
<label for="mode">Mode (CSV)</label>
<select id="mode" name="mode" aria-describedby="mode-hint">
<option value="upsert"${f.mode !== 'replace' ? ' selected' : ''}>upsert: add and update the listed accounts, keep the others</option>
<option value="replace"${f.mode === 'replace' ? ' selected' : ''}>replace: also remove accounts not listed (and their end users)</option>
</select>
<small id="mode-hint">A JSON document says its own <code>mode</code> (default upsert), as the API does.</small>
<label for="dir-file">File</label>
<input id="dir-file" name="file" type="file" accept=".json,.csv,application/json,text/csv" aria-describedby="dir-document-hint">
<label for="dir-document">Or paste it here</label>
<textarea id="dir-document" name="document" rows="8" cols="60" aria-describedby="${described}">${f.text}</textarea>
<small id="dir-document-hint">A chosen file is used instead of the pasted text. Text starting with <code>{</code> is read as JSON, anything else as CSV.</small>
${f.error ? html`<p class="error" id="dir-document-error" role="alert">${f.error}</p>` : ''}
<details><summary>CSV format</summary>
<p>The first line names the columns, in any order; <strong><code>kind</code></strong> and <strong><code>account_id</code></strong> are required: <code>kind,account_id,name,plan,domains,email,role,notes</code>. Then one row per account (<code>kind</code> = <code>account</code>: name, plan, domains separated by <code>|</code>, internal notes), per person of an account (<code>user</code>: email, name, role) and per end user of an account (<code>end_user</code>: email, name). <code>user</code> and <code>end_user</code> rows need the account's <code>account</code> row in the same file.</p>
<pre>kind,account_id,name,plan,domains,email,role,notes
account,acme,Acme Inc,pro,acme.com|acme.io,,,Pays yearly
user,acme,Ann Admin,,,ann@acme.com,owner,
end_user,acme,Eve Buyer,,,eve@example.org,,</pre>
<p>An account with <code>end_user</code> rows has its end users replaced by them (without records: only JSON carries records); an account without keeps its end users. Every listed account's people are replaced by its <code>user</code> rows.</p>
</details>
<button type="submit">Check upload</button>
</form>`;
}

export function directoryBody(v: {
  rows: DirectoryRow[];
  shared: SharedDomain[];
  nextCursor: string | null;
  first: boolean;
  notice: string | null;
  form: UploadFormState;
}): Html {
  const flagged = new Set(v.shared.map((s) => s.domain));
  return html`${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ''}
<p>The accounts that routing matches tickets to (by the requester's email or domain), their people, and their end users. The same directory is <code>GET</code>/<code>PUT /admin/api/directory</code>.</p>
${v.shared.length ? html`<h2>Domains claimed by more than one account</h2>${sharedDomainsList(v.shared, 'Shared domains now')}${SHARED_DOMAIN_EXPLAINED}` : ''}
<h2>Accounts</h2>
${
  v.rows.length
    ? html`<table><caption class="visually-hidden">Accounts, by id</caption>
<tr><th scope="col">id</th><th scope="col">name</th><th scope="col">plan</th><th scope="col">domains</th><th scope="col">people</th><th scope="col">end users</th></tr>
${v.rows.map(
  (r) =>
    html`<tr><td><code>${r.id}</code></td><td>${r.name}</td><td>${r.plan ?? ''}</td><td>${r.domains.map(
      (d, i) =>
        html`${i ? ', ' : ''}${d}${flagged.has(d) ? html` <span class="badge flag">shared</span>` : ''}`,
    )}</td><td>${r.users}</td><td>${r.endUsers}</td></tr>`,
)}</table>
<p>${v.first ? '' : html`<a href="/admin/directory">First page</a>`}${!v.first && v.nextCursor ? ' · ' : ''}${v.nextCursor ? html`<a href="/admin/directory?after=${v.nextCursor}">Next accounts</a>` : ''}</p>`
    : html`<p class="muted">${v.first ? 'No accounts yet. Upload a directory below, or send it to PUT /admin/api/directory.' : 'No more accounts.'}</p>`
}
${uploadForm(v.form)}`;
}

export function issuesReport(issues: DirectoryIssue[]): Html {
  return html`<h2>Rows that fail validation <small>(${issues.length})</small></h2>
<p>Nothing was uploaded. Fix these rows and check the upload again.</p>
<table class="issues"><caption class="visually-hidden">Rows that fail validation</caption>
<tr><th scope="col">line</th><th scope="col">account</th><th scope="col">field</th><th scope="col">reason</th></tr>
${issues
  .slice(0, 500)
  .map(
    (i) =>
      html`<tr><td>${i.line ?? ''}</td><td>${i.accountId ? html`<code>${i.accountId}</code>` : ''}</td><td><small>${i.path ?? ''}</small></td><td>${i.message}</td></tr>`,
  )}</table>
${issues.length > 500 ? html`<p>and ${issues.length - 500} more</p>` : ''}`;
}

const SHOWN = 50;
const ids = (xs: string[]) =>
  html`${xs.slice(0, SHOWN).map((k, i) => html`${i ? ', ' : ''}<code>${k}</code>`)}${xs.length > SHOWN ? html` and ${xs.length - SHOWN} more` : ''}`;

export function reportBody(r: DirectoryReport, token: string, source: string): Html {
  return html`<p>${source}, mode <strong>${r.mode}</strong>. Every row is valid. Nothing has changed yet: this is what confirming would do.</p>
<table class="diff"><caption class="visually-hidden">Counts</caption>
<tr><th scope="col"></th><th scope="col">added</th><th scope="col">changed</th><th scope="col">removed</th><th scope="col">unchanged</th></tr>
<tr><th scope="row">accounts</th><td>${r.accounts.added.length}</td><td>${r.accounts.changed.length}</td><td>${r.accounts.removed.length}</td><td>${r.accounts.unchanged}</td></tr>
<tr><th scope="row">end users</th><td>${r.endUsers.added}</td><td>${r.endUsers.changed}</td><td>${r.endUsers.removed}</td><td>${r.endUsers.kept}</td></tr>
</table>
<ul class="changes">
${r.accounts.added.length ? html`<li class="added">Accounts added: ${ids(r.accounts.added)}</li>` : ''}
${r.accounts.changed.length ? html`<li class="changed">Accounts changed: ${ids(r.accounts.changed)}</li>` : ''}
${r.accounts.removed.length ? html`<li class="removed">Accounts removed (with their end users): ${ids(r.accounts.removed)}</li>` : ''}
</ul>
${
  r.sharedDomains.length
    ? html`<h2>Domains claimed by more than one account <small>(${r.sharedDomains.length})</small></h2>
${sharedDomainsList(r.sharedDomains, 'Domains more than one account would list')}
${SHARED_DOMAIN_EXPLAINED}`
    : html`<p>No domain is claimed by more than one account.</p>`
}
<form method="post" action="/admin/directory/upload/confirm" class="stack">
<input type="hidden" name="preview" value="${token}">
<button type="submit">Confirm and apply</button>
</form>
<p><a href="/admin/directory">Cancel</a> (nothing is applied). The report stays valid for 30 minutes and only while the directory is unchanged.</p>`;
}
