import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { OAuthClientConfig } from '../config.ts';
import { timingSafeEqualString } from '../lib/crypto.ts';
import { AppError, describeError, isAppError } from '../lib/errors.ts';
import { exchangeSlackCode, slackAuthorizeUrl, slackRedirectUri } from '../oauth/slack.ts';
import { storeSlackInstall } from '../oauth/slack-install.ts';
import {
  type ConsumedOAuthState,
  consumeOAuthState,
  createOAuthState,
  STATE_TTL_MS,
} from '../oauth/state-store.ts';
import { createTokenManager } from '../oauth/token-manager.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { exchangeZendeskCode, zendeskAuthorizeUrl, zendeskRedirectUri } from '../oauth/zendesk.ts';
import { storeZendeskConnection } from '../oauth/zendesk-connect.ts';
import type { Actor } from '../tenancy/context.ts';
import { isAdmin } from '../tenancy/principal.ts';
import { disconnectZendesk, type ProvisioningDeps, provisionZendesk } from '../zendesk/provisioning.ts';
import { requireAdmin } from './auth.ts';
import {
  failPage,
  htmlPage,
  postedZendeskSubdomain,
  startPage,
  zendeskSubdomainField,
} from './install-pages.ts';
import { requireFeature, requireSameOrigin } from './middleware.ts';
import type { AppDeps, AppEnv } from './types.ts';

/**
 * Self-service install:
 *   GET  /slack/install            -> a page whose button POSTs to the same path
 *   POST /slack/install            -> (same origin) Slack OAuth v2 (manifest bot scopes, PKCE S256)
 *   GET  /slack/oauth/callback     -> stores the installation, creates or joins the tenant
 *   GET  /zendesk/connect[?subdomain=NAME] -> a page with the subdomain field and a button
 *   POST /zendesk/connect          -> (same origin, form field `subdomain`) Zendesk OAuth on NAME.zendesk.com
 *   GET  /zendesk/oauth/callback   -> stores the token pair, provisions webhook + triggers
 *   POST /zendesk/provision        -> (admin) provisions again (after a failure)
 *   POST /zendesk/disconnect       -> (admin) removes triggers + webhook, revokes, erases tokens
 *
 * A flow starts only from a same-origin POST, so another site cannot start one in an admin's
 * browser (where it would be bound to that admin's tenant). The state is single-use and hashed
 * (oauth/state-store.ts) and bound to the browser that started the flow: it also goes into an
 * HttpOnly, SameSite=Lax cookie scoped to the callback path, which the callback must present.
 * A signed-in admin who starts a flow installs into their own tenant.
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
const OTHER_BROWSER =
  'This installation was not started in this browser, or it expired. Start the installation again from here.';

interface AuthorizeInput {
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  subdomain: string | null;
}

/** What differs between the Slack and the Zendesk flow, for the parts they share. */
interface Flow {
  provider: 'slack' | 'zendesk';
  name: 'Slack' | 'Zendesk';
  startPath: string;
  callbackPath: string;
  /** Holds the state between the start and the callback (browser binding). */
  cookie: string;
  client(deps: AppDeps): OAuthClientConfig | null;
  redirectUri(publicUrl: string): string;
  authorizeUrl(input: AuthorizeInput): string;
  off: string;
  invalidTitle: string;
  failTitle: string;
  providerError: { title: string; denied: string; after: string };
}

const SLACK: Flow = {
  provider: 'slack',
  name: 'Slack',
  startPath: '/slack/install',
  callbackPath: '/slack/oauth/callback',
  cookie: 'hc_oauth_slack',
  client: (deps) => deps.config.slackOAuth,
  redirectUri: slackRedirectUri,
  authorizeUrl: (input) => slackAuthorizeUrl(input),
  off: 'Slack install is off: set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET.',
  invalidTitle: 'Installation link not valid',
  failTitle: 'Slack install failed',
  providerError: {
    title: 'Slack install was not completed',
    denied: 'The app was not allowed into the workspace (the request was cancelled or denied).',
    after: 'Nothing was installed. You can close this page or start the installation again.',
  },
};

const ZENDESK: Flow = {
  provider: 'zendesk',
  name: 'Zendesk',
  startPath: '/zendesk/connect',
  callbackPath: '/zendesk/oauth/callback',
  cookie: 'hc_oauth_zendesk',
  client: (deps) => deps.config.zendeskOAuth,
  redirectUri: zendeskRedirectUri,
  authorizeUrl: ({ subdomain, ...input }) => zendeskAuthorizeUrl({ ...input, subdomain: subdomain! }),
  off: 'Zendesk is off: set ZENDESK_CLIENT_ID and ZENDESK_CLIENT_SECRET.',
  invalidTitle: 'Connection link not valid',
  failTitle: 'Zendesk connection failed',
  providerError: {
    title: 'Zendesk was not connected',
    denied: 'Access was not granted in Zendesk (the request was cancelled or denied).',
    after: 'Nothing was stored. You can close this page or start again.',
  },
};

/** The flow's OAuth client; its routes sit behind requireFeature, so it is configured. */
function clientOf(c: Context<AppEnv>, flow: Flow): OAuthClientConfig {
  const client = flow.client(c.get('deps'));
  if (!client) throw new AppError('feature_disabled', flow.off);
  return client;
}

const cookieOptions = (c: Context<AppEnv>, flow: Flow) => ({
  httpOnly: true,
  secure: c.get('deps').config.PUBLIC_URL.startsWith('https:'),
  sameSite: 'Lax' as const,
  path: flow.callbackPath,
});

function joinNote(c: Context<AppEnv>): string | undefined {
  return isAdmin(c.get('principal'))
    ? 'You are signed in as an admin: this connects to your Helpdesk Copilot account.'
    : undefined;
}

/**
 * POST start, after requireSameOrigin: a state (joined to the signed-in admin's tenant, if any),
 * the browser-binding cookie, and a 303 to the provider's authorize URL.
 */
async function beginFlow(c: Context<AppEnv>, flow: Flow, subdomain: string | null) {
  const deps = c.get('deps');
  const client = clientOf(c, flow);
  const principal = c.get('principal');
  const join = isAdmin(principal) ? principal : undefined;
  const st = await createOAuthState(
    deps.database.db,
    { provider: flow.provider, subdomain, joinTenantId: join?.tenantId, joinUserId: join?.userId },
    clock(deps),
  );
  setCookie(c, flow.cookie, st.state, { ...cookieOptions(c, flow), maxAge: STATE_TTL_MS / 1000 });
  c.header('Cache-Control', 'no-store');
  const redirectUri = flow.redirectUri(deps.config.PUBLIC_URL);
  const { state, codeChallenge } = st;
  return c.redirect(
    flow.authorizeUrl({ clientId: client.clientId, redirectUri, state, codeChallenge, subdomain }),
    303,
  );
}

/**
 * The shared first half of a callback: the provider's `?error=`, the browser binding, the
 * single-use state, the code. Returns the consumed state, or the response that ends the flow.
 */
async function openCallback(c: Context<AppEnv>, flow: Flow): Promise<OpenedCallback | Response> {
  const deps = c.get('deps');
  const q = c.req.query();
  const bound = getCookie(c, flow.cookie);
  deleteCookie(c, flow.cookie, cookieOptions(c, flow));
  if (q.error) return providerErrorPage(c, flow, q.error, q.state);
  // Not the browser that started this flow (a link sent to a victim, a lost cookie): refuse and
  // leave the state alone, so whoever holds the real cookie can still finish.
  if (!q.state || !bound || !timingSafeEqualString(bound, q.state))
    return failPage(c, 'invalid_state', flow.invalidTitle, OTHER_BROWSER);
  const st = await consumeOAuthState(deps.database.db, q.state, flow.provider, clock(deps));
  if (!st) return failPage(c, 'invalid_state', flow.invalidTitle, INVALID_STATE);
  if (!q.code || q.code.length > 500)
    return failPage(c, 'bad_request', flow.failTitle, `${flow.name} sent no authorization code.`);
  return { st, code: q.code };
}

type OpenedCallback = { st: ConsumedOAuthState; code: string };

/** Registers a flow's callback: the shared half (openCallback), then the provider's `complete`. */
function onCallback(
  app: Hono<AppEnv>,
  flow: Flow,
  complete: (c: Context<AppEnv>, cb: OpenedCallback) => Promise<Response>,
) {
  app.get(flow.callbackPath, async (c) => {
    const cb = await openCallback(c, flow);
    return cb instanceof Response ? cb : complete(c, cb);
  });
}

function provisioningDeps(c: Context<AppEnv>, actor: Actor): ProvisioningDeps {
  const deps = c.get('deps');
  return {
    db: deps.database.db,
    vault: deps.vault,
    tokens: tokensOf(deps),
    publicUrl: deps.config.PUBLIC_URL,
    actor,
    requestId: c.get('requestId'),
    sidebarAppPackage: deps.sidebarAppPackage,
  };
}

function adminActor(c: Context<AppEnv>): { tenantId: string; actor: Actor } {
  const p = c.get('principal')!;
  return { tenantId: p.tenantId, actor: { type: 'admin', userId: p.userId, via: p.via } };
}

export function installRoutes() {
  const app = new Hono<AppEnv>();
  for (const flow of [SLACK, ZENDESK]) {
    const feature = flow.provider === 'slack' ? 'slackInstall' : 'zendesk';
    app.use(flow.startPath, requireFeature(feature, flow.off));
    app.use(flow.callbackPath, requireFeature(feature, flow.off));
  }
  const storeDeps = (deps: AppDeps) => ({
    db: deps.database.db,
    vault: deps.vault,
    ...(deps.now ? { now: deps.now } : {}),
  });

  app.get(SLACK.startPath, (c) =>
    startPage(c, {
      title: 'Add Helpdesk Copilot to Slack',
      intro: 'Slack will ask you to allow Helpdesk Copilot into your workspace, then send you back here.',
      action: SLACK.startPath,
      button: 'Add to Slack',
      joinNote: joinNote(c),
    }),
  );

  app.post(SLACK.startPath, requireSameOrigin, (c) => beginFlow(c, SLACK, null));

  onCallback(app, SLACK, async (c, cb) => {
    const deps = c.get('deps');
    try {
      const grant = await exchangeSlackCode(clientOf(c, SLACK), {
        code: cb.code,
        redirectUri: slackRedirectUri(deps.config.PUBLIC_URL),
        codeVerifier: cb.st.codeVerifier,
      });
      const result = await storeSlackInstall(storeDeps(deps), {
        grant,
        joinTenantId: cb.st.joinTenantId,
        joinUserId: cb.st.joinUserId,
        requestId: c.get('requestId'),
      });
      c.get('log').info('slack installed', { tenantId: result.tenantId, reinstall: result.reinstall });
      return htmlPage(c, 200, `Installed into ${result.name}`, [
        `Helpdesk Copilot is ${result.reinstall ? 'reinstalled' : 'installed'} in ${result.name}.`,
        'Next: connect your Zendesk account, then invite the bot to your support channels.',
      ]);
    } catch (e) {
      return callbackFailure(c, SLACK, e);
    }
  });

  app.get(ZENDESK.startPath, (c) => {
    return startPage(c, {
      title: 'Connect Zendesk',
      intro:
        'Zendesk will ask an administrator of your account to allow Helpdesk Copilot, then send you back here.',
      action: ZENDESK.startPath,
      button: 'Connect Zendesk',
      field: zendeskSubdomainField(c.req.query('subdomain')),
      joinNote: joinNote(c),
    });
  });

  app.post(ZENDESK.startPath, requireSameOrigin, async (c) => {
    const subdomain = await postedZendeskSubdomain(c);
    if (subdomain instanceof Response) return subdomain;
    return beginFlow(c, ZENDESK, subdomain);
  });

  onCallback(app, ZENDESK, async (c, cb) => {
    const deps = c.get('deps');
    const subdomain = cb.st.subdomain;
    if (!subdomain) return failPage(c, 'invalid_state', ZENDESK.invalidTitle, INVALID_STATE);
    // The account is the one the flow started with; a different one in the callback is refused.
    const named = c.req.query('subdomain');
    if (named !== undefined && named.toLowerCase() !== subdomain)
      return failPage(
        c,
        'invalid_subdomain',
        'Zendesk connection refused',
        'The callback names a different Zendesk account than the one this connection was started for.',
      );
    let tenantId: string;
    try {
      const redirectUri = zendeskRedirectUri(deps.config.PUBLIC_URL);
      const exchange = { subdomain, code: cb.code, redirectUri, codeVerifier: cb.st.codeVerifier };
      const pair = await exchangeZendeskCode(clientOf(c, ZENDESK), exchange, clock(deps));
      const { joinTenantId, joinUserId } = cb.st;
      const input = { subdomain, pair, joinTenantId, joinUserId, requestId: c.get('requestId') };
      tenantId = (await storeZendeskConnection(storeDeps(deps), input)).tenantId;
    } catch (e) {
      return callbackFailure(c, ZENDESK, e);
    }
    try {
      await provisionZendesk(provisioningDeps(c, { type: 'system', name: 'zendesk-provisioning' }), tenantId);
    } catch (e) {
      c.get('log').warn('zendesk provisioning failed', { tenantId, error: describeError(e) });
      const status = e instanceof AppError && e.status < 500 ? 400 : 502;
      return htmlPage(c, status, `Connected ${subdomain}.zendesk.com, but setup is incomplete`, [
        'Your Zendesk account is connected, but creating the webhook and triggers failed.',
        'Make sure the person connecting is a Zendesk administrator, then connect again (or use "Provision again" in the admin console).',
        `Request id: ${c.get('requestId')}.`,
      ]);
    }
    return htmlPage(c, 200, `Connected ${subdomain}.zendesk.com`, [
      'Zendesk is connected. A webhook and its triggers now send new tickets, requester replies and agent replies to Helpdesk Copilot.',
      'Next: the admin console shows what is left to set up.',
    ]);
  });

  app.post('/zendesk/provision', requireSameOrigin, requireAdmin, async (c) => {
    const { tenantId, actor } = adminActor(c);
    // The console's "Provision again" button is a form: a browser goes back to the checklist.
    const browser = (c.req.header('accept') ?? '').includes('text/html');
    if (!browser)
      return c.json({ ok: true, ...(await provisionZendesk(provisioningDeps(c, actor), tenantId)) });
    try {
      await provisionZendesk(provisioningDeps(c, actor), tenantId);
    } catch (e) {
      c.get('log').warn('zendesk provisioning failed', { tenantId, error: describeError(e) });
      return failPage(
        c,
        isAppError(e) ? e.code : 'internal',
        'Zendesk setup is incomplete',
        isAppError(e) ? e.message : 'Provisioning failed; try again in a moment.',
      );
    }
    return c.redirect('/admin', 303);
  });

  app.post('/zendesk/disconnect', requireSameOrigin, requireAdmin, async (c) => {
    const { tenantId, actor } = adminActor(c);
    return c.json({ ok: true, ...(await disconnectZendesk(provisioningDeps(c, actor), tenantId)) });
  });

  return app;
}

/**
 * The provider redirected back with `?error=` (denied, cancelled, ...): burn the state so the link
 * cannot be replayed, log the provider's word, and show a readable page. Nothing is stored.
 */
async function providerErrorPage(c: Context<AppEnv>, flow: Flow, error: string, state: string | undefined) {
  const deps = c.get('deps');
  await consumeOAuthState(deps.database.db, state, flow.provider, clock(deps));
  const reported = error.slice(0, 100);
  c.get('log').info(`${flow.provider} oauth: provider returned an error`, { error: reported });
  const text = flow.providerError;
  return htmlPage(c, 400, text.title, [
    error === 'access_denied' ? text.denied : `${flow.name} reported: ${reported}.`,
    text.after,
  ]);
}

function callbackFailure(c: Context<AppEnv>, flow: Flow, e: unknown) {
  const { name, failTitle: title } = flow;
  c.get('log').warn(`${name} callback failed`, { error: describeError(e) });
  if (e instanceof AppError) {
    if (e.code === 'conflict') return failPage(c, 'conflict', title, e.message);
    if (e.code === 'rate_limited')
      return failPage(c, 'rate_limited', title, `${name} is busy right now. Wait a minute and start again.`);
    if (e.code === 'upstream_error')
      return failPage(c, 'upstream_error', title, `${name} did not accept the authorization: ${e.message}.`);
  }
  return failPage(c, 'internal', title, 'Something went wrong on our side. Start again, or contact support.');
}
