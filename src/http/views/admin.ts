import { html } from 'hono/html';
import type { Principal } from '../../tenancy/principal.ts';
import type { Html } from './layout.ts';
import { type OnboardingStep, onboardingChecklist } from './onboarding.ts';

/** The console's navigation, the same on every console page. */
export const CONSOLE_NAV = [
  { href: '/', label: 'Home' },
  // Set up, in onboarding order; then the daily work; then oversight.
  { href: '/admin', label: 'Admin' },
  { href: '/admin/settings', label: 'Settings' },
  { href: '/admin/catalog', label: 'Catalog' },
  { href: '/admin/directory', label: 'Directory' },
  { href: '/admin/slack/channels', label: 'Slack channels' },
  { href: '/admin/zendesk/sidebar', label: 'Zendesk sidebar' },
  { href: '/admin/drafts', label: 'Drafts' },
  { href: '/admin/playground', label: 'Playground' },
  { href: '/admin/usage', label: 'Usage' },
  { href: '/admin/limits', label: 'Limits' },
  { href: '/admin/audit', label: 'Audit trail' },
  { href: '/admin/members', label: 'Members' },
  { href: '/admin/isolation', label: 'Isolation' },
];

/** The admin console's page bodies. Every value is escaped by `html`; none is pre-built markup. */

export interface ConnectionRow {
  provider: 'Slack' | 'Zendesk';
  account: string | null | undefined;
  status: string;
  statusDetail: string | null | undefined;
}

export interface ConsoleView {
  principal: Principal;
  admin: boolean;
  tenant: { name: string; status: string; deleteAfter: Date | null } | undefined;
  connections: ConnectionRow[];
  steps: OnboardingStep[];
  retentionDays: number;
  /** The Zendesk sidebar: the app's provisioning state and the after-send status per scope. */
  sidebar?: {
    sidebarApp: { status: string; detail: string | null } | null;
    scopes: { scope: string; statusAfterSendLabel: string | null; statusAfterSend: string | null }[];
  };
}

export function signedOutBody(opts: {
  slackSignIn: boolean;
  zendeskSignIn: boolean;
  embedded: boolean;
}): Html {
  return html`<p>You are not signed in.</p>
${
  opts.slackSignIn
    ? html`<p><a href="/admin/signin/slack">Sign in with Slack</a></p>`
    : html`<p>Sign-in with Slack is off (set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET).</p>`
}
${
  opts.zendeskSignIn
    ? html`<p><a href="/admin/signin/zendesk">Sign in with Zendesk</a></p>`
    : html`<p>Sign-in with Zendesk is off (set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET).</p>`
}
${
  opts.embedded
    ? html`<p>On the embedded database, use the one-time local admin link printed at startup.</p>`
    : ''
}`;
}

function connectionsTable(rows: ConnectionRow[]): Html {
  if (!rows.length) return html`<p>No connections yet.</p>`;
  return html`<table><tr><th>provider</th><th>account</th><th>status</th></tr>${rows.map(
    (r) =>
      html`<tr><td>${r.provider}</td><td>${r.account ?? ''}</td><td>${r.status}${r.statusDetail ? ` (${r.statusDetail})` : ''}</td></tr>`,
  )}</table>`;
}

function deletionSection(v: ConsoleView): Html | '' {
  if (v.tenant?.status === 'deleting') {
    return html`<p class="danger">This tenant is being deleted. Its data will be purged after ${v.tenant.deleteAfter?.toISOString() ?? 'the retention window'}.</p>`;
  }
  if (!v.admin) return '';
  return html`<form class="danger" method="post" action="/admin/tenant/delete"><h2>Delete tenant</h2>
<p>Tokens are erased at once; all data is purged after the retention window (${v.retentionDays} days).</p>
<label>Type the tenant name to confirm: <input name="confirm" autocomplete="off" required></label>
<button type="submit">Delete tenant</button></form>`;
}

function sidebarSection(v: ConsoleView): Html | '' {
  const sb = v.sidebar;
  if (!sb) return '';
  const app = sb.sidebarApp;
  const status = sb.scopes.filter((s) => s.statusAfterSend);
  return html`<h2>Zendesk sidebar</h2>
<p>Sidebar app: ${app ? app.status.replace('_', ' ') : 'not provisioned yet (connect Zendesk)'}${app?.detail ? html`. ${app.detail}` : ''}</p>
<p>Ticket status after a send: ${
    status.length
      ? status.map(
          (s, i) =>
            html`${i ? '; ' : ''}${s.scope === '*' ? 'all playbooks' : s.scope}: ${s.statusAfterSendLabel ?? s.statusAfterSend}`,
        )
      : 'unchanged (none chosen)'
  }. <a href="/admin/zendesk/sidebar">Choose the status and the auto-send threshold</a> (or use <code>PUT /admin/api/sidebar/settings</code>).</p>`;
}

export function consoleBody(v: ConsoleView): Html {
  const p = v.principal;
  return html`<p>Signed in as <strong>${p.userName ?? p.userId}</strong> (${p.userId}), role <strong>${p.role}</strong>, via ${p.via}.</p>
<p>Tenant <strong>${v.tenant?.name ?? ''}</strong> <code>${p.tenantId}</code>, status ${v.tenant?.status ?? 'unknown'}.</p>
${v.tenant?.status === 'active' ? onboardingChecklist(v.steps, v.admin) : ''}
<h2>Connections</h2>
${connectionsTable(v.connections)}
${sidebarSection(v)}
${v.admin ? html`<p><a href="/admin/audit">Audit trail</a> · <a href="/admin/audit.jsonl">download it (JSON Lines)</a></p>` : ''}
<form method="post" action="/admin/signout"><button type="submit">Sign out</button></form>
${deletionSection(v)}`;
}

/** Paragraphs of text and, optionally, links below them: the body of a short message page. */
export function messageBody(
  paragraphs: Array<string | Html>,
  links: Array<{ href: string; label: string }> = [],
): Html {
  return html`${paragraphs.map((p) => html`<p>${p}</p>`)}
${links.length ? html`<p>${links.map((l, i) => html`${i ? ' · ' : ''}<a href="${l.href}">${l.label}</a>`)}</p>` : ''}`;
}
