import { describe, expect, it } from 'vitest';
import { isChangeQuestion } from '../../src/pipeline/drafting/findings/changelog.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { changelog, directory, draftInput } from '../helpers/draft-input.ts';

const entries = [
  changelog(
    'c1',
    '2026-11-16',
    'CSV export: tax column split',
    'The CSV export now has separate net and tax columns instead of one gross column.',
  ),
  changelog(
    'c2',
    '2026-03-01',
    'CSV export: new delimiter option',
    'Choose comma or semicolon for CSV exports.',
  ),
  changelog('c3', '2026-11-18', 'Dark mode', 'A dark theme is available under Preferences.'),
];

describe('changelog', () => {
  it('explains a behaviour change with the entry whose date and subject fit, not with "a colleague will look"', () => {
    const d = draftOffline(
      draftInput(
        'CSV export changed',
        'Since this week our CSV export has two tax columns and our import script broke.',
        [directory('Acme', 'pro'), ...entries],
      ),
    );
    expect(d.reply).toContain('This lines up with our change of 2026-11-16, "CSV export: tax column split"');
    expect(d.reply).not.toContain('delimiter'); // too old
    expect(d.reply).not.toContain('Dark mode'); // another subject
    expect(d.reply).not.toContain('a colleague will look into it');
    expect(d.citedFactIds).toContain('catalog:changelog:c1');
  });

  it('is not used for a question that is not about a change', () => {
    const d = draftOffline(
      draftInput('CSV export', 'How do I export invoices as CSV?', [directory('Acme', 'pro'), ...entries]),
    );
    expect(d.reply).not.toContain('lines up with our change');
  });

  it('recognizes "it changed / stopped / broke" in the drafting languages', () => {
    for (const t of [
      'The report stopped loading',
      'Der Export funktioniert seit Montag nicht mehr',
      'La exportación dejó de funcionar',
      "L'export ne marche plus depuis lundi",
      'A exportação parou de funcionar',
    ])
      expect(isChangeQuestion(t), t).toBe(true);
    expect(isChangeQuestion('How do I invite a colleague?')).toBe(false);
  });
});
