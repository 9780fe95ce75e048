import { html } from 'hono/html';
import { DRAFT_STATUS } from '../../db/schema/index.ts';
import type { DraftDetail, DraftFilters, DraftListRow } from '../../pipeline/draft-read.ts';
import type { ContextFact, MissingSource, ProviderReport } from '../../pipeline/types.ts';
import type { Html } from './layout.ts';

/** The console's draft pages: the filtered list and one draft. Every value is escaped by `html`. */

export const utc = (d: Date | null | undefined) => (d ? d.toISOString().replace('T', ' ').slice(0, 16) : '');

/** A fact's value as short text (JSON for objects). */
export function factText(v: unknown, max = 400): string {
  let s: string;
  try {
    s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

const select = (name: string, label: string, options: readonly string[], value: string) =>
  html`<label>${label} <select name="${name}">${['', ...options].map(
    (o) =>
      html`<option value="${o}"${o === value ? ' selected' : ''}>${o ? o.replace('_', ' ') : 'any'}</option>`,
  )}</select></label>`;

export function draftListBody(v: {
  filters: DraftFilters;
  error: string | null;
  rows: DraftListRow[];
  more: boolean;
  anyDrafts: boolean;
}): Html {
  const f = v.filters;
  const query = (extra: Partial<DraftFilters>) =>
    new URLSearchParams(
      Object.entries({ ...f, ...extra }).filter(([, x]) => x !== '') as [string, string][],
    ).toString();
  const filtered = Object.entries(f).some(([k, x]) => k !== 'before' && x !== '');
  return html`<form method="get" action="/admin/drafts" class="filters" aria-label="Filter drafts">
${select('status', 'Status', DRAFT_STATUS, f.status)}
${select('route', 'Route', ['account', 'end_user', 'unknown'], f.route)}
<label>Account <input name="account" value="${f.account}" placeholder="account id" size="12"></label>
<label>Playbook <input name="playbook" value="${f.playbook}" placeholder="playbook key" size="12"></label>
<label>From (UTC) <input type="date" name="from" value="${f.from}"></label>
<label>To (UTC) <input type="date" name="to" value="${f.to}"></label>
<button type="submit">Filter</button> <a href="/admin/drafts">Clear</a>
</form>
${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}
${
  v.rows.length
    ? html`<table><caption class="visually-hidden">Drafts, newest first</caption>
<tr><th scope="col">created (UTC)</th><th scope="col">draft</th><th scope="col">status</th><th scope="col">route</th><th scope="col">account</th><th scope="col">playbook</th></tr>
${v.rows.map(
  (r) =>
    html`<tr><td>${utc(r.createdAt)}</td><td><a href="/admin/drafts/${r.id}">${r.ticketId ? `Ticket #${r.ticketId}` : 'Slack question'}</a><br><small>${r.excerpt}${r.excerpt.length >= 140 ? '…' : ''}</small></td><td>${r.status}${r.guard !== 'pass' ? html`<br><small>guard: ${r.guard}</small>` : ''}</td><td>${r.route.replace('_', ' ')}</td><td>${r.accountName ?? r.accountId ?? ''}${r.accountName && r.accountId ? html`<br><small>${r.accountId}</small>` : ''}</td><td>${r.playbookId ?? html`<small>none</small>`}</td></tr>`,
)}</table>
${v.more ? html`<p><a href="/admin/drafts?${query({ before: v.rows.at(-1)!.id })}">Older drafts</a></p>` : ''}`
    : v.error
      ? ''
      : v.anyDrafts || filtered || f.before
        ? html`<p>No drafts match these filters. <a href="/admin/drafts">Show all drafts</a></p>`
        : html`<p>No drafts yet: drafts appear here when a ticket arrives (or a rep asks in Slack). Try the <a href="/admin/playground">playground</a> to see what a draft would look like.</p>`
}`;
}

interface Snapshot {
  facts: ContextFact[];
  missing: MissingSource[];
  providers: ProviderReport[] | null;
  elapsedMs: number | null;
  routeReason: string | null;
  playbookId: string | null;
  instruction: string | null;
  ticket: { subject: string; body: string } | null;
}

/** The stored snapshot, read defensively (older drafts lack some keys). */
export function readSnapshot(s: Record<string, unknown>): Snapshot {
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  const t = s.ticket as { subject?: unknown; body?: unknown } | undefined;
  return {
    facts: Array.isArray(s.facts) ? (s.facts as ContextFact[]) : [],
    missing: Array.isArray(s.missing) ? (s.missing as MissingSource[]) : [],
    providers: Array.isArray(s.providers) ? (s.providers as ProviderReport[]) : null,
    elapsedMs: typeof s.elapsedMs === 'number' ? s.elapsedMs : null,
    routeReason: str(s.routeReason),
    playbookId: str(s.playbookId),
    instruction: str(s.instruction),
    ticket:
      t && typeof t === 'object' ? { subject: String(t.subject ?? ''), body: String(t.body ?? '') } : null,
  };
}

/** Context by provider: time, facts kept, what was missing (from the loader's report when stored). */
export function providerTable(
  providers: ProviderReport[] | null,
  facts: ContextFact[],
  missing: MissingSource[],
  extra: Html | '' = '',
): Html {
  const rows: { source: string; ms: string; facts: string; state: string }[] = providers
    ? providers.map((p) => ({
        source: p.source,
        ms: `${p.elapsedMs} ms`,
        facts: String(p.facts),
        state: p.missing ? `missing: ${p.missing}` : 'loaded',
      }))
    : [
        ...[...new Set(facts.map((f) => f.source))].map((source) => ({
          source,
          ms: 'not recorded',
          facts: String(facts.filter((f) => f.source === source).length),
          state: 'loaded',
        })),
        ...missing.map((m) => ({
          source: m.source,
          ms: 'not recorded',
          facts: '0',
          state: `missing: ${m.reason}`,
        })),
      ];
  return html`<table><caption class="visually-hidden">Context providers</caption>
<tr><th scope="col">provider</th><th scope="col">time</th><th scope="col">facts kept</th><th scope="col">result</th></tr>
${rows.map((r) => html`<tr><td>${r.source}</td><td>${r.ms}</td><td>${r.facts}</td><td>${r.state}</td></tr>`)}${extra}</table>`;
}

export function factsList(facts: ContextFact[], cited: Set<string> = new Set()): Html {
  if (!facts.length) return html`<p>No facts were loaded.</p>`;
  return html`<details><summary>${facts.length} fact${facts.length === 1 ? '' : 's'} loaded</summary>
<ul class="facts">${facts.map(
    (f) =>
      html`<li><code>${f.id}</code> <small>${f.source}, ${f.visibility}${cited.has(f.id) ? ', cited' : ''}</small><br><span class="text">${factText(f.value)}</span></li>`,
  )}</ul></details>`;
}

export function guardSection(g: { action?: unknown; findings?: unknown; checked?: unknown }): Html {
  const findings = Array.isArray(g.findings) ? (g.findings as { kind: string; match: string }[]) : [];
  const action = typeof g.action === 'string' ? g.action : 'pass';
  const said = {
    pass: 'passed: nothing another account or this level may not see was found',
    redacted: 'redacted: private values were replaced by [redacted]',
    blocked: "blocked: the draft names another account; a human must look before it's sent",
  }[action];
  return html`<p><strong class="badge">${action}</strong> The leak guard ${said ?? action}${typeof g.checked === 'number' ? html` <small>(checked against ${g.checked} values)</small>` : ''}.</p>
${findings.length ? html`<ul>${findings.map((x) => html`<li>${x.kind.replace(/_/g, ' ')}: <code>${x.match}</code></li>`)}</ul>` : ''}`;
}

function historyItems(d: DraftDetail): Html[] {
  const items: Html[] = [
    html`<li>${utc(d.draft.createdAt)}: drafted by the ${d.draft.drafter} drafter${d.draft.model ? ` (${d.draft.model})` : ''}, ${d.draft.status === 'blocked' ? 'blocked by the leak guard' : 'pending review'}</li>`,
  ];
  for (const v of d.versions)
    items.push(
      html`<li>${utc(v.createdAt)}: edited (version ${v.version}) ${v.agentId ? `by agent ${v.agentId}` : ''} ${v.via === 'zendesk_button' ? "in Zendesk's editor" : 'in the sidebar'}, edit distance ${v.editDistance} characters</li>`,
    );
  const del = d.delivery;
  if (del) {
    const who = del.agentName ?? (del.agentId ? `agent ${del.agentId}` : null);
    const mode = {
      sidebar: 'the sidebar',
      auto_send: 'auto-send',
      zendesk_button: "Zendesk's own button after Insert",
    }[del.mode];
    if (del.status === 'rejected')
      items.push(
        html`<li>${utc(del.updatedAt)}: rejected${who ? ` by ${who}` : ''}: “${del.reason ?? ''}”</li>`,
      );
    else {
      if (del.approvedAt)
        items.push(
          html`<li>${utc(del.approvedAt)}: version ${del.version} approved${who ? ` by ${who}` : ''} in ${mode}${del.overrideReason ? html`, guard overridden: “${del.overrideReason}”` : ''}</li>`,
        );
      if (del.status === 'sent')
        items.push(
          html`<li>${utc(del.sentAt ?? del.updatedAt)}: sent as a public reply${del.editDistance ? ` (edited, distance ${del.editDistance})` : ' unchanged'}${del.commentId ? html` <small>comment ${del.commentId}</small>` : ''}</li>`,
        );
      if (del.status === 'failed')
        items.push(
          html`<li>${utc(del.updatedAt)}: sending failed${del.reason ? `: ${del.reason}` : ''}${del.outcomeUnknown ? ' (Zendesk may have stored it)' : ''}</li>`,
        );
    }
  }
  return items;
}

export function draftDetailBody(d: DraftDetail): Html {
  const r = d.draft;
  const s = readSnapshot(r.contextSnapshot);
  const byId = new Map(s.facts.map((f) => [f.id, f]));
  const current = d.versions.at(-1);
  return html`<p><a href="/admin/drafts">All drafts</a></p>
<dl class="summary">
<dt>Status</dt><dd>${r.status}</dd>
<dt>Ticket</dt><dd>${
    r.ticketId
      ? d.zendeskUrl
        ? html`<a href="${d.zendeskUrl}" rel="noreferrer" target="_blank">Ticket #${r.ticketId} in Zendesk</a>`
        : html`Ticket #${r.ticketId} <small>(no live Zendesk connection to link to)</small>`
      : 'none (a Slack question)'
  }${r.source === 'slack' ? html` <small>asked in Slack</small>` : ''}</dd>
<dt>Route</dt><dd>${r.route.replace('_', ' ')}${s.routeReason ? html` <small>(${s.routeReason.replace(/_/g, ' ')})</small>` : ''}</dd>
<dt>Account</dt><dd>${r.accountId ? html`${d.accountName ?? ''} <code>${r.accountId}</code>` : 'none'}${r.endUserEmail ? html`, end user ${r.endUserEmail}` : ''}</dd>
<dt>Playbook</dt><dd>${s.playbookId ?? 'none'}</dd>
<dt>Drafter</dt><dd>${r.drafter}${r.model ? ` (${r.model})` : ''}, confidence ${r.confidence ?? 'n/a'}</dd>
<dt>Created (UTC)</dt><dd>${utc(r.createdAt)}</dd>
</dl>
${r.needsHumanReason ? html`<p class="notice">Needs a human: ${r.needsHumanReason}</p>` : ''}
${s.instruction ? html`<p>Regenerated with the instruction: “${s.instruction}”</p>` : ''}
<h2>The ticket</h2>
${
  s.ticket
    ? html`<p><strong>${s.ticket.subject || '(no subject)'}</strong></p><p class="text">${s.ticket.body}</p>`
    : html`<p class="muted">Not stored: this draft was made before drafts kept the ticket's text.${d.zendeskUrl ? html` <a href="${d.zendeskUrl}" rel="noreferrer" target="_blank">Read it in Zendesk</a>.` : ''}</p>`
}
<h2>The draft</h2>
<p class="text">${r.body}</p>
${current ? html`<h3>Current version (${current.version})</h3><p class="text">${current.body}</p>` : ''}
<h2>Citations</h2>
${
  r.citations.length
    ? html`<ul>${r.citations.map((id) => {
        const f = byId.get(id);
        return html`<li><code>${id}</code> <small>${f ? `${f.source}, ${f.key}` : 'not in the snapshot'}</small>${f ? html`<br><span class="text">${factText(f.value)}</span>` : ''}</li>`;
      })}</ul>`
    : html`<p>The draft cites no fact.</p>`
}
<h2>Context</h2>
<p>Loaded in ${s.elapsedMs ?? 'n/a'} ms${s.missing.length ? html`; missing: ${s.missing.map((m, i) => html`${i ? ', ' : ''}${m.source} (${m.reason})`)}` : ', nothing missing'}.</p>
${providerTable(s.providers, s.facts, s.missing)}
${factsList(s.facts, new Set(r.citations))}
<h2>Leak guard</h2>
${guardSection(r.guardVerdict)}
<h2>Feedback history</h2>
<ol>${historyItems(d)}</ol>
${d.delivery || d.versions.length ? '' : html`<p class="muted">No agent has edited, sent or rejected this draft yet.</p>`}`;
}
