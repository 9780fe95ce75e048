import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { z } from 'zod';
import type { Db } from '../db/client.ts';
import { AppError } from '../lib/errors.ts';
import { toBase64Url } from '../lib/ids.ts';
import { consumeOAuthState, createOAuthState, STATE_TTL_MS } from '../oauth/state-store.ts';
import type { Principal } from '../tenancy/principal.ts';

/**
 * "Sign in with Slack": OpenID Connect authorization code flow with state, nonce and PKCE, using
 * oauth4webapi. Slack is the default issuer; tests point it at an in-process oidc-provider.
 */
export interface OidcIssuer {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  /**
   * Development and tests only: allow http:// endpoints (an in-process provider on 127.0.0.1).
   * Set it with the `ALLOW_INSECURE_OIDC` symbol so it cannot come from parsed JSON by accident.
   */
  [ALLOW_INSECURE_OIDC]?: true;
}
export const ALLOW_INSECURE_OIDC: unique symbol = Symbol('allowInsecureOidc');

export const SLACK_OIDC: OidcIssuer = {
  issuer: 'https://slack.com',
  authorization_endpoint: 'https://slack.com/openid/connect/authorize',
  token_endpoint: 'https://slack.com/api/openid.connect.token',
  jwks_uri: 'https://slack.com/openid/connect/keys',
};

export const SIGNIN_STATE_TTL_MS = STATE_TTL_MS;
export const SIGNIN_SCOPE = 'openid profile email';

/**
 * The nonce is derived from the state (which is random, single-use and bound to the browser by a
 * cookie): oauth_states has no nonce column, and a derived nonce binds the ID token to this flow
 * just as well.
 */
export async function nonceForState(state: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`slack-oidc-nonce:${state}`));
  return toBase64Url(new Uint8Array(d));
}

/**
 * Starts a sign-in: the state (hashed, single-use, 10 minutes) and PKCE verifier go into
 * oauth_states through the install flows' state store, with provider `slack_oidc`.
 */
export async function startSignIn(
  db: Db,
  opts: { issuer: OidcIssuer; clientId: string; redirectUri: string; now: Date },
): Promise<{ url: URL; state: string }> {
  const { state, codeChallenge } = await createOAuthState(db, { provider: 'slack_oidc' }, opts.now);
  const url = new URL(opts.issuer.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', opts.clientId);
  url.searchParams.set('redirect_uri', opts.redirectUri);
  url.searchParams.set('scope', SIGNIN_SCOPE);
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', await nonceForState(state));
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return { url, state };
}

/** Consumes a state once: returns its PKCE verifier, or throws invalid_state (unknown, used, expired, other flow). */
export async function consumeSignInState(db: Db, state: string, now: Date): Promise<string> {
  const consumed = await consumeOAuthState(db, state, 'slack_oidc', now);
  if (!consumed) throw new AppError('invalid_state', 'This sign-in link has expired or was already used.');
  return consumed.codeVerifier;
}

export interface SlackIdentity {
  userId: string;
  teamId: string;
  enterpriseId: string | null;
  name: string | undefined;
  email: string | undefined;
}

const idClaims = z.object({
  sub: z.string().min(1),
  'https://slack.com/user_id': z.string().min(1).optional(),
  'https://slack.com/team_id': z.string().min(1),
  'https://slack.com/enterprise_id': z.string().min(1).optional(),
  name: z.string().optional(),
  email: z.string().optional(),
});

const jwksCache = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function jwksFor(uri: string) {
  let set = jwksCache.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri));
    jwksCache.set(uri, set);
  }
  return set;
}

/**
 * Finishes a sign-in: checks the callback against the expected state, redeems the code with the
 * PKCE verifier, validates the ID token (issuer, audience, expiry, nonce by oauth4webapi; the
 * signature against the issuer's JWKS by jose) and returns the Slack identity claims.
 * Slack reports token errors as HTTP 200 `{ok:false}`, which is checked first (P-S8).
 */
export async function finishSignIn(opts: {
  issuer: OidcIssuer;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  callbackUrl: URL;
  state: string;
  codeVerifier: string;
}): Promise<SlackIdentity> {
  const { issuer } = opts;
  const as: oauth.AuthorizationServer = {
    issuer: issuer.issuer,
    authorization_endpoint: issuer.authorization_endpoint,
    token_endpoint: issuer.token_endpoint,
    jwks_uri: issuer.jwks_uri,
  };
  const client: oauth.Client = { client_id: opts.clientId };
  const insecure = issuer[ALLOW_INSECURE_OIDC] === true;
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, opts.callbackUrl, opts.state);
  } catch (e) {
    throw new AppError('invalid_state', 'Slack did not complete the sign-in.', { cause: e });
  }
  let response: Response;
  try {
    response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.ClientSecretPost(opts.clientSecret),
      params,
      opts.redirectUri,
      opts.codeVerifier,
      insecure ? { [oauth.allowInsecureRequests]: true } : {},
    );
  } catch (e) {
    throw new AppError('upstream_error', 'Could not reach Slack to finish the sign-in.', {
      cause: e,
      retryable: true,
    });
  }
  const peek = (await response
    .clone()
    .json()
    .catch(() => null)) as { ok?: unknown; error?: unknown } | null;
  if (peek && peek.ok === false) {
    throw new AppError('upstream_error', 'Slack refused the sign-in code.', {
      detail: { slackError: typeof peek.error === 'string' ? peek.error : 'unknown' },
    });
  }
  let result: oauth.TokenEndpointResponse;
  try {
    result = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: await nonceForState(opts.state),
      requireIdToken: true,
    });
  } catch (e) {
    throw new AppError('upstream_error', 'The identity token from Slack did not validate.', { cause: e });
  }
  const idToken = result.id_token;
  if (!idToken) throw new AppError('upstream_error', 'Slack returned no identity token.');
  try {
    await jwtVerify(idToken, jwksFor(issuer.jwks_uri), {
      issuer: issuer.issuer,
      audience: opts.clientId,
      clockTolerance: 30,
    });
  } catch (e) {
    throw new AppError('upstream_error', 'The identity token signature did not verify.', { cause: e });
  }
  const claims = idClaims.safeParse(oauth.getValidatedIdTokenClaims(result));
  if (!claims.success)
    throw new AppError('upstream_error', 'The identity token lacks the Slack team and user.');
  const c = claims.data;
  return {
    userId: c['https://slack.com/user_id'] ?? c.sub,
    teamId: c['https://slack.com/team_id'],
    enterpriseId: c['https://slack.com/enterprise_id'] ?? null,
    name: c.name,
    email: c.email,
  };
}

const usersInfo = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  user: z
    .object({
      id: z.string(),
      name: z.string().optional(),
      real_name: z.string().optional(),
      deleted: z.boolean().optional(),
      is_owner: z.boolean().optional(),
      is_primary_owner: z.boolean().optional(),
      is_admin: z.boolean().optional(),
    })
    .optional(),
});

export const SLACK_API = 'https://slack.com/api';

/**
 * The user's role in the workspace from `users.info` (is_owner / is_admin), called with the
 * installation's bot token. Slack answers errors as HTTP 200 `{ok:false}`.
 */
export async function slackRoleOf(
  botToken: string,
  userId: string,
): Promise<{ role: Principal['role']; name: string | undefined }> {
  const url = new URL(`${SLACK_API}/users.info`);
  url.searchParams.set('user', userId);
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${botToken}` }, redirect: 'error' });
  } catch (e) {
    throw new AppError('upstream_error', 'Could not reach Slack to check your role.', {
      cause: e,
      retryable: true,
    });
  }
  const parsed = usersInfo.safeParse(await res.json().catch(() => null));
  if (!res.ok || !parsed.success) {
    throw new AppError('upstream_error', 'Slack answered users.info with something unexpected.', {
      retryable: res.status >= 500,
    });
  }
  const body = parsed.data;
  if (!body.ok || !body.user) {
    throw new AppError('upstream_error', 'Slack would not tell us your role in the workspace.', {
      detail: { slackError: body.error ?? 'unknown' },
    });
  }
  if (body.user.deleted) throw new AppError('forbidden', 'This Slack account is deactivated.');
  const u = body.user;
  const role = u.is_owner || u.is_primary_owner ? 'owner' : u.is_admin ? 'admin' : 'member';
  return { role, name: u.real_name || u.name };
}
