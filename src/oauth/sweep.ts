import type { Db } from '../db/client.ts';
import { withTenant } from '../db/tenant.ts';
import { describeError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { activeTenantIds, tenantIdsNeedingReauth } from '../tenancy/lookup.ts';
import { liveSlackInstallation, liveZendeskConnection } from './connections.ts';
import type { TokenManager } from './token-manager.ts';
import type { Provider } from './token-provider.ts';

export interface SweepDeps {
  db: Db;
  tokens: TokenManager;
  logger: Logger;
  now?: () => Date;
}

export interface SweepOptions {
  /** Refresh access tokens that expire within this many ms (default 15 minutes). */
  within?: number;
  /** Refresh Zendesk refresh tokens that expire within this many ms (default 7 days). */
  refreshWithin?: number;
}

export interface SweepResult {
  tenants: number;
  refreshed: { tenantId: string; provider: Provider }[];
  failed: { tenantId: string; provider: Provider; error: string }[];
}

/**
 * Refreshes, across all active tenants, tokens nearing expiry: Slack and Zendesk access tokens
 * expiring within `within`, and Zendesk refresh tokens expiring within `refreshWithin` (their
 * default lifetime is 30 days, so a tenant idle that long would otherwise have to re-authorize).
 * Each refresh goes through the token manager (row lock + re-read), so sweeps running in several
 * processes at once refresh each connection once.
 */
export async function sweepExpiringTokens(deps: SweepDeps, opts: SweepOptions = {}): Promise<SweepResult> {
  const now = (deps.now ?? (() => new Date()))();
  const within = opts.within ?? 15 * 60_000;
  const refreshWithin = opts.refreshWithin ?? 7 * 24 * 3_600_000;
  const accessBefore = new Date(now.getTime() + within);
  const refreshBefore = new Date(now.getTime() + refreshWithin);
  const result: SweepResult = { tenants: 0, refreshed: [], failed: [] };
  for (const tenantId of await activeTenantIds(deps.db)) {
    result.tenants++;
    const due = await withTenant(deps.db, tenantId, async (tx) => {
      const out: Provider[] = [];
      const before = (d: Date | null, bound: Date) => d !== null && d < bound;
      // The tenant's one live row per provider (the one-live invariant), refreshable and due.
      const slack = await liveSlackInstallation(tx);
      if (slack?.status === 'active' && slack.refreshToken && before(slack.accessExpiresAt, accessBefore))
        out.push('slack');
      const zd = await liveZendeskConnection(tx);
      const zdDue =
        zd && (before(zd.accessExpiresAt, accessBefore) || before(zd.refreshExpiresAt, refreshBefore));
      if (zd?.status === 'active' && zd.refreshToken && zdDue) out.push('zendesk');
      return out;
    });
    for (const provider of due) {
      try {
        const r = await deps.tokens.refreshIfDue(tenantId, provider, {
          accessWithinMs: within,
          refreshWithinMs: provider === 'zendesk' ? refreshWithin : undefined,
        });
        if (r === 'refreshed') result.refreshed.push({ tenantId, provider });
      } catch (e) {
        // needs_reauth is already recorded on the row and in the audit trail; keep sweeping.
        result.failed.push({ tenantId, provider, error: describeError(e) });
        deps.logger.warn('token sweep: refresh failed', { tenantId, provider, error: describeError(e) });
      }
    }
  }
  return result;
}

/** Runs the sweep every `everyMs` (default 5 minutes) until stopped; one run at a time. */
export function startTokenSweep(
  deps: SweepDeps,
  opts: SweepOptions & { everyMs?: number } = {},
): { stop(): void } {
  let running = false;
  const timer = setInterval(
    () => {
      if (running) return;
      running = true;
      sweepExpiringTokens(deps, opts)
        .then((r) => {
          if (r.refreshed.length || r.failed.length)
            deps.logger.info('token sweep', { refreshed: r.refreshed.length, failed: r.failed.length });
        })
        .catch((e) => deps.logger.error('token sweep crashed', { error: describeError(e) }))
        .finally(() => {
          running = false;
        });
    },
    opts.everyMs ?? 5 * 60_000,
  );
  timer.unref?.();
  return { stop: () => clearInterval(timer) };
}

/** Rows read per provider for the readiness counts (the look-up function's own bound). */
const REAUTH_COUNT_LIMIT = 1000;

/**
 * Readiness detail: how many Slack installations and Zendesk connections need re-authorization.
 * `/readyz` is anonymous, so it shows counts only, never tenant ids (which tenants: `npm run
 * tenant -- needs-reauth`, for operators). Runs as the look-up role, which may read only
 * tenant_id and status of these tables (migration 0002), so the check sees no tokens. It reports
 * but never fails readiness: one tenant's expired grant is that tenant's problem (shown to its
 * admins), not a reason to take the service out of rotation. A count at the bound is a lower bound
 * (`truncated`).
 */
export function connectionHealthCheck(db: Db) {
  return async (): Promise<{ ok: boolean; detail: unknown }> => {
    const rows = await tenantIdsNeedingReauth(db, REAUTH_COUNT_LIMIT);
    const slack = rows.filter((r) => r.provider === 'slack').length;
    const zendesk = rows.filter((r) => r.provider === 'zendesk').length;
    const truncated = slack >= REAUTH_COUNT_LIMIT || zendesk >= REAUTH_COUNT_LIMIT;
    return { ok: true, detail: { needsReauth: { slack, zendesk, ...(truncated ? { truncated } : {}) } } };
  };
}
