import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { z } from 'zod';
import {
  RETENTION_MAX_DAYS,
  RETENTION_MIN_DAYS,
  readAuditRetention,
  setAuditRetention,
} from '../audit/retention.ts';
import { auditEvents } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { isAppError } from '../lib/errors.ts';
import { isAdmin } from '../tenancy/principal.ts';
import { requireSameOriginPosts } from './middleware.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { type Html, sendPage } from './views/layout.ts';

/**
 * The console's audit trail: `GET /admin/audit` lists the tenant's events newest first, filtered
 * by action (exact, or a prefix ending in `.`), actor id, outcome and UTC dates, 50 a page
 * (`before=` the last sequence number of the page). Owners and admins only. The whole trail, with
 * its chain verification, stays the JSON Lines download (`/admin/audit.jsonl`). The page also sets
 * how long the tenant keeps its events (`POST /admin/audit/retention`, same-origin form field
 * `days`: 30-3650, empty keeps them forever; src/audit/retention.ts, audited as
 * `audit.retention_changed`).
 */
const PAGE = 50;
const filterSchema = z.object({
  action: z
    .string()
    .trim()
    .max(100)
    .regex(/^[a-z_.]*$/, 'letters, "_" and "." only')
    .default(''),
  actor: z.string().trim().max(200).default(''),
  outcome: z.enum(['', 'success', 'failure', 'denied']).default(''),
  from: z.union([z.literal(''), z.iso.date()]).default(''),
  to: z.union([z.literal(''), z.iso.date()]).default(''),
  before: z.union([z.literal(''), z.string().regex(/^\d{1,15}$/)]).default(''),
});
type Filters = z.infer<typeof filterSchema>;

function describeActor(a: Record<string, unknown>): string {
  const type = String(a.type ?? 'unknown');
  const who = a.userId ?? a.name ?? '';
  return who ? `${type}: ${String(who)}` : type;
}

async function list(c: Context<AppEnv>, tenantId: string, f: Filters) {
  const conds = [
    f.action
      ? f.action.endsWith('.')
        ? sql`${auditEvents.action} like ${`${f.action.replace(/_/g, '\\_')}%`}`
        : eq(auditEvents.action, f.action)
      : undefined,
    f.actor
      ? sql`(${auditEvents.actor}->>'userId' = ${f.actor} or ${auditEvents.actor}->>'name' = ${f.actor})`
      : undefined,
    f.outcome ? eq(auditEvents.outcome, f.outcome) : undefined,
    f.from ? gte(auditEvents.at, new Date(`${f.from}T00:00:00Z`)) : undefined,
    f.to ? lt(auditEvents.at, new Date(Date.parse(`${f.to}T00:00:00Z`) + 86_400_000)) : undefined,
    f.before ? lt(auditEvents.seq, Number(f.before)) : undefined,
  ].filter((x) => x !== undefined);
  const rows = await withTenant(c.get('deps').database.db, tenantId, (tx) =>
    tx
      .select()
      .from(auditEvents)
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(desc(auditEvents.seq))
      .limit(PAGE + 1),
  );
  return { rows: rows.slice(0, PAGE), more: rows.length > PAGE };
}

function retentionForm(days: number | null, error: string | null, value?: string): Html {
  return html`<form method="post" action="/admin/audit/retention" class="filters">
<label>Keep events for (days, ${RETENTION_MIN_DAYS}-${RETENTION_MAX_DAYS}; empty keeps them forever) <input type="number" name="days" min="${RETENTION_MIN_DAYS}" max="${RETENTION_MAX_DAYS}" step="1" value="${value ?? days ?? ''}" aria-describedby="retention-now"${error ? html` aria-invalid="true"` : ''}></label>
<button type="submit">Save retention</button>
</form>
<p id="retention-now"><small>${
    days === null
      ? 'Now: events are kept forever.'
      : `Now: events older than ${days} days are deleted by the hourly sweep; the download still verifies from where the trail was cut.`
  }</small></p>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}`;
}

const onlyAdmins = (c: Context<AppEnv>) =>
  sendPage(
    c,
    {
      title: 'Audit trail',
      nav: CONSOLE_NAV,
      children: messageBody(['Only owners and admins can read the audit trail.']),
    },
    { status: 403 },
  );

export function adminAuditRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/audit/*', requireSameOriginPosts);

  app.post('/admin/audit/retention', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    const body = await c.req.parseBody();
    const raw = typeof body.days === 'string' ? body.days.trim() : '';
    const days = raw === '' ? null : /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
    try {
      await withTenant(c.get('deps').database.db, p.tenantId, (tx) =>
        setAuditRetention(
          {
            tenantId: p.tenantId,
            tx,
            actor: { type: 'admin', userId: p.userId, via: p.via },
            requestId: c.get('requestId'),
          },
          days,
        ),
      );
    } catch (e) {
      if (!isAppError(e) || e.code !== 'invalid_body') throw e;
      const current = await withTenant(c.get('deps').database.db, p.tenantId, readAuditRetention);
      return sendPage(
        c,
        {
          title: 'Audit trail',
          nav: CONSOLE_NAV,
          children: html`<h2>Retention</h2>${retentionForm(current.retentionDays, e.message, raw)}
<p><a href="/admin/audit">Back to the audit trail</a></p>`,
        },
        { status: 400 },
      );
    }
    return c.redirect('/admin/audit?retention=saved', 303);
  });

  app.get('/admin/audit', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p)) return onlyAdmins(c);
    const saved = c.req.query('retention') === 'saved';
    const { retention: _r, ...given } = c.req.query();
    const parsed = filterSchema.safeParse(given);
    const f: Filters = parsed.success
      ? parsed.data
      : { action: '', actor: '', outcome: '', from: '', to: '', before: '' };
    const error = parsed.success
      ? null
      : `${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}`;
    const { rows, more } = error ? { rows: [], more: false } : await list(c, p.tenantId, f);
    const retention = await withTenant(c.get('deps').database.db, p.tenantId, readAuditRetention);
    const query = (extra: Partial<Filters>) =>
      new URLSearchParams(
        Object.entries({ ...f, ...extra }).filter(([, v]) => v !== '') as [string, string][],
      ).toString();
    const children = html`<form method="get" action="/admin/audit" class="filters">
<label>Action <input name="action" value="${f.action}" placeholder="draft. or draft.sent" size="18"></label>
<label>Actor <input name="actor" value="${f.actor}" placeholder="user id" size="14"></label>
<label>Outcome <select name="outcome">${['', 'success', 'failure', 'denied'].map(
      (o) => html`<option value="${o}"${o === f.outcome ? ' selected' : ''}>${o || 'any'}</option>`,
    )}</select></label>
<label>From <input type="date" name="from" value="${f.from}"></label>
<label>To <input type="date" name="to" value="${f.to}"></label>
<button type="submit">Filter</button> <a href="/admin/audit">Clear</a>
</form>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p><a href="/admin/audit.jsonl">Download the whole trail (JSON Lines, with its chain verification)</a></p>
<h2>Retention</h2>
${saved ? html`<p class="notice" role="status">The retention was saved.</p>` : ''}
${retentionForm(retention.retentionDays, null)}
<h2>Events</h2>
${
  rows.length
    ? html`<table><caption class="visually-hidden">Audit events, newest first</caption>
<tr><th scope="col">#</th><th scope="col">when (UTC)</th><th scope="col">action</th><th scope="col">actor</th><th scope="col">target</th><th scope="col">outcome</th></tr>
${rows.map(
  (r) =>
    html`<tr><td>${r.seq ?? ''}</td><td>${r.at.toISOString().replace('T', ' ').slice(0, 19)}</td><td><code>${r.action}</code></td><td>${describeActor(r.actor)}</td><td><small>${r.target ?? ''}</small></td><td>${r.outcome}</td></tr>`,
)}</table>
${more ? html`<p><a href="/admin/audit?${query({ before: String(rows.at(-1)!.seq) })}">Older events</a></p>` : ''}`
    : html`<p>No events match.</p>`
}`;
    return sendPage(c, { title: 'Audit trail', nav: CONSOLE_NAV, children }, { status: error ? 400 : 200 });
  });
  return app;
}
