import type { DiffOp } from '../db/schema/index.ts';

/**
 * Edit feedback: the Levenshtein distance in characters between the draft and what was sent,
 * and a word-level diff (longest common subsequence) to show and store. Inputs are capped
 * (`MAX_CHARS`), so a pathological edit cannot make a request quadratic in megabytes.
 */
export const MAX_CHARS = 8000;

export function editDistance(a: string, b: string): number {
  const s = a.slice(0, MAX_CHARS);
  const t = b.slice(0, MAX_CHARS);
  if (s === t) return 0;
  if (!s.length) return t.length;
  if (!t.length) return s.length;
  let prev = new Uint32Array(t.length + 1);
  let cur = new Uint32Array(t.length + 1);
  for (let j = 0; j <= t.length; j++) prev[j] = j;
  for (let i = 1; i <= s.length; i++) {
    cur[0] = i;
    const si = s.charCodeAt(i - 1);
    for (let j = 1; j <= t.length; j++) {
      const cost = si === t.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[t.length]!;
}

/** Word-level diff of `a` -> `b` (whitespace kept with the word before it). */
export function wordDiff(a: string, b: string): DiffOp[] {
  const x = a.slice(0, MAX_CHARS).match(/\S+\s*|\s+/g) ?? [];
  const y = b.slice(0, MAX_CHARS).match(/\S+\s*|\s+/g) ?? [];
  const n = x.length;
  const m = y.length;
  const lcs: Uint16Array[] = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffOp[] = [];
  const push = (op: DiffOp['op'], text: string) => {
    const last = out[out.length - 1];
    if (last && last.op === op) last.text += text;
    else out.push({ op, text });
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      push('eq', x[i]!);
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) push('del', x[i++]!);
    else push('ins', y[j++]!);
  }
  while (i < n) push('del', x[i++]!);
  while (j < m) push('ins', y[j++]!);
  return out;
}

/** Text as Zendesk stores a comment's plain body: line endings and surrounding space normalized. */
export function normalizeReply(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+\n/g, '\n')
    .trim();
}
