import { and, desc, eq, inArray } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Database } from '../db/client.ts';
import { auditEvents, draftDeliveries, drafts, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { JobHandler } from '../jobs/types.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { readTicketJob } from '../pipeline/ticket-job.ts';
import { createZendeskApi } from './api.ts';
import { zendeskResources } from './resources.ts';
import { editDistance, normalizeReply } from './sidebar-diff.ts';
import { addVersion, playbookOf } from './sidebar-drafts.ts';

/**
 * A reply sent with Zendesk's own button after Insert, matched back to its draft so its edit
 * distance counts in the feedback. Provisioning adds a trigger for agents' public comments
 * (event `agent_replied`, provisioning.ts); its ticket job comes here instead of the drafting
 * pipeline (`withAgentReplyMatching`). The ticket's newest draft qualifies when an agent inserted
 * it (`draft.inserted` in the audit trail), it has no delivery yet (not sent, rejected or being
 * sent by us) and it is not blocked. The match is the oldest public comment written after the
 * first insert by an agent who inserted it, read from Zendesk (never from the browser). It is
 * recorded as sent (`mode: zendesk_button`), with the comment's text as a version
 * (`via: zendesk_button`) when the agent changed it, and audited as `draft.sent`. One
 * delivery per draft: a retried job, or a second comment, finds it recorded and does nothing.
 */
export interface ReplyMatchDeps {
  database: Database;
  tokens: TokenProvider;
  now?: () => Date;
}

export type ReplyMatch =
  | { matched: true; draftId: string; commentId: string | null; editDistance: number }
  | { matched: false; reason: 'no_inserted_draft' | 'already_recorded' | 'no_comment' | 'no_connection' };

export async function matchAgentReply(
  deps: ReplyMatchDeps,
  tenantId: string,
  ticketId: string,
  requestId?: string,
): Promise<ReplyMatch> {
  const db = deps.database.db;
  const found = await withTenant(db, tenantId, async (tx) => {
    const [draft] = await tx
      .select()
      .from(drafts)
      .where(and(eq(drafts.ticketId, ticketId), inArray(drafts.source, ['zendesk', 'slack'])))
      .orderBy(desc(drafts.createdAt))
      .limit(1);
    if (!draft || !['pending', 'failed'].includes(draft.status)) return null;
    const inserts = await tx
      .select({ actor: auditEvents.actor, at: auditEvents.at })
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'draft.inserted'), eq(auditEvents.target, draft.id)));
    if (!inserts.length) return null;
    const [delivery] = await tx
      .select({ status: draftDeliveries.status })
      .from(draftDeliveries)
      .where(eq(draftDeliveries.draftId, draft.id))
      .limit(1);
    const [conn] = await tx
      .select({ subdomain: zendeskConnections.subdomain })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.status, 'active'))
      .limit(1);
    const agents = new Set(inserts.map((i) => String(i.actor.userId ?? '')).filter(Boolean));
    const since = Math.min(...inserts.map((i) => i.at.getTime()));
    return { draft, delivery, agents, since, subdomain: conn?.subdomain ?? null };
  });
  if (!found) return { matched: false, reason: 'no_inserted_draft' };
  if (found.delivery) return { matched: false, reason: 'already_recorded' };
  if (!found.subdomain) return { matched: false, reason: 'no_connection' };
  const zd = zendeskResources(
    createZendeskApi({ tenantId, subdomain: found.subdomain, tokens: deps.tokens }),
  );
  const comments = await zd.listComments(ticketId, { order: 'asc' });
  // 5 s for clock skew between Zendesk and us.
  const hit = comments.find(
    (c) =>
      c.public &&
      c.authorId !== null &&
      found.agents.has(c.authorId) &&
      c.createdAt !== null &&
      Date.parse(c.createdAt) >= found.since - 5_000,
  );
  if (!hit) return { matched: false, reason: 'no_comment' };
  const body = normalizeReply(hit.body);
  const draft = found.draft;
  const ctxActor = { type: 'zendesk_agent', userId: hit.authorId! } as const;
  return withTenant(db, tenantId, async (tx): Promise<ReplyMatch> => {
    const [again] = await tx
      .select({ status: draftDeliveries.status })
      .from(draftDeliveries)
      .where(eq(draftDeliveries.draftId, draft.id))
      .for('update')
      .limit(1);
    if (again) return { matched: false, reason: 'already_recorded' };
    const ctx = { tenantId, tx, actor: ctxActor, requestId };
    const distance = editDistance(normalizeReply(draft.body), body);
    const version =
      distance === 0 ? 0 : (await addVersion(ctx, draft, body, hit.authorId, 'zendesk_button')).version;
    const t = (deps.now ?? (() => new Date()))();
    const sentAt = hit.createdAt ? new Date(hit.createdAt) : t;
    const inserted = await tx
      .insert(draftDeliveries)
      .values({
        tenantId,
        draftId: draft.id,
        ticketId,
        version,
        status: 'sent',
        mode: 'zendesk_button',
        agentId: hit.authorId,
        commentId: hit.id,
        editDistance: distance,
        playbookId: playbookOf(draft),
        approvedAt: sentAt,
        sentAt,
        createdAt: t,
        updatedAt: t,
      })
      .onConflictDoNothing()
      .returning({ id: draftDeliveries.draftId });
    if (!inserted.length) return { matched: false, reason: 'already_recorded' };
    await tx.update(drafts).set({ status: 'sent', updatedAt: t }).where(eq(drafts.id, draft.id));
    await audit(ctx, {
      action: 'draft.sent',
      target: draft.id,
      outcome: 'success',
      detail: { ticketId, version, mode: 'zendesk_button', commentId: hit.id, editDistance: distance },
    });
    return { matched: true, draftId: draft.id, commentId: hit.id, editDistance: distance };
  });
}

/**
 * The `zendesk.ticket` job handler with agent replies split off: an `agent_replied` event is
 * matched (above), never drafted; every other event goes to `ticketHandler` (the pipeline).
 */
export function withAgentReplyMatching(ticketHandler: JobHandler, deps: ReplyMatchDeps): JobHandler {
  return async (job) => {
    const p = readTicketJob(job.payload);
    if (p?.event === 'agent_replied') {
      await matchAgentReply(deps, job.tenantId, p.ticketId, job.jobId);
      return;
    }
    await ticketHandler(job);
  };
}
