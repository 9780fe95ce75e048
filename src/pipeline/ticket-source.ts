import type { ZendeskResources } from '../zendesk/resources.ts';
import type { TicketJobPayload } from './ticket-job.ts';
import type { PipelineTicket } from './types.ts';

/**
 * The ticket as the pipeline sees it, read through the typed Zendesk methods: ticket, requester,
 * organization and brand; for `comment_added` the body is the requester's latest public comment
 * (the description is the first message only), so an agent's comment never becomes the text we
 * answer.
 */
export async function loadPipelineTicket(
  zendesk: ZendeskResources,
  ticketId: string,
  event: TicketJobPayload['event'],
): Promise<PipelineTicket> {
  const t = await zendesk.getTicket(ticketId);
  let body = t.description;
  if (event === 'comment_added' && t.requester) {
    const latest = await zendesk.latestPublicCommentBy(ticketId, t.requester.id);
    if (latest?.body) body = latest.body;
  }
  return {
    id: t.id,
    subject: t.subject,
    body,
    requester: {
      id: t.requester?.id ?? null,
      email: t.requester?.email ?? null,
      name: t.requester?.name ?? null,
    },
    organization: t.organization,
    brand: t.brand?.name ?? null,
    recipient: t.recipient,
    via: t.via,
    createdAt: t.createdAt,
  };
}
