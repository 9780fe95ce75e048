import type { Lang } from './language.ts';

/**
 * What the offline drafter can do with the agent's Regenerate instruction ("shorter", "more
 * formal", "in German"): it reads the words in any of its languages. The model drafter gets the
 * instruction itself (buildDraftPrompt); this is the offline drafter's reading of it.
 */
export interface DraftInstruction {
  /** The language asked for, when the instruction names one the offline drafter writes. */
  language: Lang | null;
  shorter: boolean;
  formal: boolean;
}

// Language names as written in en, de, es, fr and pt (accents optional), and the ISO codes.
const LANGUAGE_WORDS: [Lang, RegExp][] = [
  ['en', /\b(english|englisch|ingl[eé]s|anglais|en)\b/giu],
  ['de', /\b(german|deutsch|alem[aá]n|allemand|alem[aã]o|de)\b/giu],
  ['es', /\b(spanish|spanisch|espa[nñ]ol|espagnol|espanhol|es)\b/giu],
  ['fr', /\b(french|franz[oö]sisch|franc[eé]s|fran[cç]ais|franc[eê]s|fr)\b/giu],
  ['pt', /\b(portuguese|portugiesisch|portugu[eé]s|portugais|portugu[eê]s|pt)\b/giu],
];
const SHORTER =
  /\b(short|shorter|brief|briefer|concise|k[uü]rzer|kurz|corto|m[aá]s corto|breve|court|plus court|curto|mais curto|conciso)\b/iu;
const FORMAL = /\b(formal|formally|f[oö]rmlich|formell|formel|soutenu|formale)\b/iu;

export function readInstruction(text: string | null | undefined): DraftInstruction | null {
  const t = text?.trim();
  if (!t) return null;
  // A bare code ("de") counts only as the whole instruction or after "in"/"to"; names count anywhere.
  let language: Lang | null = null;
  let at = Number.POSITIVE_INFINITY;
  for (const [lang, re] of LANGUAGE_WORDS) {
    for (const m of t.matchAll(re)) {
      const word = m[1]!.toLowerCase();
      if (word.length === 2) {
        const before = t.slice(0, m.index).trim().toLowerCase();
        if (t.trim().toLowerCase() !== word && !/(^|\s)(in|to|auf|en|em)$/u.test(before)) continue;
      }
      if (m.index! < at) {
        at = m.index!;
        language = lang;
      }
    }
  }
  return { language, shorter: SHORTER.test(t), formal: FORMAL.test(t) };
}

/** The instruction was understood (at least one part the offline drafter can apply). */
export function isActionable(i: DraftInstruction | null): i is DraftInstruction {
  return !!i && (i.language !== null || i.shorter || i.formal);
}
