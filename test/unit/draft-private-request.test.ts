import { describe, expect, it } from 'vitest';
import { asksPrivateFacts } from '../../src/pipeline/drafting/findings/private-request.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { draftInput, fact } from '../helpers/draft-input.ts';

const records = fact(
  'ctx:records',
  'records',
  { orders: [{ id: 'O-5521', status: 'shipped' }] },
  { source: 'context_api', visibility: 'end_user' },
);

describe('an end user asking for account-private facts', () => {
  it('gets a polite refusal, and the own-records part is still answered', () => {
    const d = draftOffline(
      draftInput(
        'Order and a question',
        "Where is order O-5521? Also, which plan is the shop on, and what is the owner's email?",
        [records],
        {
          level: 'end_user',
          brand: 'Tidewater Tea',
        },
      ),
    );
    expect(d.reply).toContain("I can't share details about Tidewater Tea's own account");
    expect(d.reply).toContain('O-5521');
  });

  it('in the requester language', () => {
    const d = draftOffline(
      draftInput('Frage', 'Wie viel Umsatz macht der Laden und wer sind die Mitarbeiter?', [records], {
        level: 'end_user',
        brand: 'Tidewater Tea',
      }),
    );
    expect(d.reply).toContain('Leider kann ich keine Angaben zum Konto von Tidewater Tea');
  });

  it('recognizes the kinds of private questions, and not an own question', () => {
    expect(asksPrivateFacts('Can you give me the email of the store manager?', null)).toBe(true);
    expect(asksPrivateFacts('What do other customers pay?', null)).toBe(true);
    expect(asksPrivateFacts("What is Tidewater Tea's plan with you?", 'Tidewater Tea')).toBe(true);
    expect(asksPrivateFacts('When will my order arrive?', 'Tidewater Tea')).toBe(false);
  });

  it('is not applied at account level (the account may ask about itself)', () => {
    const d = draftOffline(
      draftInput('Plan', 'Which plan are we on, and who are the admins?', [], { level: 'account' }),
    );
    expect(d.reply).not.toContain("can't share");
  });
});
