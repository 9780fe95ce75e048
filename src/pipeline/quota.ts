import { count, gte, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../db/client.ts';
import { drafts, llmUsage } from '../db/schema/index.ts';
import { markedFallback } from './drafting/fallback.ts';
import { createOfflineDrafter } from './drafting/offline.ts';
import type { Drafter } from './drafting/types.ts';

/**
 * A tenant's own usage ceilings (settings `limits`, all optional, none by default): drafts per
 * UTC day, model tokens and model cost per UTC calendar month. At a ceiling the pipeline does not
 * stop and never drops a ticket: the offline drafter writes the draft (no model call, no cost),
 * and the ticket's note and the draft's needs-human reason say why.
 */
export const limitsSchema = z
  .object({
    draftsPerDay: z.number().int().min(0).max(10_000_000).optional(),
    modelTokensPerMonth: z.number().int().min(0).max(1e12).optional(),
    /** USD (the usage API reports micro-USD). */
    modelCostUsdPerMonth: z.number().min(0).max(10_000_000).optional(),
    // Rates, enforced per call by the shared limiter (src/limits/upstream.ts, read there in SQL):
    /** Zendesk requests a minute for us (default: Zendesk's stated plan limit less the headroom). */
    zendeskRequestsPerMinute: z.number().int().min(1).max(100_000).optional(),
    /** Share of Zendesk's stated limit left to the tenant's other integrations (default 20). */
    zendeskHeadroomPercent: z.number().int().min(0).max(90).optional(),
    /** Model tokens a minute (default 400,000). */
    modelTokensPerMinute: z.number().int().min(1_000).max(100_000_000).optional(),
  })
  .strict();
export type Limits = z.infer<typeof limitsSchema>;

export interface QuotaUsage {
  draftsToday: number;
  modelTokensThisMonth: number;
  modelCostMicroUsdThisMonth: number;
}

export interface QuotaReached {
  kind: 'draftsPerDay' | 'modelTokensPerMonth' | 'modelCostUsdPerMonth';
  limit: number;
  used: number;
  /** For the note: "its daily draft limit (200 of 200)". */
  label: string;
}

const dayStart = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
const monthStart = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));

/** The tenant's usage against its limits, read in its transaction (nothing is read without limits). */
export async function quotaUsage(tx: Tx, limits: Limits | undefined, now: Date): Promise<QuotaUsage | null> {
  if (
    !limits ||
    (limits.draftsPerDay === undefined &&
      limits.modelTokensPerMonth === undefined &&
      limits.modelCostUsdPerMonth === undefined)
  )
    return null;
  const [d] =
    limits.draftsPerDay === undefined
      ? [{ n: 0 }]
      : await tx
          .select({ n: count() })
          .from(drafts)
          .where(gte(drafts.createdAt, dayStart(now)));
  const [m] =
    limits.modelTokensPerMonth === undefined && limits.modelCostUsdPerMonth === undefined
      ? [{ tokens: 0, cost: 0 }]
      : await tx
          .select({
            tokens: sql<string>`coalesce(sum(${llmUsage.promptTokens} + ${llmUsage.completionTokens}), 0)::text`,
            cost: sql<string>`coalesce(sum(${llmUsage.costMicroUsd}), 0)::text`,
          })
          .from(llmUsage)
          .where(gte(llmUsage.createdAt, monthStart(now)));
  return {
    draftsToday: Number(d?.n ?? 0),
    modelTokensThisMonth: Number(m?.tokens ?? 0),
    modelCostMicroUsdThisMonth: Number(m?.cost ?? 0),
  };
}

/** The first limit reached, or null. */
export function quotaReached(limits: Limits | undefined, usage: QuotaUsage | null): QuotaReached | null {
  if (!limits || !usage) return null;
  if (limits.draftsPerDay !== undefined && usage.draftsToday >= limits.draftsPerDay)
    return {
      kind: 'draftsPerDay',
      limit: limits.draftsPerDay,
      used: usage.draftsToday,
      label: `daily draft limit (${usage.draftsToday} of ${limits.draftsPerDay} today)`,
    };
  if (limits.modelTokensPerMonth !== undefined && usage.modelTokensThisMonth >= limits.modelTokensPerMonth)
    return {
      kind: 'modelTokensPerMonth',
      limit: limits.modelTokensPerMonth,
      used: usage.modelTokensThisMonth,
      label: `monthly model token limit (${usage.modelTokensThisMonth} of ${limits.modelTokensPerMonth})`,
    };
  const costLimit = limits.modelCostUsdPerMonth;
  if (costLimit !== undefined && usage.modelCostMicroUsdThisMonth >= Math.round(costLimit * 1_000_000))
    return {
      kind: 'modelCostUsdPerMonth',
      limit: costLimit,
      used: usage.modelCostMicroUsdThisMonth / 1_000_000,
      label: `monthly model cost limit (${(usage.modelCostMicroUsdThisMonth / 1_000_000).toFixed(2)} of ${costLimit.toFixed(2)} USD)`,
    };
  return null;
}

/**
 * The drafter to use: `drafter` itself under the limits; at a limit, the offline drafter, its
 * draft marked as such (a drafter that makes no model call is kept as it is).
 */
export function drafterWithinQuota(drafter: Drafter, reached: QuotaReached | null): Drafter {
  if (!reached || drafter.name === 'offline') return drafter;
  const offline = createOfflineDrafter();
  const why = `this tenant reached its ${reached.label}`;
  return {
    name: offline.name,
    draft: async (input) => markedFallback(await offline.draft(input), drafter.name, 'tenant_quota', why),
  };
}
