import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { withTenant } from '../db/tenant.ts';
import { isAppError } from '../lib/errors.ts';
import { parseJsonBody } from '../lib/json-body.ts';
import { readPipelineSettings } from '../pipeline/settings.ts';
import {
  catalogSchema,
  contextApiInputSchema,
  directorySchema,
  replaceCatalog,
  setContextApi,
  syncDirectory,
  updateSettings,
} from '../pipeline/tenant-config.ts';
import {
  DIRECTORY_PAGE_MAX,
  readCatalog,
  readContextApi,
  readDirectoryPage,
} from '../pipeline/tenant-config-read.ts';
import { usageQuerySchema, usageReport } from '../pipeline/usage-report.ts';
import type { ServiceCtx } from '../tenancy/context.ts';
import { requireAdmin } from './auth.ts';

const CATALOG_SECTIONS = ['plans', 'features', 'links', 'kb', 'changelog', 'playbooks'] as const;

import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';

/**
 * The tenant configuration API for signed-in owners and admins (session cookie):
 *
 *   GET /admin/api/settings      routing, context and drafting settings (never secrets)
 *   PUT /admin/api/settings      merge { routing?, context?, drafting? }
 *   GET /admin/api/catalog       the catalog, as PUT takes it
 *   PUT /admin/api/catalog       replace { plans, features, links, kb, changelog, playbooks }: all
 *                                six are required (send [] or {} to empty one), so a partial body
 *                                cannot wipe the rest
 *   GET /admin/api/directory     ?limit=(1-1000, default 500)&cursor=: a page of accounts, as PUT
 *                                takes them, with end-user counts and nextCursor
 *   PUT /admin/api/directory     { mode: upsert|replace, accounts: [...] }
 *   GET /admin/api/context-api   { configured, settings, secretSet } (the secret never)
 *   GET /admin/api/usage         ?from=YYYY-MM-DD&to=YYYY-MM-DD&granularity=day|month: drafts and
 *                                model calls, tokens and cost per model per bucket (usage-report.ts)
 *   PUT /admin/api/context-api   { url, secret?, keys?, attemptTimeoutMs?, ... }
 *
 * JSON bodies only (a cross-site page cannot send a JSON PUT without a CORS preflight, which we
 * never grant), read by parseJsonBody (no NUL characters, bounded nesting). Invalid input: 400
 * invalid_body naming the field (or a specific code: url_not_allowed, free_mail_domain,
 * placeholder_not_allowed), and nothing changes.
 */
export function adminConfigRoutes() {
  const app = new Hono<AppEnv>();
  app.use('/admin/api/*', requireAdmin);

  const run = <T>(c: Context<AppEnv>, fn: (ctx: ServiceCtx) => Promise<T>) => {
    const p = c.get('principal')!;
    return withTenant(c.get('deps').database.db, p.tenantId, (tx) =>
      fn({
        tenantId: p.tenantId,
        tx,
        actor: { type: 'admin', userId: p.userId, via: p.via },
        requestId: c.get('requestId'),
      }),
    );
  };

  async function body(
    c: Context<AppEnv>,
  ): Promise<{ ok: true; value: unknown } | { ok: false; res: Response }> {
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json')) {
      return {
        ok: false,
        res: errorResponse(c, 'unsupported_media_type', 'Send the body as application/json.'),
      };
    }
    try {
      return { ok: true, value: parseJsonBody(await c.req.text()) };
    } catch (e) {
      // Not JSON, nested too deep, or a NUL in a string (PostgreSQL cannot store it): 400.
      if (isAppError(e)) return { ok: false, res: errorResponse(c, e.code, e.message) };
      throw e;
    }
  }

  /** Validates first (so bad input never opens a transaction), then runs the verb. */
  function put<S extends z.ZodType>(
    path: string,
    schema: S,
    verb: (ctx: ServiceCtx, input: z.output<S>, c: Context<AppEnv>) => Promise<unknown>,
  ) {
    app.put(path, async (c) => {
      const b = await body(c);
      if (!b.ok) return b.res;
      const parsed = schema.safeParse(b.value);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        return errorResponse(c, 'invalid_body', `${i.path.join('.') || 'body'}: ${i.message}`);
      }
      try {
        return c.json({ ok: true, result: await run(c, (ctx) => verb(ctx, parsed.data, c)) });
      } catch (e) {
        if (e instanceof z.ZodError) {
          const i = e.issues[0]!;
          return errorResponse(c, 'invalid_body', `${i.path.join('.') || 'body'}: ${i.message}`);
        }
        throw e;
      }
    });
  }

  app.get('/admin/api/settings', async (c) => c.json(await run(c, (ctx) => readPipelineSettings(ctx.tx))));
  put('/admin/api/settings', z.record(z.string(), z.unknown()), (ctx, input, c) => {
    const { vault, config, contextApiResolver } = c.get('deps');
    return updateSettings(ctx, input, {
      vault,
      urlPolicy: { allowPrivate: config.CONTEXT_API_ALLOW_PRIVATE, resolver: contextApiResolver },
    });
  });
  app.get('/admin/api/catalog', async (c) => c.json(await run(c, (ctx) => readCatalog(ctx.tx))));
  put(
    '/admin/api/catalog',
    // A replacement names every section: `{}` or a forgotten key must not empty the catalog.
    z
      .record(z.string(), z.unknown())
      .superRefine((b, ctx) => {
        for (const k of CATALOG_SECTIONS)
          if (!(k in b))
            ctx.addIssue({
              code: 'custom',
              path: [k],
              message:
                'is required: PUT replaces the whole catalog (send an empty list or object to clear it)',
            });
      })
      .pipe(catalogSchema),
    (ctx, input) => replaceCatalog(ctx, input),
  );
  app.get('/admin/api/directory', async (c) => {
    const limit = c.req.query('limit') ?? '500';
    const cursor = c.req.query('cursor');
    if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > DIRECTORY_PAGE_MAX)
      return errorResponse(
        c,
        'invalid_body',
        `limit: must be a whole number from 1 to ${DIRECTORY_PAGE_MAX}`,
      );
    if (cursor !== undefined && (cursor === '' || cursor.length > 200))
      return errorResponse(c, 'invalid_body', 'cursor: must be the nextCursor of the previous page');
    return c.json(await run(c, (ctx) => readDirectoryPage(ctx.tx, { after: cursor, limit: Number(limit) })));
  });
  app.get('/admin/api/usage', async (c) => {
    const parsed = usageQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      return errorResponse(c, 'invalid_body', `${i.path.join('.') || 'query'}: ${i.message}`);
    }
    const at = c.get('deps').now?.() ?? new Date();
    return c.json(await run(c, (ctx) => usageReport(ctx.tx, parsed.data, at)));
  });
  app.get('/admin/api/context-api', async (c) => c.json(await run(c, (ctx) => readContextApi(ctx.tx))));
  put('/admin/api/directory', directorySchema, (ctx, input) => syncDirectory(ctx, input));
  put('/admin/api/context-api', contextApiInputSchema, (ctx, input, c) => {
    const { vault, config, contextApiResolver } = c.get('deps');
    return setContextApi(ctx, vault, input, {
      allowPrivate: config.CONTEXT_API_ALLOW_PRIVATE,
      resolver: contextApiResolver,
    });
  });
  return app;
}
