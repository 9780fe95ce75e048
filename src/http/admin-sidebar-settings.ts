import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { playbooks } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { describeError, isAppError } from '../lib/errors.ts';
import { isAdmin, type Principal } from '../tenancy/principal.ts';
import {
  listTicketStatusChoices,
  readSidebarSettings,
  setSidebarSetting,
  type TicketStatusChoice,
} from '../zendesk/sidebar-settings.ts';
import { tokensOf } from './install-routes.ts';
import { requireSameOriginPosts } from './middleware.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { type Html, sendPage } from './views/layout.ts';

/**
 * The console's Zendesk sidebar settings: the ticket status after a send and the auto-send
 * threshold, tenant-wide or per playbook, with the statuses read from the tenant's Zendesk at
 * runtime (its own custom statuses included). `GET /admin/zendesk/sidebar`, and its form's
 * same-origin `POST`, which goes through the settings API's verb (`setSidebarSetting`: the
 * status is checked against the account's statuses again; audited).
 */
const NAV = CONSOLE_NAV;
const TITLE = 'Zendesk sidebar settings';

interface FormState {
  scope: string;
  status: string;
  threshold: string;
  error: { field: 'status' | 'threshold' | 'scope'; message: string } | null;
}

async function render(
  c: Context<AppEnv>,
  p: Principal,
  form: FormState | null,
  notice: string | null,
  status: 200 | 400 = 200,
) {
  const { database } = c.get('deps');
  const db = database.db;
  const [settings, books] = await Promise.all([
    readSidebarSettings(db, p.tenantId),
    withTenant(db, p.tenantId, (tx) =>
      tx.select({ key: playbooks.key }).from(playbooks).orderBy(playbooks.key),
    ),
  ]);
  let choices: TicketStatusChoice[] | null = null;
  let listError: string | null = null;
  try {
    choices = await listTicketStatusChoices({ db, tokens: tokensOf(c.get('deps')) }, p.tenantId);
  } catch (e) {
    c.get('log').warn('zendesk statuses could not be read', {
      tenantId: p.tenantId,
      error: describeError(e),
    });
    listError = isAppError(e) ? e.message : 'The statuses could not be read from Zendesk.';
  }
  const f = form ?? { scope: '*', status: '', threshold: '', error: null };
  const scopeName = (s: string) => (s === '*' ? 'All playbooks' : s);
  const err = (field: string): Html | '' =>
    f.error?.field === field
      ? html`<p class="error" id="${field}-error" role="alert">${f.error.message}</p>`
      : '';
  const described = (field: string) =>
    f.error?.field === field ? `${field}-hint ${field}-error` : `${field}-hint`;
  const admin = isAdmin(p);
  const children = html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
<h2>Current settings</h2>
${
  settings.scopes.length
    ? html`<table><tr><th scope="col">scope</th><th scope="col">status after a send</th><th scope="col">auto-send threshold</th></tr>
${settings.scopes.map(
  (s) =>
    html`<tr><td>${scopeName(s.scope)}</td><td>${s.statusAfterSendLabel ?? s.statusAfterSend ?? 'unchanged'}</td><td>${s.autoSendThreshold ?? 'default (0.9)'}</td></tr>`,
)}</table>`
    : html`<p>Nothing chosen: tickets keep their status after a send, and auto-send (where a playbook turns it on) needs a confidence of 0.9.</p>`
}
${
  admin
    ? html`<form method="post" action="/admin/zendesk/sidebar" class="stack">
<h2>Change</h2>
<label for="scope">For</label>
<select id="scope" name="scope" aria-describedby="scope-hint">
${['*', ...books.map((b) => b.key)].map((s) => html`<option value="${s}"${s === f.scope ? ' selected' : ''}>${scopeName(s)}</option>`)}
</select>
<small id="scope-hint">A playbook's own setting wins over "All playbooks".</small>
${err('scope')}
<label for="status">Ticket status after a send</label>
${
  choices
    ? html`<select id="status" name="status" aria-describedby="${described('status')}">
<option value="">Unchanged</option>
${choices.map((s) => html`<option value="${s.value}"${s.value === f.status ? ' selected' : ''}>${s.label} (${s.category})</option>`)}
</select>`
    : html`<select id="status" name="status" disabled aria-describedby="${described('status')}"><option value="">Unchanged</option></select>`
}
<small id="status-hint">${choices ? 'Read from your Zendesk just now, your custom statuses first.' : (listError ?? '')}</small>
${err('status')}
<label for="threshold">Auto-send confidence threshold</label>
<input id="threshold" name="threshold" inputmode="decimal" value="${f.threshold}" placeholder="0.9" aria-describedby="${described('threshold')}">
<small id="threshold-hint">From 0 to 1; blank keeps the default (0.9). Auto-send itself is turned on per playbook.</small>
${err('threshold')}
<button type="submit">Save</button>
</form>`
    : html`<p class="muted">Only owners and admins can change these.</p>`
}`;
  return sendPage(c, { title: TITLE, nav: NAV, children }, { status });
}

export function adminSidebarSettingsRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/zendesk/*', requireSameOriginPosts);

  app.get('/admin/zendesk/sidebar', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    return render(c, p, null, c.req.query('saved') === '1' ? 'Saved.' : null);
  });

  app.post('/admin/zendesk/sidebar', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p))
      return sendPage(
        c,
        { title: TITLE, nav: NAV, children: messageBody(['Only owners and admins can change these.']) },
        { status: 403 },
      );
    const body = await c.req.parseBody();
    const str = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 200) : '');
    const form: FormState = {
      scope: str(body.scope) || '*',
      status: str(body.status),
      threshold: str(body.threshold),
      error: null,
    };
    let threshold: number | null = null;
    if (form.threshold) {
      threshold = Number(form.threshold);
      if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1)
        return render(
          c,
          p,
          {
            ...form,
            error: { field: 'threshold', message: 'Give a number from 0 to 1, or leave it blank.' },
          },
          null,
          400,
        );
    }
    try {
      await setSidebarSetting(
        { db: c.get('deps').database.db, tokens: tokensOf(c.get('deps')) },
        {
          tenantId: p.tenantId,
          actor: { type: 'admin', userId: p.userId, via: p.via },
          requestId: c.get('requestId'),
        },
        { scope: form.scope, statusAfterSend: form.status || null, autoSendThreshold: threshold },
      );
    } catch (e) {
      if (!isAppError(e) || e.code !== 'invalid_body') throw e;
      const field = e.message.startsWith('scope') ? 'scope' : 'status';
      return render(c, p, { ...form, error: { field, message: e.message.replace(/^\w+: /, '') } }, null, 400);
    }
    return c.redirect('/admin/zendesk/sidebar?saved=1', 303);
  });
  return app;
}
