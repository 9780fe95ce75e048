import { and, asc, desc, eq, gt, inArray, like, max } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Database, Tx } from '../db/client.ts';
import {
  accounts,
  draftDeliveries,
  drafts,
  draftVersions,
  jobs,
  sidebarSettings,
  zendeskConnections,
} from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { EffectInProgressError, type EffectOutcome, performEffectOnce } from '../jobs/effects.ts';
import type { JobQueue } from '../jobs/types.ts';
import { AppError, describeError, isAppError } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { ticketJob } from '../pipeline/ticket-job.ts';
import type { Actor, ServiceCtx } from '../tenancy/context.ts';
import { ZendeskApiError } from './api.ts';
import { rememberAgentName, type SidebarPrincipal } from './sidebar-credentials.ts';
import { editDistance, normalizeReply, wordDiff } from './sidebar-diff.ts';
import { type SidebarZendesk, sidebarZendesk } from './sidebar-zendesk.ts';

/**
 * The sidebar's service verbs on one ticket's draft, for a verified sidebar principal. Every verb
 * runs inside the principal's tenant (RLS) and finds the draft by (draft id, ticket id): a draft
 * of another tenant or another ticket is `404 not_found` and nothing changes.
 *
 * Sending is exactly once per draft: the first Send moves the draft `pending -> approved` under a
 * row lock, fixing the version to send; the public reply then goes through the effect ledger
 * with key `zendesk.reply:<draftId>:v<version>`, so double clicks, a second agent, retries and a
 * crash between Zendesk's answer and our record (reconciled from the ticket's comments) post one
 * reply. Then `sent`, or `failed` with a reason the sidebar shows.
 */
export interface SidebarDeps {
  database: Database;
  tokens: TokenProvider;
  queue?: JobQueue | undefined;
  jobsEnqueued?: (() => void) | undefined;
  now: () => Date;
  requestId?: string | undefined;
  /** Lease of the reply's effect claim (tests shorten it). */
  effectLeaseMs?: number;
  /** Test hook: runs after Zendesk answered the reply and before we record it (a crash there). */
  afterReplyPosted?: () => Promise<void>;
}

export interface CitationCard {
  id: string;
  source: string;
  key: string;
  fact: string;
  fetchedAt: string | null;
}

export interface SidebarDraftView {
  id: string;
  status: string;
  route: string;
  accountName: string | null;
  body: string;
  originalBody: string;
  version: number;
  citations: CitationCard[];
  guard: { action: string; findings: { kind: string; match: string }[] };
  confidence: number | null;
  needsHumanReason: string | null;
  createdAt: string;
  delivery: {
    status: string;
    mode: string;
    agentId: string | null;
    agentName: string | null;
    reason: string | null;
    sentAt: string | null;
  } | null;
}

export interface SidebarTicketView {
  ticketId: string;
  state: 'none' | 'drafting' | 'ready';
  draft: SidebarDraftView | null;
  /**
   * Set when the requester wrote again after the shown draft: a `comment_added` ticket event
   * (our trigger fires on the requester's public comments) arrived after the draft was made.
   * `since` is when the first such event reached us.
   */
  stale: { since: string } | null;
}

const actorOf = (p: SidebarPrincipal): Actor =>
  p.autoSend ? { type: 'system', name: 'auto-send' } : { type: 'zendesk_agent', userId: p.agentId };

function ctxOf(deps: SidebarDeps, p: SidebarPrincipal, tx: Tx): ServiceCtx {
  return { tenantId: p.tenantId, tx, actor: actorOf(p), requestId: deps.requestId };
}

const TICKET_ID = /^\d{1,20}$/;

export function checkTicketId(ticketId: string): string {
  if (!TICKET_ID.test(ticketId))
    throw new AppError('bad_request', 'The ticket id must be a Zendesk ticket number.');
  return ticketId;
}

function factText(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

type DraftRow = typeof drafts.$inferSelect;

async function currentVersion(tx: Tx, draft: DraftRow): Promise<{ version: number; body: string }> {
  const [v] = await tx
    .select({ version: draftVersions.version, body: draftVersions.body })
    .from(draftVersions)
    .where(eq(draftVersions.draftId, draft.id))
    .orderBy(desc(draftVersions.version))
    .limit(1);
  return v ?? { version: 0, body: draft.body };
}

async function versionBody(tx: Tx, draft: DraftRow, version: number): Promise<string> {
  if (version === 0) return draft.body;
  const [v] = await tx
    .select({ body: draftVersions.body })
    .from(draftVersions)
    .where(and(eq(draftVersions.draftId, draft.id), eq(draftVersions.version, version)))
    .limit(1);
  if (!v) throw new AppError('internal', 'approved draft version is missing');
  return v.body;
}

async function viewOf(tx: Tx, draft: DraftRow): Promise<SidebarDraftView> {
  const cur = await currentVersion(tx, draft);
  const [delivery] = await tx
    .select()
    .from(draftDeliveries)
    .where(eq(draftDeliveries.draftId, draft.id))
    .limit(1);
  let accountName: string | null = null;
  if (draft.accountId) {
    const [a] = await tx
      .select({ name: accounts.name })
      .from(accounts)
      .where(eq(accounts.id, draft.accountId))
      .limit(1);
    accountName = a?.name ?? null;
  }
  const facts = Array.isArray(draft.contextSnapshot.facts)
    ? (draft.contextSnapshot.facts as Record<string, unknown>[])
    : [];
  const byId = new Map(facts.map((f) => [String(f.id), f]));
  const citations = draft.citations.map((id) => {
    const f = byId.get(id);
    return {
      id,
      source: String(f?.source ?? 'unknown'),
      key: String(f?.key ?? id),
      fact: f ? factText(f.value) : 'This fact is no longer in the draft\u2019s context.',
      fetchedAt: typeof f?.fetchedAt === 'string' ? f.fetchedAt : null,
    };
  });
  const g = draft.guardVerdict as { action?: string; findings?: { kind: string; match: string }[] };
  return {
    id: draft.id,
    status: draft.status,
    route: draft.route,
    accountName,
    body: cur.body,
    originalBody: draft.body,
    version: cur.version,
    citations,
    guard: { action: g.action ?? 'pass', findings: g.findings ?? [] },
    confidence: draft.confidence,
    needsHumanReason: draft.needsHumanReason,
    createdAt: draft.createdAt.toISOString(),
    delivery: delivery
      ? {
          status: delivery.status,
          mode: delivery.mode,
          agentId: delivery.agentId,
          agentName: delivery.agentName,
          reason: delivery.reason,
          sentAt: delivery.sentAt?.toISOString() ?? null,
        }
      : null,
  };
}

/** The ticket's newest draft (or its state) for the sidebar; the view is audited. */
export async function sidebarTicketView(
  deps: SidebarDeps,
  p: SidebarPrincipal,
  ticketId: string,
): Promise<SidebarTicketView> {
  checkTicketId(ticketId);
  return withTenant(deps.database.db, p.tenantId, async (tx) => {
    const [draft] = await tx
      .select()
      .from(drafts)
      .where(and(eq(drafts.ticketId, ticketId), eq(drafts.source, 'zendesk')))
      .orderBy(desc(drafts.createdAt))
      .limit(1);
    const [job] = await tx
      .select({ id: jobs.id })
      .from(jobs)
      .where(
        and(
          eq(jobs.kind, 'zendesk.ticket'),
          inArray(jobs.status, ['queued', 'running']),
          eq(jobs.dedupeKey, `${ticketId}:ticket_created`),
        ),
      )
      .limit(1);
    const pendingJob = job ? true : await hasRegenerationQueued(tx, ticketId);
    const view = draft ? await viewOf(tx, draft) : null;
    const stale = draft ? await requesterWroteSince(tx, ticketId, draft.createdAt) : null;
    await audit(ctxOf(deps, p, tx), {
      action: 'draft.viewed',
      target: draft?.id ?? `zendesk:ticket:${ticketId}`,
      outcome: 'success',
      detail: { ticketId, status: draft?.status ?? 'none' },
    });
    return {
      ticketId,
      state: pendingJob || (stale?.drafting ?? false) ? 'drafting' : draft ? 'ready' : 'none',
      draft: view,
      stale: stale ? { since: stale.since.toISOString() } : null,
    };
  });
}

/**
 * The first requester-comment event of the ticket that reached us after `after`, and whether a
 * job for one is still queued or running (its draft is on the way). Read from the ticket jobs the
 * webhook enqueued (dedupe key `<ticket>:comment_added:<stamp>`, trigger-payload.ts): no Zendesk
 * call on the sidebar's path.
 */
async function requesterWroteSince(
  tx: Tx,
  ticketId: string,
  after: Date,
): Promise<{ since: Date; drafting: boolean } | null> {
  const rows = await tx
    .select({ createdAt: jobs.createdAt, status: jobs.status })
    .from(jobs)
    .where(
      and(
        eq(jobs.kind, 'zendesk.ticket'),
        like(jobs.dedupeKey, `${ticketId}:comment_added:%`),
        gt(jobs.createdAt, after),
      ),
    )
    .orderBy(asc(jobs.createdAt))
    .limit(20);
  if (!rows[0]) return null;
  return {
    since: rows[0].createdAt,
    drafting: rows.some((r) => r.status === 'queued' || r.status === 'running'),
  };
}

async function hasRegenerationQueued(tx: Tx, ticketId: string): Promise<boolean> {
  const rows = await tx
    .select({ key: jobs.dedupeKey })
    .from(jobs)
    .where(and(eq(jobs.kind, 'zendesk.ticket'), inArray(jobs.status, ['queued', 'running'])))
    .limit(50);
  return rows.some((r) => r.key?.startsWith(`${ticketId}:sidebar:`));
}

/** The draft, locked, if it belongs to this ticket of this tenant; else 404. */
async function lockDraft(tx: Tx, ticketId: string, draftId: string): Promise<DraftRow> {
  const [draft] = await tx
    .select()
    .from(drafts)
    // Drafts about this ticket, whether drafted for its webhook or asked for in Slack (src/slack/ask.ts).
    .where(
      and(
        eq(drafts.id, draftId),
        eq(drafts.ticketId, ticketId),
        inArray(drafts.source, ['zendesk', 'slack']),
      ),
    )
    .for('update')
    .limit(1);
  if (!draft) throw new AppError('not_found', 'No such draft on this ticket.');
  return draft;
}

export async function addVersion(
  ctx: ServiceCtx,
  draft: DraftRow,
  body: string,
  agentId: string | null,
  via: 'sidebar' | 'zendesk_button',
): Promise<{ version: number; editDistance: number }> {
  const [m] = await ctx.tx
    .select({ v: max(draftVersions.version) })
    .from(draftVersions)
    .where(eq(draftVersions.draftId, draft.id));
  const version = (m?.v ?? 0) + 1;
  const distance = editDistance(draft.body, body);
  await ctx.tx.insert(draftVersions).values({
    tenantId: ctx.tenantId,
    draftId: draft.id,
    version,
    body,
    editDistance: distance,
    diff: wordDiff(draft.body, body),
    agentId,
    via,
  });
  await audit(ctx, {
    action: 'draft.edited',
    target: draft.id,
    outcome: 'success',
    detail: { version, editDistance: distance, via, length: body.length },
  });
  return { version, editDistance: distance };
}

const MAX_REPLY = 64 * 1024;

function checkBody(body: string | undefined): string | undefined {
  if (body === undefined) return undefined;
  const b = normalizeReply(body);
  if (!b) throw new AppError('invalid_body', 'The reply is empty.');
  if (b.length > MAX_REPLY) throw new AppError('invalid_body', 'The reply is longer than 64 KiB.');
  return b;
}

/** Saves the agent's edit as a new version (no send). */
export async function editDraft(
  deps: SidebarDeps,
  p: SidebarPrincipal,
  ticketId: string,
  draftId: string,
  body: string,
): Promise<SidebarDraftView> {
  const text = checkBody(body)!;
  return withTenant(deps.database.db, p.tenantId, async (tx) => {
    const draft = await lockDraft(tx, ticketId, draftId);
    if (!['pending', 'blocked', 'failed'].includes(draft.status))
      throw new AppError('conflict', `This draft is ${draft.status}; it can no longer be edited.`);
    const [delivery] = await tx
      .select({ unknown: draftDeliveries.outcomeUnknown })
      .from(draftDeliveries)
      .where(eq(draftDeliveries.draftId, draft.id))
      .limit(1);
    if (delivery?.unknown)
      throw new AppError(
        'conflict',
        'The last send may have reached Zendesk; send it again unchanged first.',
      );
    const cur = await currentVersion(tx, draft);
    if (cur.body !== text) await addVersion(ctxOf(deps, p, tx), draft, text, p.agentId, 'sidebar');
    return viewOf(tx, draft);
  });
}

export async function rejectDraft(
  deps: SidebarDeps,
  p: SidebarPrincipal,
  ticketId: string,
  draftId: string,
  reason: string,
): Promise<SidebarDraftView> {
  const why = reason.trim().slice(0, 500);
  if (!why) throw new AppError('invalid_body', 'Say why the draft is rejected.');
  return withTenant(deps.database.db, p.tenantId, async (tx) => {
    const draft = await lockDraft(tx, ticketId, draftId);
    if (!['pending', 'blocked', 'failed'].includes(draft.status))
      throw new AppError('conflict', `This draft is ${draft.status}; it can no longer be rejected.`);
    const t = deps.now();
    await tx.update(drafts).set({ status: 'rejected', updatedAt: t }).where(eq(drafts.id, draft.id));
    await tx
      .insert(draftDeliveries)
      .values({
        tenantId: p.tenantId,
        draftId: draft.id,
        ticketId,
        version: 0,
        status: 'rejected',
        mode: 'sidebar',
        agentId: p.agentId,
        reason: why,
        playbookId: playbookOf(draft),
        createdAt: t,
        updatedAt: t,
      })
      .onConflictDoUpdate({
        target: [draftDeliveries.tenantId, draftDeliveries.draftId],
        set: { status: 'rejected', reason: why, agentId: p.agentId, updatedAt: t },
      });
    await audit(ctxOf(deps, p, tx), {
      action: 'draft.rejected',
      target: draft.id,
      outcome: 'success',
      detail: { ticketId, reason: why },
    });
    return viewOf(tx, { ...draft, status: 'rejected' });
  });
}

/** Queues a new draft for the ticket (Regenerate / Draft now); `instruction` goes to the drafter and is audited. */
export async function regenerateDraft(
  deps: SidebarDeps,
  p: SidebarPrincipal,
  ticketId: string,
  instruction: string | undefined,
): Promise<{ queued: boolean }> {
  checkTicketId(ticketId);
  if (!deps.queue) throw new AppError('feature_disabled', 'Drafting is not running in this deployment.');
  const queue = deps.queue;
  const note = instruction?.trim().slice(0, 300) || null;
  await withTenant(deps.database.db, p.tenantId, async (tx) => {
    const [conn] = await tx
      .select({ id: zendeskConnections.id })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.status, 'active'))
      .limit(1);
    if (!conn) throw new AppError('conflict', 'The Zendesk connection is not active.');
    const stamp = randomToken(9);
    await queue.enqueue(
      tx,
      p.tenantId,
      ticketJob({
        connectionId: conn.id,
        ticketId,
        event: 'ticket_created',
        invocationId: `sidebar:${stamp}`,
        eventKey: `${ticketId}:sidebar:${stamp}`,
        ...(note ? { instruction: note } : {}),
      }),
    );
    await audit(ctxOf(deps, p, tx), {
      action: 'draft.regenerate_requested',
      target: `zendesk:ticket:${ticketId}`,
      outcome: 'success',
      detail: { instruction: note },
    });
  });
  deps.jobsEnqueued?.();
  return { queued: true };
}

/** Invariant 7's floor, checked again inside the send: pending, guard `pass`, a known requester. */
export function autoSendable(draft: DraftRow): boolean {
  const action = (draft.guardVerdict as { action?: unknown }).action;
  return (
    draft.source === 'zendesk' && draft.status === 'pending' && action === 'pass' && draft.route !== 'unknown'
  );
}

export function playbookOf(draft: DraftRow): string | null {
  const pb = (draft.contextSnapshot as { playbookId?: unknown }).playbookId;
  return typeof pb === 'string' ? pb : null;
}

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
