import { http, passthrough } from 'msw';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.ts';
import {
  exchangeAuthorizationCode,
  isReauthError,
  refreshTokenGrant,
  type TokenEndpointConfig,
} from '../../src/oauth/token-endpoint.ts';
import { useMsw } from '../helpers/msw.ts';
import { REDIRECT_URI, startAuthServer, type TestAuthServer } from '../helpers/oidc-server.ts';

// The in-process authorization server is real network on 127.0.0.1: let it through msw.
useMsw(http.all(/^http:\/\/127\.0\.0\.1:\d+\//, () => passthrough()));

const clients = {
  basic: { id: 'client-basic', secret: 'secret-basic-1' },
  post: { id: 'client-post', secret: 'secret-post-1' },
};

describe('generic token endpoint against a real OAuth server (oidc-provider)', () => {
  let as: TestAuthServer;
  beforeAll(async () => {
    as = await startAuthServer(clients);
  });
  afterAll(() => as?.close());

  const cfg = (kind: 'basic' | 'post', over: Partial<TokenEndpointConfig> = {}): TokenEndpointConfig => ({
    label: 'Test AS',
    issuer: as.issuer,
    tokenEndpoint: as.tokenEndpoint,
    clientId: clients[kind].id,
    clientSecret: clients[kind].secret,
    clientAuth: kind === 'basic' ? 'client_secret_basic' : 'client_secret_post',
    dangerouslyAllowInsecureHttp: true,
    ...over,
  });

  async function codeFor(kind: 'basic' | 'post') {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
    const code = await as.authorize({ clientId: clients[kind].id, codeChallenge });
    return { code, codeVerifier };
  }

  for (const kind of ['basic', 'post'] as const) {
    it(`client_secret_${kind}: exchanges a PKCE code, refreshes, and refuses the used refresh token`, async () => {
      const { code, codeVerifier } = await codeFor(kind);
      const tokens = await exchangeAuthorizationCode(cfg(kind), {
        code,
        codeVerifier,
        redirectUri: REDIRECT_URI,
      });
      expect(tokens.access_token).toEqual(expect.any(String));
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.expires_in).toBeGreaterThan(0);
      expect(tokens.refresh_token).toEqual(expect.any(String));

      const next = await refreshTokenGrant(cfg(kind), { refreshToken: tokens.refresh_token! });
      expect(next.access_token).not.toBe(tokens.access_token);
      expect(next.refresh_token).toEqual(expect.any(String));
      expect(next.refresh_token).not.toBe(tokens.refresh_token);

      // Rotated: the old refresh token is dead, which we classify as "re-authorize".
      const err = await refreshTokenGrant(cfg(kind), { refreshToken: tokens.refresh_token! }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({
        code: 'upstream_error',
        retryable: false,
        detail: { oauthError: 'invalid_grant' },
      });
      expect(isReauthError(err)).toBe(true);
    });
  }

  it('a wrong PKCE verifier is invalid_grant, and so is a replayed code', async () => {
    const { code, codeVerifier } = await codeFor('basic');
    const wrong = await exchangeAuthorizationCode(cfg('basic'), {
      code,
      codeVerifier: oauth.generateRandomCodeVerifier(),
      redirectUri: REDIRECT_URI,
    }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ detail: { oauthError: 'invalid_grant' } });

    const second = await codeFor('basic');
    await exchangeAuthorizationCode(cfg('basic'), { ...second, redirectUri: REDIRECT_URI });
    const replay = await exchangeAuthorizationCode(cfg('basic'), {
      ...second,
      redirectUri: REDIRECT_URI,
    }).catch((e: unknown) => e);
    expect(replay).toMatchObject({ detail: { oauthError: 'invalid_grant' } });
    void codeVerifier;
  });

  it('wrong client credentials are invalid_client, which is not a re-authorization case', async () => {
    const { code, codeVerifier } = await codeFor('post');
    const err = await exchangeAuthorizationCode(cfg('post', { clientSecret: 'nope' }), {
      code,
      codeVerifier,
      redirectUri: REDIRECT_URI,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'upstream_error', detail: { oauthError: 'invalid_client' } });
    expect(isReauthError(err)).toBe(false);
  });

  it('refuses a plain-http token endpoint unless explicitly allowed', async () => {
    const err = await refreshTokenGrant(cfg('basic', { dangerouslyAllowInsecureHttp: false }), {
      refreshToken: 'x',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'internal', retryable: false });
    expect((err as Error).message).toContain('https');
  });

  it('an unreachable token endpoint is a retryable upstream error', async () => {
    const down = await startAuthServer(clients);
    const tokenEndpoint = down.tokenEndpoint;
    await down.close();
    const err = await refreshTokenGrant(cfg('basic', { tokenEndpoint }), { refreshToken: 'x' }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'upstream_error', retryable: true });
  });
});
