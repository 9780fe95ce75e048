import type { Context } from 'hono';
import { Hono } from 'hono';
import { html } from 'hono/html';
import { isolationEvidence } from '../db/evidence.ts';
import { isAdmin } from '../tenancy/principal.ts';
import { requireAdmin } from './auth.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';

/**
 * The isolation report for a tenant's own admins, the one `npm run isolation:evidence <tenant>`
 * prints (src/db/evidence.ts): the isolation level in force, the server's database role, every
 * tenant table's row-level security and policy, the escape probes run live inside this tenant's
 * transaction, and the head of this tenant's audit chain with its verification. Only this
 * tenant's chain is included. `GET /admin/isolation` (page) and `GET /admin/api/isolation` (JSON).
 */
const NAV = CONSOLE_NAV;

const yes = (b: boolean) => (b ? 'yes' : 'no');

export function adminIsolationRoutes() {
  const app = new Hono<AppEnv>();
  const report = (c: Context<AppEnv>) =>
    isolationEvidence(c.get('deps').database, [c.get('principal')!.tenantId]);

  app.get('/admin/api/isolation', requireAdmin, async (c) => c.json(await report(c)));

  app.get('/admin/isolation', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    if (!isAdmin(p))
      return sendPage(
        c,
        {
          title: 'Isolation',
          nav: NAV,
          children: messageBody(['Only owners and admins can see the isolation report.']),
        },
        { status: 403 },
      );
    const r = await report(c);
    const chain = r.auditChains[0];
    const held = r.probes.filter((x) => x.held).length;
    const children = html`<p>Generated ${r.generatedAt} on the ${r.database === 'postgres' ? 'PostgreSQL' : 'embedded (PGlite)'} database.
Level: <strong>${r.level}</strong>${
      r.level === 'database-enforced'
        ? ': the database refuses other tenants\u2019 rows even to SQL that some other part of the server got wrong.'
        : ': the application keeps tenants apart; the database role does not (development and trials only).'
    }</p>
<p><a href="/admin/api/isolation">The same report as JSON</a></p>
<h2>Escape probes</h2>
<p>${held} of ${r.probes.length} held (run just now inside this tenant's transaction, then rolled back).</p>
<table><tr><th scope="col">probe</th><th scope="col">held</th><th scope="col">what happened</th></tr>
${r.probes.map((x) => html`<tr><td>${x.probe}</td><td>${yes(x.held)}</td><td>${x.detail}</td></tr>`)}</table>
<h2>Audit trail</h2>
${
  chain
    ? html`<p>${chain.events} events; chain ${chain.ok ? 'verified' : html`<strong class="error">broken</strong>`}; head <code>${chain.head ?? 'none'}</code>.</p>`
    : ''
}
<h2>Database role of the server</h2>
<table>${Object.entries(r.role).map(
      ([k, v]) =>
        html`<tr><th scope="row">${k}</th><td>${Array.isArray(v) ? v.join(', ') || 'none' : typeof v === 'boolean' ? yes(v) : String(v)}</td></tr>`,
    )}</table>
<h2>Tenant tables</h2>
<table><tr><th scope="col">table</th><th scope="col">RLS enabled</th><th scope="col">forced</th><th scope="col">policy</th></tr>
${r.tables.map(
  (t) =>
    html`<tr><td><code>${t.table}</code></td><td>${yes(t.rlsEnabled)}</td><td>${yes(t.rlsForced)}</td><td><small>${t.policy ?? 'none'}</small></td></tr>`,
)}</table>`;
    return sendPage(c, { title: 'Isolation', nav: NAV, children });
  });
  return app;
}
