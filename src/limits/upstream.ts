import { sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../db/client.ts';
import type { Upstream } from '../db/schema/limits.ts';
import { withTenant } from '../db/tenant.ts';
import { RetryLaterError } from '../lib/errors.ts';

/**
 * Per-tenant limits toward each upstream (Zendesk, Slack, the model), shared by every process on
 * the database: a token bucket, a pause and a circuit breaker per (tenant, upstream, key), one row
 * of `upstream_limits` taken and updated in one statement each (`app_take_upstream`,
 * `app_record_upstream`, migration 0014), inside the tenant's own transaction (RLS).
 *
 * A call asks `acquire` for a permit. A short wait for a token is slept through in-process (at most
 * `maxWaitMs`); anything longer, a pause (the upstream's Retry-After) or an open breaker refuses
 * with `UpstreamDeferredError`: a RetryLaterError that keeps the job's attempt, so the job queue
 * reschedules the job for that moment without spending one, and no other tenant waits for it.
 * The answer is then reported on the permit: `ok`, `throttled` (a 429: every process pauses this
 * tenant's calls to this upstream until Retry-After) or `failed` (5xx, timeout, no answer:
 * `BREAKER.threshold` consecutive ones open the breaker; after `BREAKER.cooldownMs` exactly one
 * call probes half-open; its success closes it, its failure opens it again).
 *
 * No cockatiel here: its breaker lives in one process's memory, and this one must be shared by
 * every server and worker (and it must load on workerd, where cockatiel throws at import).
 */

export const BREAKER = {
  /** Consecutive failures (5xx, timeouts, no answer) that open the breaker. */
  threshold: 5,
  /** How long an open breaker refuses before one probe may go. */
  cooldownMs: 30_000,
  /** The half-open probe's lease: if its caller dies, another may probe after this. */
  probeMs: 30_000,
} as const;

export interface UpstreamCall {
  upstream: Upstream;
  /** Narrows the bucket: a Slack method tier or channel; '' (default) for the whole upstream. */
  key?: string;
  /** Tokens this call spends (model: estimated tokens; default 1 request). */
  cost?: number;
}

interface Policy {
  /** The tenant setting (settings.limits[...]) that overrides the rate, per minute. */
  setting: string;
  defaultPerMinute: number;
  /** Share of the upstream's stated limit we may use (the rest is the tenant's other integrations'). */
  share: number;
  /** Bucket size in seconds of refill. */
  burstSeconds: number;
}

/** Slack's documented per-method tiers (requests a minute per workspace) for the methods we call. */
export const SLACK_TIERS: Record<string, 'tier2' | 'tier3' | 'tier4'> = {
  'chat.postMessage': 'tier4', // special: about one a second per channel (key `channel:<id>`)
  'chat.postEphemeral': 'tier4',
  'chat.update': 'tier3',
  'chat.startStream': 'tier3',
  'chat.appendStream': 'tier4',
  'chat.stopStream': 'tier3',
  'assistant.threads.setStatus': 'tier3',
  'assistant.threads.setSuggestedPrompts': 'tier3',
  'assistant.threads.setTitle': 'tier3',
  'conversations.info': 'tier3',
  'conversations.replies': 'tier3',
  'conversations.history': 'tier3',
  'users.info': 'tier4',
  'views.open': 'tier4',
  'views.publish': 'tier4',
  'auth.test': 'tier4',
};
const SLACK_TIER_PER_MINUTE = { tier2: 20, tier3: 50, tier4: 100 } as const;

function policyOf(call: UpstreamCall): Policy {
  if (call.upstream === 'zendesk') {
    // Until Zendesk's X-Rate-Limit tells us the plan's limit: the smallest plan's 200 a minute.
    return { setting: 'zendeskRequestsPerMinute', defaultPerMinute: 200, share: 0.8, burstSeconds: 10 };
  }
  if (call.upstream === 'model') {
    return { setting: 'modelTokensPerMinute', defaultPerMinute: 400_000, share: 1, burstSeconds: 60 };
  }
  const key = call.key ?? '';
  if (key.startsWith('channel:')) return { setting: '', defaultPerMinute: 60, share: 1, burstSeconds: 3 };
  const tier = (key in SLACK_TIER_PER_MINUTE ? key : 'tier3') as keyof typeof SLACK_TIER_PER_MINUTE;
  return { setting: '', defaultPerMinute: SLACK_TIER_PER_MINUTE[tier], share: 1, burstSeconds: 10 };
}

export type DeferReason = 'paused' | 'breaker_open' | 'breaker_half_open' | 'rate_limit';

const REASON_TEXT: Record<DeferReason, string> = {
  paused: 'asked us to wait (Retry-After)',
  breaker_open: 'failed repeatedly; its circuit breaker is open',
  breaker_half_open: 'is being probed after failures',
  rate_limit: "reached this tenant's rate limit",
};

/** A call held back by the tenant's limits: retry at `retryAt`, without spending a job attempt. */
export class UpstreamDeferredError extends RetryLaterError {
  readonly upstream: Upstream;
  readonly reason: DeferReason;
  constructor(upstream: Upstream, reason: DeferReason, retryAt: Date) {
    super(`${upstream} ${REASON_TEXT[reason]}; retrying at ${retryAt.toISOString()}`, retryAt, {
      code: reason === 'rate_limit' || reason === 'paused' ? 'rate_limited' : 'upstream_error',
      keepsAttempt: true,
      detail: { upstream, reason },
    });
    this.name = 'UpstreamDeferredError';
    this.upstream = upstream;
    this.reason = reason;
  }
}

export function isUpstreamDeferred(e: unknown): e is UpstreamDeferredError {
  return e instanceof UpstreamDeferredError;
}

export interface Permit {
  /** Whether this call is the half-open breaker's probe. */
  readonly probe: boolean;
  /** The answer was fine. `limitPerMinute`/`remaining`: what the upstream said (X-Rate-Limit*). */
  ok(info?: { limitPerMinute?: number | undefined; remaining?: number | undefined }): Promise<void>;
  /** A 429 (or a 503 with Retry-After): pause this tenant's calls to this upstream until `retryAt`. */
  throttled(retryAt: Date, info?: { limitPerMinute?: number | undefined }): Promise<void>;
  /**
   * A 5xx, a timeout or no answer: one more consecutive failure toward opening the breaker.
   * Resolves to the breaker's state after it: when 'open' (this failure opened it, or the probe
   * failed), callers throw `deferral()` instead, so the job waits for the breaker without
   * spending its attempt.
   */
  failed(detail: string): Promise<'closed' | 'open' | 'half_open'>;
  /** The error a caller throws when `failed` answered 'open': retry after the cool-down. */
  deferral(): UpstreamDeferredError;
}

export interface UpstreamLimiter {
  acquire(
    tenantId: string,
    call: UpstreamCall,
    opts?: { maxWaitMs?: number; signal?: AbortSignal },
  ): Promise<Permit>;
}

export interface UpstreamLimiterOptions {
  db: Db;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** Longest in-process wait for a token before deferring (default 2 s). */
  maxWaitMs?: number;
}

interface TakeRow {
  granted: boolean;
  wait_ms: number | string;
  reason: DeferReason | null;
  state: string;
  left_tokens: number | string;
  probe: boolean;
  failure_count: number | string;
  out_share: number | string;
}

const iso = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export function createUpstreamLimiter(o: UpstreamLimiterOptions): UpstreamLimiter {
  const now = o.now ?? (() => new Date());
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  // What each tenant's upstream last said its limit is, so an unchanged X-Rate-Limit writes nothing.
  const learned = new Map<string, number>();

  const record = (
    tenantId: string,
    call: UpstreamCall,
    outcome: 'ok' | 'throttled' | 'failure',
    x: { retryAt?: Date; learned?: number | undefined; clamp?: number; detail?: string },
  ) =>
    withTenant(o.db, tenantId, async (tx) => {
      const [r] = rowsOf<{ state: 'closed' | 'open' | 'half_open' }>(
        await tx.execute(
          sql`select public.app_record_upstream(${call.upstream}, ${call.key ?? ''}, ${outcome}, ${iso(now())}, ${x.retryAt ? iso(x.retryAt) : sql`null::timestamptz`}, ${BREAKER.threshold}::int, ${x.learned ?? null}::float8, ${x.clamp ?? null}::float8, ${x.detail ?? null}::text) as state`,
        ),
      );
      return r?.state ?? 'closed';
    });

  return {
    async acquire(tenantId, call, opts = {}) {
      const p = policyOf(call);
      const cost = Math.max(1, call.cost ?? 1);
      const maxWait = opts.maxWaitMs ?? o.maxWaitMs ?? 2_000;
      const learnedKey = `${tenantId}\u0000${call.upstream}\u0000${call.key ?? ''}`;
      // A few short waits at most (a clock that does not move must not spin here forever).
      for (let waits = 0; ; waits++) {
        const at = now();
        const [r] = await withTenant(o.db, tenantId, async (tx) =>
          rowsOf<TakeRow>(
            await tx.execute(
              sql`select * from public.app_take_upstream(${call.upstream}, ${call.key ?? ''}, ${cost}::float8, ${p.setting}, ${p.defaultPerMinute}::float8, ${p.share}::float8, ${p.burstSeconds}::float8, ${iso(at)}, ${BREAKER.cooldownMs}::int, ${BREAKER.probeMs}::int)`,
            ),
          ),
        );
        if (!r) throw new Error('app_take_upstream returned no row');
        const waitMs = Number(r.wait_ms);
        if (!r.granted) {
          const reason = r.reason ?? 'rate_limit';
          if (reason === 'rate_limit' && waitMs <= maxWait && waits < 5 && !opts.signal?.aborted) {
            await sleep(waitMs);
            continue;
          }
          throw new UpstreamDeferredError(call.upstream, reason, new Date(at.getTime() + waitMs));
        }
        const probe = r.probe;
        const hadFailures = Number(r.failure_count) > 0;
        const tokensLeft = Number(r.left_tokens);
        const share = Number(r.out_share);
        return {
          probe,
          async ok(info = {}) {
            const limit = info.limitPerMinute;
            const newLimit = limit !== undefined && learned.get(learnedKey) !== limit ? limit : undefined;
            // X-Rate-Limit-Remaining counts the whole account's budget: keep the other integrations' share.
            const clamp =
              info.remaining !== undefined && limit !== undefined
                ? info.remaining - (1 - share) * limit
                : undefined;
            const lower = clamp !== undefined && clamp < tokensLeft - 0.5 ? clamp : undefined;
            if (!probe && !hadFailures && newLimit === undefined && lower === undefined) return;
            await record(tenantId, call, 'ok', {
              learned: newLimit,
              ...(lower === undefined ? {} : { clamp: lower }),
            });
            if (newLimit !== undefined) learned.set(learnedKey, newLimit);
          },
          async throttled(retryAt, info = {}) {
            await record(tenantId, call, 'throttled', { retryAt, learned: info.limitPerMinute });
          },
          failed: (detail) => record(tenantId, call, 'failure', { detail: detail.slice(0, 300) }),
          deferral: () =>
            new UpstreamDeferredError(
              call.upstream,
              'breaker_open',
              new Date(now().getTime() + BREAKER.cooldownMs),
            ),
        };
      }
    },
  };
}

/** A limiter that never limits (tools and tests that make no upstream calls of a tenant). */
export const UNLIMITED: UpstreamLimiter = {
  async acquire() {
    return {
      probe: false,
      ok: async () => {},
      throttled: async () => {},
      failed: async () => 'closed' as const,
      deferral: () => new UpstreamDeferredError('zendesk', 'breaker_open', new Date()),
    };
  },
};
