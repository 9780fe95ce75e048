import { z } from 'zod';
import manifest from '../../manifest.json' with { type: 'json' };
import { AppError } from '../lib/errors.ts';
import { exchangeAuthorizationCode, refreshTokenGrant, type TokenEndpointConfig } from './token-endpoint.ts';

/**
 * Slack OAuth v2 (bot tokens, token rotation on). Facts: the authorize URL and oauth.v2.access
 * (facts sheet 1.1); errors come back as HTTP 200 `ok:false` and `token_type` is "bot" (1.9);
 * with rotation the access token lives 12 h and each refresh revokes the used refresh token (1.2).
 */
export const SLACK_AUTHORIZE_URL = 'https://slack.com/oauth/v2/authorize';
export const SLACK_TOKEN_URL = 'https://slack.com/api/oauth.v2.access';

/** Bot scopes requested at install: exactly the manifest's, so the two cannot drift apart. */
export const SLACK_BOT_SCOPES: readonly string[] = manifest.oauth_config.scopes.bot;

export interface SlackClientCredentials {
  clientId: string;
  clientSecret: string;
}

export function slackRedirectUri(publicUrl: string): string {
  return `${publicUrl}/slack/oauth/callback`;
}

export function slackAuthorizeUrl(input: {
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
}): string {
  const url = new URL(SLACK_AUTHORIZE_URL);
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('scope', SLACK_BOT_SCOPES.join(','));
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('state', input.state);
  url.searchParams.set('code_challenge', input.codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

/** Slack's "not ok" answers that are worth retrying later rather than fatal. */
const SLACK_TRANSIENT = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable']);

const slackErrorBody = z.object({ ok: z.literal(false), error: z.string().max(200) });

function slackEndpoint(creds: SlackClientCredentials): TokenEndpointConfig {
  return {
    label: 'Slack',
    issuer: 'https://slack.com',
    tokenEndpoint: SLACK_TOKEN_URL,
    clientId: creds.clientId,
    clientSecret: creds.clientSecret,
    // Slack recommends HTTP Basic for the client credentials.
    clientAuth: 'client_secret_basic',
    tokenTypes: ['bot'],
    async inspect(res) {
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        return; // oauth4webapi reports the non-JSON body
      }
      const err = slackErrorBody.safeParse(body);
      if (err.success) {
        throw new AppError('upstream_error', `Slack refused the token request (${err.data.error})`, {
          retryable: SLACK_TRANSIENT.has(err.data.error),
          detail: { oauthError: err.data.error, status: res.status },
        });
      }
    },
  };
}

const idName = z.object({ id: z.string().min(1), name: z.string().optional() });

/** oauth.v2.access for a bot install. Unknown shapes (no bot token, wrong type) are refused. */
export const slackInstallResponseSchema = z.object({
  ok: z.literal(true),
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bot', { message: 'expected a bot token' }),
  scope: z.string().default(''),
  bot_user_id: z.string().optional(),
  app_id: z.string().optional(),
  team: idName.nullable().optional(),
  enterprise: idName.nullable().optional(),
  is_enterprise_install: z.boolean().default(false),
  authed_user: z.object({ id: z.string() }).partial().optional(),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().int().positive().optional(),
});
export type SlackInstallResponse = z.infer<typeof slackInstallResponseSchema>;

export const slackRefreshResponseSchema = z.object({
  ok: z.literal(true),
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().int().positive(),
});

export function parseOrRefuse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new AppError('upstream_error', `${what} had an unexpected shape`, {
      detail: { issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) },
    });
  }
  return parsed.data;
}

export async function exchangeSlackCode(
  creds: SlackClientCredentials,
  input: { code: string; redirectUri: string; codeVerifier: string },
): Promise<SlackInstallResponse> {
  const body = await exchangeAuthorizationCode(slackEndpoint(creds), input);
  const res = parseOrRefuse(slackInstallResponseSchema, body, "Slack's install response");
  if (res.is_enterprise_install ? !res.enterprise?.id : !res.team?.id) {
    throw new AppError('upstream_error', "Slack's install response names no workspace or organization");
  }
  return res;
}

export interface RefreshedPair {
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: Date;
  refreshExpiresAt: Date | null;
}

/** grant_type=refresh_token at oauth.v2.access. Slack revokes the used refresh token once this succeeds. */
export async function refreshSlackToken(
  creds: SlackClientCredentials,
  refreshToken: string,
  now: Date,
  signal?: AbortSignal,
): Promise<RefreshedPair> {
  const body = await refreshTokenGrant(slackEndpoint(creds), { refreshToken, signal });
  const res = parseOrRefuse(slackRefreshResponseSchema, body, "Slack's refresh response");
  return {
    accessToken: res.access_token,
    refreshToken: res.refresh_token,
    accessExpiresAt: new Date(now.getTime() + res.expires_in * 1000),
    refreshExpiresAt: null,
  };
}
