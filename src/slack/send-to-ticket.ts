import { and, eq, inArray } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Database } from '../db/client.ts';
import { drafts } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { performEffectOnce } from '../jobs/effects.ts';
import { AppError } from '../lib/errors.ts';
import type { Actor } from '../tenancy/context.ts';
import type { ZendeskResources } from '../zendesk/resources.ts';

/**
 * THE SEAM for "Send to ticket". The sidebar branch owns the exactly-once Zendesk public reply
 * verb (draft pending -> approved -> sent); it had not landed when this was written, so this
 * function is an interim built on the same ledger (`performEffectOnce`, key
 * `zendesk.reply:${draftId}`) and the typed `addPublicReply`. When the verb lands, the body of
 * this function becomes one call to it; callers (src/slack/actions.ts) do not change.
 *
 * Only pending (or approved) drafts with a ticket are sent; a sent draft answers `already_sent`.
 */
export async function sendDraftViaPublicReplyVerb(
  deps: { database: Database; now: () => Date },
  a: {
    tenantId: string;
    draftId: string;
    agentId: string;
    actor: Actor;
    zendesk: ZendeskResources;
    requestId: string;
  },
): Promise<{ status: 'sent' | 'already_sent'; ticketId: string }> {
  const db = deps.database.db;
  const [d] = await withTenant(db, a.tenantId, (tx) =>
    tx.select().from(drafts).where(eq(drafts.id, a.draftId)).limit(1),
  );
  if (!d) throw new AppError('not_found', 'No such draft.');
  if (!d.ticketId) throw new AppError('invalid_state', 'This draft is not about a Zendesk ticket.');
  if (d.status === 'sent') return { status: 'already_sent', ticketId: d.ticketId };
  if (d.status !== 'pending' && d.status !== 'approved')
    throw new AppError('invalid_state', `A ${d.status} draft cannot be sent.`);
  const ticketId = d.ticketId;
  const marker = d.body.trim();
  const outcome = await performEffectOnce(
    deps.database,
    a.tenantId,
    {
      key: `zendesk.reply:${a.draftId}`,
      kind: 'zendesk.public_reply',
      perform: async () => ({
        ...(await a.zendesk.addPublicReply(ticketId, { body: d.body, authorId: a.agentId })),
      }),
      reconcile: async () => {
        const comments = await a.zendesk.listComments(ticketId);
        const found = comments.find(
          (c) => c.public && String(c.authorId ?? '') === a.agentId && c.body.trim() === marker,
        );
        return found ? { ticketId, commentId: found.id ?? null, auditId: null } : null;
      },
    },
    {
      now: deps.now,
      onRecorded: async (tx, ev) => {
        if (ev.status === 'performed' || ev.status === 'reconciled') {
          await tx
            .update(drafts)
            .set({ status: 'sent', updatedAt: deps.now() })
            .where(and(eq(drafts.id, a.draftId), inArray(drafts.status, ['pending', 'approved'])));
        }
        await audit(
          { tenantId: a.tenantId, tx, actor: a.actor, requestId: a.requestId },
          {
            action: 'draft.sent',
            target: a.draftId,
            outcome: ev.status === 'performed' || ev.status === 'reconciled' ? 'success' : 'failure',
            detail: { ticketId, agentId: a.agentId, via: 'slack', effect: ev.status },
          },
        );
      },
    },
  );
  return { status: outcome.status === 'already_done' ? 'already_sent' : 'sent', ticketId };
}
