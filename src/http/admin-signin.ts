import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { AppError, describeError } from '../lib/errors.ts';
import { consumeOAuthState, createOAuthState, STATE_TTL_MS } from '../oauth/state-store.ts';
import { exchangeZendeskCode, zendeskAuthorizeUrl } from '../oauth/zendesk.ts';
import {
  signInClient,
  ZENDESK_SIGNIN_CALLBACK_PATH,
  ZENDESK_SIGNIN_SCOPE,
  zendeskRoleOf,
  zendeskSignInRedirectUri,
} from '../oauth/zendesk-signin.ts';
import {
  consumeSignInState,
  finishSignIn,
  SIGNIN_STATE_TTL_MS,
  SLACK_OIDC,
  slackRoleOf,
  startSignIn,
} from '../slack/signin.ts';
import { tenantIdBySlack, tenantIdByZendeskSubdomain } from '../tenancy/lookup.ts';
import { createSession } from '../tenancy/sessions.ts';
import { errorResponse } from './errors.ts';
import { postedZendeskSubdomain, startPage, zendeskSubdomainField } from './install-pages.ts';
import { tokensOf } from './install-routes.ts';
import { requireSameOrigin } from './middleware.ts';
import { setSessionCookie } from './session.ts';
import type { AppEnv } from './types.ts';
import { messageBody } from './views/admin.ts';
import { sendPage } from './views/layout.ts';

/** Binds a sign-in to the browser that started it (login CSRF): the state must come back in this cookie too. */
const STATE_COOKIE = 'hc_signin_state';
const ZENDESK_STATE_COOKIE = 'hc_signin_zendesk';
const CALLBACK_PATH = '/admin/signin/slack/callback';

/**
 * "Sign in with Zendesk" (src/oauth/zendesk-signin.ts): `GET /admin/signin/zendesk` shows the
 * subdomain field, its same-origin POST starts OAuth on that subdomain when a tenant is connected
 * to it, and the callback reads the user's role and creates the session.
 *
 * "Sign in with Slack" for the admin console: `GET /admin/signin/slack` redirects to the issuer;
 * the callback validates the ID token, finds the tenant by the Slack team (or Enterprise Grid org)
 * in the token, asks Slack's users.info for the user's role with the installation's bot token,
 * and creates a session. Members may sign in (role `member`); admin actions need owner or admin.
 */
/** A sign-in that did not happen: a page saying why, with the way back. */
const signInFailure = (c: Context<AppEnv>) => (status: 400 | 403 | 502 | 503, title: string, text: string) =>
  sendPage(
    c,
    { title, children: messageBody([text], [{ href: '/admin', label: 'Back to the admin page' }]) },
    { status },
  );

/** The session of a person just signed in, its cookie, and the way to the console. */
async function signedIn(c: Context<AppEnv>, input: Omit<Parameters<typeof createSession>[1], 'requestId'>) {
  const session = await createSession(c.get('deps').database.db, { ...input, requestId: c.get('requestId') });
  setSessionCookie(c, session.token, session.expiresAt);
  return c.redirect('/admin', 303);
}

export function adminSignInRoutes() {
  const app = new Hono<AppEnv>();

  app.get('/admin/signin/slack', async (c) => {
    const { config, database, now, slackOidc } = c.get('deps');
    if (!config.features.slackInstall || !config.SLACK_CLIENT_ID) {
      return errorResponse(c, 'feature_disabled', 'Sign in with Slack is off: SLACK_CLIENT_ID is not set.');
    }
    const { url, state } = await startSignIn(database.db, {
      issuer: slackOidc ?? SLACK_OIDC,
      clientId: config.SLACK_CLIENT_ID,
      redirectUri: `${config.PUBLIC_URL}${CALLBACK_PATH}`,
      now: now?.() ?? new Date(),
    });
    setCookie(c, STATE_COOKIE, state, {
      httpOnly: true,
      secure: config.PUBLIC_URL.startsWith('https:'),
      sameSite: 'Lax',
      path: '/admin/signin/slack',
      maxAge: SIGNIN_STATE_TTL_MS / 1000,
    });
    return c.redirect(url.toString(), 302);
  });

  app.get(CALLBACK_PATH, async (c) => {
    const deps = c.get('deps');
    const { config, database, slackOidc } = deps;
    const log = c.get('log');
    if (!config.features.slackInstall || !config.SLACK_CLIENT_ID || !config.SLACK_CLIENT_SECRET) {
      return errorResponse(c, 'feature_disabled', 'Sign in with Slack is off: SLACK_CLIENT_ID is not set.');
    }
    const fail = signInFailure(c);

    const now = deps.now?.() ?? new Date();
    const state = c.req.query('state') ?? '';
    const cookieState = getCookie(c, STATE_COOKIE);
    deleteCookie(c, STATE_COOKIE, { path: '/admin/signin/slack' });
    if (c.req.query('error')) return fail(400, 'Sign-in cancelled', 'Slack did not sign you in. Try again.');
    if (!state || !cookieState || cookieState !== state) {
      return fail(
        400,
        'Sign-in expired',
        'This sign-in did not start in this browser, or it expired. Try again.',
      );
    }
    const issuer = slackOidc ?? SLACK_OIDC;
    try {
      const codeVerifier = await consumeSignInState(database.db, state, now);
      const callbackUrl = new URL(c.req.url);
      const identity = await finishSignIn({
        issuer,
        clientId: config.SLACK_CLIENT_ID,
        clientSecret: config.SLACK_CLIENT_SECRET,
        redirectUri: `${config.PUBLIC_URL}${CALLBACK_PATH}`,
        callbackUrl,
        state,
        codeVerifier,
      });
      let tenantId = await tenantIdBySlack(database.db, {
        teamId: identity.teamId,
        isEnterpriseInstall: false,
      });
      if (!tenantId && identity.enterpriseId) {
        tenantId = await tenantIdBySlack(database.db, {
          enterpriseId: identity.enterpriseId,
          isEnterpriseInstall: true,
        });
      }
      if (!tenantId) {
        log.info('sign-in for a workspace that has not installed the app', { teamId: identity.teamId });
        const install = config.features.slackInstall
          ? html` <a href="/slack/install">Install Helpdesk Copilot in Slack</a> first, then sign in again.`
          : ' Ask whoever runs this service to install it in your Slack workspace first.';
        return sendPage(
          c,
          {
            title: 'Workspace not installed',
            children: messageBody([
              html`Helpdesk Copilot is not installed in your Slack workspace yet.${install}`,
            ]),
          },
          { status: 403 },
        );
      }
      // The installation's bot token, through the token manager (refreshes a rotated token).
      const botToken = await tokensOf(deps).getAccessToken(tenantId, 'slack');
      const { role, name } = await slackRoleOf(botToken, identity.userId);
      return signedIn(c, {
        tenantId,
        userId: identity.userId,
        userName: name ?? identity.name,
        role,
        via: 'slack_oidc',
        now,
      });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      log.warn('slack sign-in failed', { error: describeError(e), detail: e.detail });
      if (e.code === 'invalid_state') return fail(400, 'Sign-in expired', e.message);
      if (e.code === 'forbidden') return fail(403, 'Sign-in refused', e.message);
      if (e.code === 'not_found') {
        return fail(
          403,
          'Workspace not connected',
          'This workspace has no active Slack installation. Reinstall the app.',
        );
      }
      if (e.code === 'feature_disabled') return fail(503, 'Sign-in unavailable', e.message);
      return fail(502, 'Slack sign-in failed', `${e.message} Try again in a moment.`);
    }
  });
  app.get('/admin/signin/zendesk', async (c) => {
    if (!c.get('deps').config.zendeskOAuth)
      return errorResponse(
        c,
        'feature_disabled',
        'Sign in with Zendesk is off: ZENDESK_CLIENT_ID is not set.',
      );
    return startPage(c, {
      title: 'Sign in with Zendesk',
      intro:
        "Zendesk will ask you to sign in to your company's Zendesk and allow Helpdesk Copilot to read who you are. Zendesk admins become admins here, agents members.",
      action: '/admin/signin/zendesk',
      button: 'Sign in with Zendesk',
      field: zendeskSubdomainField(c.req.query('subdomain')),
    });
  });

  app.post('/admin/signin/zendesk', requireSameOrigin, async (c) => {
    const { config, database, now } = c.get('deps');
    const client = config.zendeskOAuth;
    if (!client)
      return errorResponse(
        c,
        'feature_disabled',
        'Sign in with Zendesk is off: ZENDESK_CLIENT_ID is not set.',
      );
    const subdomain = await postedZendeskSubdomain(c);
    if (subdomain instanceof Response) return subdomain;
    const tenantId = await tenantIdByZendeskSubdomain(database.db, subdomain);
    if (!tenantId)
      return sendPage(
        c,
        {
          title: 'Zendesk not connected',
          children: messageBody(
            [
              `${subdomain}.zendesk.com is not connected to Helpdesk Copilot, so nobody can sign in with it yet.`,
            ],
            [
              {
                href: `/zendesk/connect?subdomain=${encodeURIComponent(subdomain)}`,
                label: 'Connect Zendesk',
              },
            ],
          ),
        },
        { status: 403 },
      );
    const st = await createOAuthState(
      database.db,
      { provider: 'zendesk_signin', subdomain, joinTenantId: tenantId },
      now?.() ?? new Date(),
    );
    setCookie(c, ZENDESK_STATE_COOKIE, st.state, {
      httpOnly: true,
      secure: config.PUBLIC_URL.startsWith('https:'),
      sameSite: 'Lax',
      path: '/admin/signin/zendesk',
      maxAge: STATE_TTL_MS / 1000,
    });
    return c.redirect(
      zendeskAuthorizeUrl({
        subdomain,
        clientId: client.clientId,
        redirectUri: zendeskSignInRedirectUri(config.PUBLIC_URL),
        state: st.state,
        codeChallenge: st.codeChallenge,
        scope: ZENDESK_SIGNIN_SCOPE,
      }),
      303,
    );
  });

  app.get(ZENDESK_SIGNIN_CALLBACK_PATH, async (c) => {
    const deps = c.get('deps');
    const { config, database } = deps;
    const client = config.zendeskOAuth;
    if (!client)
      return errorResponse(
        c,
        'feature_disabled',
        'Sign in with Zendesk is off: ZENDESK_CLIENT_ID is not set.',
      );
    const log = c.get('log');
    const fail = signInFailure(c);
    const now = deps.now?.() ?? new Date();
    const state = c.req.query('state') ?? '';
    const cookieState = getCookie(c, ZENDESK_STATE_COOKIE);
    deleteCookie(c, ZENDESK_STATE_COOKIE, { path: '/admin/signin/zendesk' });
    if (c.req.query('error'))
      return fail(400, 'Sign-in cancelled', 'Zendesk did not sign you in. Try again.');
    const code = c.req.query('code');
    if (!state || !cookieState || cookieState !== state || !code)
      return fail(
        400,
        'Sign-in expired',
        'This sign-in did not start in this browser, or it expired. Try again.',
      );
    const st = await consumeOAuthState(database.db, state, 'zendesk_signin', now);
    if (!st?.subdomain || !st.joinTenantId)
      return fail(
        400,
        'Sign-in expired',
        'This sign-in did not start in this browser, or it expired. Try again.',
      );
    const subdomain = st.subdomain;
    let token: string;
    try {
      token = (
        await exchangeZendeskCode(
          client,
          {
            subdomain,
            code,
            redirectUri: zendeskSignInRedirectUri(config.PUBLIC_URL),
            codeVerifier: st.codeVerifier,
            scope: ZENDESK_SIGNIN_SCOPE,
          },
          now,
        )
      ).accessToken;
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      log.warn('zendesk sign-in: code exchange failed', { subdomain, error: describeError(e) });
      return fail(
        502,
        'Zendesk sign-in failed',
        'Zendesk did not confirm the sign-in. Try again in a moment.',
      );
    }
    const zendesk = signInClient(st.joinTenantId, subdomain, token);
    try {
      const me = await zendesk.getCurrentUser();
      const role = zendeskRoleOf(me);
      // The subdomain's tenant now: it must still be the one the flow started for.
      const tenantId = await tenantIdByZendeskSubdomain(database.db, subdomain);
      if (!tenantId || tenantId !== st.joinTenantId)
        return fail(
          403,
          'Zendesk not connected',
          `${subdomain}.zendesk.com is no longer connected to this tenant.`,
        );
      if (!role) {
        log.info('zendesk sign-in refused: not an agent or admin', { tenantId, zendeskRole: me.role });
        return fail(403, 'Sign-in refused', 'Only active Zendesk agents and admins can sign in here.');
      }
      return signedIn(c, {
        tenantId,
        userId: `zendesk:${me.id}`,
        userName: me.name ?? me.email ?? undefined,
        role,
        via: 'zendesk_oauth',
        now,
      });
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      log.warn('zendesk sign-in failed', { subdomain, error: describeError(e) });
      if (e.code === 'forbidden' || e.code === 'tenant_inactive')
        return fail(403, 'Sign-in refused', e.message);
      return fail(502, 'Zendesk sign-in failed', `${e.message} Try again in a moment.`);
    } finally {
      // The role is read: the token has done its work.
      await zendesk.revokeCurrentToken().catch((e: unknown) =>
        log.warn('zendesk sign-in token not revoked (it expires by itself)', {
          subdomain,
          error: describeError(e),
        }),
      );
    }
  });
  return app;
}
