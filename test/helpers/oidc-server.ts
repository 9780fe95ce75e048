import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OAuth 2.0 authorization server (panva/oidc-provider) on 127.0.0.1, for testing our
 * generic token-endpoint code (oauth/token-endpoint.ts) against something standard: PKCE is
 * required, refresh tokens rotate, one client authenticates with client_secret_basic (like
 * Slack) and one with client_secret_post (like Zendesk).
 * `authorize(...)` drives its development login/consent pages as a browser would and returns
 * the authorization code from the redirect back to `redirectUri`.
 */
export const REDIRECT_URI = 'https://copilot.test/oauth/callback';

export interface TestAuthServer {
  issuer: string;
  tokenEndpoint: string;
  authorize(input: { clientId: string; codeChallenge: string; scope?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startAuthServer(clients: {
  basic: { id: string; secret: string };
  post: { id: string; secret: string };
}): Promise<TestAuthServer> {
  let handler: ((req: never, res: never) => void) | undefined;
  const server: Server = createServer((req, res) => handler?.(req as never, res as never));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const client = (id: string, secret: string, method: string) => ({
    client_id: id,
    client_secret: secret,
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: method,
  });
  const configuration = {
    // Rotate like Slack and Zendesk do: every refresh returns a new refresh token, the old one dies.
    rotateRefreshToken: true,
    clients: [
      client(clients.basic.id, clients.basic.secret, 'client_secret_basic'),
      client(clients.post.id, clients.post.secret, 'client_secret_post'),
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['auth-server-test-cookie-key'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, id: string) {
      return { accountId: id, claims: async () => ({ sub: id }) };
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider: ${String(err)}\n`));
  handler = provider.callback() as never;

  async function authorize(input: {
    clientId: string;
    codeChallenge: string;
    scope?: string;
  }): Promise<string> {
    const jar = new Map<string, string>();
    const keep = (res: Response) => {
      for (const sc of res.headers.getSetCookie()) {
        const [pair] = sc.split(';');
        const i = pair!.indexOf('=');
        const value = pair!.slice(i + 1).trim();
        if (!value || /expires=Thu, 01 Jan 1970/i.test(sc)) jar.delete(pair!.slice(0, i).trim());
        else jar.set(pair!.slice(0, i).trim(), value);
      }
    };
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let url = new URL(`${issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: input.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      // offline_access (refresh tokens) is honoured only together with prompt=consent.
      scope: input.scope ?? 'openid offline_access',
      prompt: 'consent',
      state: 'unused-here',
      code_challenge: input.codeChallenge,
      code_challenge_method: 'S256',
    }).toString();
    for (let hop = 0; hop < 12; hop++) {
      if (!url.href.startsWith(issuer)) {
        const code = url.searchParams.get('code');
        if (!code) throw new Error(`no code in redirect: ${url.href}`);
        return code;
      }
      let res: Response;
      if (url.pathname.startsWith('/interaction/')) {
        const page = await fetch(url, { headers: { cookie: cookie() }, redirect: 'manual' });
        keep(page);
        const prompt = /name="prompt" value="(\w+)"/.exec(await page.text())?.[1] ?? 'consent';
        res = await fetch(url, {
          method: 'POST',
          headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ prompt, login: 'user-1', password: 'x' }),
          redirect: 'manual',
        });
      } else {
        res = await fetch(url, { headers: { cookie: cookie() }, redirect: 'manual' });
      }
      keep(res);
      const location = res.headers.get('location');
      if (!location)
        throw new Error(`auth server answered ${res.status} at ${url.pathname}: ${await res.text()}`);
      url = new URL(location, url);
    }
    throw new Error('too many redirects');
  }

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    authorize,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
