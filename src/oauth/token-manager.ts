import { and, desc, eq, ne } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Config } from '../config.ts';
import type { Db, Tx } from '../db/client.ts';
import { slackInstallations, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, describeError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Actor } from '../tenancy/context.ts';
import type { Vault } from '../tenancy/vault.ts';
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
 * - within a process: concurrent callers for one connection share one promise (single flight).
 *
 * A dead grant (invalid_grant / invalid_refresh_token) sets status needs_reauth with a reason,
 * is audited, and throws AppError('forbidden', detail.status 'needs_reauth'). Transient failures
 * throw a retryable AppError and change nothing.
 */
export const MIN_VALIDITY_MS = 60_000;

export interface TokenManagerDeps {
  db: Db;
  vault: Vault;
  config: Pick<
    Config,
    'SLACK_CLIENT_ID' | 'SLACK_CLIENT_SECRET' | 'ZENDESK_CLIENT_ID' | 'ZENDESK_CLIENT_SECRET'
  >;
  logger: Logger;
  now?: () => Date;
}

/** When a refresh is due beyond "expires within a minute" (the sweep's criteria). */
export interface Due {
  /** Refresh when the access token expires within this many ms. */
  accessWithinMs?: number;
  /** Refresh when the refresh token expires within this many ms (Zendesk). */
  refreshWithinMs?: number;
}

export interface TokenManager extends TokenProvider {
  invalidate(tenantId: string, provider: Provider): void;
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
    const q = tx
      .select({
        id: slackInstallations.id,
        accessToken: slackInstallations.accessToken,
        refreshToken: slackInstallations.refreshToken,
        accessExpiresAt: slackInstallations.accessExpiresAt,
        tokenVersion: slackInstallations.tokenVersion,
        status: slackInstallations.status,
      })
      .from(slackInstallations)
      .where(ne(slackInstallations.status, 'revoked'))
      .orderBy(desc(slackInstallations.updatedAt))
      .limit(1);
    const rows = lock ? await q.for('update') : await q;
    const r = rows[0];
    return r && { ...r, refreshExpiresAt: null, subdomain: null };
  }
  const q = tx
    .select({
      id: zendeskConnections.id,
      accessToken: zendeskConnections.accessToken,
      refreshToken: zendeskConnections.refreshToken,
      accessExpiresAt: zendeskConnections.accessExpiresAt,
      refreshExpiresAt: zendeskConnections.refreshExpiresAt,
      tokenVersion: zendeskConnections.tokenVersion,
      status: zendeskConnections.status,
      subdomain: zendeskConnections.subdomain,
    })
    .from(zendeskConnections)
    .where(ne(zendeskConnections.status, 'revoked'))
    .orderBy(desc(zendeskConnections.updatedAt))
    .limit(1);
  const rows = lock ? await q.for('update') : await q;
  return rows[0];
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
  const inflight = new Map<string, Promise<string>>();
  const issuedVersion = new Map<string, number>();
  const rejectedVersion = new Map<string, number>();
  const keyOf = (t: string, p: Provider) => `${t}:${p}`;

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
    const c = deps.config;
    if (provider === 'slack') {
      if (!c.SLACK_CLIENT_ID || !c.SLACK_CLIENT_SECRET)
        throw new AppError('feature_disabled', 'Slack is not configured (SLACK_CLIENT_ID/SECRET)');
      return refreshSlackToken(
        { clientId: c.SLACK_CLIENT_ID, clientSecret: c.SLACK_CLIENT_SECRET },
        refreshToken,
        at,
      );
    }
    if (!c.ZENDESK_CLIENT_ID || !c.ZENDESK_CLIENT_SECRET)
      throw new AppError('feature_disabled', 'Zendesk is not configured (ZENDESK_CLIENT_ID/SECRET)');
    return refreshZendeskToken(
      { clientId: c.ZENDESK_CLIENT_ID, clientSecret: c.ZENDESK_CLIENT_SECRET },
      row.subdomain!,
      refreshToken,
      at,
    );
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
    | { kind: 'token'; token: string; version: number; refreshed: boolean }
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
        return { kind: 'token', token, version: row.tokenVersion, refreshed: false };
      }
      if (!row.refreshToken) {
        // No rotation on this grant: a rejected or expired token cannot be renewed by us.
        const expired = row.accessExpiresAt !== null && row.accessExpiresAt.getTime() <= at.getTime();
        if (!expired) {
          const token = await deps.vault.open(tenantId, `${provider}_access_token`, row.accessToken);
          return { kind: 'token', token, version: row.tokenVersion, refreshed: false };
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
      return { kind: 'token', token: pair.accessToken, version: row.tokenVersion + 1, refreshed: true };
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

  async function getFresh(tenantId: string, provider: Provider): Promise<string> {
    const key = keyOf(tenantId, provider);
    const outcome = await obtain(tenantId, provider, {}, rejectedVersion.get(key));
    if (outcome.kind === 'reauth') throw needsReauthError(provider, outcome.reason);
    issuedVersion.set(key, outcome.version);
    const rejected = rejectedVersion.get(key);
    if (outcome.refreshed || (rejected !== undefined && outcome.version > rejected))
      rejectedVersion.delete(key);
    return outcome.token;
  }

  return {
    getAccessToken(tenantId, provider) {
      const key = keyOf(tenantId, provider);
      let p = inflight.get(key);
      if (!p) {
        p = getFresh(tenantId, provider).finally(() => {
          if (inflight.get(key) === p) inflight.delete(key);
        });
        inflight.set(key, p);
      }
      return p;
    },
    invalidate(tenantId, provider) {
      const key = keyOf(tenantId, provider);
      // The token we last handed out was refused: refresh unless someone already moved past it.
      rejectedVersion.set(key, issuedVersion.get(key) ?? Number.MAX_SAFE_INTEGER);
      inflight.delete(key);
    },
    async refreshIfDue(tenantId, provider, due) {
      const outcome = await obtain(tenantId, provider, due);
      if (outcome.kind === 'reauth') throw needsReauthError(provider, outcome.reason);
      return outcome.refreshed ? 'refreshed' : 'fresh';
    },
  };
}
