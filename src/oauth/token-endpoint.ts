import * as oauth from 'oauth4webapi';
import { AppError } from '../lib/errors.ts';
import { discardBody } from '../lib/http.ts';

/**
 * The generic half of both install flows: an RFC 6749 token endpoint driven by oauth4webapi
 * (authorization_code with PKCE, refresh_token). Provider quirks plug in through `inspect`
 * (Slack answers errors as HTTP 200 `ok:false`) and `tokenTypes` (Slack's `token_type: "bot"`).
 *
 * Errors are AppErrors: `upstream_error` with `detail.oauthError` (e.g. `invalid_grant`) when
 * the server refused the grant; `retryable` for 5xx, timeouts and network failures;
 * `rate_limited` (retryable, `detail.retryAfterMs`) for 429.
 */
export interface TokenEndpointConfig {
  /** Name shown in error messages ("Slack", "Zendesk"). */
  label: string;
  /** Authorization server identifier (oauth4webapi needs one; not checked against a discovery document). */
  issuer: string;
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  clientAuth: 'client_secret_basic' | 'client_secret_post';
  /** Token types accepted besides bearer/DPoP, lowercase (Slack: `bot`). */
  tokenTypes?: readonly string[];
  /** Sees a clone of the token endpoint's response before oauth4webapi; throw to refuse it. */
  inspect?: (res: Response) => Promise<void>;
  timeoutMs?: number;
  /**
   * Plain-http token endpoints are refused unless this is set: only for tests against a local
   * server. Named so that it cannot be turned on by accident.
   */
  dangerouslyAllowInsecureHttp?: boolean;
}

export type TokenResponse = oauth.TokenEndpointResponse;

function parts(cfg: TokenEndpointConfig) {
  const as: oauth.AuthorizationServer = { issuer: cfg.issuer, token_endpoint: cfg.tokenEndpoint };
  const client: oauth.Client = { client_id: cfg.clientId };
  const auth =
    cfg.clientAuth === 'client_secret_basic'
      ? oauth.ClientSecretBasic(cfg.clientSecret)
      : oauth.ClientSecretPost(cfg.clientSecret);
  const recognizedTokenTypes: oauth.RecognizedTokenTypes = {};
  for (const t of cfg.tokenTypes ?? []) recognizedTokenTypes[t.toLowerCase() as Lowercase<string>] = () => {};
  const requestOptions = (
    params?: Record<string, string>,
    signal?: AbortSignal,
  ): oauth.TokenEndpointRequestOptions => ({
    additionalParameters: params,
    signal: signal
      ? AbortSignal.any([signal, AbortSignal.timeout(cfg.timeoutMs ?? 15_000)])
      : AbortSignal.timeout(cfg.timeoutMs ?? 15_000),
    [oauth.allowInsecureRequests]: cfg.dangerouslyAllowInsecureHttp === true,
  });
  return { as, client, auth, recognizedTokenTypes, requestOptions };
}

/** Statuses we classify before oauth4webapi, which would call them all "unexpected". */
async function precheck(cfg: TokenEndpointConfig, res: Response): Promise<void> {
  if (res.status === 429) {
    const retryAfterMs = Math.max(0, Number(res.headers.get('retry-after') ?? '60') * 1000) || 60_000;
    await discardBody(res);
    throw new AppError('rate_limited', `${cfg.label} is rate limiting token requests`, {
      retryable: true,
      detail: { retryAfterMs, status: 429 },
    });
  }
  if (res.status >= 500) {
    await discardBody(res);
    throw new AppError('upstream_error', `${cfg.label} token endpoint answered ${res.status}`, {
      retryable: true,
      detail: { status: res.status },
    });
  }
  if (cfg.inspect) await cfg.inspect(res.clone());
}

export function toGrantError(cfg: TokenEndpointConfig, e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (e instanceof oauth.ResponseBodyError) {
    return new AppError('upstream_error', `${cfg.label} refused the token request (${e.error})`, {
      retryable: e.status >= 500,
      detail: { oauthError: e.error, status: e.status },
      cause: e,
    });
  }
  if (e instanceof oauth.OperationProcessingError && e.code === oauth.HTTP_REQUEST_FORBIDDEN) {
    return new AppError('internal', `${cfg.label} token endpoint must use https`, { cause: e });
  }
  // oauth4webapi's argument checks (TypeError with an ERR_* code): our bug, not the network.
  if (e instanceof TypeError && typeof (e as { code?: unknown }).code === 'string') {
    return new AppError('internal', `${cfg.label} token request was malformed: ${e.message}`, { cause: e });
  }
  if (e instanceof oauth.OperationProcessingError || e instanceof oauth.UnsupportedOperationError) {
    return new AppError('upstream_error', `${cfg.label} sent a token response we do not understand`, {
      detail: { reason: e.message },
      cause: e,
    });
  }
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return new AppError('upstream_error', `${cfg.label} token endpoint did not answer in time`, {
      retryable: true,
      detail: { timeout: true },
      cause: e,
    });
  }
  // fetch failures (TypeError): worth another try later.
  return new AppError('upstream_error', `${cfg.label} token endpoint could not be reached`, {
    retryable: true,
    cause: e,
  });
}

/** authorization_code grant with PKCE. Returns the whole parsed JSON body (provider fields included). */
export async function exchangeAuthorizationCode(
  cfg: TokenEndpointConfig,
  input: { code: string; redirectUri: string; codeVerifier: string; params?: Record<string, string> },
): Promise<TokenResponse> {
  const { as, client, auth, recognizedTokenTypes, requestOptions } = parts(cfg);
  try {
    // validateAuthResponse brands the parameters oauth4webapi accepts; our own state store has
    // already checked `state` (single use, hashed), so the library's state check is skipped.
    const callback = oauth.validateAuthResponse(
      as,
      client,
      new URLSearchParams({ code: input.code }),
      oauth.skipStateCheck,
    );
    const res = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      auth,
      callback,
      input.redirectUri,
      input.codeVerifier,
      requestOptions(input.params),
    );
    await precheck(cfg, res);
    return await oauth.processAuthorizationCodeResponse(as, client, res, { recognizedTokenTypes });
  } catch (e) {
    throw toGrantError(cfg, e);
  }
}

/**
 * refresh_token grant. The caller must persist the returned pair before using it (single-use
 * refresh tokens). `signal` aborts the request (the token manager bounds it while holding a row lock).
 */
export async function refreshTokenGrant(
  cfg: TokenEndpointConfig,
  input: { refreshToken: string; params?: Record<string, string>; signal?: AbortSignal | undefined },
): Promise<TokenResponse> {
  const { as, client, auth, recognizedTokenTypes, requestOptions } = parts(cfg);
  try {
    const res = await oauth.refreshTokenGrantRequest(
      as,
      client,
      auth,
      input.refreshToken,
      requestOptions(input.params, input.signal),
    );
    await precheck(cfg, res);
    return await oauth.processRefreshTokenResponse(as, client, res, { recognizedTokenTypes });
  } catch (e) {
    throw toGrantError(cfg, e);
  }
}

/** OAuth error codes that mean "the grant is dead: send a human through authorization again". */
export const REAUTH_ERRORS = new Set([
  'invalid_grant',
  'invalid_refresh_token',
  'token_revoked',
  'token_expired',
  'invalid_token',
]);

export function isReauthError(e: unknown): boolean {
  if (!(e instanceof AppError) || e.retryable) return false;
  const code = e.detail?.oauthError;
  return typeof code === 'string' && REAUTH_ERRORS.has(code);
}
