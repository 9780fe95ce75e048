import type { Tx } from '../db/client.ts';
import { upstreamLimits } from '../db/schema/index.ts';
import { BREAKER } from './upstream.ts';

export interface UpstreamState {
  upstream: string;
  /** '' for the whole upstream; a Slack tier or `channel:<id>`. */
  key: string;
  /** closed, open (refusing until `retryAt`), half_open (one probe out). */
  breaker: string;
  failures: number;
  lastFailure: string | null;
  /** When a 429's pause ends, while it lasts. */
  pausedUntil: string | null;
  /** When an open breaker lets its next probe go. */
  probeAt: string | null;
  /** The rate in force (per minute) and what the upstream said its limit is. */
  perMinute: number;
  learnedPerMinute: number | null;
}

/**
 * The tenant's limiter rows as they stand at `now` (its own transaction: RLS), for the console and
 * the usage API. Slack channel buckets that are simply closed and idle are left out (one per channel).
 */
export async function limitsState(tx: Tx, now: Date): Promise<UpstreamState[]> {
  const rows = await tx.select().from(upstreamLimits);
  return rows
    .map((r) => ({
      upstream: r.upstream,
      key: r.key,
      breaker: r.breaker,
      failures: r.failures,
      lastFailure: r.lastFailure,
      pausedUntil: r.pausedUntil && r.pausedUntil > now ? r.pausedUntil.toISOString() : null,
      probeAt:
        r.breaker === 'open' && r.openedAt
          ? new Date(r.openedAt.getTime() + BREAKER.cooldownMs).toISOString()
          : null,
      perMinute: Math.round(r.refillPerSec * 60 * 100) / 100,
      learnedPerMinute: r.learnedPerMinute,
    }))
    .filter((s) => !(s.key.startsWith('channel:') && s.breaker === 'closed' && !s.pausedUntil && !s.failures))
    .sort((a, b) => `${a.upstream}/${a.key}`.localeCompare(`${b.upstream}/${b.key}`));
}
