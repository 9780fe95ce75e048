/**
 * Small, deterministic text helpers shared by the drafters: word sets for keyword overlap,
 * humanized keys and relative dates.
 */
const STOPWORDS = new Set(
  `a an and are as at be been but by can could did do does for from has have how i if in into is it its
  me my no not of on or our ours so some than that the their them then there these they this to too up
  us was we were what when where which who why will with you your yours hi hello hey thanks thank please
  just since also any all about after before still get got help someone customer customers asks ask
  asked says say said reports report reported tell told want wants would should need needs one other others
  like know see seen sure way here now new
  der die das den dem des ein eine einen einem einer und oder ist sind war wir ihr sie es ich mich mir
  uns unser unsere nicht kein keine mit von zu im auf für aus bei nach seit wie was warum wann wo hallo
  danke bitte auch noch schon aber wenn dass hat haben kann können
  el la los las un una unos unas y o es son fue nosotros mi mis su sus tu tus no con de del al en por
  para que como qué cuando donde hola gracias favor pero ya muy hay desde
  le les une des et ou est sont nous vous je mon ma mes notre nos votre vos pas ne avec du au aux dans
  sur pour que qui comment quoi quand où bonjour merci mais déjà très il elle depuis
  os um uma uns umas é são foi nós meu minha meus minhas seu sua seus suas não com do da dos das ao em
  no na nos nas pelo pela que como quando onde olá obrigado obrigada mas já muito há`.split(/\s+/),
);

/** Whether `word` (lower case) is a function word in one of the drafter's languages. */
export function isStopword(word: string): boolean {
  return STOPWORDS.has(word);
}

/** A crude English stem: enough for "fires"/"fire", "changes"/"change", "missing"/"miss". */
export function stem(word: string): string {
  let w = word.toLowerCase();
  if (w.length > 5 && w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('es') && !w.endsWith('ses')) w = w.slice(0, -1);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  if (w.length > 4 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/** Content words of `text`, stemmed, without stopwords. Numbers are kept as they are. */
export function wordSet(text: string): Set<string> {
  const out = new Set<string>();
  for (const raw of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOPWORDS.has(raw) || raw.length < 2) continue;
    out.add(/^\d+$/.test(raw) ? raw : stem(raw));
  }
  return out;
}

export function overlap(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((w) => b.has(w));
}

/** `pointsBalance` / `fulfilled_at` -> `points balance` / `fulfilled at`. */
export function humanize(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
    .trim();
}

export function titleCase(s: string): string {
  return humanize(s).replace(/\b\p{L}/gu, (c) => c.toUpperCase());
}

/** `orders` -> `order`. */
export function singular(word: string): string {
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** "2026-11-17 08:13 UTC" for timestamps, the date alone for dates. */
export function formatWhen(iso: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)} UTC`;
}

/** "3 days ago", "yesterday", "today", relative to `now` (calendar days, UTC). */
export function relativeDays(iso: string, now: Date): string | null {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  if (d.getTime() > now.getTime()) return null;
  // Calendar days (UTC), so an event at 14:00 two days back is "2 days ago", not "yesterday".
  const day = (x: Date) => Date.UTC(x.getUTCFullYear(), x.getUTCMonth(), x.getUTCDate());
  const days = Math.round((day(now) - day(d)) / 86_400_000);
  if (days === 0) return 'today';
  if (days === 1) return 'yesterday';
  return `${days} days ago`;
}

export function joinAnd(items: string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function firstName(name: string | null | undefined): string | null {
  const n = name?.trim().split(/\s+/)[0];
  return n && /^[\p{L}'-]{1,40}$/u.test(n) ? n : null;
}
