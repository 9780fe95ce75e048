import { and, eq } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import type { Db, Tx } from '../db/client.ts';
import { slackInstallations, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, describeError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Actor } from '../tenancy/context.ts';
import type { Vault } from '../tenancy/vault.ts';
import { liveSlackInstallation, liveZendeskConnection } from './connections.ts';
import { type RefreshedPair, refreshSlackToken } from './slack.ts';
import { isReauthError } from './token-endpoint.ts';
import type { Provider, TokenProvider } from './token-provider.ts';
import { refreshZendeskToken } from './zendesk.ts';

/**
 * Provider access tokens per tenant, refreshed safely. Both Slack and Zendesk refresh tokens are
 * single-use (the provider revokes the used one), so two refreshes of one connection racing
 * would leave the loser holding a dead token (facts sheet P-S1, P-Z4). Hence:
 *
 * - across processes: the refresh runs inside withTenant holding `SELECT ... FOR UPDATE` on the
 *   connection row; after taking the lock the row is re-read (another process may have refreshed
 *   already), and the new pair plus token_version+1 are written in that same transaction before
 *   any caller sees the new token;
 * - within a process: concurrent callers for one connection share one promise (single flight);
 * - the provider call made while holding the lock is aborted after `refreshTimeoutMs` (default
 *   10 s), so a hung provider cannot keep the row locked: the transaction rolls back, the
 *   connection is unchanged and the caller gets a retryable upstream_error.
 *
 * Cache: the access token handed out is kept in process per (tenant, provider) with its token
 * version, so a ticket's many Zendesk calls cost no database read and no decryption. An entry
 * lives until the earlier of `CACHE_TTL_MS` (60 s) after it was read and `MIN_VALIDITY_MS`
 * before the token expires, so a token handed out is still valid for a minute, and a revocation
 * made elsewhere (uninstall, disconnect, another process's refresh) is seen within 60 s at the
 * latest. A caller whose token got a 401 reports it with `invalidate(tenantId, provider, token)`:
 * the entry goes, and the next call refreshes unless the stored token version has moved past the
 * refused one. The cache holds at most `maxEntries` (default 1000) tenants, least recently used
 * out first.
 *
 * A dead grant (invalid_grant / invalid_refresh_token) sets status needs_reauth with a reason,
 * is audited, and throws AppError('forbidden', detail.status 'needs_reauth'). Transient failures
 * throw a retryable AppError and change nothing.
 */
export const MIN_VALIDITY_MS = 60_000;
/** How long a token read from the database is served from memory at most. */
export const CACHE_TTL_MS = 60_000;
export const CACHE_MAX_ENTRIES = 1000;
/** Bound on the provider's refresh call made while holding the connection's row lock. */
export const REFRESH_TIMEOUT_MS = 10_000;

export interface TokenManagerDeps {
  db: Db;
  vault: Vault;
  config: Pick<Config, 'slackOAuth' | 'zendeskOAuth'>;
  logger: Logger;
  now?: () => Date;
  cache?: { ttlMs?: number; maxEntries?: number };
  refreshTimeoutMs?: number;
}

/** When a refresh is due beyond "expires within a minute" (the sweep's criteria). */
export interface Due {
  /** Refresh when the access token expires within this many ms. */
  accessWithinMs?: number;
  /** Refresh when the refresh token expires within this many ms (Zendesk). */
  refreshWithinMs?: number;
}

export interface TokenManager extends TokenProvider {
  invalidate(tenantId: string, provider: Provider, token?: string): void;
  /** Refreshes under the row lock when `due` still holds after re-reading; for the sweep. */
  refreshIfDue(tenantId: string, provider: Provider, due: Due): Promise<'refreshed' | 'fresh'>;
}

type Row = {
  id: string;
  accessToken: string | null;
  refreshToken: string | null;
  accessExpiresAt: Date | null;
  refreshExpiresAt: Date | null;
  tokenVersion: number;
  status: 'active' | 'needs_reauth' | 'revoked';
  subdomain: string | null;
};

const SYSTEM: Actor = { type: 'system', name: 'token-manager' };

async function readRow(tx: Tx, provider: Provider, lock: boolean): Promise<Row | undefined> {
  if (provider === 'slack') {
    const r = await liveSlackInstallation(tx, { lock });
    return r && { ...r, refreshExpiresAt: null, subdomain: null };
  }
  return liveZendeskConnection(tx, { lock });
}

export function needsReauthError(provider: Provider, reason: string | null): AppError {
  return new AppError(
    'forbidden',
    `The ${provider === 'slack' ? 'Slack' : 'Zendesk'} connection must be authorized again by an admin.`,
    { detail: { status: 'needs_reauth', provider, reason } },
  );
}

export function createTokenManager(deps: TokenManagerDeps): TokenManager {
  const now = deps.now ?? (() => new Date());
  const ttlMs = deps.cache?.ttlMs ?? CACHE_TTL_MS;
  const maxEntries = Math.max(1, deps.cache?.maxEntries ?? CACHE_MAX_ENTRIES);
  const inflight = new Map<string, Promise<string>>();
  /**
   * Per (tenant, provider): the token last handed out, its version, until when it may be served
   * without reading the database, and whether a caller reported it refused. Map order is the LRU order.
   */
  type Entry = { token: string; version: number; until: number; rejected: boolean };
  const entries = new Map<string, Entry>();
  const keyOf = (t: string, p: Provider) => `${t}:${p}`;

  function remember(key: string, entry: Entry) {
    entries.delete(key);
    entries.set(key, entry);
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  }

  function isDue(row: Row, at: Date, due: Due, rejectedBelow: number | undefined): boolean {
    if (rejectedBelow !== undefined && row.tokenVersion <= rejectedBelow) return true;
    const left = row.accessExpiresAt
      ? row.accessExpiresAt.getTime() - at.getTime()
      : Number.POSITIVE_INFINITY;
    if (left < Math.max(MIN_VALIDITY_MS, due.accessWithinMs ?? 0)) return true;
    if (due.refreshWithinMs !== undefined && row.refreshExpiresAt) {
      if (row.refreshExpiresAt.getTime() - at.getTime() < due.refreshWithinMs) return true;
    }
    return false;
  }

  async function callProvider(provider: Provider, row: Row, refreshToken: string, at: Date) {
    const signal = AbortSignal.timeout(deps.refreshTimeoutMs ?? REFRESH_TIMEOUT_MS);
    if (provider === 'slack') {
      const client = deps.config.slackOAuth;
      if (!client) throw new AppError('feature_disabled', 'Slack is not configured (SLACK_CLIENT_ID/SECRET)');
      return refreshSlackToken(client, refreshToken, at, signal);
    }
    const client = deps.config.zendeskOAuth;
    if (!client)
      throw new AppError('feature_disabled', 'Zendesk is not configured (ZENDESK_CLIENT_ID/SECRET)');
    return refreshZendeskToken(client, row.subdomain!, refreshToken, at, signal);
  }

  async function persist(tx: Tx, tenantId: string, provider: Provider, row: Row, pair: RefreshedPair) {
    const accessToken = await deps.vault.seal(tenantId, `${provider}_access_token`, pair.accessToken);
    const refreshToken = await deps.vault.seal(tenantId, `${provider}_refresh_token`, pair.refreshToken);
    const common = {
      accessToken,
      refreshToken,
      accessExpiresAt: pair.accessExpiresAt,
      tokenVersion: row.tokenVersion + 1,
      status: 'active' as const,
      statusDetail: null,
      updatedAt: now(),
    };
    const updated =
      provider === 'slack'
        ? await tx
            .update(slackInstallations)
            .set(common)
            .where(
              and(eq(slackInstallations.id, row.id), eq(slackInstallations.tokenVersion, row.tokenVersion)),
            )
            .returning({ id: slackInstallations.id })
        : await tx
            .update(zendeskConnections)
            .set({ ...common, refreshExpiresAt: pair.refreshExpiresAt })
            .where(
              and(eq(zendeskConnections.id, row.id), eq(zendeskConnections.tokenVersion, row.tokenVersion)),
            )
            .returning({ id: zendeskConnections.id });
    // We hold the row lock, so the compare-and-swap cannot lose; if it ever does, roll back loudly.
    if (updated.length !== 1) throw new AppError('internal', 'token row changed while locked');
  }

  async function markNeedsReauth(tx: Tx, tenantId: string, provider: Provider, row: Row, reason: string) {
    const set = { status: 'needs_reauth' as const, statusDetail: reason, updatedAt: now() };
    if (provider === 'slack')
      await tx.update(slackInstallations).set(set).where(eq(slackInstallations.id, row.id));
    else await tx.update(zendeskConnections).set(set).where(eq(zendeskConnections.id, row.id));
    await audit(
      { tenantId, tx, actor: SYSTEM },
      {
        action: `${provider}.token.needs_reauth`,
        target: row.id,
        outcome: 'failure',
        detail: { reason, tokenVersion: row.tokenVersion },
      },
    );
  }

  type Outcome =
    | { kind: 'token'; token: string; version: number; expiresAt: Date | null; refreshed: boolean }
    | { kind: 'reauth'; reason: string };

  /** One transaction: read; if due, lock, re-read, refresh, persist. */
  async function obtain(
    tenantId: string,
    provider: Provider,
    due: Due,
    rejectedBelow?: number,
  ): Promise<Outcome> {
    const outcome = await withTenant(deps.db, tenantId, async (tx): Promise<Outcome> => {
      let row = await readRow(tx, provider, false);
      if (!row) throw new AppError('not_found', `This tenant has no ${provider} connection.`);
      if (row.status === 'needs_reauth') return { kind: 'reauth', reason: 'status is needs_reauth' };
      if (isDue(row, now(), due, rejectedBelow)) {
        row = await readRow(tx, provider, true);
        if (!row) throw new AppError('not_found', `This tenant has no ${provider} connection.`);
        if (row.status === 'needs_reauth') return { kind: 'reauth', reason: 'status is needs_reauth' };
      }
      const at = now();
      if (!row.accessToken) return { kind: 'reauth', reason: 'no access token stored' };
      if (!isDue(row, at, due, rejectedBelow)) {
        const token = await deps.vault.open(tenantId, `${provider}_access_token`, row.accessToken);
        return {
          kind: 'token',
          token,
          version: row.tokenVersion,
          expiresAt: row.accessExpiresAt,
          refreshed: false,
        };
      }
      if (!row.refreshToken) {
        // No rotation on this grant: a rejected or expired token cannot be renewed by us.
        const expired = row.accessExpiresAt !== null && row.accessExpiresAt.getTime() <= at.getTime();
        if (!expired) {
          const token = await deps.vault.open(tenantId, `${provider}_access_token`, row.accessToken);
          // A refused token that cannot be renewed is not cached: every call asks again.
          return { kind: 'token', token, version: row.tokenVersion, expiresAt: at, refreshed: false };
        }
        await markNeedsReauth(tx, tenantId, provider, row, 'access token expired and no refresh token');
        return { kind: 'reauth', reason: 'access token expired and no refresh token' };
      }
      const refreshToken = await deps.vault.open(tenantId, `${provider}_refresh_token`, row.refreshToken);
      let pair: RefreshedPair;
      try {
        pair = await callProvider(provider, row, refreshToken, at);
      } catch (e) {
        if (isReauthError(e)) {
          const reason = `refresh refused: ${String((e as AppError).detail?.oauthError)}`;
          await markNeedsReauth(tx, tenantId, provider, row, reason);
          return { kind: 'reauth', reason };
        }
        throw e;
      }
      await persist(tx, tenantId, provider, row, pair);
      await audit(
        { tenantId, tx, actor: SYSTEM },
        {
          action: `${provider}.token.refreshed`,
          target: row.id,
          outcome: 'success',
          detail: { tokenVersion: row.tokenVersion + 1, accessExpiresAt: pair.accessExpiresAt.toISOString() },
        },
      );
      return {
        kind: 'token',
        token: pair.accessToken,
        version: row.tokenVersion + 1,
        expiresAt: pair.accessExpiresAt,
        refreshed: true,
      };
    }).catch(async (e: unknown) => {
      // Failures that leave the connection as it was (transient, misconfigured client, odd answer).
      if (e instanceof AppError && e.code !== 'not_found') {
        deps.logger.warn('token refresh failed', { tenantId, provider, error: describeError(e) });
        await withTenant(deps.db, tenantId, (tx) =>
          audit(
            { tenantId, tx, actor: SYSTEM },
            {
              action: `${provider}.token.refresh_failed`,
              outcome: 'failure',
              detail: { error: describeError(e), retryable: e.retryable },
            },
          ),
        ).catch(() => {});
      }
      throw e;
    });
    if (outcome.kind === 'reauth') {
      deps.logger.warn('connection needs re-authorization', { tenantId, provider, reason: outcome.reason });
    }
    return outcome;
  }

  function cacheUntil(at: Date, expiresAt: Date | null): number {
    const bound = at.getTime() + ttlMs;
    return expiresAt ? Math.min(bound, expiresAt.getTime() - MIN_VALIDITY_MS) : bound;
  }

  async function getFresh(tenantId: string, provider: Provider): Promise<string> {
    const key = keyOf(tenantId, provider);
    const known = entries.get(key);
    let outcome: Outcome;
    try {
      outcome = await obtain(tenantId, provider, {}, known?.rejected ? known.version : undefined);
    } catch (e) {
      if (e instanceof AppError && e.code === 'not_found') entries.delete(key);
      throw e;
    }
    if (outcome.kind === 'reauth') {
      entries.delete(key);
      throw needsReauthError(provider, outcome.reason);
    }
    // A 401 for this very version was reported while we read it: keep that report.
    const current = entries.get(key);
    if (current !== known && current?.rejected && outcome.version <= current.version) return outcome.token;
    // Still the refused version (a grant without rotation): hand it out, cache nothing.
    const stillRejected = known?.rejected === true && !outcome.refreshed && outcome.version <= known.version;
    remember(key, {
      token: outcome.token,
      version: outcome.version,
      until: stillRejected ? 0 : cacheUntil(now(), outcome.expiresAt),
      rejected: stillRejected,
    });
    return outcome.token;
  }

  return {
    getAccessToken(tenantId, provider) {
      const key = keyOf(tenantId, provider);
      const hit = entries.get(key);
      if (hit && !hit.rejected && hit.until > now().getTime()) {
        remember(key, hit);
        return Promise.resolve(hit.token);
      }
      let p = inflight.get(key);
      if (!p) {
        p = getFresh(tenantId, provider).finally(() => {
          if (inflight.get(key) === p) inflight.delete(key);
        });
        inflight.set(key, p);
      }
      return p;
    },
    invalidate(tenantId, provider, token) {
      const key = keyOf(tenantId, provider);
      const e = entries.get(key);
      // A 401 for a token we already replaced (another caller reported it first): nothing to do.
      if (token !== undefined && e && e.token !== token) return;
      // Refresh unless the stored version has moved past the refused one; unknown token: refresh.
      remember(key, {
        token: e?.token ?? '',
        version: e?.version ?? Number.MAX_SAFE_INTEGER,
        until: 0,
        rejected: true,
      });
      inflight.delete(key);
    },
    async refreshIfDue(tenantId, provider, due) {
      const outcome = await obtain(tenantId, provider, due);
      if (outcome.kind === 'reauth') {
        entries.delete(keyOf(tenantId, provider));
        throw needsReauthError(provider, outcome.reason);
      }
      if (outcome.refreshed) {
        remember(keyOf(tenantId, provider), {
          token: outcome.token,
          version: outcome.version,
          until: cacheUntil(now(), outcome.expiresAt),
          rejected: false,
        });
      }
      return outcome.refreshed ? 'refreshed' : 'fresh';
    },
  };
}
