import { describe, expect, it } from 'vitest';
import { changeOf } from '../../src/pipeline/drafting/findings/records.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { ctx, directory, draftInput, fact } from '../helpers/draft-input.ts';

describe('records interpreted into an answer', () => {
  it('reads from/to pairs in audit details, however they are spelled', () => {
    expect(changeOf('user.role_changed', { from: 'admin', to: 'member' })).toEqual({
      field: 'role',
      from: 'admin',
      to: 'member',
    });
    expect(changeOf('seat.updated', { oldRole: 'editor', newRole: 'viewer' })).toEqual({
      field: 'role',
      from: 'editor',
      to: 'viewer',
    });
    expect(changeOf('x', { user: 'a' })).toBeNull();
  });

  it('an audit event about the requester becomes "who changed what from what to what, when"', () => {
    const d = draftOffline(
      draftInput('Lost access', 'I can no longer edit projects, what happened to my access?', [
        directory('Acme', 'pro'),
        ctx('auditLog', [
          {
            at: '2026-11-19T16:30:00Z',
            actor: 'ola@acme.example',
            action: 'member.role_changed',
            detail: { user: 'sam@acme.example', from: 'editor', to: 'viewer' },
          },
        ]),
      ]),
    );
    expect(d.reply).toContain(
      'on 2026-11-19 16:30 UTC (yesterday), by ola@acme.example: role changed from editor to viewer',
    );
    expect(d.reply).not.toMatch(/\bfrom: editor/);
  });

  it("an end user's record: fields the question asks about first, empty ones as 'not yet', no raw ids", () => {
    const records = fact(
      'ctx:records',
      'records',
      {
        bookings: [
          { id: 'BK-2231', room: 'Studio', refundIssued: null, status: 'cancelled', refundAmount: 80 },
          { id: 'BK-2290', room: 'Loft', refundIssued: null, status: 'confirmed' },
        ],
      },
      { source: 'context_api', visibility: 'end_user' },
    );
    const d = draftOffline(
      draftInput('Refund', 'Where is my refund for booking BK-2231?', [records], {
        level: 'end_user',
        brand: 'StayCo',
      }),
    );
    expect(d.reply).toMatch(
      /I found your booking BK-2231: refund issued: not yet; refund amount: 80; room: Studio; status: cancelled\./,
    );
    expect(d.reply).not.toContain('BK-2290');
  });

  it('with no record named, asks which one, listing what the profile holds', () => {
    const records = fact(
      'ctx:records',
      'records',
      { orders: [{ id: 'A-1' }, { id: 'A-2' }] },
      { source: 'context_api', visibility: 'end_user' },
    );
    const d = draftOffline(
      draftInput('Question', 'I have a question about my purchase.', [records], { level: 'end_user' }),
    );
    expect(d.reply).toContain('I can see 2 orders (A-1, A-2) on your profile');
  });
});
