import { describe, expect, it } from 'vitest';
import { answeringArticles, scoreArticle } from '../../src/pipeline/drafting/findings/knowledge-base.ts';
import { readCatalog } from '../../src/pipeline/drafting/findings/shared.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { wordSet } from '../../src/pipeline/drafting/text.ts';
import { directory, draftInput, kb } from '../helpers/draft-input.ts';

const articles = [
  kb(
    'title-only',
    'Team calendar, team calendar sharing and team calendar colors',
    'Pick a color for each team.',
    0.9,
  ),
  kb(
    'answer',
    'Time off',
    'To share a calendar with a contractor, open the calendar, choose Share and enter their email; they get read-only access.',
    0.2,
  ),
  kb('unrelated', 'Invoices', 'Invoices are sent on the first of the month.', 0.1),
];

describe('knowledge base', () => {
  it('a title cannot drown the body: the article whose body answers ranks first', () => {
    const words = wordSet('How can I share our calendar with a contractor by email?');
    const found = answeringArticles(readCatalog(articles), words).map((a) => a.factId);
    expect(found[0]).toBe('kb:answer');
    expect(found).not.toContain('kb:unrelated');
    const s = scoreArticle(readCatalog(articles).kb[0]!, words);
    expect(s.score).toBeLessThanOrEqual(s.body * 2);
  });

  it('a KB-only answer: the article is the reply, without "I could not find anything" before it', () => {
    const d = draftOffline(
      draftInput('Sharing', 'How can I share our calendar with a contractor by email?', [
        directory('Acme', 'pro'),
        ...articles,
      ]),
    );
    expect(d.reply).toContain('From our help center ("Time off")');
    expect(d.reply).not.toContain('could not find anything');
    expect(d.reply).not.toContain('Invoices');
  });

  it('no article answers: none is appended after "could not find"', () => {
    const d = draftOffline(
      draftInput('Weird', 'The sidebar flickers on my monitor.', [directory('Acme', 'pro'), ...articles]),
    );
    expect(d.reply).toContain('could not find anything');
    expect(d.reply).not.toContain('help center');
    expect(d.confidence).toBe(0.3);
  });
});
