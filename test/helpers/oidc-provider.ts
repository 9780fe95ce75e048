import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { ALLOW_INSECURE_OIDC, type OidcIssuer } from '../../src/slack/signin.ts';

/**
 * A real OpenID Connect provider (panva/oidc-provider) on 127.0.0.1 with a random port, standing
 * in for Slack's issuer. Accounts carry Slack's claims (`https://slack.com/team_id`, ...).
 * `signIn(authorizeUrl, accountId)` drives its development login and consent pages like a
 * browser would and returns the redirect back to our callback.
 */
export interface TestOidcProvider {
  issuer: OidcIssuer;
  signIn(authorizeUrl: string, accountId: string): Promise<URL>;
  close(): Promise<void>;
}

export async function startOidcProvider(opts: {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  accounts: Record<string, { teamId: string; name: string; email: string }>;
}): Promise<TestOidcProvider> {
  let handler: ((req: never, res: never) => void) | undefined;
  const server: Server = createServer((req, res) => handler?.(req as never, res as never));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const issuerUrl = `http://127.0.0.1:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };

  const provider = new Provider(issuerUrl, {
    clients: [
      {
        client_id: opts.clientId,
        client_secret: opts.clientSecret,
        redirect_uris: [opts.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['oidc-provider-test-cookie-key'] },
    claims: {
      openid: ['sub', 'https://slack.com/user_id', 'https://slack.com/team_id'],
      profile: ['name'],
      email: ['email'],
    },
    // Slack puts its claims in the ID token itself; so does this provider then.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
    },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const a = opts.accounts[id];
      if (!a) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            'https://slack.com/user_id': id,
            'https://slack.com/team_id': a.teamId,
            name: a.name,
            email: a.email,
          };
        },
      };
    },
  });
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider: ${String(err)}\n`));
  handler = provider.callback() as never;

  const issuer: OidcIssuer = {
    issuer: issuerUrl,
    authorization_endpoint: `${issuerUrl}/auth`,
    token_endpoint: `${issuerUrl}/token`,
    jwks_uri: `${issuerUrl}/jwks`,
    [ALLOW_INSECURE_OIDC]: true,
  };

  async function signIn(authorizeUrl: string, accountId: string): Promise<URL> {
    const jar = new Map<string, string>();
    const keep = (res: Response) => {
      for (const sc of res.headers.getSetCookie()) {
        const [pair] = sc.split(';');
        const i = pair!.indexOf('=');
        const name = pair!.slice(0, i).trim();
        const value = pair!.slice(i + 1).trim();
        if (!value || /expires=Thu, 01 Jan 1970/i.test(sc)) jar.delete(name);
        else jar.set(name, value);
      }
    };
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let url = new URL(authorizeUrl);
    for (let hop = 0; hop < 12; hop++) {
      if (!url.href.startsWith(issuerUrl)) return url; // back at the client's redirect_uri
      let res: Response;
      if (url.pathname.startsWith('/interaction/')) {
        const page = await fetch(url, { headers: { cookie: cookie() }, redirect: 'manual' });
        keep(page);
        const html = await page.text();
        const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1] ?? 'consent';
        res = await fetch(url, {
          method: 'POST',
          headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ prompt, login: accountId, password: 'irrelevant' }),
          redirect: 'manual',
        });
      } else {
        res = await fetch(url, { headers: { cookie: cookie() }, redirect: 'manual' });
      }
      keep(res);
      const location = res.headers.get('location');
      if (!location)
        throw new Error(`oidc-provider answered ${res.status} at ${url.pathname}: ${await res.text()}`);
      url = new URL(location, url);
    }
    throw new Error('too many redirects in the test OIDC flow');
  }

  return {
    issuer,
    signIn,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
