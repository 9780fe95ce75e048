import { z } from 'zod';
import { zendeskBaseUrl } from '../zendesk/api.ts';
import type { RefreshedPair } from './slack.ts';
import { parseOrRefuse } from './slack.ts';
import { exchangeAuthorizationCode, refreshTokenGrant, type TokenEndpointConfig } from './token-endpoint.ts';

/**
 * Zendesk OAuth with a global client (facts sheet 2.1-2.2). Endpoints live on the customer's
 * subdomain. Since 2025 every grant returns a refresh token; a refresh deletes the previous
 * access and refresh tokens (single use); global clients get expiring tokens (access: default
 * 30 min, 5 min..48 h; refresh: default 30 days, 7..90 days), which we ask for explicitly.
 */

/**
 * `read write`: we read tickets, users and organizations (context), write internal notes and
 * replies, and manage webhooks and triggers (provisioning). Zendesk's resource scopes would need
 * tickets:write + users:read + organizations:read + webhooks:write + triggers:write, which is
 * the same reach in practice; the global pair is what Zendesk documents for integrations that
 * provision their own webhooks.
 */
export const ZENDESK_SCOPES = 'read write';
/** Access tokens: 2 hours (Zendesk allows 5 min..48 h). */
export const ZENDESK_ACCESS_TTL_S = 2 * 60 * 60;
/** Refresh tokens: 30 days (7..90); the sweep refreshes well before that. */
export const ZENDESK_REFRESH_TTL_S = 30 * 24 * 60 * 60;

export interface ZendeskClientCredentials {
  clientId: string;
  clientSecret: string;
}

export function zendeskRedirectUri(publicUrl: string): string {
  return `${publicUrl}/zendesk/oauth/callback`;
}

export function zendeskAuthorizeUrl(input: {
  subdomain: string;
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  /** Default ZENDESK_SCOPES (the connection); sign-in asks for `read` only. */
  scope?: string;
}): string {
  const url = new URL('/oauth/authorizations/new', zendeskBaseUrl(input.subdomain));
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', input.clientId);
  url.searchParams.set('redirect_uri', input.redirectUri);
  url.searchParams.set('scope', input.scope ?? ZENDESK_SCOPES);
  url.searchParams.set('state', input.state);
  url.searchParams.set('code_challenge', input.codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

function zendeskEndpoint(creds: ZendeskClientCredentials, subdomain: string): TokenEndpointConfig {
  const base = zendeskBaseUrl(subdomain);
  return {
    label: 'Zendesk',
    issuer: base,
    tokenEndpoint: `${base}/oauth/tokens`,
    clientId: creds.clientId,
    clientSecret: creds.clientSecret,
    // Whether /oauth/tokens takes HTTP Basic is unconfirmed (facts sheet 4.5): the body is documented.
    clientAuth: 'client_secret_post',
  };
}

export const zendeskTokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', { message: 'expected a bearer token' }),
  refresh_token: z.string().min(1),
  scope: z.string().optional(),
  expires_in: z.number().int().positive(),
  refresh_token_expires_in: z.number().int().positive().optional(),
});

function toPair(body: unknown, what: string, now: Date): RefreshedPair & { scope: string } {
  const res = parseOrRefuse(zendeskTokenResponseSchema, body, what);
  return {
    accessToken: res.access_token,
    refreshToken: res.refresh_token,
    accessExpiresAt: new Date(now.getTime() + res.expires_in * 1000),
    refreshExpiresAt: new Date(
      now.getTime() + (res.refresh_token_expires_in ?? ZENDESK_REFRESH_TTL_S) * 1000,
    ),
    scope: res.scope ?? ZENDESK_SCOPES,
  };
}

const ttlParams = {
  expires_in: String(ZENDESK_ACCESS_TTL_S),
  refresh_token_expires_in: String(ZENDESK_REFRESH_TTL_S),
};

export async function exchangeZendeskCode(
  creds: ZendeskClientCredentials,
  input: { subdomain: string; code: string; redirectUri: string; codeVerifier: string; scope?: string },
  now: Date,
): Promise<RefreshedPair & { scope: string }> {
  const body = await exchangeAuthorizationCode(zendeskEndpoint(creds, input.subdomain), {
    code: input.code,
    redirectUri: input.redirectUri,
    codeVerifier: input.codeVerifier,
    params: { ...ttlParams, scope: input.scope ?? ZENDESK_SCOPES },
  });
  return toPair(body, "Zendesk's token response", now);
}

/** grant_type=refresh_token. Zendesk deletes the used pair once this succeeds. */
export async function refreshZendeskToken(
  creds: ZendeskClientCredentials,
  subdomain: string,
  refreshToken: string,
  now: Date,
  signal?: AbortSignal,
): Promise<RefreshedPair & { scope: string }> {
  const body = await refreshTokenGrant(zendeskEndpoint(creds, subdomain), {
    refreshToken,
    params: ttlParams,
    signal,
  });
  return toPair(body, "Zendesk's refresh response", now);
}
