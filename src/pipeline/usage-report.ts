import { and, gte, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import { rowsOf, type Tx } from '../db/client.ts';
import { upstreamUsage } from '../db/schema/index.ts';
import { limitsState } from '../limits/state.ts';
import { MODEL_PRICES, modelPrice } from './drafting/openai.ts';
import { quotaReached, quotaUsage } from './quota.ts';
import { readPipelineSettings } from './settings.ts';

/**
 * A tenant's usage and model cost over a period, in day or month buckets (UTC), read in its own
 * transaction: drafts by source, status, drafter and route, and what became of them (`feedback`:
 * sent unchanged or edited, rejected, with the acceptance and edit rates); model calls, tokens and cost per
 * model, answers that produced no draft (failed: malformed or off-schema, their tokens still
 * spent) counted apart. Prices are the one table in src/pipeline/drafting/openai.ts
 * (MODEL_PRICES, USD per million tokens; a model not in it costs 0 and is flagged `unpriced`).
 */
export const usageQuerySchema = z
  .object({
    from: z.iso.date(),
    to: z.iso.date(),
    granularity: z.enum(['day', 'month']).default('day'),
  })
  .strict()
  .refine((q) => q.from <= q.to, { message: 'must not be after to', path: ['from'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 366 * 86_400_000, {
    message: 'the period is at most 366 days',
    path: ['to'],
  });
export type UsageQuery = z.infer<typeof usageQuerySchema>;

interface DraftRow {
  bucket: string;
  source: string;
  status: string;
  drafter: string;
  route: string;
  n: number;
}
interface FeedbackRow {
  bucket: string;
  sent: number;
  unchanged: number;
  edited: number;
  rejected: number;
}
interface ModelRow {
  bucket: string;
  model: string;
  failed: boolean;
  calls: number;
  prompt: number;
  completion: number;
  cost: number;
}

export interface UsageBucket {
  start: string;
  drafts: {
    total: number;
    bySource: Record<string, number>;
    byStatus: Record<string, number>;
    byDrafter: Record<string, number>;
    byRoute: Record<string, number>;
  };
  models: {
    model: string;
    calls: number;
    failedCalls: number;
    promptTokens: number;
    completionTokens: number;
    costMicroUsd: number;
    unpriced: boolean;
  }[];
  costMicroUsd: number;
  /** Per upstream: calls made, calls our limits held back, 429s, failures, breaker openings. */
  upstream: Record<string, UpstreamCounts>;
  /**
   * What happened to the bucket's drafts (by the draft's creation time): sent unchanged or after
   * edits (the sidebar's and Slack's sends, `draft_deliveries`), rejected (in the sidebar or in
   * Slack, which sets the draft's status). Rates as the sidebar's feedback defines them:
   * acceptance = sent unchanged / drafts, edit = sent edited / sent; null without a denominator.
   */
  feedback: {
    sent: number;
    sentUnchanged: number;
    sentEdited: number;
    rejected: number;
    acceptanceRate: number | null;
    editRate: number | null;
  };
}

export interface UpstreamCounts {
  calls: number;
  deferred: number;
  throttled: number;
  failures: number;
  breakerOpenings: number;
}
const UPSTREAM_FIELDS = ['calls', 'deferred', 'throttled', 'failures', 'breakerOpenings'] as const;

const bump = (r: Record<string, number>, k: string, n: number) => {
  r[k] = (r[k] ?? 0) + n;
};

/** Bucket starts from `from` to `to` (inclusive), as YYYY-MM-DD. */
function bucketStarts(q: UsageQuery): string[] {
  const out: string[] = [];
  const d = new Date(`${q.from}T00:00:00Z`);
  if (q.granularity === 'month') d.setUTCDate(1);
  const end = new Date(`${q.to}T00:00:00Z`);
  while (d <= end) {
    out.push(d.toISOString().slice(0, 10));
    if (q.granularity === 'day') d.setUTCDate(d.getUTCDate() + 1);
    else d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return out;
}

async function quotaState(tx: Tx, now: Date) {
  const { limits } = await readPipelineSettings(tx);
  const used = await quotaUsage(tx, limits, now);
  return { limits: limits ?? {}, used, reached: quotaReached(limits, used) };
}

export async function usageReport(tx: Tx, q: UsageQuery, now: Date = new Date()) {
  const from = new Date(`${q.from}T00:00:00Z`);
  const until = new Date(Date.parse(`${q.to}T00:00:00Z`) + 86_400_000);
  const unit = q.granularity === 'day' ? sql.raw(`'day'`) : sql.raw(`'month'`);
  const drafts = rowsOf<DraftRow>(
    await tx.execute(sql`select to_char(date_trunc(${unit}, created_at at time zone 'UTC'), 'YYYY-MM-DD') as bucket,
        source, status, drafter, route, count(*)::int as n
      from drafts where created_at >= ${from.toISOString()}::timestamptz and created_at < ${until.toISOString()}::timestamptz
      group by 1, 2, 3, 4, 5`),
  );
  const models = rowsOf<ModelRow>(
    await tx.execute(sql`select to_char(date_trunc(${unit}, created_at at time zone 'UTC'), 'YYYY-MM-DD') as bucket,
        model, draft_id is null as failed, count(*)::int as calls,
        sum(prompt_tokens)::bigint as prompt, sum(completion_tokens)::bigint as completion,
        sum(cost_micro_usd)::bigint as cost
      from llm_usage where created_at >= ${from.toISOString()}::timestamptz and created_at < ${until.toISOString()}::timestamptz
      group by 1, 2, 3`),
  );
  const feedback = rowsOf<FeedbackRow>(
    await tx.execute(sql`select to_char(date_trunc(${unit}, d.created_at at time zone 'UTC'), 'YYYY-MM-DD') as bucket,
        count(*) filter (where dl.status = 'sent')::int as sent,
        count(*) filter (where dl.status = 'sent' and coalesce(dl.edit_distance, 0) = 0)::int as unchanged,
        count(*) filter (where dl.status = 'sent' and dl.edit_distance > 0)::int as edited,
        count(*) filter (where dl.status = 'rejected' or (dl.status is null and d.status = 'rejected'))::int as rejected
      from drafts d left join draft_deliveries dl on dl.tenant_id = d.tenant_id and dl.draft_id = d.id
      where d.created_at >= ${from.toISOString()}::timestamptz and d.created_at < ${until.toISOString()}::timestamptz
      group by 1`),
  );
  const buckets = new Map<string, UsageBucket>(
    bucketStarts(q).map((start) => [
      start,
      {
        start,
        drafts: { total: 0, bySource: {}, byStatus: {}, byDrafter: {}, byRoute: {} },
        models: [],
        costMicroUsd: 0,
        upstream: {},
        feedback: {
          sent: 0,
          sentUnchanged: 0,
          sentEdited: 0,
          rejected: 0,
          acceptanceRate: null,
          editRate: null,
        },
      },
    ]),
  );
  for (const r of drafts) {
    const b = buckets.get(r.bucket);
    if (!b) continue;
    const n = Number(r.n);
    b.drafts.total += n;
    bump(b.drafts.bySource, r.source, n);
    bump(b.drafts.byStatus, r.status, n);
    bump(b.drafts.byDrafter, r.drafter, n);
    bump(b.drafts.byRoute, r.route, n);
  }
  for (const r of models) {
    const b = buckets.get(r.bucket);
    if (!b) continue;
    let m = b.models.find((x) => x.model === r.model);
    if (!m) {
      m = {
        model: r.model,
        calls: 0,
        failedCalls: 0,
        promptTokens: 0,
        completionTokens: 0,
        costMicroUsd: 0,
        unpriced: modelPrice(r.model) === null,
      };
      b.models.push(m);
    }
    m.calls += Number(r.calls);
    if (r.failed) m.failedCalls += Number(r.calls);
    m.promptTokens += Number(r.prompt);
    m.completionTokens += Number(r.completion);
    m.costMicroUsd += Number(r.cost);
    b.costMicroUsd += Number(r.cost);
  }
  const upstream = await tx
    .select()
    .from(upstreamUsage)
    .where(and(gte(upstreamUsage.day, q.from), lte(upstreamUsage.day, q.to)));
  const totalUpstream: Record<string, UpstreamCounts> = {};
  for (const r of upstream) {
    const b = buckets.get(q.granularity === 'day' ? r.day : `${r.day.slice(0, 7)}-01`);
    if (!b) continue;
    for (const into of [b.upstream, totalUpstream]) {
      into[r.upstream] ??= { calls: 0, deferred: 0, throttled: 0, failures: 0, breakerOpenings: 0 };
      const c = into[r.upstream]!;
      for (const f of UPSTREAM_FIELDS) c[f] += r[f];
    }
  }
  for (const r of feedback) {
    const f = buckets.get(r.bucket)?.feedback;
    if (!f) continue;
    f.sent = Number(r.sent);
    f.sentUnchanged = Number(r.unchanged);
    f.sentEdited = Number(r.edited);
    f.rejected = Number(r.rejected);
  }
  const list = [...buckets.values()];
  for (const b of list) {
    b.models.sort((x, y) => x.model.localeCompare(y.model));
    b.feedback.acceptanceRate = b.drafts.total ? b.feedback.sentUnchanged / b.drafts.total : null;
    b.feedback.editRate = b.feedback.sent ? b.feedback.sentEdited / b.feedback.sent : null;
  }
  const totals = {
    drafts: list.reduce((a, b) => a + b.drafts.total, 0),
    modelCalls: list.reduce((a, b) => a + b.models.reduce((s, m) => s + m.calls, 0), 0),
    failedModelCalls: list.reduce((a, b) => a + b.models.reduce((s, m) => s + m.failedCalls, 0), 0),
    promptTokens: list.reduce((a, b) => a + b.models.reduce((s, m) => s + m.promptTokens, 0), 0),
    completionTokens: list.reduce((a, b) => a + b.models.reduce((s, m) => s + m.completionTokens, 0), 0),
    costMicroUsd: list.reduce((a, b) => a + b.costMicroUsd, 0),
    upstream: totalUpstream,
  };
  return {
    from: q.from,
    to: q.to,
    granularity: q.granularity,
    buckets: list,
    totals,
    prices: MODEL_PRICES,
    // Now, not over the period: the tenant's quotas, limits and breakers as they stand.
    quota: await quotaState(tx, now),
    limits: await limitsState(tx, now),
  };
}
