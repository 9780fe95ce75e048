import type { Context } from 'hono';
import { Hono } from 'hono';
import { z } from 'zod';
import { createJobQueue } from '../jobs/queue.ts';
import { AppError, isAppError } from '../lib/errors.ts';
import { parseJsonBody } from '../lib/json-body.ts';
import {
  mintSidebarCredential,
  type SidebarPrincipal,
  verifySidebarCredential,
} from '../zendesk/sidebar-credentials.ts';
import {
  editDraft,
  regenerateDraft,
  rejectDraft,
  type SidebarDeps,
  sidebarTicketView,
} from '../zendesk/sidebar-drafts.ts';
import { draftFeedback } from '../zendesk/sidebar-feedback.ts';
import { recordInsert, sendDraft } from '../zendesk/sidebar-send.ts';
import {
  listTicketStatusChoices,
  readSidebarSettings,
  setSidebarSetting,
} from '../zendesk/sidebar-settings.ts';
import {
  createPublicKeyCache,
  type PublicKeyCache,
  SidebarTokenError,
  verifySidebarToken,
} from '../zendesk/sidebar-token.ts';
import { requireAdmin } from './auth.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';
import {
  SIDEBAR_CSS,
  SIDEBAR_JS,
  SIDEBAR_SCRIPT_PATH,
  SIDEBAR_STYLE_PATH,
  sidebarCsp,
  sidebarPage,
  sidebarRefusalPage,
} from './views/sidebar.ts';

/**
 * The Zendesk sidebar: `POST /zendesk/sidebar` is the app's location URL (Zendesk posts the
 * signed-URL `token` form field on first load; `origin` and `app_guid` stay on the URL for
 * `ZAFClient.init()`), and `/zendesk/sidebar/api/*` is the JSON API its page calls with the
 * bearer credential minted there. Refusals of the page are a page that says why (401);
 * refusals of the API are the usual error body.
 */
export interface SidebarRouteOptions {
  /** The app public-key cache (one per app instance by default). */
  keys?: PublicKeyCache;
  /** Who may frame the page (CSP frame-ancestors). Default: Zendesk's agent interface. */
  frameAncestors?: string[];
}

const sendBody = z
  .object({ body: z.string().max(70_000).optional(), overrideReason: z.string().max(500).optional() })
  .strict();
const editBody = z.object({ body: z.string().max(70_000) }).strict();
const rejectBody = z.object({ reason: z.string().max(500) }).strict();
const regenerateBody = z.object({ instruction: z.string().max(300).optional() }).strict();
const insertBody = z.object({ body: z.string().max(70_000) }).strict();
const sidebarSettingBody = z
  .object({
    scope: z.string().min(1).max(200),
    statusAfterSend: z.string().min(1).max(40).nullable().optional(),
    autoSendThreshold: z.number().min(0).max(1).nullable().optional(),
  })
  .strict();

type SidebarEnv = { Variables: AppEnv['Variables'] & { sidebar: SidebarPrincipal } };

export function sidebarRoutes(opts: SidebarRouteOptions = {}) {
  const app = new Hono<SidebarEnv>();
  const keys = opts.keys ?? createPublicKeyCache();
  const frameAncestors = opts.frameAncestors ?? ['https://*.zendesk.com'];
  const fallbackQueue = createJobQueue();

  const pageHeaders = (c: Context) => {
    c.header('Cache-Control', 'no-store');
    c.header('Content-Security-Policy', sidebarCsp(frameAncestors));
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  };

  app.get(SIDEBAR_SCRIPT_PATH, (c) =>
    c.body(SIDEBAR_JS, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'public, max-age=300',
      'X-Content-Type-Options': 'nosniff',
    }),
  );
  app.get(SIDEBAR_STYLE_PATH, (c) =>
    c.body(SIDEBAR_CSS, 200, {
      'Content-Type': 'text/css; charset=utf-8',
      'Cache-Control': 'public, max-age=300',
      'X-Content-Type-Options': 'nosniff',
    }),
  );

  // The console's feedback numbers (signed-in owners and admins of the tenant).
  app.get('/admin/api/sidebar/feedback', requireAdmin, async (c) => {
    const deps = c.get('deps');
    const days = Number(c.req.query('days') ?? '30');
    if (!Number.isInteger(days) || days < 1 || days > 366)
      throw new AppError('bad_request', '`days` must be a whole number from 1 to 366.');
    const now = deps.now?.() ?? new Date();
    const since = new Date(now.getTime() - days * 86_400_000);
    const tenantId = c.get('principal')!.tenantId;
    return c.json({
      since: since.toISOString(),
      playbooks: await draftFeedback(deps.database.db, tenantId, since),
    });
  });

  // The console's sidebar settings: statuses read from the tenant's Zendesk, status after send, auto-send threshold.
  const adminDeps = (c: Context) => {
    const deps = c.get('deps');
    if (!deps.tokens) throw new AppError('feature_disabled', 'The Zendesk integration is not configured.');
    return { db: deps.database.db, tokens: deps.tokens };
  };
  app.get('/admin/api/zendesk/statuses', requireAdmin, async (c) =>
    c.json({ statuses: await listTicketStatusChoices(adminDeps(c), c.get('principal')!.tenantId) }),
  );
  app.get('/admin/api/sidebar/settings', requireAdmin, async (c) =>
    c.json(await readSidebarSettings(c.get('deps').database.db, c.get('principal')!.tenantId)),
  );
  app.put('/admin/api/sidebar/settings', requireAdmin, async (c) => {
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json'))
      throw new AppError('unsupported_media_type', 'Send the body as application/json.');
    const input = await json(c, sidebarSettingBody);
    const p = c.get('principal')!;
    return c.json(
      await setSidebarSetting(
        adminDeps(c),
        {
          tenantId: p.tenantId,
          actor: { type: 'admin', userId: p.userId, via: p.via },
          requestId: c.get('requestId'),
        },
        input,
      ),
    );
  });

  app.get('/zendesk/sidebar', async (c) => {
    pageHeaders(c);
    return c.html(
      await sidebarRefusalPage(
        'Open Copilot from a ticket in Zendesk: this page needs the signed token Zendesk sends.',
      ),
      401,
    );
  });

  app.post('/zendesk/sidebar', async (c) => {
    const deps = c.get('deps');
    pageHeaders(c);
    if (!deps.tokens) {
      return c.html(
        await sidebarRefusalPage('The Zendesk integration is not configured on this server.'),
        503,
      );
    }
    const type = c.req.header('content-type') ?? '';
    let token: string | undefined;
    if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
      const form = await c.req.parseBody();
      token = typeof form.token === 'string' ? form.token : undefined;
    }
    const now = deps.now?.() ?? new Date();
    try {
      const identity = await verifySidebarToken(
        { db: deps.database.db, tokens: deps.tokens, keys, now: () => now },
        token,
      );
      const { credential, expiresAt } = await mintSidebarCredential(deps.database.db, identity, {
        now,
        requestId: c.get('requestId'),
      });
      return c.html(await sidebarPage({ credential, expiresAt, subdomain: identity.subdomain }));
    } catch (e) {
      if (e instanceof SidebarTokenError) {
        c.get('log').warn('sidebar token refused', { reason: e.reason });
        return c.html(await sidebarRefusalPage(e.message), e.reason === 'key_unavailable' ? 502 : 401);
      }
      if (isAppError(e) && e.code === 'tenant_inactive')
        return c.html(await sidebarRefusalPage(e.message), 403);
      throw e;
    }
  });

  // The JSON API: every call carries the bearer credential; nothing else identifies the caller.
  app.use('/zendesk/sidebar/api/*', async (c, next) => {
    const deps = c.get('deps');
    c.header('Cache-Control', 'no-store');
    const principal = await verifySidebarCredential(
      deps.database.db,
      c.req.header('authorization'),
      deps.now?.() ?? new Date(),
    );
    c.set('sidebar', principal);
    return next();
  });

  const svc = (c: Context<SidebarEnv>): SidebarDeps => {
    const deps = c.get('deps');
    if (!deps.tokens) throw new AppError('feature_disabled', 'The Zendesk integration is not configured.');
    return {
      database: deps.database,
      tokens: deps.tokens,
      queue: deps.queue ?? fallbackQueue,
      jobsEnqueued: deps.jobsEnqueued,
      now: deps.now ?? (() => new Date()),
      requestId: c.get('requestId'),
    };
  };

  const json = async <S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> => {
    // 400 invalid_body for non-JSON, deep nesting or a NUL character (which PostgreSQL cannot store).
    const raw = parseJsonBody(await c.req.text());
    const parsed = schema.safeParse(raw);
    if (!parsed.success)
      throw new AppError(
        'invalid_body',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      );
    return parsed.data;
  };

  app.get('/zendesk/sidebar/api/tickets/:ticketId', async (c) =>
    c.json(await sidebarTicketView(svc(c), c.get('sidebar'), c.req.param('ticketId'))),
  );
  app.post('/zendesk/sidebar/api/tickets/:ticketId/drafts/:draftId/send', async (c) => {
    const input = await json(c, sendBody);
    const r = await sendDraft(
      svc(c),
      c.get('sidebar'),
      c.req.param('ticketId'),
      c.req.param('draftId'),
      input,
    );
    return c.json(r);
  });
  app.post('/zendesk/sidebar/api/tickets/:ticketId/drafts/:draftId/edit', async (c) => {
    const input = await json(c, editBody);
    return c.json({
      draft: await editDraft(
        svc(c),
        c.get('sidebar'),
        c.req.param('ticketId'),
        c.req.param('draftId'),
        input.body,
      ),
    });
  });
  app.post('/zendesk/sidebar/api/tickets/:ticketId/drafts/:draftId/reject', async (c) => {
    const input = await json(c, rejectBody);
    return c.json({
      draft: await rejectDraft(
        svc(c),
        c.get('sidebar'),
        c.req.param('ticketId'),
        c.req.param('draftId'),
        input.reason,
      ),
    });
  });
  app.post('/zendesk/sidebar/api/tickets/:ticketId/drafts/:draftId/inserted', async (c) => {
    const input = await json(c, insertBody);
    await recordInsert(svc(c), c.get('sidebar'), c.req.param('ticketId'), c.req.param('draftId'), input.body);
    return c.json({ ok: true });
  });
  app.post('/zendesk/sidebar/api/tickets/:ticketId/regenerate', async (c) => {
    const input = await json(c, regenerateBody);
    return c.json(
      await regenerateDraft(svc(c), c.get('sidebar'), c.req.param('ticketId'), input.instruction),
      202,
    );
  });
  app.all('/zendesk/sidebar/api/*', (c) =>
    errorResponse(c as unknown as Context<AppEnv>, 'not_found', 'No such sidebar API route.'),
  );
  return app;
}
