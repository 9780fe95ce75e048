import { eq, inArray } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import {
  draftDeliveries,
  drafts,
  playbooks,
  sidebarSettings,
  zendeskConnections,
} from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { describeError } from '../lib/errors.ts';
import { createZendeskApi } from './api.ts';
import { zendeskResources } from './resources.ts';
import { autoSendable, playbookOf, type SidebarDeps } from './sidebar-drafts.ts';
import { sendDraft } from './sidebar-send.ts';

/**
 * Auto-send (invariant 7): a draft sends itself only when the tenant turned auto-send on for the
 * draft's playbook (`playbooks.auto_send`, off by default) and
 * - the leak guard passed it clean (verdict `pass`: never a blocked or redacted draft),
 * - the requester is known (route `account` or `end_user`, never `unknown`),
 * - the drafter did not ask for a human (`needs_human_reason` empty),
 * - its confidence is at least the threshold (`sidebar_settings.auto_send_threshold` of the
 *   playbook, else the tenant's `*` row, else DEFAULT_AUTO_SEND_THRESHOLD).
 * It is sent by `sendDraft` with mode `auto_send`, the sidebar's own exactly-once path (key
 * `zendesk.reply:<draft>:v0`), authored by the connection's own Zendesk user (the admin who
 * connected it, `GET /api/v2/users/me.json`), so the reply is attributable to a real agent seat.
 * Every decision on a playbook with auto-send on is audited (`draft.auto_send` with the reason),
 * and the send itself as `draft.auto_approved` and `draft.sent` with mode `auto_send`.
 * Safe to call again for the same draft (a retried job): the ledger joins the first send.
 */
export const DEFAULT_AUTO_SEND_THRESHOLD = 0.9;

export type AutoSendOutcome =
  | { sent: true; outcome: string }
  | {
      sent: false;
      reason:
        | 'no_draft'
        | 'off'
        | 'not_clean'
        | 'needs_human'
        | 'below_threshold'
        | 'already_handled'
        | 'no_connection'
        | 'send_failed';
    };

export async function autoSendDraft(
  deps: SidebarDeps,
  a: { tenantId: string; draftId: string },
): Promise<AutoSendOutcome> {
  const db = deps.database.db;
  const decision = await withTenant(db, a.tenantId, async (tx) => {
    const [draft] = await tx.select().from(drafts).where(eq(drafts.id, a.draftId)).limit(1);
    if (!draft?.ticketId || draft.source !== 'zendesk') return { draft: null, reason: 'no_draft' as const };
    const key = playbookOf(draft);
    const [book] = key
      ? await tx
          .select({ autoSend: playbooks.autoSend })
          .from(playbooks)
          .where(eq(playbooks.key, key))
          .limit(1)
      : [];
    if (!key || !book?.autoSend) return { draft, reason: 'off' as const };
    const settings = await tx
      .select({ scope: sidebarSettings.scope, threshold: sidebarSettings.autoSendThreshold })
      .from(sidebarSettings)
      .where(inArray(sidebarSettings.scope, [key, '*']));
    const threshold =
      settings.find((s) => s.scope === key)?.threshold ??
      settings.find((s) => s.scope === '*')?.threshold ??
      DEFAULT_AUTO_SEND_THRESHOLD;
    const [delivery] = await tx
      .select({ status: draftDeliveries.status })
      .from(draftDeliveries)
      .where(eq(draftDeliveries.draftId, draft.id))
      .limit(1);
    const reason = delivery
      ? ('already_handled' as const)
      : !autoSendable(draft)
        ? ('not_clean' as const)
        : draft.needsHumanReason
          ? ('needs_human' as const)
          : (draft.confidence ?? 0) < threshold
            ? ('below_threshold' as const)
            : null;
    const [conn] = await tx
      .select({ subdomain: zendeskConnections.subdomain })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.status, 'active'))
      .limit(1);
    await audit(
      { tenantId: a.tenantId, tx, actor: { type: 'system', name: 'auto-send' }, requestId: deps.requestId },
      {
        action: 'draft.auto_send',
        target: draft.id,
        outcome: reason ? 'denied' : 'success',
        detail: {
          playbook: key,
          confidence: draft.confidence,
          threshold,
          guard: (draft.guardVerdict as { action?: unknown }).action ?? null,
          route: draft.route,
          decision: reason ?? (conn ? 'send' : 'no_connection'),
        },
      },
    );
    return {
      draft,
      reason: reason ?? (conn ? null : ('no_connection' as const)),
      subdomain: conn?.subdomain,
    };
  });
  if (decision.reason || !decision.draft || !decision.subdomain)
    return { sent: false, reason: decision.reason ?? 'no_draft' };
  const draft = decision.draft;
  try {
    const me = await zendeskResources(
      createZendeskApi({ tenantId: a.tenantId, subdomain: decision.subdomain, tokens: deps.tokens }),
    ).getCurrentUser();
    const r = await sendDraft(
      deps,
      {
        tenantId: a.tenantId,
        agentId: me.id,
        agentName: me.name,
        installationId: 'auto-send',
        expiresAt: deps.now(),
        autoSend: true,
      },
      draft.ticketId!,
      draft.id,
      { mode: 'auto_send' },
    );
    return { sent: true, outcome: r.outcome };
  } catch (e) {
    // The draft stays for a human (failed with the reason, or pending when it never got approved).
    await withTenant(db, a.tenantId, (tx) =>
      audit(
        { tenantId: a.tenantId, tx, actor: { type: 'system', name: 'auto-send' }, requestId: deps.requestId },
        {
          action: 'draft.auto_send_failed',
          target: draft.id,
          outcome: 'failure',
          detail: { error: describeError(e) },
        },
      ),
    );
    return { sent: false, reason: 'send_failed' };
  }
}
