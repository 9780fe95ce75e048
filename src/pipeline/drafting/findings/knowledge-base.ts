import { overlap, wordSet } from '../text.ts';
import { type Catalog, type FindingInput, GENERIC, type Writer } from './shared.ts';

/**
 * Knowledge-base articles quoted only when they answer the question: the article's body must
 * share content words with the ticket, and its title may add at most as much as its body does,
 * so an article that merely shares a word in its title never outranks the one whose body answers.
 */
export interface KbScore {
  factId: string;
  body: number;
  title: number;
  score: number;
}

/** Least score (body hits plus capped title hits) for an article to count as an answer. */
export const KB_THRESHOLD = 2;

export function scoreArticle(a: Catalog['kb'][number], words: Set<string>): KbScore {
  const content = (s: string) => new Set([...wordSet(s)].filter((x) => !GENERIC.has(x)));
  const body = overlap(content(a.body), words).length;
  const title = overlap(content(a.title), words).length;
  return { factId: a.factId, body, title, score: body + Math.min(title, body) };
}

/** Articles that answer, best first. */
export function answeringArticles(catalog: Catalog, words: Set<string>, exclude: Set<string> = new Set()) {
  return catalog.kb
    .filter((a) => !exclude.has(a.factId))
    .map((a) => ({ a, s: scoreArticle(a, words) }))
    .filter(({ s }) => s.body >= 1 && s.score >= KB_THRESHOLD)
    .sort((x, y) => y.s.score - x.s.score || y.s.body - x.s.body || y.a.rank - x.a.rank)
    .map(({ a }) => a);
}

/** Quotes the best answering article (at most `max`); returns how many it quoted. */
export function knowledgeBase(
  w: Writer,
  f: FindingInput,
  opts: { max?: number; words?: Set<string> } = {},
): number {
  const articles = answeringArticles(f.catalog, opts.words ?? f.ticketWords, w.usedKb).slice(
    0,
    opts.max ?? 1,
  );
  for (const a of articles) {
    w.usedKb.add(a.factId);
    w.say(f.p.kbQuote(a.title, a.body), a.factId);
  }
  return articles.length;
}
