import { and, eq, inArray } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import { drafts, externalEffects, jobs, slackInstallations, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { performEffectOnce } from '../jobs/effects.ts';
import type { JobContext, JobHandler } from '../jobs/types.ts';
import { AppError } from '../lib/errors.ts';
import type { ContextFact } from '../pipeline/types.ts';
import type { Actor } from '../tenancy/context.ts';
import { createZendeskApi } from '../zendesk/api.ts';
import { isInternalMember, slackUser, zendeskAgentFor } from './agents.ts';
import { type SlackJobDeps, slackWebFor } from './ask.ts';
import { actionJobPayloadSchema, askJob, readAskJob } from './ask-job.ts';
import { type DraftView, draftContentBlocks, statusBlock } from './blocks.ts';
import { sendDraftViaPublicReplyVerb } from './send-to-ticket.ts';
import type { SlackWeb } from './web.ts';

/**
 * The `slack.action` job: Send to ticket, Reject, Regenerate pressed on a draft message. Runs
 * off the interaction's 3-second ack. The draft is read in the tenant of the signed payload
 * only (RLS): a draft id of another tenant is "not found". Every Slack write goes through the
 * ledger, keyed per draft and action.
 */
const REFUSALS = {
  not_member: 'Only members of this workspace can act on drafts.',
  email_unverified: 'Your Slack email is not verified, so it cannot be matched to a Zendesk agent.',
  no_zendesk: 'This workspace has no Zendesk connection.',
  no_agent:
    'Only Slack users who are Zendesk agents of this workspace (matched by verified email) can send drafts.',
} as const;

export async function draftView(deps: SlackJobDeps, tenantId: string, draftId: string) {
  const [d] = await withTenant(deps.database.db, tenantId, (tx) =>
    tx.select().from(drafts).where(eq(drafts.id, draftId)).limit(1),
  );
  if (!d) return null;
  const facts = ((d.contextSnapshot.facts ?? []) as ContextFact[]).filter((f) => d.citations.includes(f.id));
  const view: DraftView = {
    draftId: d.id,
    body: d.body,
    citations: facts.map((f) => ({ id: f.id, source: f.source, key: f.key })),
    ticketId: d.ticketId,
    about: d.accountId ? `Account ${d.accountId}` : 'No account identified: public information only',
    status: d.status === 'blocked' ? 'blocked' : 'pending',
  };
  return { row: d, view };
}

async function ephemeral(web: SlackWeb, channel: string, user: string, text: string) {
  await web.call('chat.postEphemeral', { channel, user, text });
}

export async function processActionJob(deps: SlackJobDeps, job: JobContext): Promise<string> {
  const parsed = actionJobPayloadSchema.safeParse(job.payload);
  if (!parsed.success) throw new AppError('invalid_body', 'slack.action job payload is invalid');
  const p = parsed.data;
  const { tenantId } = job;
  const db = deps.database.db;
  const now = deps.now ?? (() => new Date());
  const web = await slackWebFor(deps, tenantId);
  const actor: Actor = {
    type: 'slack_user',
    userId: p.user,
    ...(p.userTeamId ? { teamId: p.userTeamId } : {}),
  };
  const once = (key: string, perform: () => Promise<Record<string, unknown>>) =>
    performEffectOnce(
      deps.database,
      tenantId,
      { key, kind: 'slack.message', perform, reconcile: async () => null },
      { now },
    );

  const setup = await withTenant(db, tenantId, async (tx) => {
    const [inst] = await tx
      .select({ teamId: slackInstallations.teamId })
      .from(slackInstallations)
      .where(eq(slackInstallations.status, 'active'))
      .limit(1);
    const [conn] = await tx
      .select({ subdomain: zendeskConnections.subdomain })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.status, 'active'))
      .limit(1);
    return { installTeamId: inst?.teamId ?? null, subdomain: conn?.subdomain ?? null };
  });
  const found = await draftView(deps, tenantId, p.draftId);
  if (!found) {
    await once(`slack.refusal:${p.actionId}`, async () => {
      await ephemeral(web, p.channel, p.user, 'That draft does not exist in this workspace.');
      return {};
    });
    return 'not_found';
  }

  if (p.action === 'send') {
    const api = setup.subdomain
      ? createZendeskApi({
          tenantId,
          subdomain: setup.subdomain,
          tokens: deps.tokens,
          limiter: deps.limiter,
          timeoutMs: 10_000,
        })
      : null;
    const agent = await zendeskAgentFor(web, api, p.user, setup.installTeamId);
    if (!agent.ok) {
      await withTenant(db, tenantId, (tx) =>
        audit(
          { tenantId, tx, actor, requestId: job.jobId },
          {
            action: 'draft.send_refused',
            target: p.draftId,
            outcome: 'denied',
            detail: { reason: agent.reason },
          },
        ),
      );
      await once(`slack.refusal:${p.actionId}`, async () => {
        await ephemeral(web, p.channel, p.user, REFUSALS[agent.reason]);
        return { reason: agent.reason };
      });
      return 'refused';
    }
    if (!found.row.ticketId) {
      await once(`slack.refusal:${p.actionId}`, async () => {
        await ephemeral(web, p.channel, p.user, 'This draft is not about a Zendesk ticket.');
        return {};
      });
      return 'no_ticket';
    }
    const sent = await sendDraftViaPublicReplyVerb(
      { database: deps.database, tokens: deps.tokens, queue: deps.queue, now },
      {
        tenantId,
        draftId: p.draftId,
        ticketId: found.row.ticketId,
        agentId: agent.agentId,
        actor,
        requestId: job.jobId,
      },
    );
    if (!sent.ok) {
      await once(`slack.refusal:${p.actionId}`, async () => {
        await ephemeral(web, p.channel, p.user, sent.message);
        return {};
      });
      return 'failed';
    }
    if (p.messageTs) {
      await once(`slack.update:${p.draftId}:sent`, async () => {
        await web.call('chat.update', {
          channel: p.channel,
          ts: p.messageTs,
          text: `Sent to ticket #${sent.ticketId} by <@${p.user}>`,
          blocks: [
            ...draftContentBlocks(found.view),
            statusBlock('Sent to ticket', p.user, now(), sent.ticketId),
          ],
        });
        return {};
      });
    }
    return sent.status;
  }

  // Reject and Regenerate: any member of the tenant's own workspace.
  const u = await slackUser(web, p.user);
  if (!isInternalMember(u, setup.installTeamId)) {
    await once(`slack.refusal:${p.actionId}`, async () => {
      await ephemeral(web, p.channel, p.user, REFUSALS.not_member);
      return {};
    });
    return 'refused';
  }
  if (p.action === 'reject') {
    const changed = await withTenant(db, tenantId, async (tx) => {
      const r = await tx
        .update(drafts)
        .set({ status: 'rejected', updatedAt: now() })
        .where(and(eq(drafts.id, p.draftId), inArray(drafts.status, ['pending', 'blocked', 'approved'])))
        .returning({ id: drafts.id });
      if (r.length) {
        await audit(
          { tenantId, tx, actor, requestId: job.jobId },
          { action: 'draft.rejected', target: p.draftId, outcome: 'success', detail: { via: 'slack' } },
        );
      }
      return r.length > 0;
    });
    if (changed && p.messageTs) {
      await once(`slack.update:${p.draftId}:rejected`, async () => {
        await web.call('chat.update', {
          channel: p.channel,
          ts: p.messageTs,
          text: `Rejected by <@${p.user}>`,
          blocks: [...draftContentBlocks(found.view), statusBlock('Rejected', p.user, now())],
        });
        return {};
      });
    }
    return changed ? 'rejected' : 'unchanged';
  }

  // Regenerate: the same question again, as a new draft (a new ask job).
  const origin = await withTenant(db, tenantId, async (tx) => {
    const [eff] = await tx
      .select({ result: externalEffects.result })
      .from(externalEffects)
      .where(eq(externalEffects.key, `slack.answer:${p.draftId}`))
      .limit(1);
    const jobId = eff?.result?.jobId;
    if (typeof jobId !== 'string') return null;
    const [j] = await tx.select({ payload: jobs.payload }).from(jobs).where(eq(jobs.id, jobId)).limit(1);
    return j ? readAskJob(j.payload) : null;
  });
  if (!origin) {
    await once(`slack.refusal:${p.actionId}`, async () => {
      await ephemeral(web, p.channel, p.user, 'This draft cannot be regenerated from Slack.');
      return {};
    });
    return 'not_regenerable';
  }
  await withTenant(db, tenantId, (tx) =>
    deps.queue.enqueue(tx, tenantId, askJob({ ...origin, regen: origin.regen + 1 })),
  );
  return 'regenerating';
}

export function createActionHandler(deps: SlackJobDeps): JobHandler {
  return async (job) => {
    await processActionJob(deps, job);
  };
}
