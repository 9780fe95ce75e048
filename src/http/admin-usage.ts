import type { Context } from 'hono';
import { Hono } from 'hono';
import { withTenant } from '../db/tenant.ts';
import { type UsageQuery, usageQuerySchema, usageReport } from '../pipeline/usage-report.ts';
import { isAdmin } from '../tenancy/principal.ts';
import { requireAdmin } from './auth.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';
import { usageBody, usageCsv } from './views/usage.ts';

/**
 * The console's usage and cost: `GET /admin/usage` draws the usage report (the numbers of
 * `GET /admin/api/usage`, src/pipeline/usage-report.ts) as server-rendered SVG charts, each with
 * its table; `GET /admin/usage.csv` exports the same numbers. Both take `from`, `to` (YYYY-MM-DD,
 * UTC) and `granularity` (day|month); the page defaults to the last 30 days. Owners and admins.
 */
const TITLE = 'Usage and cost';

function issue(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const i = error.issues[0]!;
  return `${i.path.map(String).join('.') || 'query'}: ${i.message}`;
}

function defaults(c: Context<AppEnv>) {
  const now = c.get('deps').now?.() ?? new Date();
  const to = now.toISOString().slice(0, 10);
  const from = new Date(now.getTime() - 29 * 86_400_000).toISOString().slice(0, 10);
  return { from, to, granularity: 'day' };
}

const report = (c: Context<AppEnv>, q: UsageQuery) =>
  withTenant(c.get('deps').database.db, c.get('principal')!.tenantId, (tx) => usageReport(tx, q));

export function adminUsageRoutes() {
  const app = new Hono<AppEnv>();

  app.get('/admin/usage', async (c) => {
    const p = c.get('principal');
    if (!p) {
      if (c.get('sessionRefused') === 'tenant_inactive')
        return sendPage(
          c,
          { title: TITLE, children: messageBody(["This tenant's deletion was requested."]) },
          { status: 403 },
        );
      return c.redirect('/admin', 303);
    }
    if (!isAdmin(p))
      return sendPage(
        c,
        {
          title: TITLE,
          nav: CONSOLE_NAV,
          children: messageBody(['Only owners and admins can see usage and cost.']),
        },
        { status: 403 },
      );
    const given = c.req.query();
    const query = Object.keys(given).length
      ? { from: given.from ?? '', to: given.to ?? '', granularity: given.granularity ?? 'day' }
      : defaults(c);
    const parsed = usageQuerySchema.safeParse(Object.keys(given).length ? given : query);
    if (!parsed.success)
      return sendPage(
        c,
        {
          title: TITLE,
          nav: CONSOLE_NAV,
          children: usageBody({ query, error: issue(parsed.error), report: null }),
        },
        { status: 400 },
      );
    const r = await report(c, parsed.data);
    return sendPage(c, {
      title: TITLE,
      nav: CONSOLE_NAV,
      children: usageBody({
        query: { ...query, granularity: parsed.data.granularity },
        error: null,
        report: r,
      }),
    });
  });

  app.get('/admin/usage.csv', requireAdmin, async (c) => {
    const parsed = usageQuerySchema.safeParse(c.req.query());
    if (!parsed.success) return errorResponse(c, 'invalid_body', issue(parsed.error));
    const q = parsed.data;
    return c.body(usageCsv(await report(c, q)), 200, {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="usage-${q.from}-${q.to}-${q.granularity}.csv"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
  });
  return app;
}
