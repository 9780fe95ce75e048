import { and, asc, desc, eq, gt, inArray, like, max } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Database, Tx } from '../db/client.ts';
import {
  accounts,
  draftDeliveries,
  drafts,
  draftVersions,
  jobs,
  zendeskConnections,
} from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { JobQueue } from '../jobs/types.ts';
import { AppError } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { ticketJob } from '../pipeline/ticket-job.ts';
import type { Actor, ServiceCtx } from '../tenancy/context.ts';
import type { SidebarPrincipal } from './sidebar-credentials.ts';
import { editDistance, normalizeReply, wordDiff } from './sidebar-diff.ts';

/**
 * The sidebar's service verbs on one ticket's draft, for a verified sidebar principal: the ticket
 * view, edit, reject, regenerate and the draft facts auto-send reads (sending itself, exactly once
 * per version, is sidebar-send.ts). Every verb runs inside the principal's tenant (RLS) and finds
 * the draft by (draft id, ticket id): a draft of another tenant or another ticket is
 * `404 not_found` and nothing changes.
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

export const actorOf = (p: SidebarPrincipal): Actor =>
  p.autoSend ? { type: 'system', name: 'auto-send' } : { type: 'zendesk_agent', userId: p.agentId };

export function ctxOf(deps: SidebarDeps, p: SidebarPrincipal, tx: Tx): ServiceCtx {
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

export type DraftRow = typeof drafts.$inferSelect;

export async function currentVersion(tx: Tx, draft: DraftRow): Promise<{ version: number; body: string }> {
  const [v] = await tx
    .select({ version: draftVersions.version, body: draftVersions.body })
    .from(draftVersions)
    .where(eq(draftVersions.draftId, draft.id))
    .orderBy(desc(draftVersions.version))
    .limit(1);
  return v ?? { version: 0, body: draft.body };
}

export async function versionBody(tx: Tx, draft: DraftRow, version: number): Promise<string> {
  if (version === 0) return draft.body;
  const [v] = await tx
    .select({ body: draftVersions.body })
    .from(draftVersions)
    .where(and(eq(draftVersions.draftId, draft.id), eq(draftVersions.version, version)))
    .limit(1);
  if (!v) throw new AppError('internal', 'approved draft version is missing');
  return v.body;
}

export async function viewOf(tx: Tx, draft: DraftRow): Promise<SidebarDraftView> {
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
export async function lockDraft(tx: Tx, ticketId: string, draftId: string): Promise<DraftRow> {
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

export function checkBody(body: string | undefined): string | undefined {
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
