import { describe, expect, it } from 'vitest';
import {
  barChart,
  barLayout,
  CHART,
  lineChart,
  lineLayout,
  shortLabels,
  tickIndexes,
} from '../../src/http/views/charts.ts';
import {
  csvCell,
  numericLeaves,
  type UsageReportView,
  usageBody,
  usageCsv,
  usageTables,
} from '../../src/http/views/usage.ts';

/** The usage page's SVG generator and number tables, as pure functions. */
const PLOT_H = CHART.height - CHART.top - CHART.bottom;
const BASE = CHART.top + PLOT_H;
const days = (n: number) =>
  Array.from({ length: n }, (_, i) => new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10));

describe('barLayout', () => {
  it('scales bars to the largest value: the max fills the plot, half is half, zero draws nothing', () => {
    const { max, bars } = barLayout({ labels: ['a', 'b', 'c'], series: [{ name: 's', values: [10, 5, 0] }] });
    expect(max).toBe(10);
    expect(bars).toHaveLength(2);
    expect(bars[0]!.height).toBeCloseTo(PLOT_H);
    expect(bars[0]!.y).toBeCloseTo(CHART.top);
    expect(bars[1]!.height).toBeCloseTo(PLOT_H / 2);
    expect(bars[1]!.y + bars[1]!.height).toBeCloseTo(BASE);
  });

  it('stacks series: the tallest stack fills the plot and each part sits on the one below', () => {
    const { max, bars } = barLayout({
      labels: ['a', 'b'],
      series: [
        { name: 'x', values: [3, 1] },
        { name: 'y', values: [1, 1] },
      ],
    });
    expect(max).toBe(4);
    const [ax, ay] = bars.filter((b) => b.label === 'a');
    expect(ax!.height + ay!.height).toBeCloseTo(PLOT_H);
    expect(ay!.y + ay!.height).toBeCloseTo(ax!.y);
    expect(ax!.color).not.toBe(ay!.color);
  });

  it('zero data: no bars, a scale of 1 (never a division by zero), no NaN in the SVG', () => {
    const input = {
      id: 'z',
      title: 'T',
      desc: 'D',
      labels: days(7),
      series: [{ name: 's', values: days(7).map(() => 0) }],
    };
    expect(barLayout(input)).toMatchObject({ max: 1, bars: [] });
    const svg = String(barChart(input));
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('Infinity');
    expect(svg).not.toContain('<rect');
  });

  it('one bucket: one bar, capped in width and centred in the plot', () => {
    const { bars } = barLayout({ labels: ['2026-01-01'], series: [{ name: 's', values: [7] }] });
    expect(bars).toHaveLength(1);
    expect(bars[0]!.width).toBeLessThanOrEqual(48);
    const centre = bars[0]!.x + bars[0]!.width / 2;
    expect(centre).toBeCloseTo(CHART.left + (CHART.width - CHART.left - CHART.right) / 2, 0);
    expect(bars[0]!.height).toBeCloseTo(PLOT_H);
  });

  it('90 days: 90 bars inside the plot, left to right, none overlapping', () => {
    const labels = days(90);
    const { bars } = barLayout({ labels, series: [{ name: 's', values: labels.map((_, i) => i + 1) }] });
    expect(bars).toHaveLength(90);
    for (let i = 0; i < bars.length; i++) {
      const b = bars[i]!;
      expect(b.x).toBeGreaterThanOrEqual(CHART.left);
      expect(b.x + b.width).toBeLessThanOrEqual(CHART.width - CHART.right + 0.01);
      expect(b.width).toBeGreaterThan(0);
      if (i) expect(b.x).toBeGreaterThanOrEqual(bars[i - 1]!.x + bars[i - 1]!.width - 0.01);
    }
    expect(bars.at(-1)!.height).toBeCloseTo(PLOT_H);
  });
});

describe('lineLayout', () => {
  it('a fixed scale (rates: 0 to 1), and a null value breaks the line instead of drawing 0', () => {
    const { max, lines } = lineLayout({
      labels: ['a', 'b', 'c', 'd'],
      series: [{ name: 'r', values: [1, 0.5, null, 0] }],
      max: 1,
    });
    expect(max).toBe(1);
    const [l] = lines;
    expect(l!.points.map((p) => p.label)).toEqual(['a', 'b', 'd']);
    expect(l!.points[0]!.y).toBeCloseTo(CHART.top);
    expect(l!.points[1]!.y).toBeCloseTo(CHART.top + PLOT_H / 2);
    expect(l!.points[2]!.y).toBeCloseTo(BASE);
    expect(l!.segments.map((s) => s.length)).toEqual([2, 1]);
  });

  it('one bucket is a dot (no polyline)', () => {
    const svg = String(
      lineChart({
        id: 'one',
        title: 'T',
        desc: 'D',
        labels: ['x'],
        series: [{ name: 'r', values: [0.25] }],
        max: 1,
      }),
    );
    expect(svg).toContain('<circle');
    expect(svg).not.toContain('<polyline');
  });
});

describe('the SVG itself', () => {
  const svg = String(
    barChart({
      id: 'c1',
      title: 'Drafts <per> day',
      desc: 'Drafts & more',
      labels: days(90),
      series: [{ name: '<script>', values: days(90).map(() => 2) }],
    }),
  );
  it('is accessible: role img, labelled by its own title and desc, a title on each bar', () => {
    expect(svg).toMatch(/<svg [^>]*role="img"[^>]*aria-labelledby="c1-title c1-desc"/);
    expect(svg).toContain('<title id="c1-title">Drafts &lt;per&gt; day</title>');
    expect(svg).toContain('<desc id="c1-desc">Drafts &amp; more</desc>');
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(90);
  });
  it('needs nothing the CSP forbids: no style attribute, no script, no outside reference', () => {
    expect(svg).not.toMatch(/style=/);
    expect(svg).not.toContain('<script');
    expect(svg).not.toMatch(/href=/);
    expect(svg.replace('xmlns="http://www.w3.org/2000/svg"', '')).not.toContain('http');
  });
  it('prints at most about 8 axis labels, first and last included, for 90 days', () => {
    const t = tickIndexes(90);
    expect(t[0]).toBe(0);
    expect(t.at(-1)).toBe(89);
    expect(t.length).toBeLessThanOrEqual(9);
    expect(tickIndexes(1)).toEqual([0]);
    expect(tickIndexes(0)).toEqual([]);
  });
  it('axis labels: days of one year drop the year, months drop the day, a single date stays whole', () => {
    expect(shortLabels(['2026-09-01', '2026-09-02'])).toEqual(['09-01', '09-02']);
    expect(shortLabels(['2026-12-31', '2027-01-01'])).toEqual(['2026-12-31', '2027-01-01']);
    expect(shortLabels(['2026-11-01', '2026-12-01'])).toEqual(['2026-11', '2026-12']);
    expect(shortLabels(['2026-11-05'])).toEqual(['2026-11-05']);
    expect(shortLabels(['gpt-4.1'])).toEqual(['gpt-4.1']);
  });
});

const bucket = (start: string, over: Record<string, unknown> = {}) => ({
  start,
  drafts: { total: 0, bySource: {}, byStatus: {}, byDrafter: {}, byRoute: {} },
  models: [] as UsageReportView['buckets'][number]['models'],
  costMicroUsd: 0,
  feedback: { sent: 0, sentUnchanged: 0, sentEdited: 0, rejected: 0, acceptanceRate: null, editRate: null },
  upstream: {},
  ...over,
});
const totals = {
  drafts: 0,
  modelCalls: 0,
  failedModelCalls: 0,
  promptTokens: 0,
  completionTokens: 0,
  costMicroUsd: 0,
};

describe('usage tables and CSV', () => {
  it('with no upstream calls recorded there is no upstream series', () => {
    const t = usageTables({
      from: 'a',
      to: 'b',
      granularity: 'day',
      buckets: [bucket('2026-01-01')],
      totals,
    });
    expect(t.upstream).toEqual([]);
  });

  it('draws whatever numeric counters an upstream field carries, missing ones as no value', () => {
    const t = usageTables({
      from: 'a',
      to: 'b',
      granularity: 'day',
      buckets: [
        bucket('2026-01-01', { upstream: { zendesk: { calls: 10, rateLimited: 2 }, slack: { calls: 3 } } }),
        bucket('2026-01-02', { upstream: { zendesk: { calls: 4, breakerOpened: 1, note: 'x' } } }),
      ],
      totals,
    });
    expect(t.upstream).toEqual([
      { name: 'slack.calls', values: [3, null] },
      { name: 'zendesk.breakerOpened', values: [null, 1] },
      { name: 'zendesk.calls', values: [10, 4] },
      { name: 'zendesk.rateLimited', values: [2, null] },
    ]);
    expect([...numericLeaves(5)]).toEqual([['value', 5]]);
  });

  it('CSV cells: quoted when needed, formula-looking text defused', () => {
    expect(csvCell('gpt-4.1')).toBe('gpt-4.1');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell(null)).toBe('');
    expect(csvCell(-1)).toBe('-1');
  });

  it('an empty rate is an empty CSV value, not 0', () => {
    const csv = usageCsv({ from: 'a', to: 'b', granularity: 'day', buckets: [bucket('2026-01-01')], totals });
    expect(csv.split('\r\n')).toContain('2026-01-01,day,acceptance_rate,,');
    expect(csv.split('\r\n')).toContain('2026-01-01,day,drafts,,0');
  });

  it('the page draws upstream counters when the report has them (a chart and a table each), and never otherwise', async () => {
    const report = (upstream: unknown) => ({
      from: '2026-01-01',
      to: '2026-01-02',
      granularity: 'day' as const,
      buckets: [
        bucket('2026-01-01', {
          drafts: { total: 1, bySource: { zendesk: 1 }, byStatus: {}, byDrafter: {}, byRoute: {} },
          ...(upstream === undefined ? {} : { upstream }),
        }),
        bucket('2026-01-02'),
      ],
      totals: { ...totals, drafts: 1 },
    });
    const query = { from: '2026-01-01', to: '2026-01-02', granularity: 'day' };
    const withIt = String(
      await usageBody({ query, error: null, report: report({ zendesk: { calls: 12, rateLimited: 3 } }) }),
    );
    expect(withIt).toContain('aria-labelledby="chart-upstream-0-title chart-upstream-0-desc"');
    expect(withIt).toContain('Upstream: zendesk.rateLimited per day');
    expect(withIt).toContain('<tr><th scope="row">2026-01-01</th><td>12</td><td>3</td></tr>');
    expect(withIt).not.toContain('No calls to Zendesk, Slack or the model were recorded');
    const without = String(await usageBody({ query, error: null, report: report(undefined) }));
    expect(without).toContain('No calls to Zendesk, Slack or the model were recorded');
    expect(without).not.toContain('chart-upstream');
  });
});
