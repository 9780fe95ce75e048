import { overlap, wordSet } from '../text.ts';
import { type FindingInput, GENERIC, type Writer } from './shared.ts';

/**
 * "It changed / stopped / broke / is different / no longer works" in the drafter's languages:
 * the kind of question a changelog entry can answer.
 */
const CHANGE =
  /\b(chang\w*|stopp\w*|broke\w*|break\w*|no longer|not anymore|any ?more|suddenly|since|different|moved|missing|disappear\w*|gone|renamed|removed|new (?:limit|behaviou?r)|used to|now (?:shows?|requires?|says?)|ge(?:ä|ae)ndert|nicht mehr|pl(?:ö|oe)tzlich|seit|verschwunden|anders|fehlt|cambi\w*|dej(?:ó|o) de|ya no|desde|de repente|desapareci\w*|chang(?:é|e)|ne \w+ plus|depuis|soudain\w*|dispar\w*|mud(?:ou|ança)|parou|n(?:ã|a)o \w+ mais|de repente|sumiu)\b/i;

export function isChangeQuestion(text: string): boolean {
  return CHANGE.test(text);
}

/** Changelog entries are read from this many days before the ticket (and a day after). */
const WINDOW_DAYS = 60;

/**
 * Changelog entries whose date fits (within the window before `now`) and whose subject fits: it
 * shares a distinctive word with the ticket, or names an integration already found failing.
 * Used for any "it changed / stopped / broke" question and to explain a failing integration.
 */
export function changelogEntries(
  w: Writer,
  f: FindingInput,
  integrations: string[],
  explainedElsewhere: Set<string> = new Set(),
): number {
  const { input, catalog, ticketText, ticketWords, p } = f;
  const asked = isChangeQuestion(ticketText);
  if (!asked && integrations.length === 0) return 0;
  const scored = catalog.changelog
    .map((c) => {
      const days = (input.now.getTime() - new Date(c.date).getTime()) / 86_400_000;
      const text = `${c.title} ${c.body}`.toLowerCase();
      const names = integrations.filter((n) => text.includes(n));
      const words = overlap(wordSet(`${c.title} ${c.body}`), ticketWords).filter((x) => !GENERIC.has(x));
      const titleWords = overlap(wordSet(c.title), ticketWords).filter((x) => !GENERIC.has(x));
      // A feature the plan lacks is already explained by the plan: its release note is not the cause.
      if ([...explainedElsewhere].some((k) => text.includes(k))) return { c, days, score: 0, fits: false };
      const fits = names.length > 0 || (asked && (words.length >= 2 || titleWords.length >= 1));
      return { c, days, score: names.length * 3 + words.length + titleWords.length, fits };
    })
    .filter((x) => x.fits && Number.isFinite(x.days) && x.days >= -1 && x.days <= WINDOW_DAYS)
    .sort((a, b) => b.score - a.score || a.days - b.days)
    .slice(0, 2);
  for (const { c } of scored) {
    w.say(p.changelogFits(c.date, c.title, c.body), c.factId);
    w.findings++;
  }
  return scored.length;
}
