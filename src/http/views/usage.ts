import { html } from 'hono/html';
import type { UsageBucket } from '../../pipeline/usage-report.ts';
import { barChart, legend, lineChart, type Series } from './charts.ts';
import type { Html } from './layout.ts';

/**
 * The usage page's numbers, built once from the usage report (src/pipeline/usage-report.ts) and
 * used by both the page (charts and the tables beside them) and the CSV export, so the two can
 * never disagree. Upstream counts (calls, deferrals, 429s, failures, breaker openings per
 * upstream, from the shared limiter) are drawn from whatever numeric fields a bucket's
 * `upstream` holds; without any the page says none were recorded, and nothing is made up.
 */
export interface UsageReportView {
  from: string;
  to: string;
  granularity: 'day' | 'month';
  buckets: UsageBucket[];
  totals: {
    drafts: number;
    modelCalls: number;
    failedModelCalls: number;
    promptTokens: number;
    completionTokens: number;
    costMicroUsd: number;
  };
}

export interface UsageTables {
  labels: string[];
  drafts: { total: number[]; bySource: Series[] };
  feedback: {
    drafts: number[];
    sentUnchanged: number[];
    sentEdited: number[];
    rejected: number[];
    acceptanceRate: (number | null)[];
    editRate: (number | null)[];
  };
  models: string[];
  unpriced: string[];
  /** Per model, per bucket. */
  tokens: Series[];
  cost: Series[];
  perModel: {
    model: string;
    calls: number;
    failedCalls: number;
    promptTokens: number;
    completionTokens: number;
    costMicroUsd: number;
  }[];
  /** Null when no bucket carries an `upstream` field. */
  upstream: Series[] | null;
}

/** Numeric leaves of a value as dotted paths (`zendesk.calls`), at most 3 levels deep. */
export function numericLeaves(value: unknown, prefix = '', depth = 0, out = new Map<string, number>()) {
  if (typeof value === 'number' && Number.isFinite(value)) {
    out.set(prefix || 'value', value);
  } else if (value && typeof value === 'object' && !Array.isArray(value) && depth < 3) {
    for (const [k, v] of Object.entries(value))
      numericLeaves(v, prefix ? `${prefix}.${k}` : k, depth + 1, out);
  }
  return out;
}

export function usageTables(r: UsageReportView): UsageTables {
  const labels = r.buckets.map((b) => b.start);
  const sources = [...new Set(r.buckets.flatMap((b) => Object.keys(b.drafts.bySource)))].sort();
  const models = [...new Set(r.buckets.flatMap((b) => b.models.map((m) => m.model)))].sort();
  const modelOf = (b: UsageBucket, model: string) => b.models.find((m) => m.model === model);
  const perModel = models.map((model) => {
    const acc = { model, calls: 0, failedCalls: 0, promptTokens: 0, completionTokens: 0, costMicroUsd: 0 };
    for (const b of r.buckets) {
      const m = modelOf(b, model);
      if (!m) continue;
      acc.calls += m.calls;
      acc.failedCalls += m.failedCalls;
      acc.promptTokens += m.promptTokens;
      acc.completionTokens += m.completionTokens;
      acc.costMicroUsd += m.costMicroUsd;
    }
    return acc;
  });
  const hasUpstream = r.buckets.some((b) => b.upstream !== undefined && b.upstream !== null);
  let upstream: Series[] | null = null;
  if (hasUpstream) {
    const leaves = r.buckets.map((b) => numericLeaves(b.upstream));
    const names = [...new Set(leaves.flatMap((l) => [...l.keys()]))].sort();
    upstream = names.map((name) => ({ name, values: leaves.map((l) => l.get(name) ?? null) }));
  }
  return {
    labels,
    drafts: {
      total: r.buckets.map((b) => b.drafts.total),
      bySource: sources.map((s) => ({ name: s, values: r.buckets.map((b) => b.drafts.bySource[s] ?? 0) })),
    },
    feedback: {
      drafts: r.buckets.map((b) => b.drafts.total),
      sentUnchanged: r.buckets.map((b) => b.feedback.sentUnchanged),
      sentEdited: r.buckets.map((b) => b.feedback.sentEdited),
      rejected: r.buckets.map((b) => b.feedback.rejected),
      acceptanceRate: r.buckets.map((b) => b.feedback.acceptanceRate),
      editRate: r.buckets.map((b) => b.feedback.editRate),
    },
    models,
    unpriced: models.filter((m) => r.buckets.some((b) => modelOf(b, m)?.unpriced)),
    tokens: models.map((model) => ({
      name: model,
      values: r.buckets.map((b) => {
        const m = modelOf(b, model);
        return m ? m.promptTokens + m.completionTokens : 0;
      }),
    })),
    cost: models.map((model) => ({
      name: model,
      values: r.buckets.map((b) => modelOf(b, model)?.costMicroUsd ?? 0),
    })),
    perModel,
    upstream,
  };
}

/** Micro-USD as dollars: cents from a dollar up, otherwise enough digits to see a small call. */
export function usd(micro: number): string {
  const d = micro / 1_000_000;
  return `$${d >= 1 ? d.toFixed(2) : d.toFixed(4)}`;
}
const pct = (x: number | null) => (x === null ? '–' : `${Math.round(x * 1000) / 10}%`);
const int = (n: number) => n.toLocaleString('en-US');

// ------------------------------------------------------------------------------------------ CSV

/** A CSV cell: quoted when needed; text that a spreadsheet would run as a formula gets a leading '. */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * The same numbers as the page, one per line: `period_start,granularity,metric,series,value`
 * (series is the source, model or upstream counter; empty for a bucket-wide number). Costs in
 * micro-USD (exact), rates as fractions, empty when there is no denominator.
 */
export function usageCsv(r: UsageReportView): string {
  const t = usageTables(r);
  const rows: (string | number | null)[][] = [['period_start', 'granularity', 'metric', 'series', 'value']];
  t.labels.forEach((label, i) => {
    const row = (metric: string, series: string, value: number | null) =>
      rows.push([label, r.granularity, metric, series, value]);
    row('drafts', '', t.drafts.total[i]!);
    for (const s of t.drafts.bySource) row('drafts_by_source', s.name, s.values[i]!);
    row('drafts_sent_unchanged', '', t.feedback.sentUnchanged[i]!);
    row('drafts_sent_edited', '', t.feedback.sentEdited[i]!);
    row('drafts_rejected', '', t.feedback.rejected[i]!);
    row('acceptance_rate', '', t.feedback.acceptanceRate[i]!);
    row('edit_rate', '', t.feedback.editRate[i]!);
    const b = r.buckets[i]!;
    for (const m of b.models) {
      row('model_calls', m.model, m.calls);
      row('model_failed_calls', m.model, m.failedCalls);
      row('prompt_tokens', m.model, m.promptTokens);
      row('completion_tokens', m.model, m.completionTokens);
      row('cost_micro_usd', m.model, m.costMicroUsd);
    }
    for (const s of t.upstream ?? []) if (s.values[i] !== null) row('upstream', s.name, s.values[i]!);
  });
  return `${rows.map((cells) => cells.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

// ----------------------------------------------------------------------------------------- page

function details(summary: string, table: Html): Html {
  return html`<details><summary>${summary}</summary>${table}</details>`;
}

function seriesTable(caption: string, labels: string[], series: Series[], fmt: (n: number) => string): Html {
  return html`<table><caption>${caption}</caption>
<tr><th scope="col">period</th>${series.map((s) => html`<th scope="col">${s.name}</th>`)}</tr>
${labels.map(
  (l, i) =>
    html`<tr><th scope="row">${l}</th>${series.map((s) => html`<td>${s.values[i] === null ? '–' : fmt(s.values[i]!)}</td>`)}</tr>`,
)}</table>`;
}

export interface UsagePageView {
  query: { from: string; to: string; granularity: string };
  error: string | null;
  report: UsageReportView | null;
}

function form(v: UsagePageView): Html {
  const q = v.query;
  return html`<form method="get" action="/admin/usage" class="filters">
<label>From <input type="date" name="from" value="${q.from}" required></label>
<label>To <input type="date" name="to" value="${q.to}" required></label>
<label>Per <select name="granularity">${(['day', 'month'] as const).map(
    (g) => html`<option value="${g}"${g === q.granularity ? ' selected' : ''}>${g}</option>`,
  )}</select></label>
<button type="submit">Show</button>
</form>`;
}

export function usageBody(v: UsagePageView): Html {
  const head = html`${form(v)}${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}`;
  const r = v.report;
  if (!r) return head;
  const qs = new URLSearchParams({ from: r.from, to: r.to, granularity: r.granularity }).toString();
  const per = r.granularity;
  const span = `${r.from} to ${r.to}`;
  const csv = html`<p><a href="/admin/usage.csv?${qs}">Download these numbers (CSV)</a></p>`;
  if (r.totals.drafts === 0 && r.totals.modelCalls === 0)
    return html`${head}
<p class="notice" role="status">No drafts and no model calls from ${span}. Drafts appear here once tickets or Slack questions are answered; try a longer period.</p>
${csv}`;
  const t = usageTables(r);
  const totalFb = {
    unchanged: t.feedback.sentUnchanged.reduce((a, b) => a + b, 0),
    edited: t.feedback.sentEdited.reduce((a, b) => a + b, 0),
    rejected: t.feedback.rejected.reduce((a, b) => a + b, 0),
  };
  const sent = totalFb.unchanged + totalFb.edited;
  const rates: Series[] = [
    { name: 'acceptance rate', values: t.feedback.acceptanceRate },
    { name: 'edit rate', values: t.feedback.editRate },
  ];
  const percent = (n: number) => `${Math.round(n * 100)}%`;
  return html`${head}
<p>From ${span}, per ${per} (UTC). ${csv}</p>
<table><caption>Totals</caption>
<tr><th scope="row">drafts</th><td>${int(r.totals.drafts)}</td></tr>
<tr><th scope="row">acceptance rate (sent unchanged / drafts)</th><td>${pct(r.totals.drafts ? totalFb.unchanged / r.totals.drafts : null)}</td></tr>
<tr><th scope="row">edit rate (sent edited / sent)</th><td>${pct(sent ? totalFb.edited / sent : null)}</td></tr>
<tr><th scope="row">model calls (failed)</th><td>${int(r.totals.modelCalls)} (${int(r.totals.failedModelCalls)})</td></tr>
<tr><th scope="row">tokens (prompt + completion)</th><td>${int(r.totals.promptTokens)} + ${int(r.totals.completionTokens)}</td></tr>
<tr><th scope="row">estimated cost</th><td>${usd(r.totals.costMicroUsd)}</td></tr>
</table>

<h2 id="drafts">Drafts per ${per}</h2>
<figure>${barChart({
    id: 'chart-drafts',
    title: `Drafts per ${per}`,
    desc: `Drafts made per ${per} from ${span}, stacked by source (${t.drafts.bySource.map((s) => s.name).join(', ') || 'none'}); ${r.totals.drafts} in all.`,
    labels: t.labels,
    series: t.drafts.bySource,
  })}${legend(t.drafts.bySource)}</figure>
${details(
  'Drafts: the numbers',
  seriesTable(
    `Drafts per ${per}`,
    t.labels,
    [{ name: 'all', values: t.drafts.total }, ...t.drafts.bySource],
    int,
  ),
)}

<h2 id="feedback">Acceptance and edit rates</h2>
<p><small>Acceptance: drafts sent without an edit, of all drafts made that ${per}. Edit: drafts edited before sending, of the drafts sent. Sends and rejections in the Zendesk sidebar and in Slack count; a ${per} without drafts (or without sends) has no rate.</small></p>
<figure>${lineChart({
    id: 'chart-rates',
    title: 'Acceptance and edit rates',
    desc: `Acceptance rate and edit rate per ${per} from ${span}, 0 to 100%.`,
    labels: t.labels,
    series: rates,
    max: 1,
    format: percent,
  })}${legend(rates)}</figure>
${details(
  'Acceptance and edits: the numbers',
  html`<table><caption>Draft outcomes per ${per}</caption>
<tr><th scope="col">period</th><th scope="col">drafts</th><th scope="col">sent unchanged</th><th scope="col">sent edited</th><th scope="col">rejected</th><th scope="col">acceptance</th><th scope="col">edit rate</th></tr>
${t.labels.map(
  (l, i) =>
    html`<tr><th scope="row">${l}</th><td>${t.feedback.drafts[i]}</td><td>${t.feedback.sentUnchanged[i]}</td><td>${t.feedback.sentEdited[i]}</td><td>${t.feedback.rejected[i]}</td><td>${pct(t.feedback.acceptanceRate[i]!)}</td><td>${pct(t.feedback.editRate[i]!)}</td></tr>`,
)}</table>`,
)}

<h2 id="tokens">Model tokens per ${per}</h2>
${
  t.models.length
    ? html`<figure>${barChart({
        id: 'chart-tokens',
        title: `Model tokens per ${per}`,
        desc: `Prompt and completion tokens per ${per} from ${span}, stacked by model (${t.models.join(', ')}).`,
        labels: t.labels,
        series: t.tokens,
        format: int,
      })}${legend(t.tokens)}</figure>
${details('Tokens: the numbers', seriesTable(`Tokens per ${per} and model`, t.labels, t.tokens, int))}`
    : html`<p>No model calls in this period (the offline drafter uses none).</p>`
}

<h2 id="cost">Estimated cost per ${per}</h2>
${
  t.models.length
    ? html`<figure>${barChart({
        id: 'chart-cost',
        title: `Estimated model cost per ${per}`,
        desc: `Estimated cost in US dollars per ${per} from ${span}, stacked by model; ${usd(r.totals.costMicroUsd)} in all.`,
        labels: t.labels,
        series: t.cost,
        format: usd,
      })}${legend(t.cost)}</figure>
${details('Cost: the numbers', seriesTable(`Cost per ${per} and model (USD)`, t.labels, t.cost, usd))}
${t.unpriced.length ? html`<p><small>Not in the price table, so counted at $0: ${t.unpriced.join(', ')}.</small></p>` : ''}
<h2 id="models">Per model, whole period</h2>
<figure>${barChart({
        id: 'chart-models',
        title: 'Estimated cost per model',
        desc: `Estimated cost per model from ${span}.`,
        labels: t.perModel.map((m) => m.model),
        series: [{ name: 'cost', values: t.perModel.map((m) => m.costMicroUsd) }],
        format: usd,
      })}</figure>
<table><caption>Calls, tokens and cost per model</caption>
<tr><th scope="col">model</th><th scope="col">calls</th><th scope="col">failed</th><th scope="col">prompt tokens</th><th scope="col">completion tokens</th><th scope="col">cost</th></tr>
${t.perModel.map(
  (m) =>
    html`<tr><th scope="row">${m.model}</th><td>${int(m.calls)}</td><td>${int(m.failedCalls)}</td><td>${int(m.promptTokens)}</td><td>${int(m.completionTokens)}</td><td>${usd(m.costMicroUsd)}</td></tr>`,
)}</table>`
    : html`<p>No model cost in this period.</p>`
}

<h2 id="upstream">Upstream calls, 429s and circuit breakers</h2>
${
  t.upstream
    ? t.upstream.length
      ? html`${t.upstream.map((s, i) =>
          // A counter that stayed at zero all period (no 429s, say) is in the table, not drawn.
          s.values.every((v) => !v)
            ? ''
            : html`<figure><figcaption>${s.name}</figcaption>${barChart({
                id: `chart-upstream-${i}`,
                title: `Upstream: ${s.name} per ${per}`,
                desc: `${s.name} per ${per} from ${span}.`,
                labels: t.labels,
                series: [s],
                format: int,
              })}</figure>`,
        )}
${details('Upstream: the numbers', seriesTable(`Upstream counts per ${per}`, t.labels, t.upstream, int))}`
      : html`<p>No calls to Zendesk, Slack or the model were recorded in this period.</p>`
    : html`<p>No calls to Zendesk, Slack or the model were recorded in this period.</p>`
}`;
}
