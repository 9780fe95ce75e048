import { type Context, Hono } from 'hono';
import { AppError, describeError } from '../lib/errors.ts';
import { exchangeSlackCode, slackAuthorizeUrl, slackRedirectUri } from '../oauth/slack.ts';
import { storeSlackInstall } from '../oauth/slack-install.ts';
import { consumeOAuthState, createOAuthState } from '../oauth/state-store.ts';
import { createTokenManager } from '../oauth/token-manager.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { exchangeZendeskCode, zendeskAuthorizeUrl, zendeskRedirectUri } from '../oauth/zendesk.ts';
import { storeZendeskConnection } from '../oauth/zendesk-connect.ts';
import { isAdmin } from '../tenancy/principal.ts';
import { ZENDESK_SUBDOMAIN } from '../zendesk/api.ts';
import { disconnectZendesk, provisionZendesk } from '../zendesk/provisioning.ts';
import { requireAdmin } from './auth.ts';
import { errorResponse } from './errors.ts';
import { failPage, htmlPage } from './install-pages.ts';
import { sameOriginPost } from './session.ts';
import type { AppDeps, AppEnv } from './types.ts';

/**
 * Self-service install:
 *   GET  /slack/install            -> Slack OAuth v2 (bot scopes from manifest.json, PKCE S256)
 *   GET  /slack/oauth/callback     -> stores the installation, creates or joins the tenant
 *   GET  /zendesk/connect?subdomain=NAME -> Zendesk OAuth on NAME.zendesk.com (PKCE S256)
 *   GET  /zendesk/oauth/callback   -> stores the token pair, provisions webhook + triggers
 *   POST /zendesk/provision        -> (admin) provisions again (after a failure)
 *   POST /zendesk/disconnect       -> (admin) removes triggers + webhook, revokes, erases tokens
 * The state is single-use and hashed (oauth/state-store.ts); a signed-in admin who starts a flow
 * installs into their own tenant.
 */

const lazyTokens = new WeakMap<AppDeps, TokenProvider>();
/** The app's token provider; a token manager on the same database when the entry gave none. */
export function tokensOf(deps: AppDeps): TokenProvider {
  if (deps.tokens) return deps.tokens;
  let t = lazyTokens.get(deps);
  if (!t) {
    t = createTokenManager({
      db: deps.database.db,
      vault: deps.vault,
      config: deps.config,
      logger: deps.logger,
      ...(deps.now ? { now: deps.now } : {}),
    });
    lazyTokens.set(deps, t);
  }
  return t;
}

const clock = (deps: AppDeps) => (deps.now ?? (() => new Date()))();

const INVALID_STATE =
  'This sign-in link is invalid, has expired or was already used. Start the installation again.';

export function installRoutes() {
  const app = new Hono<AppEnv>();

  app.get('/slack/install', async (c) => {
    const { config, database } = c.get('deps');
    if (!config.features.slackInstall || !config.SLACK_CLIENT_ID)
      return errorResponse(
        c,
        'feature_disabled',
        'Slack install is off: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.',
      );
    const principal = c.get('principal');
    const join = isAdmin(principal) ? principal : undefined;
    const st = await createOAuthState(
      database.db,
      { provider: 'slack', joinTenantId: join?.tenantId, joinUserId: join?.userId },
      clock(c.get('deps')),
    );
    c.header('Cache-Control', 'no-store');
    return c.redirect(
      slackAuthorizeUrl({
        clientId: config.SLACK_CLIENT_ID,
        redirectUri: slackRedirectUri(config.PUBLIC_URL),
        state: st.state,
        codeChallenge: st.codeChallenge,
      }),
      302,
    );
  });

  app.get('/slack/oauth/callback', async (c) => {
    const deps = c.get('deps');
    const { config, database } = deps;
    if (!config.features.slackInstall || !config.SLACK_CLIENT_ID || !config.SLACK_CLIENT_SECRET)
      return errorResponse(
        c,
        'feature_disabled',
        'Slack install is off: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.',
      );
    const q = c.req.query();
    if (q.error) {
      return providerErrorPage(c, 'slack', q.error, q.state, {
        title: 'Slack install was not completed',
        denied: 'The app was not allowed into the workspace (the request was cancelled or denied).',
        after: 'Nothing was installed. You can close this page or start the installation again.',
      });
    }
    const st = await consumeOAuthState(database.db, q.state, 'slack', clock(deps));
    if (!st) return failPage(c, 'invalid_state', 'Installation link not valid', INVALID_STATE);
    if (!q.code || q.code.length > 500)
      return failPage(c, 'bad_request', 'Slack install failed', 'Slack sent no authorization code.');
    try {
      const grant = await exchangeSlackCode(
        { clientId: config.SLACK_CLIENT_ID, clientSecret: config.SLACK_CLIENT_SECRET },
        { code: q.code, redirectUri: slackRedirectUri(config.PUBLIC_URL), codeVerifier: st.codeVerifier },
      );
      const result = await storeSlackInstall(
        { db: database.db, vault: deps.vault, ...(deps.now ? { now: deps.now } : {}) },
        { grant, joinTenantId: st.joinTenantId, joinUserId: st.joinUserId, requestId: c.get('requestId') },
      );
      c.get('log').info('slack installed', { tenantId: result.tenantId, reinstall: result.reinstall });
      return htmlPage(c, 200, `Installed into ${result.name}`, [
        `Helpdesk Copilot is ${result.reinstall ? 'reinstalled' : 'installed'} in ${result.name}.`,
        'Next: connect your Zendesk account, then invite the bot to your support channels.',
      ]);
    } catch (e) {
      return callbackFailure(c, 'Slack install failed', 'Slack', e);
    }
  });

  app.get('/zendesk/connect', async (c) => {
    const { config, database } = c.get('deps');
    if (!config.features.zendesk || !config.ZENDESK_CLIENT_ID)
      return errorResponse(
        c,
        'feature_disabled',
        'Zendesk is off: set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET.',
      );
    const subdomain = (c.req.query('subdomain') ?? '').trim().toLowerCase();
    if (!ZENDESK_SUBDOMAIN.test(subdomain))
      return errorResponse(
        c,
        'invalid_subdomain',
        'Give your Zendesk subdomain only: for https://acme.zendesk.com, that is "acme".',
      );
    const principal = c.get('principal');
    const join = isAdmin(principal) ? principal : undefined;
    const st = await createOAuthState(
      database.db,
      { provider: 'zendesk', subdomain, joinTenantId: join?.tenantId, joinUserId: join?.userId },
      clock(c.get('deps')),
    );
    c.header('Cache-Control', 'no-store');
    return c.redirect(
      zendeskAuthorizeUrl({
        subdomain,
        clientId: config.ZENDESK_CLIENT_ID,
        redirectUri: zendeskRedirectUri(config.PUBLIC_URL),
        state: st.state,
        codeChallenge: st.codeChallenge,
      }),
      302,
    );
  });

  app.get('/zendesk/oauth/callback', async (c) => {
    const deps = c.get('deps');
    const { config, database } = deps;
    if (!config.features.zendesk || !config.ZENDESK_CLIENT_ID || !config.ZENDESK_CLIENT_SECRET)
      return errorResponse(
        c,
        'feature_disabled',
        'Zendesk is off: set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET.',
      );
    const q = c.req.query();
    if (q.error) {
      return providerErrorPage(c, 'zendesk', q.error, q.state, {
        title: 'Zendesk was not connected',
        denied: 'Access was not granted in Zendesk (the request was cancelled or denied).',
        after: 'Nothing was stored. You can close this page or start again.',
      });
    }
    const st = await consumeOAuthState(database.db, q.state, 'zendesk', clock(deps));
    if (!st?.subdomain) return failPage(c, 'invalid_state', 'Connection link not valid', INVALID_STATE);
    // The account is the one the flow started with; a different one in the callback is refused.
    if (q.subdomain !== undefined && q.subdomain.toLowerCase() !== st.subdomain)
      return failPage(
        c,
        'invalid_subdomain',
        'Zendesk connection refused',
        'The callback names a different Zendesk account than the one this connection was started for.',
      );
    if (!q.code || q.code.length > 500)
      return failPage(c, 'bad_request', 'Zendesk connection failed', 'Zendesk sent no authorization code.');
    let tenantId: string;
    try {
      const pair = await exchangeZendeskCode(
        { clientId: config.ZENDESK_CLIENT_ID, clientSecret: config.ZENDESK_CLIENT_SECRET },
        {
          subdomain: st.subdomain,
          code: q.code,
          redirectUri: zendeskRedirectUri(config.PUBLIC_URL),
          codeVerifier: st.codeVerifier,
        },
        clock(deps),
      );
      const result = await storeZendeskConnection(
        { db: database.db, vault: deps.vault, ...(deps.now ? { now: deps.now } : {}) },
        {
          subdomain: st.subdomain,
          pair,
          joinTenantId: st.joinTenantId,
          joinUserId: st.joinUserId,
          requestId: c.get('requestId'),
        },
      );
      tenantId = result.tenantId;
    } catch (e) {
      return callbackFailure(c, 'Zendesk connection failed', 'Zendesk', e);
    }
    try {
      await provisionZendesk(
        {
          db: database.db,
          vault: deps.vault,
          tokens: tokensOf(deps),
          publicUrl: config.PUBLIC_URL,
          actor: { type: 'system', name: 'zendesk-provisioning' },
          requestId: c.get('requestId'),
        },
        tenantId,
      );
    } catch (e) {
      c.get('log').warn('zendesk provisioning failed', { tenantId, error: describeError(e) });
      const status = e instanceof AppError && e.status < 500 ? 400 : 502;
      return htmlPage(c, status, `Connected ${st.subdomain}.zendesk.com, but setup is incomplete`, [
        'Your Zendesk account is connected, but creating the webhook and triggers failed.',
        'Make sure the person connecting is a Zendesk administrator, then connect again (or use "Provision again" in the admin console).',
        `Request id: ${c.get('requestId')}.`,
      ]);
    }
    return htmlPage(c, 200, `Connected ${st.subdomain}.zendesk.com`, [
      'Zendesk is connected. A webhook and two triggers now send new tickets and requester replies to Helpdesk Copilot.',
      'You can close this page.',
    ]);
  });

  app.post('/zendesk/provision', sameOriginPost, requireAdmin, async (c) => {
    const deps = c.get('deps');
    const p = c.get('principal')!;
    const result = await provisionZendesk(
      {
        db: deps.database.db,
        vault: deps.vault,
        tokens: tokensOf(deps),
        publicUrl: deps.config.PUBLIC_URL,
        actor: { type: 'admin', userId: p.userId, via: p.via },
        requestId: c.get('requestId'),
      },
      p.tenantId,
    );
    return c.json({ ok: true, ...result });
  });

  app.post('/zendesk/disconnect', sameOriginPost, requireAdmin, async (c) => {
    const deps = c.get('deps');
    const p = c.get('principal')!;
    const result = await disconnectZendesk(
      {
        db: deps.database.db,
        vault: deps.vault,
        tokens: tokensOf(deps),
        publicUrl: deps.config.PUBLIC_URL,
        actor: { type: 'admin', userId: p.userId, via: p.via },
        requestId: c.get('requestId'),
      },
      p.tenantId,
    );
    return c.json({ ok: true, ...result });
  });

  return app;
}

/**
 * The provider redirected back with `?error=` (denied, cancelled, ...): burn the state so the link
 * cannot be replayed, log the provider's word, and show a readable page. Nothing is stored.
 */
async function providerErrorPage(
  c: Context<AppEnv>,
  provider: 'slack' | 'zendesk',
  error: string,
  state: string | undefined,
  text: { title: string; denied: string; after: string },
) {
  const deps = c.get('deps');
  await consumeOAuthState(deps.database.db, state, provider, clock(deps));
  const reported = error.slice(0, 100);
  c.get('log').info(`${provider} oauth: provider returned an error`, { error: reported });
  const name = provider === 'slack' ? 'Slack' : 'Zendesk';
  return htmlPage(c, 400, text.title, [
    error === 'access_denied' ? text.denied : `${name} reported: ${reported}.`,
    text.after,
  ]);
}

function callbackFailure(c: Context<AppEnv>, title: string, provider: string, e: unknown) {
  c.get('log').warn(`${provider} callback failed`, { error: describeError(e) });
  if (e instanceof AppError) {
    if (e.code === 'conflict') return failPage(c, 'conflict', title, e.message);
    if (e.code === 'rate_limited')
      return failPage(
        c,
        'rate_limited',
        title,
        `${provider} is busy right now. Wait a minute and start again.`,
      );
    if (e.code === 'upstream_error')
      return failPage(
        c,
        'upstream_error',
        title,
        `${provider} did not accept the authorization: ${e.message}.`,
      );
  }
  return failPage(c, 'internal', title, 'Something went wrong on our side. Start again, or contact support.');
}
