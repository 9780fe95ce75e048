import { eq, sql } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import { rowsOf, type Tx } from '../db/client.ts';
import { drafts, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { JobContext, JobHandler } from '../jobs/types.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { AppError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import type { Actor } from '../tenancy/context.ts';
import { createZendeskApi } from '../zendesk/api.ts';
import { zendeskResources } from '../zendesk/resources.ts';
import { type ComposeDeps, composeDraft } from './compose-draft.ts';
import { postDraftNote } from './draft-note.ts';
import { recordDraft } from './draft-record.ts';
import { sealedModelKey } from './drafting/tenant-model.ts';
import { recordFailedUsage } from './drafting/usage.ts';
import { guardDraft } from './leak-guard.ts';
import { quotaReached, quotaUsage } from './quota.ts';
import { routeTicket } from './routing.ts';
import { readPipelineSettings } from './settings.ts';
import { readTicketJob, TICKET_JOB_KIND } from './ticket-job.ts';
import { loadPipelineTicket } from './ticket-source.ts';

export { TICKET_JOB_KIND };

/**
 * The job handler for kind `zendesk.ticket`, in four steps:
 * read (connection, settings, existing draft; the ticket through the typed Zendesk methods;
 * route; context) -> compute (draft) -> check and write (leak guard, then `recordDraft`: draft,
 * usage and audit events, all in one transaction) -> effect (`postDraftNote`: one internal note, through the
 * exactly-once effect ledger).
 *
 * At-least-once safe: the draft id is derived from (tenant, ticket, event key), so a retried job
 * finds its draft instead of drafting (or paying for a model call) again, then completes the
 * note, which the ledger posts at most once. Drafts never send themselves.
 */
export interface TicketPipelineDeps extends ComposeDeps {
  tokens: TokenProvider;
  logger: Logger;
  /** The clock of every step (drafts, context fetch times, effect leases). Default: the system clock. */
  now?: () => Date;
  /** Lease of the note's effect claim (default DEFAULT_EFFECT_LEASE_MS; tests shorten it). */
  effectLeaseMs?: number;
  /**
   * After the draft and its note: more effects on the stored draft (the Node entry posts it to the
   * account's linked Slack channel, src/slack/ticket-drafts.ts). Must be idempotent per draft id.
   */
  afterDraft?: (a: { tenantId: string; draftId: string; jobId: string }) => Promise<void>;
}

const ACTOR: Actor = { type: 'system', name: 'ticket-pipeline' };
/** The one place the real clock enters the pipeline, when the entry passes none. */
const systemClock = () => new Date();

/** Deterministic draft id for (tenant, ticket, event stamp): the idempotency key of drafting. */
export async function draftIdFor(tenantId: string, ticketId: string, stamp: string): Promise<string> {
  const h = await sha256Hex(`${tenantId}|zendesk|${ticketId}|${stamp}`);
  return `dr_${Buffer.from(h.slice(0, 32), 'hex').toString('base64url')}`;
}

export interface ProcessResult {
  draftId: string;
  created: boolean;
  status: string;
  notePosted: boolean;
}

/**
 * Whether a newer delivery of the same ticket (same connection, a drafting event) has a job that
 * is not dead: queued, running or done, it drafts the ticket as it stands then, which includes
 * this event. One index probe (webhook_deliveries_ticket) and a primary-key join per delivery of
 * the ticket.
 */
async function supersededBy(
  tx: Tx,
  tenantId: string,
  jobId: string,
  p: { connectionId: string; ticketId: string },
) {
  const rows = await tx.execute(sql`with mine as (select m.received_at, m.job_id from webhook_deliveries m
      where m.tenant_id = ${tenantId} and m.connection_id = ${p.connectionId} and m.ticket_id = ${p.ticketId} and m.job_id = ${jobId})
    select 1 from webhook_deliveries d join mine on (d.received_at, d.job_id) > (mine.received_at, mine.job_id)
    join jobs j on j.tenant_id = d.tenant_id and j.id = d.job_id
    where d.tenant_id = ${tenantId} and d.connection_id = ${p.connectionId} and d.ticket_id = ${p.ticketId}
      and d.event in ('ticket_created', 'comment_added') and j.status <> 'dead'
    limit 1`);
  return rowsOf(rows).length > 0;
}

export async function processTicketJob(deps: TicketPipelineDeps, job: JobContext): Promise<ProcessResult> {
  const now = deps.now ?? systemClock;
  const p = readTicketJob(job.payload);
  if (!p) throw new AppError('invalid_body', 'zendesk.ticket job payload is invalid');
  const { tenantId } = job;
  const db = deps.database.db;
  const log = deps.logger.child({ tenantId, jobId: job.jobId, ticketId: p.ticketId });

  // Read: what we know already.
  const draftId = await draftIdFor(tenantId, p.ticketId, p.eventKey);
  const setup = await withTenant(db, tenantId, async (tx) => {
    const [conn] = await tx
      .select({ subdomain: zendeskConnections.subdomain, status: zendeskConnections.status })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.id, p.connectionId))
      .limit(1);
    const [existing] = await tx
      .select({ status: drafts.status })
      .from(drafts)
      .where(eq(drafts.id, draftId))
      .limit(1);
    // Collapse: a newer event of this ticket, still to run or drafted, covers this one (its job
    // reads the ticket as it is then). A Regenerate (an agent's instruction) is never collapsed.
    if (!existing && !p.instruction && (await supersededBy(tx, tenantId, job.jobId, p)))
      return { superseded: true as const };
    const settings = await readPipelineSettings(tx);
    // Only a ticket still to draft reads its tenant's usage against the limits.
    const quota = existing
      ? null
      : quotaReached(settings.limits, await quotaUsage(tx, settings.limits, now()));
    // The tenant's own model key, read here rather than in a transaction of its own.
    const modelKey = existing ? null : await sealedModelKey(tx);
    return { conn, existing, settings, quota, modelKey };
  });
  if ('superseded' in setup) {
    log.info('ticket event collapsed into a newer event of the ticket');
    return { draftId, created: false, status: 'superseded', notePosted: false };
  }
  if (!setup.conn) throw new AppError('not_found', 'Zendesk connection of this job is gone');
  if (setup.conn.status === 'revoked') throw new AppError('forbidden', 'Zendesk connection was revoked');
  // The context's client: its requests end with the context deadline (ours, not a Zendesk failure).
  const zendeskClient = (timeoutMs: number, context = false) =>
    zendeskResources(
      createZendeskApi({
        tenantId,
        subdomain: setup.conn!.subdomain,
        tokens: deps.tokens,
        timeoutMs,
        now,
        ...(deps.limits ? { limiter: deps.limits } : {}),
        ...(context ? { maxInlineWaitMs: 0, timeoutIsFailure: false } : {}),
      }),
    );
  const zendesk = zendeskClient(10_000);

  let status: string = setup.existing?.status ?? '';
  let created = false;
  let remark: string | null = null;
  if (!setup.existing) {
    const { settings } = setup;
    const ticket = await loadPipelineTicket(zendesk, p.ticketId, p.event);
    const route = await withTenant(db, tenantId, (tx) => routeTicket(tx, ticket, settings.routing));
    // Compute: the context (its own Zendesk client, whose requests end with the context deadline:
    // the loader stops waiting then), then the draft within the tenant's quota.
    const { context, draft } = await composeDraft(deps, {
      tenantId,
      ticket,
      route,
      settings,
      quota: setup.quota,
      modelKey: setup.modelKey,
      zendesk: zendeskClient(settings.context.providerTimeoutMs ?? settings.context.deadlineMs, true),
      now,
      drafting: {
        // The last attempt falls back to the offline drafter; failed answers' usage is recorded.
        attempt: job.attempt,
        ...(job.maxAttempts === undefined ? {} : { maxAttempts: job.maxAttempts }),
        onFailedUsage: (usage) => recordFailedUsage(db, tenantId, usage),
        ...(p.instruction ? { instruction: p.instruction } : {}),
      },
    });
    // Check and write in one transaction: the guard's verdict on the directory it read, then
    // draft, usage and audit events together.
    const stored = await withTenant(db, tenantId, async (tx) => {
      const guard = await guardDraft(tx, route, draft.reply);
      if (setup.quota)
        await audit(
          { tenantId, tx, actor: ACTOR, requestId: job.jobId },
          {
            action: 'quota.enforced',
            target: draftId,
            outcome: 'success',
            detail: {
              limit: setup.quota.kind,
              value: setup.quota.limit,
              used: setup.quota.used,
              drafter: draft.drafter,
            },
          },
        );
      return recordDraft(
        { tenantId, tx, actor: ACTOR, requestId: job.jobId },
        { draftId, ticket, route, context, draft, guard, now: now(), instruction: p.instruction ?? null },
      );
    });
    created = stored.created;
    status = stored.status;
    if (draft.fallback) remark = draft.fallback.note;
    log.info('draft stored', {
      draftId,
      route: route.level,
      status,
      created,
      missing: context.missing.length,
    });
  }

  // Effect: the internal note, exactly once.
  const note = await postDraftNote(
    {
      database: deps.database,
      zendesk,
      tenantId,
      actor: ACTOR,
      requestId: job.jobId,
      now,
      leaseMs: deps.effectLeaseMs,
    },
    { ticketId: p.ticketId, draftId, status, ...(remark ? { remark } : {}) },
  );
  await deps.afterDraft?.({ tenantId, draftId, jobId: job.jobId });
  return { draftId, created, status, notePosted: note.status === 'performed' };
}

/** The JobHandler registered for `zendesk.ticket`. */
export function createTicketHandler(deps: TicketPipelineDeps): JobHandler {
  return async (job) => {
    await processTicketJob(deps, job);
  };
}
