import type { ContextFact } from '../types.ts';
import { overlap, wordSet } from './text.ts';

export interface Playbook {
  factId: string;
  key: string;
  when: string;
  steps: string[];
}

export function playbooksOf(facts: ContextFact[]): Playbook[] {
  return facts
    .filter((f) => f.key === 'playbook')
    .map((f) => {
      const v = f.value as { key?: unknown; when?: unknown; steps?: unknown };
      return {
        factId: f.id,
        key: String(v.key ?? f.id),
        when: typeof v.when === 'string' ? v.when : '',
        steps: Array.isArray(v.steps) ? v.steps.filter((s): s is string => typeof s === 'string') : [],
      };
    });
}

/**
 * Playbooks that fit a ticket, best first: keyword overlap between the ticket (plus `signals`,
 * words describing what the context shows, e.g. "feature plan" for a plan-gated feature) and the
 * playbook's `when` text (weight 2) and steps (weight 1). At least one `when` word must match.
 */
export function matchPlaybooks(
  books: Playbook[],
  ticketText: string,
  signals: string[] = [],
): { book: Playbook; score: number; words: string[] }[] {
  const words = wordSet(`${ticketText} ${signals.join(' ')}`);
  return books
    .map((book) => {
      const whenHits = overlap(wordSet(book.when), words);
      const stepHits = overlap(wordSet(book.steps.join(' ')), words).filter((w) => !whenHits.includes(w));
      return {
        book,
        score: whenHits.length * 2 + stepHits.length,
        words: [...whenHits, ...stepHits],
        whenHits,
      };
    })
    .filter((m) => m.whenHits.length > 0)
    .sort((a, b) => b.score - a.score || a.book.key.localeCompare(b.book.key))
    .map(({ book, score, words: w }) => ({ book, score, words: w }));
}
