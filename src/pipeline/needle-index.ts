import { type NormalizedText, standsAlone, symbolSpans, symbolsOf } from './match-text.ts';

/**
 * One automaton over many needles (Aho–Corasick over words): built once, it finds every needle
 * in a text in time proportional to the text's length plus the hits, however many needles it
 * holds. Needles and text are in the normal form of match-text.ts and compared word by word
 * (a word is a whole token, never part of one), then each hit is checked against the guard's
 * boundaries (`standsAlone`).
 *
 * The trie's edges live in one Map keyed by `node * symbolCount + symbol`; a node is a number.
 */
export interface NeedleHit {
  /** Index of the needle, in the order `buildNeedleIndex` was given them. */
  needle: number;
  /** [start, end) in the normalised text. */
  start: number;
  end: number;
}

export interface NeedleIndex {
  /** Needles (normalised), by index. */
  readonly needles: readonly string[];
  /** Every occurrence of every needle that stands alone in `text`. */
  find(text: NormalizedText): NeedleHit[];
  /** Rough size in bytes, for the cache's bound. */
  readonly weight: number;
}

/** Lets other work on the event loop run during a long build (a 10,000-account directory). */
export const yieldToLoop = () =>
  new Promise<void>((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );
/** Work units (needles inserted, nodes linked) between two yields. */
const SLICE = 20_000;

/**
 * Builds the index; `needles` must be normalised (normalizeKey) and distinct. Yields to the
 * event loop every few thousand needles, so a large build does not stall other requests.
 */
export async function buildNeedleIndex(needles: readonly string[]): Promise<NeedleIndex> {
  const symbolIds = new Map<string, number>();
  const tokenized: number[][] = [];
  for (const n of needles) {
    if (tokenized.length % SLICE === SLICE - 1) await yieldToLoop();
    tokenized.push(
      symbolsOf(n).map((s) => {
        let id = symbolIds.get(s);
        if (id === undefined) {
          id = symbolIds.size;
          symbolIds.set(s, id);
        }
        return id;
      }),
    );
  }
  const width = Math.max(1, symbolIds.size);
  const edges = new Map<number, number>();
  // Per node: its first child and next sibling (for the breadth-first pass), its symbol, the
  // needle ending there (-1 if none), its failure link and its nearest needle-ending suffix.
  const firstChild: number[] = [-1];
  const nextSibling: number[] = [-1];
  const symbolOf: number[] = [-1];
  const ending: number[] = [-1];
  const lengths = new Int32Array(needles.length);
  for (let p = 0; p < tokenized.length; p++) {
    if (p % SLICE === SLICE - 1) await yieldToLoop();
    const seq = tokenized[p]!;
    lengths[p] = seq.length;
    let node = 0;
    for (const s of seq) {
      const key = node * width + s;
      let child = edges.get(key);
      if (child === undefined) {
        child = ending.length;
        edges.set(key, child);
        firstChild.push(-1);
        symbolOf.push(s);
        ending.push(-1);
        nextSibling.push(firstChild[node]!);
        firstChild[node] = child;
      }
      node = child;
    }
    if (seq.length && ending[node] === -1) ending[node] = p;
  }
  const count = ending.length;
  const fail = new Int32Array(count);
  const output = new Int32Array(count).fill(-1);
  const queue = new Int32Array(count);
  let head = 0;
  let tail = 0;
  for (let c = firstChild[0]!; c !== -1; c = nextSibling[c]!) queue[tail++] = c;
  while (head < tail) {
    if (head % SLICE === SLICE - 1) await yieldToLoop();
    const u = queue[head++]!;
    for (let v = firstChild[u]!; v !== -1; v = nextSibling[v]!) {
      const s = symbolOf[v]!;
      let f = fail[u]!;
      let target = edges.get(f * width + s);
      while (target === undefined && f !== 0) {
        f = fail[f]!;
        target = edges.get(f * width + s);
      }
      fail[v] = target !== undefined && target !== v ? target : 0;
      const fv = fail[v]!;
      output[v] = ending[fv] !== -1 ? fv : output[fv]!;
      queue[tail++] = v;
    }
  }
  const endingAt = Int32Array.from(ending);

  function find(text: NormalizedText): NeedleHit[] {
    const { symbols, starts, ends } = symbolSpans(text.text);
    const hits: NeedleHit[] = [];
    let state = 0;
    for (let i = 0; i < symbols.length; i++) {
      const s = symbolIds.get(symbols[i]!);
      if (s === undefined) {
        state = 0;
        continue;
      }
      let next = edges.get(state * width + s);
      while (next === undefined && state !== 0) {
        state = fail[state]!;
        next = edges.get(state * width + s);
      }
      state = next ?? 0;
      for (let t = endingAt[state] !== -1 ? state : output[state]!; t > 0; t = output[t]!) {
        const needle = endingAt[t]!;
        const start = starts[i - lengths[needle]! + 1]!;
        const end = ends[i]!;
        if (standsAlone(text.text, start, end)) hits.push({ needle, start, end });
      }
    }
    return hits;
  }

  let chars = 0;
  for (const n of needles) chars += n.length;
  return { needles, find, weight: chars * 2 + count * 48 + symbolIds.size * 40 };
}
