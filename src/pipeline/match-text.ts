/**
 * Text as the leak guard compares it: the same normal form for a draft and for the identifiers
 * it is checked against, so a name written with zero-width characters, fullwidth letters or
 * another case still matches.
 *
 * Normal form: format and default-ignorable characters removed (U+200B..U+200D, U+2060, U+FEFF,
 * the soft hyphen, bidi controls, variation selectors, ...), NFKC (fullwidth and compatibility
 * forms to plain ones: "ｈｅｌｌｏ＠ｏａｋｌｉｎｅ．ｅｘａｍｐｌｅ" is "hello@oakline.example"), lower case (final
 * sigma as sigma), every run of white space one space. A normalised draft keeps, for each of its
 * UTF-16 units, the span of the original text it came from, so a match found in the normal form
 * is redacted in the original.
 *
 * Words ("tokens") are maximal runs of letters, digits, combining marks and `_`; every other
 * character is a symbol of its own. The guard's boundaries are defined on this form.
 */

const IGNORABLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const IGNORABLE_ALL = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const MARK = /\p{M}/u;
const SPACE = /\s/u;
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/** Lower case as both sides use it: final sigma folded to sigma (lower-casing a lone Σ gives σ). */
const lower = (s: string) => s.toLowerCase().replace(/ς/g, 'σ');

/** The normal form of an identifier (no offsets kept). */
export function normalizeKey(value: string): string {
  if (PLAIN_ASCII.test(value)) return value.toLowerCase().replace(/\s+/g, ' ').trim();
  return lower(value.replace(IGNORABLE_ALL, '').normalize('NFKC')).replace(/\s+/gu, ' ').trim();
}

export interface NormalizedText {
  /** The normal form. */
  text: string;
  /** For each UTF-16 unit of `text`: the original offsets [from, to) it came from. */
  from: Int32Array;
  to: Int32Array;
}

/**
 * Normalises `original` keeping offsets. NFKC is applied per cluster (a character and the
 * combining marks after it), so a decomposed "é" composes as it does in a whole-string NFKC.
 */
export function normalizeText(original: string): NormalizedText {
  const out: string[] = [];
  const from: number[] = [];
  const to: number[] = [];
  let cluster = '';
  let start = 0;
  let end = 0;
  let spaceOpen = false;
  const push = (s: string, a: number, b: number) => {
    for (let k = 0; k < s.length; k++) {
      let ch = s[k]!;
      if (SPACE.test(ch)) {
        // A run of white space is one space covering the whole run.
        if (spaceOpen) {
          to[to.length - 1] = b;
          continue;
        }
        spaceOpen = true;
        ch = ' ';
      } else spaceOpen = false;
      out.push(ch);
      from.push(a);
      to.push(b);
    }
  };
  const flush = () => {
    if (!cluster) return;
    push(PLAIN_ASCII.test(cluster) ? cluster.toLowerCase() : lower(cluster.normalize('NFKC')), start, end);
    cluster = '';
  };
  for (let i = 0; i < original.length; ) {
    const cp = original.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    const next = i + ch.length;
    if (cp > 0x7e && IGNORABLE.test(ch)) {
      // Dropped; a mark after it still joins the open cluster.
    } else if (cluster && cp > 0x7e && MARK.test(ch)) {
      cluster += ch;
      end = next;
    } else {
      flush();
      cluster = ch;
      start = i;
      end = next;
    }
    i = next;
  }
  flush();
  return { text: out.join(''), from: Int32Array.from(from), to: Int32Array.from(to) };
}

/** Letters, digits, marks, `_`: what a word is made of. */
export const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u;
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const SYMBOLS = /[\p{L}\p{N}\p{M}_]+|./gsu;

/** The words and single other characters of a normalised string, in order. */
export function symbolsOf(text: string): string[] {
  return text.match(SYMBOLS) ?? [];
}

/** Symbols with their [start, end) offsets in `text`. */
export function symbolSpans(text: string): { symbols: string[]; starts: Int32Array; ends: Int32Array } {
  const symbols: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (const m of text.matchAll(SYMBOLS)) {
    symbols.push(m[0]);
    starts.push(m.index);
    ends.push(m.index + m[0].length);
  }
  return { symbols, starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

function codePointBefore(text: string, i: number): string {
  if (i <= 0) return '';
  const lo = text.charCodeAt(i - 1);
  return lo >= 0xdc00 && lo <= 0xdfff && i >= 2 ? text.slice(i - 2, i) : text[i - 1]!;
}

function codePointAt(text: string, i: number): string {
  if (i >= text.length) return '';
  return String.fromCodePoint(text.codePointAt(i)!);
}

/**
 * Whether text[start, end) stands on its own: not preceded by a word character, `@`, `.` or `-`
 * (so a domain does not match inside an email or a longer domain), not followed by a word
 * character or `-`, nor by a `.` that continues with a letter or digit (a sentence's full stop
 * is fine, a longer domain is not).
 */
export function standsAlone(text: string, start: number, end: number): boolean {
  const before = codePointBefore(text, start);
  if (before && (WORD_CHAR.test(before) || before === '@' || before === '.' || before === '-')) return false;
  const after = codePointAt(text, end);
  if (!after) return true;
  if (WORD_CHAR.test(after) || after === '-') return false;
  if (after === '.') return !LETTER_OR_DIGIT.test(codePointAt(text, end + 1));
  return true;
}
