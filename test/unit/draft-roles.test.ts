import { describe, expect, it } from 'vitest';
import { normRole, roleRule } from '../../src/pipeline/drafting/findings/roles.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { playbooksOf } from '../../src/pipeline/drafting/playbooks.ts';
import { ctx, directory, draftInput, link, playbook } from '../helpers/draft-input.ts';

const users = ctx('users', [
  { email: 'sam@acme.example', name: 'Sam Lee', role: 'Member' },
  { email: 'kim@acme.example', name: 'Kim Ito', role: 'billing_manager' },
  { email: 'ola@acme.example', name: 'Ola Berg', role: 'Owner' },
]);
const book = playbook('payout-change', 'someone asks to change the payout bank account', [
  "Check the requester's role",
  'Billing managers: give the payout settings link',
  'Others: explain that only billing managers can, and name them',
]);
const payout = link('payouts', 'https://app.example/settings/payouts');

describe('roles and permissions', () => {
  it('normalizes case, separators and plurals', () => {
    expect(normRole('Billing_Managers')).toBe('billing manager');
    expect(normRole('ADMINS')).toBe('admin');
    expect(normRole('account-owner')).toBe('account owner');
  });

  it("matches the playbook's role words against the account's actual role values", () => {
    expect(roleRule(playbooksOf([book])[0]!, ['Member', 'billing_manager'])).toEqual({
      allowed: ['billing_manager'],
      unresolved: [],
    });
  });

  it('a member is told that billing managers can, with their names; no guessed owners-and-admins rule', () => {
    const d = draftOffline(
      draftInput('Change payout bank account', 'How do I change the payout bank account?', [
        directory('Acme', 'pro'),
        users,
        book,
        payout,
      ]),
    );
    expect(d.reply).toContain(
      'Your role on the Acme account is member, and only billing managers can make this change',
    );
    expect(d.reply).toContain('Kim Ito (billing manager)');
    expect(d.reply).not.toContain('https://app.example/settings/payouts');
    expect(d.reply).not.toMatch(/owners and admins/);
  });

  it('a billing manager gets the link', () => {
    const d = draftOffline(
      draftInput(
        'Change payout bank account',
        'How do I change the payout bank account?',
        [directory('Acme', 'pro'), users, book, payout],
        {
          email: 'kim@acme.example',
          name: 'Kim Ito',
        },
      ),
    );
    expect(d.reply).toContain(
      'You are a billing manager on the Acme account, so you can make this change yourself: https://app.example/settings/payouts',
    );
  });

  it('a role the account does not have: "an account admin can help" and a reason for a human, never a guessed rule', () => {
    const odd = playbook('payout-change', 'someone asks to change the payout bank account', [
      'Finance leads: give the payout settings link',
      'Others: explain that only finance leads can',
    ]);
    const d = draftOffline(
      draftInput('Change payout bank account', 'How do I change the payout bank account?', [
        directory('Acme', 'pro'),
        users,
        odd,
        payout,
      ]),
    );
    expect(d.reply).toContain('An account admin can help with this change');
    expect(d.reply).not.toMatch(/only \w+ can make this change/i);
    expect(d.needsHumanReason).toMatch(/Finance leads/);
    expect(d.confidence).toBeLessThanOrEqual(0.5);
  });
});
