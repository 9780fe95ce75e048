import { audit } from '../audit/audit.ts';
import type { Database } from '../db/client.ts';
import { type EffectOutcome, performEffectOnce } from '../jobs/effects.ts';
import type { Actor } from '../tenancy/context.ts';
import type { ZendeskResources } from '../zendesk/resources.ts';
import type { StoredDraftStatus } from './draft-record.ts';

/** The marker every note carries: how a reconcile recognizes our note among the ticket's comments. */
export const noteMarker = (draftId: string) => `[copilot:${draftId}]`;

/** `remark`: one sentence for the agent, e.g. that the offline drafter wrote it because the model failed. */
export function noteBody(draftId: string, status: string, remark?: string): string {
  const extra = remark ? ` ${remark.replace(/\.?$/, '.')}` : '';
  return status === 'blocked'
    ? `Copilot drafted a reply, but the leak guard held it back: review it in the Copilot sidebar before anything is sent.${extra} ${noteMarker(draftId)}`
    : `Copilot: a draft reply is ready for review in the Copilot sidebar. Nothing has been sent to the requester.${extra} ${noteMarker(draftId)}`;
}

export type NoteResult = { ticketId: string; commentId: string | null; reconciled?: true };

/**
 * The effect step: one internal note on the ticket saying a draft is ready, exactly once per draft
 * (effect key `zendesk.note:<draftId>` in the ledger; a claim left by a crash is reconciled by
 * looking for the draft's marker among the ticket's internal notes). The outcome is audited as
 * `zendesk.note_posted` in the transaction that records it.
 */
export function postDraftNote(
  args: {
    database: Database;
    zendesk: ZendeskResources;
    tenantId: string;
    actor: Actor;
    requestId: string;
    now: () => Date;
    leaseMs?: number | undefined;
  },
  note: { ticketId: string; draftId: string; status: StoredDraftStatus | string; remark?: string },
): Promise<EffectOutcome<NoteResult>> {
  const { zendesk, tenantId, actor, requestId } = args;
  const marker = noteMarker(note.draftId);
  return performEffectOnce<NoteResult>(
    args.database,
    tenantId,
    {
      key: `zendesk.note:${note.draftId}`,
      kind: 'zendesk.internal_note',
      perform: async () => {
        const r = await zendesk.addInternalNote(
          note.ticketId,
          noteBody(note.draftId, note.status, note.remark),
        );
        return { ticketId: note.ticketId, commentId: r.commentId };
      },
      reconcile: async () => {
        const comments = await zendesk.listComments(note.ticketId, { order: 'desc' });
        const found = comments.find((c) => !c.public && c.body.includes(marker));
        return found ? { ticketId: note.ticketId, commentId: found.id, reconciled: true } : null;
      },
    },
    {
      now: args.now,
      ...(args.leaseMs === undefined ? {} : { leaseMs: args.leaseMs }),
      onRecorded: (tx, ev) =>
        audit(
          { tenantId, tx, actor, requestId },
          {
            action: 'zendesk.note_posted',
            target: `zendesk:ticket:${note.ticketId}`,
            outcome: 'error' in ev ? 'failure' : 'success',
            detail:
              'error' in ev
                ? { draftId: note.draftId, error: ev.error, unknownOutcome: ev.status === 'unknown' }
                : { draftId: note.draftId, ...(ev.status === 'reconciled' ? { reconciled: true } : {}) },
          },
        ),
    },
  );
}
