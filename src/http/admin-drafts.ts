import type { Context } from 'hono';
import { Hono } from 'hono';
import { audit } from '../audit/audit.ts';
import { drafts } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import {
  type DraftFilters,
  draftFilterSchema,
  filterError,
  listDrafts,
  NO_FILTERS,
  readDraftDetail,
} from '../pipeline/draft-read.ts';
import type { Principal } from '../tenancy/principal.ts';
import { requireAdmin } from './auth.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';
import { CONSOLE_NAV, messageBody } from './views/admin.ts';
import { draftDetailBody, draftListBody, readSnapshot } from './views/drafts.ts';
import { sendPage } from './views/layout.ts';

/**
 * The console's drafts: `GET /admin/drafts` (filters status, route, account, playbook, UTC
 * from/to; 50 a page, newest first, `before=` the last draft id of the page) and
 * `GET /admin/drafts/:id` (the ticket as the drafter read it, citations, context snapshot, guard
 * verdict, edits and delivery, the link to the ticket in Zendesk). Members may read them: they
 * are the support reps who see the same drafts in the Zendesk sidebar and in Slack. The JSON twin
 * (`GET /admin/api/drafts`, `/admin/api/drafts/:id`) is for owners and admins, like all of
 * /admin/api/*. Opening one draft is audited as `draft.viewed` (via console), as the sidebar's is.
 * Another tenant's draft id is 404: RLS leaves it out of every read here.
 */
const TITLE = 'Drafts';
const DRAFT_ID = /^[A-Za-z0-9_:-]{1,100}$/;

const actorOf = (p: Principal) => ({ type: 'admin' as const, userId: p.userId, via: p.via });

function parseFilters(c: Context<AppEnv>): { filters: DraftFilters; error: string | null } {
  const parsed = draftFilterSchema.safeParse(c.req.query());
  return parsed.success
    ? { filters: parsed.data, error: null }
    : { filters: { ...NO_FILTERS, ...safeEcho(c.req.query()) }, error: filterError(parsed.error) };
}

/** The query's values echoed back into the form (escaped by the template), bounded. */
function safeEcho(q: Record<string, string>): Partial<DraftFilters> {
  const out: Record<string, string> = {};
  for (const k of ['account', 'playbook'] as const) if (typeof q[k] === 'string') out[k] = q[k].slice(0, 200);
  return out;
}

/** One draft, its view audited in the same transaction; null when the tenant has none by this id. */
async function openDraft(c: Context<AppEnv>, p: Principal, id: string) {
  if (!DRAFT_ID.test(id)) return null;
  return withTenant(c.get('deps').database.db, p.tenantId, async (tx) => {
    const d = await readDraftDetail(tx, id);
    if (d)
      await audit(
        { tenantId: p.tenantId, tx, actor: actorOf(p), requestId: c.get('requestId') },
        {
          action: 'draft.viewed',
          target: d.draft.id,
          outcome: 'success',
          detail: { via: 'console', role: p.role, status: d.draft.status, ticketId: d.draft.ticketId },
        },
      );
    return d;
  });
}

export function adminDraftsRoutes() {
  const app = new Hono<AppEnv>();

  app.get('/admin/drafts', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    const { filters, error } = parseFilters(c);
    const page = error
      ? { rows: [], more: false, anyDrafts: true }
      : await withTenant(c.get('deps').database.db, p.tenantId, async (tx) => {
          const list = await listDrafts(tx, filters);
          const anyDrafts =
            list.rows.length > 0 || (await tx.select({ id: drafts.id }).from(drafts).limit(1)).length > 0;
          return { ...list, anyDrafts };
        });
    return sendPage(
      c,
      { title: TITLE, nav: CONSOLE_NAV, children: draftListBody({ filters, error, ...page }) },
      { status: error ? 400 : 200 },
    );
  });

  app.get('/admin/drafts/:id', async (c) => {
    const p = c.get('principal');
    if (!p) return c.redirect('/admin', 303);
    const d = await openDraft(c, p, c.req.param('id'));
    if (!d)
      return sendPage(
        c,
        {
          title: 'No such draft',
          nav: CONSOLE_NAV,
          children: messageBody(
            ['This tenant has no draft with that id.'],
            [{ href: '/admin/drafts', label: 'All drafts' }],
          ),
        },
        { status: 404 },
      );
    return sendPage(c, {
      title: d.draft.ticketId ? `Draft for ticket #${d.draft.ticketId}` : 'Draft',
      nav: CONSOLE_NAV,
      children: draftDetailBody(d),
    });
  });

  app.get('/admin/api/drafts', requireAdmin, async (c) => {
    const p = c.get('principal')!;
    const { filters, error } = parseFilters(c);
    if (error) return errorResponse(c, 'bad_request', error);
    const { rows, more } = await withTenant(c.get('deps').database.db, p.tenantId, (tx) =>
      listDrafts(tx, filters),
    );
    return c.json({
      drafts: rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
      nextBefore: more ? rows.at(-1)!.id : null,
    });
  });

  app.get('/admin/api/drafts/:id', requireAdmin, async (c) => {
    const p = c.get('principal')!;
    const d = await openDraft(c, p, c.req.param('id'));
    if (!d) return errorResponse(c, 'not_found', 'This tenant has no draft with that id.');
    const s = readSnapshot(d.draft.contextSnapshot);
    const { tenantId: _tenant, ...draft } = d.draft;
    return c.json({
      draft: { ...draft, createdAt: draft.createdAt.toISOString(), updatedAt: draft.updatedAt.toISOString() },
      ticket: s.ticket,
      accountName: d.accountName,
      zendeskUrl: d.zendeskUrl,
      versions: d.versions.map(({ tenantId: _t, ...v }) => v),
      delivery: d.delivery ? (({ tenantId: _t, ...x }) => x)(d.delivery) : null,
    });
  });
  return app;
}
