/**
 * The ticket's language, told apart by function words (articles, pronouns, prepositions), which
 * every sentence has whatever it is about. `detectLanguage` answers an ISO 639-1 code for the
 * languages it knows, or `null` when the text is too short or in none of them.
 */
export type Lang = 'en' | 'de' | 'es' | 'fr' | 'pt';
/** Languages the offline drafter writes; others get an English draft flagged for translation. */
export const DRAFT_LANGUAGES: readonly Lang[] = ['en', 'de', 'es', 'fr', 'pt'];

const MARKERS: Record<string, string> = {
  en: 'the a an and is are was were it this that we our you your to of in on for with not does do have has from since can how what why',
  de: 'der die das den dem des ein eine einen und ist sind war wir unser unsere ihr sie es nicht kein keine mit von zu im auf für seit wie was warum ich mein meine hat haben kann können noch mehr auch bei',
  es: 'el la los las un una y es son está están fue nuestro nuestra mi mis su sus no con del al en por para que como qué desde pero ya hay puedo cómo por qué',
  fr: 'le la les un une des et est sont nous notre nos vous votre je mon ma mes pas ne avec du au aux dans sur pour que qui comment depuis plus il elle ça',
  pt: 'o a os as um uma e é são está estão foi nosso nossa meu minha seu sua não com do da dos das ao em no na pelo pela para que como desde mas já há você',
  it: 'il lo gli le un una e è sono non con del della nel per che come perché ho abbiamo nostro nostra',
  nl: 'de het een en is zijn niet met van voor dat die hoe waarom wij ons onze ik mijn heeft hebben',
};
const SETS = Object.fromEntries(Object.entries(MARKERS).map(([k, v]) => [k, new Set(v.split(' '))]));

/** Letters only some languages use break ties between close scores. */
const HINTS: [RegExp, string][] = [
  [/[äöüß]/i, 'de'],
  [/[ñ¿¡]/i, 'es'],
  [/[ãõ]|ção|ções/i, 'pt'],
  [/[èêëœ]|ç(?!ão|ões)/i, 'fr'],
];

/** `en`, `de`, `es`, `fr`, `pt`, another code it recognizes (`it`, `nl`), `other` for unknown text, null when too short. */
export function detectLanguage(text: string): string | null {
  if (
    /[\p{Script=Cyrillic}\p{Script=Han}\p{Script=Arabic}\p{Script=Hiragana}\p{Script=Hangul}\p{Script=Greek}]/u.test(
      text,
    )
  )
    return 'other';
  const words = text.toLowerCase().match(/[\p{L}']+/gu) ?? [];
  if (words.length < 3) return null;
  const scores: Record<string, number> = {};
  for (const [lang, set] of Object.entries(SETS))
    scores[lang] = words.reduce((n, w) => n + (set.has(w) ? 1 : 0), 0);
  for (const [re, lang] of HINTS) if (re.test(text)) scores[lang] = (scores[lang] ?? 0) + 1.5;
  const ranked = Object.entries(scores).sort((a, b) => b[1] - a[1]);
  const [best, second] = ranked;
  if (!best || best[1] < 2) return words.length >= 8 ? 'other' : null;
  if (second && best[1] === second[1] && best[0] !== 'en' && second[0] === 'en') return 'en';
  return best[0];
}

/** The language a draft is written in: the detected one when the drafter knows it, else English. */
export function draftLanguage(detected: string | null): Lang {
  return DRAFT_LANGUAGES.includes(detected as Lang) ? (detected as Lang) : 'en';
}

export const LANGUAGE_NAMES: Record<string, string> = {
  en: 'English',
  de: 'German',
  es: 'Spanish',
  fr: 'French',
  pt: 'Portuguese',
  it: 'Italian',
  nl: 'Dutch',
  other: 'a language the offline drafter does not write',
};
