import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { withTenant } from '../db/tenant.ts';
import { limitsState, type UpstreamState } from '../limits/state.ts';
import { BREAKER } from '../limits/upstream.ts';
import { type Limits, limitsSchema, quotaReached, quotaUsage } from '../pipeline/quota.ts';
import { readPipelineSettings } from '../pipeline/settings.ts';
import { updateSettings } from '../pipeline/tenant-config.ts';
import type { Principal } from '../tenancy/principal.ts';
import { requireAdminPage } from './auth.ts';
import { requireSameOriginPosts } from './middleware.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV } from './views/admin.ts';
import { type Html, sendPage } from './views/layout.ts';

/**
 * The console's limits page, `GET /admin/limits`: the tenant's quotas (drafts a day, model tokens
 * and cost a month) against what it used, its rates toward Zendesk and the model, and each
 * upstream's state as every process sees it (circuit breaker, failures, a 429's pause; from
 * upstream_limits, src/limits/). Owners and admins change the quotas and rates with the form
 * (`POST /admin/limits`), validated by the settings API's own schema (limitsSchema) and saved
 * through its verb (updateSettings: audited as settings.updated).
 */
const TITLE = 'Limits and quotas';
// Owners and admins only, to read as to change (like the audit trail).

interface Field {
  name: keyof Limits;
  label: string;
  hint: string;
  decimal?: boolean;
}
const FIELDS: Field[] = [
  {
    name: 'draftsPerDay',
    label: 'Drafts a day',
    hint: 'Past it, tickets and Slack questions are still drafted, by the offline drafter (no model call), and the note says so. Blank: no limit.',
  },
  {
    name: 'modelTokensPerMonth',
    label: 'Model tokens a month',
    hint: 'Prompt and answer tokens, failed answers included.',
  },
  {
    name: 'modelCostUsdPerMonth',
    label: 'Model cost a month (USD)',
    hint: 'From the price table.',
    decimal: true,
  },
  {
    name: 'zendeskRequestsPerMinute',
    label: 'Zendesk requests a minute',
    hint: "Blank: Zendesk's stated limit for your plan (its X-Rate-Limit header) less the headroom; 200 until Zendesk has said.",
  },
  {
    name: 'zendeskHeadroomPercent',
    label: 'Zendesk headroom (%)',
    hint: 'Share of your Zendesk limit left to your other integrations. Blank: 20.',
  },
  { name: 'modelTokensPerMinute', label: 'Model tokens a minute', hint: 'Blank: 400,000.' },
];

const fmt = (n: number) => n.toLocaleString('en-US');
const when = (iso: string | null) => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : '');

function stateText(s: UpstreamState): string {
  if (s.pausedUntil) return `paused until ${when(s.pausedUntil)} (the upstream answered 429)`;
  if (s.breaker === 'open') return `breaker open: calls wait; next probe at ${when(s.probeAt)}`;
  if (s.breaker === 'half_open') return 'breaker half-open: one probe call is out';
  return s.failures ? `working (${s.failures} failure${s.failures === 1 ? '' : 's'} in a row)` : 'working';
}

async function render(
  c: Context<AppEnv>,
  p: Principal,
  form: { values: Record<string, string>; error: { field: string; message: string } | null } | null,
  notice: string | null,
  status: 200 | 400 = 200,
) {
  const now = c.get('deps').now?.() ?? new Date();
  const view = await withTenant(c.get('deps').database.db, p.tenantId, async (tx) => {
    const { limits } = await readPipelineSettings(tx);
    const used = await quotaUsage(tx, limits, now);
    return {
      limits: limits ?? {},
      used,
      reached: quotaReached(limits, used),
      upstreams: await limitsState(tx, now),
    };
  });
  const values =
    form?.values ??
    Object.fromEntries(
      FIELDS.map((f) => [f.name, view.limits[f.name] === undefined ? '' : String(view.limits[f.name])]),
    );
  const err = (field: string): Html | '' =>
    form?.error?.field === field
      ? html`<p class="error" id="${field}-error" role="alert">${form.error.message}</p>`
      : '';
  const described = (field: string) =>
    form?.error?.field === field ? `${field}-hint ${field}-error` : `${field}-hint`;
  const u = view.used;
  const quotaRows: [string, number | undefined, string][] = [
    ['Drafts today', view.limits.draftsPerDay, u ? fmt(u.draftsToday) : '—'],
    ['Model tokens this month', view.limits.modelTokensPerMonth, u ? fmt(u.modelTokensThisMonth) : '—'],
    [
      'Model cost this month (USD)',
      view.limits.modelCostUsdPerMonth,
      u ? (u.modelCostMicroUsdThisMonth / 1e6).toFixed(2) : '—',
    ],
  ];
  const children = html`${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
${
  view.reached
    ? html`<p class="error" role="status">At a limit: ${view.reached.label}. New drafts come from the offline drafter until it resets or you raise it.</p>`
    : ''
}
<h2>Quotas</h2>
<table><caption class="muted">Usage counted in UTC days and months.</caption>
<tr><th scope="col">quota</th><th scope="col">limit</th><th scope="col">used</th></tr>
${quotaRows.map(([name, limit, used]) => html`<tr><td>${name}</td><td>${limit === undefined ? 'none' : fmt(limit)}</td><td>${limit === undefined ? '—' : used}</td></tr>`)}
</table>
<h2>Upstreams</h2>
${
  view.upstreams.length
    ? html`<table><tr><th scope="col">upstream</th><th scope="col">rate in force (a minute)</th><th scope="col">state</th></tr>
${view.upstreams.map(
  (s) =>
    html`<tr><td>${s.upstream}${s.key ? html` <span class="muted">${s.key}</span>` : ''}</td><td>${fmt(s.perMinute)}${s.learnedPerMinute ? html` <span class="muted">(stated limit ${fmt(s.learnedPerMinute)})</span>` : ''}</td><td>${stateText(s)}${s.lastFailure && s.breaker !== 'closed' ? html`<br><small class="muted">last failure: ${s.lastFailure}</small>` : ''}</td></tr>`,
)}</table>
<p class="muted">A breaker opens after ${BREAKER.threshold} failures in a row (5xx, timeouts, no answer) and lets one probe through after ${BREAKER.cooldownMs / 1000} s. While it is open or paused, your tickets wait in the queue: none is dropped, and no other tenant waits with them.</p>`
    : html`<p>No calls to Zendesk, Slack or the model yet: their state appears here after the first.</p>`
}
<form method="post" action="/admin/limits" class="stack">
<h2>Change limits</h2>
${FIELDS.map(
  (f) => html`<label for="${f.name}">${f.label}</label>
<input id="${f.name}" name="${f.name}" inputmode="${f.decimal ? 'decimal' : 'numeric'}" value="${values[f.name] ?? ''}" aria-describedby="${described(f.name)}">
<small id="${f.name}-hint">${f.hint}</small>
${err(f.name)}`,
)}
<button type="submit">Save limits</button>
</form>`;
  return sendPage(c, { title: TITLE, nav: CONSOLE_NAV, children }, { status });
}

export function adminLimitsRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/limits', requireSameOriginPosts, requireAdminPage(TITLE, 'read and change limits'));

  app.get('/admin/limits', async (c) => {
    // requireAdminPage: an owner or admin is signed in.
    const p = c.get('principal')!;
    return render(c, p, null, c.req.query('saved') === '1' ? 'Saved.' : null);
  });

  app.post('/admin/limits', async (c) => {
    const p = c.get('principal')!;
    const body = await c.req.parseBody();
    const values: Record<string, string> = {};
    const limits: Record<string, number> = {};
    for (const f of FIELDS) {
      const raw = typeof body[f.name] === 'string' ? (body[f.name] as string).trim().slice(0, 40) : '';
      values[f.name] = raw;
      if (!raw) continue;
      const n = Number(raw.replace(/[,_\s]/g, ''));
      if (!Number.isFinite(n))
        return render(
          c,
          p,
          { values, error: { field: f.name, message: 'Give a number, or leave it blank.' } },
          null,
          400,
        );
      limits[f.name] = n;
    }
    const parsed = limitsSchema.safeParse(limits);
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      const field = String(i.path[0] ?? 'draftsPerDay');
      return render(c, p, { values, error: { field, message: i.message } }, null, 400);
    }
    await withTenant(c.get('deps').database.db, p.tenantId, (tx) =>
      updateSettings(
        {
          tenantId: p.tenantId,
          tx,
          actor: { type: 'admin', userId: p.userId, via: p.via },
          requestId: c.get('requestId'),
        },
        { limits: parsed.data },
      ),
    );
    return c.redirect('/admin/limits?saved=1', 303);
  });
  return app;
}
