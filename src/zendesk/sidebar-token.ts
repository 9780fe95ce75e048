import { and, eq, ne } from 'drizzle-orm';
import { decodeJwt, decodeProtectedHeader, importSPKI, type JWTPayload, jwtVerify } from 'jose';
import type { Db } from '../db/client.ts';
import { sidebarInstallations, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../lib/errors.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { tenantIdByZendeskSubdomain } from '../tenancy/lookup.ts';
import { createZendeskApi, ZENDESK_SUBDOMAIN } from './api.ts';
import { zendeskResources } from './resources.ts';

/**
 * Verifies the signed-URL token Zendesk posts (form field `token`) on the sidebar's first load:
 * an RS256 JWT signed with the app's private key (facts sheet §2.7, P-Z6).
 *
 * What a caller may rely on: a returned identity names exactly one tenant (the one whose live
 * connection has the token's `iss` subdomain), one installation recorded for that tenant (the
 * token's `aud`), and one Zendesk user (the agent). The signature was checked with the app's
 * public key from Zendesk's Apps API for that tenant's account (cached at most `ttlMs`), the
 * algorithm is RS256 and nothing else (no `none`, no HS256 keyed with the public key), `iss` and
 * `aud` equal the values built from the subdomain and installation, and `exp` is in the future.
 * Anything else throws `SidebarTokenError` (401) with a reason the refusal page shows; nothing
 * is written.
 */
export type SidebarRefusal =
  | 'missing_token'
  | 'malformed'
  | 'algorithm'
  | 'unknown_account'
  | 'unknown_installation'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'bad_signature'
  | 'expired'
  | 'no_agent'
  | 'key_unavailable';

export const REFUSAL_TEXT: Record<SidebarRefusal, string> = {
  missing_token: 'Zendesk did not send a signed token. Open the app from a ticket in Zendesk.',
  malformed: 'The signed token from Zendesk could not be read.',
  algorithm: 'The token is not signed with RS256, the only algorithm Zendesk uses for this app.',
  unknown_account: 'This Zendesk account is not connected to Helpdesk Copilot.',
  unknown_installation: 'This app installation is not registered for this Zendesk account.',
  wrong_audience: 'The token was issued for another app installation.',
  wrong_issuer: 'The token was issued by another Zendesk account.',
  bad_signature: "The token's signature does not match this app's public key.",
  expired: 'The token has expired. Reload the ticket in Zendesk.',
  no_agent: 'The token does not name a Zendesk user.',
  key_unavailable: "The app's public key could not be fetched from Zendesk. Try again in a minute.",
};

export class SidebarTokenError extends AppError {
  readonly reason: SidebarRefusal;
  constructor(reason: SidebarRefusal, opts: { cause?: unknown } = {}) {
    super(reason === 'key_unavailable' ? 'upstream_error' : 'unauthorized', REFUSAL_TEXT[reason], {
      retryable: reason === 'key_unavailable',
      cause: opts.cause,
      detail: { reason },
    });
    this.name = 'SidebarTokenError';
    this.reason = reason;
  }
}

export interface SidebarIdentity {
  tenantId: string;
  connectionId: string;
  subdomain: string;
  installationId: string;
  appId: string;
  agentId: string;
}

/** The app's public keys per (subdomain, app id), kept at most `ttlMs`, at most `maxEntries`. */
export interface PublicKeyCache {
  get(cacheKey: string, fetchPem: () => Promise<string>, opts?: { refresh?: boolean }): Promise<CryptoKey>;
  /** Whether the entry may be refreshed now (at most once per `minRefreshMs`, so a forged token cannot make us hammer Zendesk). */
  mayRefresh(cacheKey: string): boolean;
}

export function createPublicKeyCache(
  opts: { ttlMs?: number; maxEntries?: number; minRefreshMs?: number; now?: () => Date } = {},
): PublicKeyCache {
  const ttlMs = opts.ttlMs ?? 10 * 60_000;
  const maxEntries = opts.maxEntries ?? 1000;
  const minRefreshMs = opts.minRefreshMs ?? 60_000;
  const now = () => (opts.now ? opts.now().getTime() : Date.now());
  const entries = new Map<string, { key: Promise<CryptoKey>; at: number }>();
  return {
    async get(cacheKey, fetchPem, o = {}) {
      const hit = entries.get(cacheKey);
      if (hit && !o.refresh && now() - hit.at < ttlMs) return hit.key;
      const key = fetchPem().then((pem) => importSPKI(pem, 'RS256'));
      entries.delete(cacheKey);
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(cacheKey, { key, at: now() });
      // A failed fetch is not cached.
      key.catch(() => {
        if (entries.get(cacheKey)?.key === key) entries.delete(cacheKey);
      });
      return key;
    },
    mayRefresh(cacheKey) {
      const hit = entries.get(cacheKey);
      return !hit || now() - hit.at >= minRefreshMs;
    },
  };
}

export interface SidebarTokenDeps {
  db: Db;
  tokens: TokenProvider;
  keys: PublicKeyCache;
  now?: () => Date;
}

const INSTALLATION_AUD =
  /^https:\/\/([a-z0-9-]{1,63})\.zendesk\.com\/api\/v2\/apps\/installations\/(\d{1,20})\.json$/;
const ISS = /^([a-z0-9-]{1,63})\.zendesk\.com$/;

/** The Zendesk user of the token: `sub` as a user URL or a numeric id (also `user_id`, `context.user_id`). */
function agentOf(claims: JWTPayload): string | null {
  const candidates: unknown[] = [
    claims.sub,
    claims.user_id,
    (claims.context as Record<string, unknown> | undefined)?.user_id,
  ];
  for (const c of candidates) {
    const s = typeof c === 'number' ? String(c) : typeof c === 'string' ? c : '';
    const m = /^(\d{1,20})$/.exec(s) ?? /\/api\/v2\/users\/(\d{1,20})\.json$/.exec(s);
    if (m) return m[1]!;
  }
  return null;
}

export async function verifySidebarToken(
  deps: SidebarTokenDeps,
  token: string | undefined,
): Promise<SidebarIdentity> {
  if (!token) throw new SidebarTokenError('missing_token');
  if (token.length > 8192 || token.split('.').length !== 3) throw new SidebarTokenError('malformed');
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    unverified = decodeJwt(token);
  } catch (cause) {
    throw new SidebarTokenError('malformed', { cause });
  }
  if (header.alg !== 'RS256') throw new SidebarTokenError('algorithm');

  // Which tenant and installation the token claims; only a verified signature makes it true.
  const iss = typeof unverified.iss === 'string' ? ISS.exec(unverified.iss) : null;
  if (!iss || !ZENDESK_SUBDOMAIN.test(iss[1]!)) throw new SidebarTokenError('wrong_issuer');
  const subdomain = iss[1]!;
  const audList = Array.isArray(unverified.aud) ? unverified.aud : [unverified.aud];
  if (audList.length !== 1 || typeof audList[0] !== 'string') throw new SidebarTokenError('wrong_audience');
  const aud = INSTALLATION_AUD.exec(audList[0]);
  if (!aud) throw new SidebarTokenError('wrong_audience');
  // An installation of another account's app (another subdomain) never matches this issuer.
  if (aud[1] !== subdomain) throw new SidebarTokenError('wrong_audience');
  const installationId = aud[2]!;

  const tenantId = await tenantIdByZendeskSubdomain(deps.db, subdomain);
  if (!tenantId) throw new SidebarTokenError('unknown_account');
  const found = await withTenant(deps.db, tenantId, async (tx) => {
    const [conn] = await tx
      .select({ id: zendeskConnections.id })
      .from(zendeskConnections)
      .where(and(eq(zendeskConnections.subdomain, subdomain), ne(zendeskConnections.status, 'revoked')))
      .limit(1);
    if (!conn) return null;
    const [inst] = await tx
      .select({ appId: sidebarInstallations.appId })
      .from(sidebarInstallations)
      .where(
        and(
          eq(sidebarInstallations.installationId, installationId),
          eq(sidebarInstallations.connectionId, conn.id),
          eq(sidebarInstallations.status, 'active'),
        ),
      )
      .limit(1);
    return { connectionId: conn.id, appId: inst?.appId ?? null };
  });
  if (!found) throw new SidebarTokenError('unknown_account');
  if (!found.appId) throw new SidebarTokenError('unknown_installation');
  const appId = found.appId;

  const cacheKey = `${subdomain}:${appId}`;
  const fetchPem = () =>
    zendeskResources(
      createZendeskApi({ tenantId, subdomain, tokens: deps.tokens, maxInlineWaitMs: 0 }),
    ).getAppPublicKey(appId);
  const verifyWith = async (refresh: boolean) => {
    let key: CryptoKey;
    try {
      key = await deps.keys.get(cacheKey, fetchPem, { refresh });
    } catch (cause) {
      throw new SidebarTokenError('key_unavailable', { cause });
    }
    return jwtVerify(token, key, {
      algorithms: ['RS256'],
      issuer: `${subdomain}.zendesk.com`,
      audience: `https://${subdomain}.zendesk.com/api/v2/apps/installations/${installationId}.json`,
      requiredClaims: ['exp'],
      currentDate: deps.now?.() ?? new Date(),
      clockTolerance: 30,
    });
  };
  let claims: JWTPayload;
  try {
    claims = (await verifyWith(false)).payload;
  } catch (e) {
    let err: unknown = e;
    // The app's key may have been rotated since we cached it: fetch it again, at most once a minute.
    if (codeOf(e) === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' && deps.keys.mayRefresh(cacheKey)) {
      try {
        claims = (await verifyWith(true)).payload;
        err = null;
      } catch (e2) {
        err = e2;
      }
    }
    if (err) throw toRefusal(err);
    claims = claims!;
  }
  const agentId = agentOf(claims);
  if (!agentId) throw new SidebarTokenError('no_agent');
  return { tenantId, connectionId: found.connectionId, subdomain, installationId, appId, agentId };
}

function codeOf(e: unknown): string | undefined {
  return e && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function toRefusal(e: unknown): AppError {
  if (e instanceof AppError) return e;
  switch (codeOf(e)) {
    case 'ERR_JWT_EXPIRED':
      return new SidebarTokenError('expired', { cause: e });
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new SidebarTokenError('algorithm', { cause: e });
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new SidebarTokenError('bad_signature', { cause: e });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (e as { claim?: string }).claim;
      if (claim === 'aud') return new SidebarTokenError('wrong_audience', { cause: e });
      if (claim === 'iss') return new SidebarTokenError('wrong_issuer', { cause: e });
      return new SidebarTokenError('malformed', { cause: e });
    }
    default:
      return new SidebarTokenError('malformed', { cause: e });
  }
}
