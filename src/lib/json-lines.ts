import { AppError } from './errors.ts';
import { MAX_JSON_DEPTH, parseJsonBody } from './json-body.ts';

/**
 * Line numbers for uploaded text (the console's imports), so a validation problem can name the
 * line it is on, for JSON as for CSV.
 */

/** The 1-based line of character `at` in `text`. */
export function lineAt(text: string, at: number): number {
  let line = 1;
  for (let i = 0; i < at && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The line of the first NUL character, which PostgreSQL cannot store; null when there is none. */
export function nulLine(text: string): number | null {
  const at = text.indexOf('\u0000');
  return at < 0 ? null : lineAt(text, at);
}

/**
 * Parses uploaded JSON like a JSON API body (parseJsonBody: no NUL, bounded nesting) and says
 * where a syntax error is: `{ ok: false, line, message }`.
 */
export function parseUploadedJson(
  text: string,
): { ok: true; value: unknown } | { ok: false; line: number | null; message: string } {
  try {
    JSON.parse(text);
  } catch (e) {
    // V8 says "... in JSON at position 42 (line 3 column 5)"; older ones only the position.
    const msg = e instanceof Error ? e.message : '';
    const m = /line (\d+) column \d+/.exec(msg) ?? null;
    const pos = /position (\d+)/.exec(msg);
    const at = pos ? Number(pos[1]) : jsonErrorOffset(text);
    const line = m ? Number(m[1]) : at !== null ? lineAt(text, at) : null;
    return { ok: false, line, message: 'not valid JSON' };
  }
  try {
    return { ok: true, value: parseJsonBody(text) };
  } catch (e) {
    if (e instanceof AppError) {
      const nul = nulLine(text);
      return { ok: false, line: nul, message: e.message.replace(/^The body/, 'the document') };
    }
    throw e;
  }
}

/**
 * Where a JSON text stops being valid (the offset of the first character that does not fit), for
 * the messages of JSON.parse that give no position ("Unexpected token ']'"); null when valid.
 */
export function jsonErrorOffset(text: string): number | null {
  let i = 0;
  class Bad extends Error {}
  const fail = (): never => {
    throw new Bad();
  };
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  let depth = 0;
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      // Nesting is bounded by parseJsonBody's limit; deeper is an error here too (and no stack overflow).
      if (++depth > MAX_JSON_DEPTH) fail();
      const close = ch === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) {
        i++;
        depth--;
        return;
      }
      for (;;) {
        if (close === '}') {
          ws();
          str();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === close) {
          i++;
          depth--;
          return;
        }
        fail();
      }
    }
    if (ch === '"') {
      str();
      return;
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) throw new Bad();
    i += m[0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : null;
  } catch (e) {
    if (e instanceof Bad) return Math.min(i, text.length);
    throw e;
  }
}

/**
 * The line on which each value of a valid JSON text starts, keyed by its path joined with `.`
 * (`accounts.3.users.0`), down to `maxDepth` levels. The text must already have parsed. A key
 * repeated within one object (JSON.parse keeps only the last) is pushed onto `duplicates`.
 */
export function jsonValueLines(
  text: string,
  maxDepth = 6,
  duplicates?: { path: string; line: number }[],
): Map<string, number> {
  const out = new Map<string, number>();
  let i = 0;
  let line = 1;
  const ws = () => {
    for (;;) {
      const ch = text.charCodeAt(i);
      if (ch === 10) line++;
      else if (ch !== 32 && ch !== 9 && ch !== 13) return;
      i++;
    }
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text.charCodeAt(i) !== 34) i += text.charCodeAt(i) === 92 ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string[]): void => {
    ws();
    if (path.length && path.length <= maxDepth) out.set(path.join('.'), line);
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      const seen = new Set<string>();
      for (;;) {
        ws();
        const k = str();
        if (seen.has(k)) duplicates?.push({ path: [...path, k].join('.'), line });
        seen.add(k);
        ws();
        i++; // ':'
        value([...path, k]);
        ws();
        if (text[i++] === '}') return;
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value([...path, String(n)]);
        ws();
        if (text[i++] === ']') return;
      }
    }
    if (ch === '"') {
      str();
      return;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i]!)) i++;
  };
  value([]);
  return out;
}

/** The line of `path` or of its nearest ancestor found in `lines`. */
export function lineOf(
  lines: Map<string, number> | undefined,
  path: readonly PropertyKey[],
): number | undefined {
  if (!lines) return undefined;
  for (let n = path.length; n > 0; n--) {
    const l = lines.get(path.slice(0, n).map(String).join('.'));
    if (l !== undefined) return l;
  }
  return undefined;
}
