import { html } from 'hono/html';
import type { Html } from './layout.ts';

/**
 * Server-rendered SVG charts for the console: no script, no outside asset, no style attribute
 * (the page CSP has no 'unsafe-inline'); colours are SVG presentation attributes and text uses
 * `currentColor`, so light and dark themes both read. Every chart is `role="img"` with its own
 * `<title>` and `<desc>` (aria-labelledby), every bar or point has a `<title>` with its value, and
 * the page puts the same numbers in a table beside it. The geometry is a pure function
 * (`barLayout`, `lineLayout`) so scaling can be tested without a browser.
 */

export interface Series {
  name: string;
  /** One value per label; null means "no value" (nothing drawn, not zero). */
  values: (number | null)[];
}

export interface ChartInput {
  /** Unique within the page: the ids of the title and desc derive from it. */
  id: string;
  title: string;
  desc: string;
  labels: string[];
  series: Series[];
  /** Formats a value for the axis and the tooltips. */
  format?: (n: number) => string;
  /** A fixed top of the scale (1 for rates); otherwise the largest value. */
  max?: number;
}

export const CHART = { width: 560, height: 200, left: 60, right: 8, top: 10, bottom: 24 } as const;
const PLOT_W = CHART.width - CHART.left - CHART.right;
const PLOT_H = CHART.height - CHART.top - CHART.bottom;
const BASE_Y = CHART.top + PLOT_H;

/** Colour per series, readable on a white and a dark background alike. */
export const PALETTE = [
  '#2563eb',
  '#d97706',
  '#059669',
  '#db2777',
  '#7c3aed',
  '#0891b2',
  '#65a30d',
  '#dc2626',
];

const round = (n: number) => Math.round(n * 100) / 100;

/** The top of the scale: the given max, else the largest value (stacked when `stacked`), never 0. */
export function scaleMax(input: Pick<ChartInput, 'series' | 'labels' | 'max'>, stacked: boolean): number {
  if (input.max !== undefined && input.max > 0) return input.max;
  let top = 0;
  for (let i = 0; i < input.labels.length; i++) {
    if (stacked) {
      const sum = input.series.reduce((a, s) => a + Math.max(0, s.values[i] ?? 0), 0);
      top = Math.max(top, sum);
    } else for (const s of input.series) top = Math.max(top, s.values[i] ?? 0);
  }
  return top > 0 ? top : 1;
}

export interface BarRect {
  label: string;
  series: string;
  value: number;
  x: number;
  y: number;
  width: number;
  height: number;
  color: string;
}

/** Stacked bars, one column per label, in viewBox units; a zero or null value draws nothing. */
export function barLayout(input: Pick<ChartInput, 'series' | 'labels' | 'max'>): {
  max: number;
  bars: BarRect[];
  slot: number;
} {
  const n = Math.max(1, input.labels.length);
  const max = scaleMax(input, true);
  const slot = PLOT_W / n;
  // A gap between columns, up to 20% of the slot (none left when columns are 2 units wide).
  const width = Math.max(1, Math.min(48, slot * (slot > 4 ? 0.8 : 1)));
  const bars: BarRect[] = [];
  input.labels.forEach((label, i) => {
    let stackTop = BASE_Y;
    input.series.forEach((s, si) => {
      const v = s.values[i];
      if (v === null || v === undefined || !(v > 0)) return;
      const h = (v / max) * PLOT_H;
      stackTop -= h;
      bars.push({
        label,
        series: s.name,
        value: v,
        x: round(CHART.left + i * slot + (slot - width) / 2),
        y: round(stackTop),
        width: round(width),
        height: round(h),
        color: PALETTE[si % PALETTE.length]!,
      });
    });
  });
  return { max, bars, slot };
}

export interface LinePoint {
  label: string;
  value: number;
  x: number;
  y: number;
}

/** Points per series at the centre of each label's slot; null values break the line. */
export function lineLayout(input: Pick<ChartInput, 'series' | 'labels' | 'max'>): {
  max: number;
  lines: { series: string; color: string; points: LinePoint[]; segments: LinePoint[][] }[];
} {
  const n = Math.max(1, input.labels.length);
  const max = scaleMax(input, false);
  const slot = PLOT_W / n;
  return {
    max,
    lines: input.series.map((s, si) => {
      const points: LinePoint[] = [];
      const segments: LinePoint[][] = [];
      let current: LinePoint[] = [];
      input.labels.forEach((label, i) => {
        const v = s.values[i];
        if (v === null || v === undefined || !Number.isFinite(v)) {
          if (current.length) segments.push(current);
          current = [];
          return;
        }
        const p = {
          label,
          value: v,
          x: round(CHART.left + i * slot + slot / 2),
          y: round(BASE_Y - (Math.min(v, max) / max) * PLOT_H),
        };
        points.push(p);
        current.push(p);
      });
      if (current.length) segments.push(current);
      return { series: s.name, color: PALETTE[si % PALETTE.length]!, points, segments };
    }),
  };
}

/** Which labels get printed under the axis: at most about 8, always the first and the last. */
export function tickIndexes(count: number, most = 8): number[] {
  if (count <= 0) return [];
  const step = Math.max(1, Math.ceil(count / most));
  const out: number[] = [];
  for (let i = 0; i < count; i += step) out.push(i);
  if (out.at(-1) !== count - 1) {
    // Drop a tick that would sit on top of the last one.
    if (out.length > 1 && count - 1 - out.at(-1)! < step / 2) out.pop();
    out.push(count - 1);
  }
  return out;
}

/** Dates of one year lose the year on the axis (`09-01`); months read `2026-09`. Other labels stay. */
export function shortLabels(labels: string[]): string[] {
  const dates = labels.every((l) => /^\d{4}-\d{2}-\d{2}$/.test(l));
  if (!dates || !labels.length) return labels;
  if (labels.every((l) => l.endsWith('-01')) && labels.length > 1) return labels.map((l) => l.slice(0, 7));
  const oneYear = labels.every((l) => l.slice(0, 4) === labels[0]!.slice(0, 4));
  return oneYear && labels.length > 1 ? labels.map((l) => l.slice(5)) : labels;
}

const plain = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

function frame(input: ChartInput, max: number, slot: number, body: Html): Html {
  const fmt = input.format ?? plain;
  const titleId = `${input.id}-title`;
  const descId = `${input.id}-desc`;
  const ticks = tickIndexes(input.labels.length, 5);
  const short = shortLabels(input.labels);
  const grid = [0, 0.5, 1].map((f) => ({ y: round(BASE_Y - f * PLOT_H), v: max * f }));
  return html`<svg class="chart" viewBox="0 0 ${CHART.width} ${CHART.height}" width="100%" role="img" aria-labelledby="${titleId} ${descId}" xmlns="http://www.w3.org/2000/svg">
<title id="${titleId}">${input.title}</title>
<desc id="${descId}">${input.desc}</desc>
<g fill="currentColor" font-size="12" font-family="system-ui, sans-serif">
${grid.map(
  (g) =>
    html`<line x1="${CHART.left}" x2="${CHART.width - CHART.right}" y1="${g.y}" y2="${g.y}" stroke="currentColor" stroke-opacity="0.25"/><text x="${CHART.left - 4}" y="${g.y + 4}" text-anchor="end">${fmt(g.v)}</text>`,
)}
${ticks.map((i, k) => {
  // Every label shown: each under its column. A thinned axis: the first and last at the edges, so a long date never leaves the chart.
  const thinned = ticks.length < input.labels.length;
  const anchor = thinned && k === 0 ? 'start' : thinned && k === ticks.length - 1 ? 'end' : 'middle';
  const x =
    anchor === 'start'
      ? CHART.left
      : anchor === 'end'
        ? CHART.width - CHART.right
        : round(CHART.left + i * slot + slot / 2);
  return html`<text x="${x}" y="${BASE_Y + 16}" text-anchor="${anchor}">${short[i] ?? ''}</text>`;
})}
</g>
${body}
</svg>`;
}

/** A stacked bar chart (one column per label, one colour per series). */
export function barChart(input: ChartInput): Html {
  const fmt = input.format ?? plain;
  const { max, bars, slot } = barLayout(input);
  const body = html`<g>${bars.map(
    (b) =>
      html`<rect x="${b.x}" y="${b.y}" width="${b.width}" height="${b.height}" fill="${b.color}"><title>${b.label}: ${input.series.length > 1 ? `${b.series} ` : ''}${fmt(b.value)}</title></rect>`,
  )}</g>`;
  return frame(input, max, slot, body);
}

/** A line chart with a dot per value (a single value is a dot). */
export function lineChart(input: ChartInput): Html {
  const fmt = input.format ?? plain;
  const { max, lines } = lineLayout(input);
  const slot = PLOT_W / Math.max(1, input.labels.length);
  const body = html`${lines.map(
    (l) =>
      html`<g>${l.segments
        .filter((seg) => seg.length > 1)
        .map(
          (seg) =>
            html`<polyline fill="none" stroke="${l.color}" stroke-width="2" points="${seg.map((p) => `${p.x},${p.y}`).join(' ')}"/>`,
        )}${l.points.map(
        (p) =>
          html`<circle cx="${p.x}" cy="${p.y}" r="3" fill="${l.color}"><title>${p.label}: ${input.series.length > 1 ? `${l.series} ` : ''}${fmt(p.value)}</title></circle>`,
      )}</g>`,
  )}`;
  return frame(input, max, slot, body);
}

/** The colour key of a chart with several series, as HTML (it wraps at 320 px, SVG text would not). */
export function legend(series: Series[]): Html | '' {
  if (series.length < 2) return '';
  return html`<ul class="legend">${series.map(
    (s, si) =>
      html`<li><svg width="10" height="10" viewBox="0 0 10 10" aria-hidden="true"><rect width="10" height="10" fill="${PALETTE[si % PALETTE.length]}"/></svg> ${s.name}</li>`,
  )}</ul>`;
}
