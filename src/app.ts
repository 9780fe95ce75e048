import { Hono } from 'hono';
import { adminAuditRoutes } from './http/admin-audit.ts';
import { adminCatalogRoutes } from './http/admin-catalog.ts';
import { adminConfigRoutes } from './http/admin-config.ts';
import { adminDirectoryRoutes } from './http/admin-directory.ts';
import { adminDraftsRoutes } from './http/admin-drafts.ts';
import { adminIsolationRoutes } from './http/admin-isolation.ts';
import { adminLimitsRoutes } from './http/admin-limits.ts';
import { adminMembersRoutes } from './http/admin-members.ts';
import { adminPlaygroundRoutes } from './http/admin-playground.ts';
import { adminRoutes } from './http/admin-routes.ts';
import { adminSettingsRoutes } from './http/admin-settings.ts';
import { adminSidebarSettingsRoutes } from './http/admin-sidebar-settings.ts';
import { adminSignInRoutes } from './http/admin-signin.ts';
import { adminSlackRoutes } from './http/admin-slack.ts';
import { adminUsageRoutes } from './http/admin-usage.ts';
import { errorResponse, onError } from './http/errors.ts';
import { healthRoutes } from './http/health.ts';
import { installRoutes } from './http/install-routes.ts';
import { init, limitBody } from './http/middleware.ts';
import { sessionMiddleware } from './http/session.ts';
import { sidebarRoutes } from './http/sidebar-routes.ts';
import { slackEventRoutes } from './http/slack-events.ts';
import { slackInteractionRoutes } from './http/slack-interactions.ts';
import type { AppDeps, AppEnv } from './http/types.ts';
import { homeRoutes } from './http/views/home.ts';
import { assetRoutes } from './http/views/layout.ts';
import { zendeskWebhookRoutes } from './http/zendesk-webhook.ts';
import { connectionHealthCheck } from './oauth/sweep.ts';
import { upstreamHealth } from './tenancy/lookup.ts';

export type { AppDeps } from './http/types.ts';

/**
 * The Hono app. Reads no environment: everything arrives in `deps`, so tests build it with
 * their own database, clock and upstream fakes, and the Node and Workers entries share it.
 */
export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.use('*', init(deps));
  app.use('*', limitBody(deps.maxBodyBytes ?? 1024 * 1024));
  app.use('*', sessionMiddleware);
  app.onError(onError);
  app.notFound((c) =>
    errorResponse(c, 'not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`),
  );

  app.route('/', assetRoutes());
  app.route('/', homeRoutes());
  app.route(
    '/',
    healthRoutes({
      connections: connectionHealthCheck(deps.database.db),
      // Reports, never fails readiness: one tenant's upstream trouble is that tenant's.
      upstreams: async () => ({
        ok: true,
        detail: { breakers: await upstreamHealth(deps.database.db, deps.now?.() ?? new Date()) },
      }),
    }),
  );
  app.route('/', installRoutes());
  app.route('/', slackEventRoutes());
  app.route('/', slackInteractionRoutes());
  app.route('/', adminSignInRoutes());
  app.route('/', adminRoutes());
  app.route('/', adminSlackRoutes());
  app.route('/', adminIsolationRoutes());
  app.route('/', adminAuditRoutes());
  app.route('/', adminMembersRoutes());
  app.route('/', adminUsageRoutes());
  app.route('/', adminSidebarSettingsRoutes());
  app.route('/', adminSettingsRoutes());
  app.route('/', adminConfigRoutes());
  app.route('/', adminLimitsRoutes());
  app.route('/', adminDraftsRoutes());
  app.route('/', adminPlaygroundRoutes());
  app.route('/', adminCatalogRoutes());
  app.route('/', adminDirectoryRoutes());
  app.route('/', zendeskWebhookRoutes());
  app.route('/', sidebarRoutes());
  return app;
}

export type App = ReturnType<typeof createApp>;
