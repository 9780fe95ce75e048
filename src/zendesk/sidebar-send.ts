import { eq, inArray } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import { draftDeliveries, drafts, sidebarSettings, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { EffectInProgressError, type EffectOutcome, performEffectOnce } from '../jobs/effects.ts';
import { AppError, describeError, isAppError } from '../lib/errors.ts';
import { ZendeskApiError } from './api.ts';
import { rememberAgentName, type SidebarPrincipal } from './sidebar-credentials.ts';
import { editDistance, normalizeReply } from './sidebar-diff.ts';
import {
  actorOf,
  addVersion,
  autoSendable,
  checkBody,
  checkTicketId,
  ctxOf,
  currentVersion,
  lockDraft,
  playbookOf,
  type SidebarDeps,
  type SidebarDraftView,
  versionBody,
  viewOf,
} from './sidebar-drafts.ts';
import { type SidebarZendesk, sidebarZendesk } from './sidebar-zendesk.ts';

/**
 * Sending a sidebar draft as a public reply, exactly once per draft version (the read side and
 * the edit, reject and regenerate verbs are in sidebar-drafts.ts).
 *
 * The first Send moves the draft `pending -> approved` under a row lock, fixing the version to
 * send; the public reply then goes through the effect ledger with key
 * `zendesk.reply:<draftId>:v<version>`, so double clicks, a second agent, retries and a crash
 * between Zendesk's answer and our record (reconciled from the ticket's comments) post one reply.
 * Then `sent`, or `failed` with a reason the sidebar shows. Auto-send (sidebar-auto-send.ts) and
 * Slack's Send to ticket use the same verb.
 */
/** Zendesk's refusal as a sentence for the agent. */
export function replyFailureMessage(e: unknown): string {
  if (e instanceof EffectInProgressError)
    return 'This reply is being sent right now (another click or agent). Wait a moment.';
  const status =
    e instanceof ZendeskApiError
      ? e.upstreamStatus
      : isAppError(e)
        ? (e.detail?.status as number | undefined)
        : undefined;
  if (status === 404)
    return 'Zendesk says this ticket no longer exists (deleted or merged). Nothing was sent.';
  if (status === 409) return 'Zendesk was updating this ticket at the same moment. Send again.';
  if (status === 422)
    return 'Zendesk refused the reply (the ticket may be closed, or the agent may not reply publicly). Nothing was sent.';
  if (status === 429 || (isAppError(e) && e.code === 'rate_limited')) {
    const ms = isAppError(e) ? Number(e.detail?.retryAfterMs ?? 0) : 0;
    return `Zendesk's rate limit for this account is reached. Send again${ms ? ` in ${Math.ceil(ms / 1000)} s` : ' shortly'}.`;
  }
  if (status !== undefined && status >= 500)
    return `Zendesk is having trouble (HTTP ${status}). Send again in a moment; the reply will not be posted twice.`;
  if (isAppError(e) && e.code === 'upstream_error')
    return 'Zendesk did not answer. Send again; the reply will not be posted twice.';
  if (isAppError(e) && e.code === 'forbidden')
    return 'The Zendesk connection needs to be re-authorized by an admin.';
  return 'The reply could not be sent.';
}

export interface SendInput {
  body?: string;
  overrideReason?: string;
  mode?: 'sidebar' | 'auto_send';
}

export interface SendResult {
  draft: SidebarDraftView;
  outcome: EffectOutcome<{ commentId: string | null }>['status'];
}

/**
 * Send (or Edit, then send) as a public reply written by the agent. Blocked drafts need
 * `overrideReason` (audited). See the file comment for the exactly-once argument.
 */
export async function sendDraft(
  deps: SidebarDeps,
  p: SidebarPrincipal,
  ticketId: string,
  draftId: string,
  input: SendInput,
): Promise<SendResult> {
  checkTicketId(ticketId);
  const db = deps.database.db;
  const edited = checkBody(input.body);
  const mode = input.mode ?? 'sidebar';

  // 1. Approve: fix the version to send, once.
  const approved = await withTenant(db, p.tenantId, async (tx) => {
    const ctx = ctxOf(deps, p, tx);
    const draft = await lockDraft(tx, ticketId, draftId);
    const [delivery] = await tx
      .select()
      .from(draftDeliveries)
      .where(eq(draftDeliveries.draftId, draft.id))
      .limit(1);
    const [conn] = await tx
      .select({ subdomain: zendeskConnections.subdomain })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.status, 'active'))
      .limit(1);
    if (!conn)
      throw new AppError('conflict', 'The Zendesk connection is not active; an admin must reconnect it.');
    if (draft.status === 'rejected') throw new AppError('conflict', 'This draft was rejected.');
    const cur = await currentVersion(tx, draft);
    if (draft.status === 'sent' || draft.status === 'approved' || delivery?.outcomeUnknown) {
      // Already fixed: join that send (the ledger makes it one reply), unless this is a different text.
      if (edited !== undefined && edited !== cur.body && delivery) {
        throw new AppError(
          'conflict',
          draft.status === 'sent'
            ? 'This draft was already sent.'
            : 'This draft is already being sent with another text. Wait for it to finish.',
        );
      }
      const version = delivery?.version ?? cur.version;
      return {
        draft,
        version,
        body: await versionBody(tx, draft, version),
        subdomain: conn.subdomain,
        approvedAt: delivery?.approvedAt ?? draft.updatedAt,
        fresh: false,
      };
    }
    if (mode === 'auto_send' && !autoSendable(draft))
      throw new AppError('forbidden', 'Only a pending draft the leak guard passed clean may send itself.');
    if (draft.status === 'blocked') {
      const why = input.overrideReason?.trim();
      if (!why)
        throw new AppError(
          'forbidden',
          'The leak guard blocked this draft. Sending it needs an override with a reason.',
          {
            detail: { reason: 'blocked_by_guard' },
          },
        );
      await audit(ctx, {
        action: 'draft.guard_overridden',
        target: draft.id,
        outcome: 'success',
        detail: {
          reason: why.slice(0, 500),
          findings:
            (draft.guardVerdict as { findings?: { kind: string }[] }).findings?.map((f) => f.kind) ?? [],
        },
      });
    }
    let version = cur.version;
    let body = cur.body;
    if (edited !== undefined && edited !== cur.body) {
      version = (await addVersion(ctx, draft, edited, p.agentId, 'sidebar')).version;
      body = edited;
    }
    const t = deps.now();
    const distance = editDistance(draft.body, body);
    await tx.update(drafts).set({ status: 'approved', updatedAt: t }).where(eq(drafts.id, draft.id));
    const row = {
      ticketId,
      version,
      status: 'approved' as const,
      mode,
      agentId: p.agentId,
      agentName: p.agentName,
      reason: null,
      outcomeUnknown: false,
      overrideReason: input.overrideReason?.trim().slice(0, 500) || null,
      editDistance: distance,
      playbookId: playbookOf(draft),
      approvedAt: t,
      updatedAt: t,
    };
    await tx
      .insert(draftDeliveries)
      .values({ tenantId: p.tenantId, draftId: draft.id, createdAt: t, ...row })
      .onConflictDoUpdate({ target: [draftDeliveries.tenantId, draftDeliveries.draftId], set: row });
    await audit(ctx, {
      action: mode === 'auto_send' ? 'draft.auto_approved' : 'draft.approved',
      target: draft.id,
      outcome: 'success',
      detail: { ticketId, version, editDistance: distance, mode },
    });
    return { draft, version, body, subdomain: conn.subdomain, approvedAt: t, fresh: true };
  });

  if (approved.draft.status === 'sent') {
    const view = await withTenant(db, p.tenantId, (tx) => viewOf(tx, approved.draft));
    return { draft: view, outcome: 'already_done' };
  }

  // 2. Post once, through the ledger.
  const zd: SidebarZendesk = sidebarZendesk({
    tenantId: p.tenantId,
    subdomain: approved.subdomain,
    tokens: deps.tokens,
  });
  let agentName = p.agentName;
  if (!agentName && mode === 'sidebar') {
    agentName = await zd.agentName(p.agentId).catch(() => null);
    if (agentName) await rememberAgentName(db, p, agentName);
  }
  const key = `zendesk.reply:${approved.draft.id}:v${approved.version}`;
  // Only a comment written after the approval can be this send's (5 s for clock skew with Zendesk).
  const since = approved.approvedAt.getTime() - 5_000;
  let outcome: EffectOutcome<{ commentId: string | null }>;
  try {
    outcome = await performEffectOnce(
      deps.database,
      p.tenantId,
      {
        key,
        kind: 'zendesk.public_reply',
        perform: async () => {
          const r = await zd.addPublicReply(ticketId, { body: approved.body, authorId: p.agentId });
          await deps.afterReplyPosted?.();
          return { commentId: r.commentId };
        },
        reconcile: async () => {
          const comments = await zd.listComments(ticketId, { order: 'desc' });
          const want = normalizeReply(approved.body);
          const hit = comments.find(
            (c) =>
              c.public &&
              c.authorId === p.agentId &&
              normalizeReply(c.body) === want &&
              (!c.createdAt || Date.parse(c.createdAt) >= since),
          );
          return hit ? { commentId: hit.id } : null;
        },
      },
      {
        now: deps.now,
        ...(deps.effectLeaseMs ? { leaseMs: deps.effectLeaseMs } : {}),
        onRecorded: async (tx, ev) => {
          const t = deps.now();
          if (ev.status === 'performed' || ev.status === 'reconciled') {
            await tx
              .update(drafts)
              .set({ status: 'sent', updatedAt: t })
              .where(eq(drafts.id, approved.draft.id));
            await tx
              .update(draftDeliveries)
              .set({
                status: 'sent',
                commentId: ev.result.commentId,
                sentAt: t,
                reason: null,
                outcomeUnknown: false,
                agentName,
                updatedAt: t,
              })
              .where(eq(draftDeliveries.draftId, approved.draft.id));
          } else {
            await tx
              .update(drafts)
              .set({ status: 'failed', updatedAt: t })
              .where(eq(drafts.id, approved.draft.id));
            await tx
              .update(draftDeliveries)
              .set({
                status: 'failed',
                reason: 'error' in ev ? ev.error : null,
                outcomeUnknown: ev.status === 'unknown',
                updatedAt: t,
              })
              .where(eq(draftDeliveries.draftId, approved.draft.id));
          }
          await audit(
            { tenantId: p.tenantId, tx, actor: actorOf(p), requestId: deps.requestId },
            {
              action:
                ev.status === 'performed' || ev.status === 'reconciled' ? 'draft.sent' : 'draft.send_failed',
              target: approved.draft.id,
              outcome: ev.status === 'performed' || ev.status === 'reconciled' ? 'success' : 'failure',
              detail: {
                ticketId,
                version: approved.version,
                effect: ev.status,
                mode,
                ...(ev.status === 'failed' || ev.status === 'unknown' ? { error: ev.error } : {}),
              },
            },
          );
        },
      },
    );
  } catch (e) {
    const message = replyFailureMessage(e);
    if (!(e instanceof EffectInProgressError)) {
      // Store the agent-facing sentence (the ledger stored the log-safe error in the audit trail).
      await withTenant(db, p.tenantId, (tx) =>
        tx
          .update(draftDeliveries)
          .set({ reason: message })
          .where(eq(draftDeliveries.draftId, approved.draft.id)),
      ).catch(() => {});
    }
    const status = e instanceof ZendeskApiError ? e.upstreamStatus : undefined;
    throw new AppError(
      e instanceof EffectInProgressError
        ? 'conflict'
        : isAppError(e) && e.code === 'rate_limited'
          ? 'rate_limited'
          : 'upstream_error',
      message,
      {
        retryable: isAppError(e) ? e.retryable : true,
        cause: e,
        detail: { zendeskStatus: status ?? null, error: describeError(e) },
      },
    );
  }

  // 3. The tenant's chosen ticket status after a send (none unless chosen).
  if (outcome.status !== 'already_done')
    await applyStatusAfterSend(deps, p.tenantId, zd, ticketId, playbookOf(approved.draft));

  const view = await withTenant(db, p.tenantId, async (tx) => {
    const [d] = await tx.select().from(drafts).where(eq(drafts.id, approved.draft.id)).limit(1);
    return viewOf(tx, d!);
  });
  return { draft: view, outcome: outcome.status };
}

async function applyStatusAfterSend(
  deps: SidebarDeps,
  tenantId: string,
  zd: SidebarZendesk,
  ticketId: string,
  playbookId: string | null,
): Promise<void> {
  const rows = await withTenant(deps.database.db, tenantId, (tx) =>
    tx
      .select({ scope: sidebarSettings.scope, status: sidebarSettings.statusAfterSend })
      .from(sidebarSettings)
      .where(inArray(sidebarSettings.scope, playbookId ? ['*', playbookId] : ['*'])),
  );
  const chosen =
    rows.find((r) => r.scope === playbookId)?.status ?? rows.find((r) => r.scope === '*')?.status;
  if (!chosen) return;
  try {
    await zd.setTicketStatus(ticketId, chosen);
    await withTenant(deps.database.db, tenantId, (tx) =>
      audit(
        { tenantId, tx, actor: { type: 'system', name: 'sidebar' }, requestId: deps.requestId },
        {
          action: 'ticket.status_set',
          target: `zendesk:ticket:${ticketId}`,
          outcome: 'success',
          detail: { status: chosen },
        },
      ),
    );
  } catch (e) {
    await withTenant(deps.database.db, tenantId, (tx) =>
      audit(
        { tenantId, tx, actor: { type: 'system', name: 'sidebar' }, requestId: deps.requestId },
        {
          action: 'ticket.status_set',
          target: `zendesk:ticket:${ticketId}`,
          outcome: 'failure',
          detail: { status: chosen, error: describeError(e) },
        },
      ),
    );
  }
}

/**
 * Insert into reply: the agent sends with Zendesk's own button. Recorded (audited) so the
 * agent's public comment can be matched back to this draft for its edit distance.
 */
export async function recordInsert(
  deps: SidebarDeps,
  p: SidebarPrincipal,
  ticketId: string,
  draftId: string,
  body: string,
): Promise<void> {
  checkTicketId(ticketId);
  await withTenant(deps.database.db, p.tenantId, async (tx) => {
    const draft = await lockDraft(tx, ticketId, draftId);
    if (draft.status === 'blocked')
      throw new AppError('forbidden', 'The leak guard blocked this draft; it cannot be inserted.');
    await audit(ctxOf(deps, p, tx), {
      action: 'draft.inserted',
      target: draft.id,
      outcome: 'success',
      detail: { ticketId, editDistance: editDistance(draft.body, normalizeReply(body)) },
    });
  });
}
