import { audit } from '../audit/audit.ts';
import type { Database } from '../db/client.ts';
import { withTenant } from '../db/tenant.ts';
import type { JobQueue } from '../jobs/types.ts';
import { isAppError } from '../lib/errors.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import type { Actor } from '../tenancy/context.ts';
import { replyFailureMessage, sendDraft } from '../zendesk/sidebar-send.ts';

/**
 * "Send to ticket" from Slack: THE sidebar's exactly-once public reply verb (`sendDraft` in
 * src/zendesk/sidebar-drafts.ts: pending -> approved -> sent, one reply per draft version through
 * the effect ledger, reconciled after a crash), called for the Zendesk agent the Slack user was
 * mapped to by verified email (src/slack/agents.ts). Nothing here writes to Zendesk itself.
 * The Slack user is recorded beside the agent in the audit trail.
 */
export type SendOutcome =
  | { ok: true; status: 'sent' | 'already_sent'; ticketId: string }
  | { ok: false; message: string };

export async function sendDraftViaPublicReplyVerb(
  deps: { database: Database; tokens: TokenProvider; queue?: JobQueue; now: () => Date },
  a: {
    tenantId: string;
    draftId: string;
    ticketId: string;
    agentId: string;
    actor: Actor;
    requestId: string;
  },
): Promise<SendOutcome> {
  try {
    const r = await sendDraft(
      {
        database: deps.database,
        tokens: deps.tokens,
        queue: deps.queue,
        now: deps.now,
        requestId: a.requestId,
      },
      {
        tenantId: a.tenantId,
        agentId: a.agentId,
        agentName: null,
        // Not a sidebar installation: the agent acts from Slack (no sidebar credential to update).
        installationId: `slack:${a.actor.type === 'slack_user' ? a.actor.userId : 'unknown'}`,
        expiresAt: new Date(deps.now().getTime() + 60_000),
      },
      a.ticketId,
      a.draftId,
      {},
    );
    await withTenant(deps.database.db, a.tenantId, (tx) =>
      audit(
        { tenantId: a.tenantId, tx, actor: a.actor, requestId: a.requestId },
        {
          action: 'slack.send_to_ticket',
          target: a.draftId,
          outcome: 'success',
          detail: { ticketId: a.ticketId, agentId: a.agentId, effect: r.outcome },
        },
      ),
    );
    return { ok: true, status: r.outcome === 'already_done' ? 'already_sent' : 'sent', ticketId: a.ticketId };
  } catch (e) {
    // The verb's own errors become the message the sidebar would show; anything else is a bug.
    if (!isAppError(e)) throw e;
    return { ok: false, message: replyFailureMessage(e) };
  }
}
