import { describe, expect, it } from 'vitest';
import { readInstruction } from '../../src/pipeline/drafting/instruction.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { buildDraftPrompt, draftPlaybookKey } from '../../src/pipeline/drafting/prompt.ts';
import type { DraftInput } from '../../src/pipeline/drafting/types.ts';
import { directory, draftInput, feature, kb, link, plan, playbook } from '../helpers/draft-input.ts';

const facts = [
  directory('Acme', 'basic'),
  plan('basic', 'Basic', 20),
  plan('scale', 'Scale', 90),
  feature('hubspot', 'HubSpot sync', ['scale']),
  link('changeTier', 'https://app.example/account/tier', 'upgrade'),
  kb('hs', 'Connecting HubSpot', 'Open Settings > Integrations > HubSpot and press Connect.'),
  playbook('plan-gated', 'feature missing from plan upgrade', ['Say which plan has it', 'Link the upgrade']),
  playbook('refund', 'refund money back invoice', ['Check the invoice']),
];
const ticket = (instruction?: string): DraftInput => ({
  ...draftInput('HubSpot sync missing', 'Our HubSpot sync is missing from the menu. Why?', facts),
  ...(instruction ? { instruction } : {}),
});

describe('Regenerate instruction and playbook key', () => {
  it('reads language, shorter and formal in any of the drafter languages', () => {
    expect(readInstruction('in German please')).toEqual({ language: 'de', shorter: false, formal: false });
    expect(readInstruction('auf Deutsch, kürzer')).toEqual({ language: 'de', shorter: true, formal: false });
    expect(readInstruction('más corto y en español')).toMatchObject({ language: 'es', shorter: true });
    expect(readInstruction('more formal')).toEqual({ language: null, shorter: false, formal: true });
    expect(readInstruction('fr')).toMatchObject({ language: 'fr' });
    // A two-letter code inside a sentence is not a language ("de" in a Spanish phrase).
    expect(readInstruction('menos de tres frases')).toMatchObject({ language: null });
    expect(readInstruction('   ')).toBeNull();
  });

  it('the offline drafter writes the language asked for, whatever the ticket is written in', () => {
    const plain = draftOffline(ticket());
    const german = draftOffline(ticket('in German'));
    expect(plain.language).toBe('en');
    expect(plain.reply.startsWith('Hi Sam,')).toBe(true);
    expect(german.language).toBe('de');
    expect(german.reply.startsWith('Hallo Sam,')).toBe(true);
    expect(german.reply).toContain('Viele Grüße');
    expect(german.reply).not.toBe(plain.reply);
  });

  it('"shorter" gives a shorter draft that cites only what it still says; "more formal" changes the register', () => {
    const plain = draftOffline(ticket());
    const short = draftOffline(ticket('shorter'));
    expect(plain.reply.split('\n\n').length).toBeGreaterThan(3);
    expect(short.reply.length).toBeLessThan(plain.reply.length);
    expect(short.reply.split('\n\n').length).toBeLessThanOrEqual(4);
    for (const id of short.citedFactIds) expect(plain.citedFactIds).toContain(id);
    const formal = draftOffline(ticket('more formal'));
    expect(formal.reply.startsWith('Dear Sam,')).toBe(true);
    expect(formal.reply.trimEnd().endsWith('Kind regards,')).toBe(true);
    const unknown = draftOffline(ticket('make it sparkle'));
    expect(unknown.needsHumanReason).toContain('could not apply the instruction');
  });

  it('both drafters name the playbook the draft follows', () => {
    expect(draftOffline(ticket()).playbookKey).toBe('plan-gated');
    expect(
      draftOffline(draftInput('Hello', 'Just saying hello to the team.', [directory('Acme', 'basic')]))
        .playbookKey,
    ).toBeNull();
    const prompt = buildDraftPrompt(ticket());
    expect(draftPlaybookKey(prompt, [])).toBe('plan-gated');
    // The model's own citation of a playbook wins over the keyword match.
    expect(draftPlaybookKey(prompt, ['playbook:refund'])).toBe('refund');
  });

  it('the model prompt carries the instruction outside the untrusted ticket block, and only when given', () => {
    const without = buildDraftPrompt(ticket());
    expect(without.user).not.toContain('AGENT INSTRUCTION');
    const p = buildDraftPrompt(ticket('shorter, in Spanish'));
    expect(p.user).toContain(
      'AGENT INSTRUCTION (from the support agent reviewing the draft, not from the requester): "shorter, in Spanish"',
    );
    expect(p.user.indexOf('AGENT INSTRUCTION')).toBeLessThan(p.user.indexOf(`BEGIN ${p.boundary}`));
    expect(p.system).toContain('Follow it for length, tone and language');
  });
});
