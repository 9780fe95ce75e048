import { AppError } from './errors.ts';

/**
 * The one reader for JSON request bodies whose values may be stored (admin configuration API,
 * sidebar actions). Besides JSON syntax it refuses, with `400 invalid_body` and a message naming
 * the place, what PostgreSQL or the server would otherwise fail on with a 500:
 *
 * - a NUL character (`\u0000`) in any string, key or value: PostgreSQL `text` and `jsonb` cannot
 *   hold it ("unsupported Unicode escape sequence" / "invalid byte sequence");
 * - nesting deeper than `maxDepth` (default 64) arrays and objects: nothing we accept is nested
 *   more than a few levels, and very deep values exhaust stacks in validation and in jsonb.
 *
 * The depth is measured on the text before parsing, so a deeply nested body costs one linear scan.
 */
export const MAX_JSON_DEPTH = 64;

export function parseJsonBody(text: string, opts: { maxDepth?: number } = {}): unknown {
  const maxDepth = opts.maxDepth ?? MAX_JSON_DEPTH;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > maxDepth)
        throw new AppError('invalid_body', `The body is nested deeper than ${maxDepth} levels.`);
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AppError('invalid_body', 'The body is not valid JSON.');
  }
  // Only the \u0000 escape can put a NUL into a parsed string (JSON refuses raw control characters).
  if (text.includes('\\u0000')) {
    const at = nulPath(value, []);
    if (at) {
      throw new AppError(
        'invalid_body',
        `${at.join('.') || 'body'}: contains a NUL character (\\u0000), which cannot be stored.`,
      );
    }
  }
  return value;
}

/** The path of the first string (value or key) holding a NUL, or null. Depth is already bounded. */
function nulPath(v: unknown, path: (string | number)[]): (string | number)[] | null {
  if (typeof v === 'string') return v.includes('\u0000') ? path : null;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const found = nulPath(x, [...path, i]);
      if (found) return found;
    }
    return null;
  }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('\u0000')) return [...path, k.replaceAll('\u0000', '\\u0000')];
      const found = nulPath(x, [...path, k]);
      if (found) return found;
    }
  }
  return null;
}
