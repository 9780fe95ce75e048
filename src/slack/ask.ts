import { and, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../audit/audit.ts';
import type { Tx } from '../db/client.ts';
import { drafts, slackInstallations, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { performEffectOnce } from '../jobs/effects.ts';
import type { JobContext, JobHandler, JobQueue } from '../jobs/types.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { AppError } from '../lib/errors.ts';
import { composeDraft } from '../pipeline/compose-draft.ts';
import { recordDraft } from '../pipeline/draft-record.ts';
import { guardDraft } from '../pipeline/leak-guard.ts';
import type { TicketPipelineDeps } from '../pipeline/process-ticket.ts';
import { quotaReached, quotaUsage } from '../pipeline/quota.ts';
import { type RouteDecision, routeTicket } from '../pipeline/routing.ts';
import { readPipelineSettings } from '../pipeline/settings.ts';
import { loadPipelineTicket } from '../pipeline/ticket-source.ts';
import type { AccountContext, ContextFact, PipelineTicket } from '../pipeline/types.ts';
import type { Actor } from '../tenancy/context.ts';
import { createZendeskApi } from '../zendesk/api.ts';
import { type ZendeskResources, zendeskResources } from '../zendesk/resources.ts';
import { type AskJobPayload, readAskJob } from './ask-job.ts';
import {
  accountSelectBlocks,
  type Citation,
  type DraftView,
  draftActions,
  draftContentBlocks,
} from './blocks.ts';
import { accountExists, plainSlackText, resolveAccountEvidence } from './resolve-account.ts';
import { readSlackSettings } from './settings.ts';
import { createSlackWeb, type SlackLimiter, type SlackWeb } from './web.ts';

/**
 * The `slack.ask` job: a rep's question -> the account (resolve-account.ts) -> the SAME route,
 * context loader, drafter, leak guard and draft record as tickets -> the answer in the thread.
 *
 * Where the answer goes:
 * - a normal channel or the app's messages tab: streamed into the thread (`chat.startStream`,
 *   one task update per context source whose sources are the draft's citations, the text, then
 *   `chat.stopStream` with the buttons);
 * - a Slack Connect channel (the customer's workspace can read it): never there before a human
 *   approves: to the tenant's triage channel if set, else ephemeral to the rep.
 * A user of another workspace (Slack Connect) gets a draft at the `unknown` level: public facts
 * only, never the account's private ones. Every post goes through the effect ledger, keyed per
 * draft, so a retried job never posts twice.
 */
export interface SlackJobDeps extends TicketPipelineDeps {
  limiter: SlackLimiter;
  queue: JobQueue;
  /** PUBLIC_URL: links for citations that have no URL of their own. */
  publicUrl: string;
  slackFetch?: typeof fetch;
}

const ACTOR: Actor = { type: 'system', name: 'slack-ask' };

export async function slackWebFor(deps: SlackJobDeps, tenantId: string): Promise<SlackWeb> {
  const token = await deps.tokens.getAccessToken(tenantId, 'slack');
  return createSlackWeb({
    tenantId,
    token,
    limiter: deps.limiter,
    ...(deps.slackFetch ? { fetch: deps.slackFetch } : {}),
  });
}

export async function slackDraftIdFor(tenantId: string, p: AskJobPayload): Promise<string> {
  const h = await sha256Hex(`${tenantId}|slack|${p.eventId}|${p.accountId ?? ''}|${p.regen}`);
  return `dr_${Buffer.from(h.slice(0, 32), 'hex').toString('base64url')}`;
}

/** A Zendesk client that refuses every call: the tenant has no live Zendesk connection. */
function noZendesk(): ZendeskResources {
  return new Proxy({} as ZendeskResources, {
    get(_t, prop) {
      if (prop === 'subdomain') return '';
      if (prop === 'then') return undefined;
      return async () => {
        throw new AppError('not_found', 'The tenant has no Zendesk connection.');
      };
    },
  });
}

const convInfo = z.object({ channel: z.looseObject({ is_ext_shared: z.boolean().optional() }) });
const tsOf = z.looseObject({ ts: z.string() });

async function setup(deps: SlackJobDeps, tenantId: string) {
  return withTenant(deps.database.db, tenantId, async (tx: Tx) => {
    const [conn] = await tx
      .select({ subdomain: zendeskConnections.subdomain })
      .from(zendeskConnections)
      .where(ne(zendeskConnections.status, 'revoked'))
      .limit(1);
    const [inst] = await tx
      .select({ teamId: slackInstallations.teamId, enterpriseId: slackInstallations.enterpriseId })
      .from(slackInstallations)
      .where(eq(slackInstallations.status, 'active'))
      .limit(1);
    return {
      subdomain: conn?.subdomain ?? null,
      install: inst ?? null,
      slack: await readSlackSettings(tx),
      pipeline: await readPipelineSettings(tx),
    };
  });
}

function zendeskFor(
  deps: SlackJobDeps,
  tenantId: string,
  subdomain: string | null,
  timeoutMs: number,
  /** The context's client: its timeout is our deadline, not a Zendesk failure. */
  context = false,
) {
  if (!subdomain) return noZendesk();
  return zendeskResources(
    createZendeskApi({
      tenantId,
      subdomain,
      tokens: deps.tokens,
      limiter: deps.limiter,
      timeoutMs,
      ...(context ? { timeoutIsFailure: false } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    }),
  );
}

/** A URL for a cited fact: its own https link, the Zendesk ticket it came from, or our admin page. */
function factUrl(f: ContextFact, subdomain: string | null, publicUrl: string): string {
  const v = (f.value ?? {}) as Record<string, unknown>;
  for (const k of ['url', 'html_url', 'link']) {
    const u = v[k];
    if (typeof u === 'string' && /^https:\/\//.test(u)) return u;
  }
  const id = v.id;
  if (subdomain && f.source === 'zendesk' && (typeof id === 'number' || typeof id === 'string'))
    return `https://${subdomain}.zendesk.com/agent/tickets/${id}`;
  return `${publicUrl.replace(/\/$/, '')}/admin?fact=${encodeURIComponent(f.id)}`;
}

export interface AskResult {
  outcome: 'answered' | 'asked_account' | 'already_done';
  draftId?: string;
  destination?: 'thread_stream' | 'triage' | 'ephemeral';
}

export async function processAskJob(deps: SlackJobDeps, job: JobContext): Promise<AskResult> {
  const p = readAskJob(job.payload);
  if (!p) throw new AppError('invalid_body', 'slack.ask job payload is invalid');
  const { tenantId } = job;
  const db = deps.database.db;
  const now = deps.now ?? (() => new Date());
  const s = await setup(deps, tenantId);
  const web = await slackWebFor(deps, tenantId);
  const isDm = p.channelType === 'im';

  if (isDm) {
    // The messages tab (agent_view): each DM message is a thread root; the status shows while we work.
    await web.call('assistant.threads.setStatus', {
      channel_id: p.channel,
      thread_ts: p.threadTs,
      status: 'Looking up the account…',
    });
  }
  const installTeam = s.install?.teamId ?? p.installTeamId;
  const external = !!(p.userTeamId && installTeam && p.userTeamId !== installTeam);
  let extShared = !isDm && p.extShared;
  if (!isDm && !extShared) {
    const info = await web.call('conversations.info', { channel: p.channel }, convInfo);
    extShared = info.channel.is_ext_shared === true;
  }

  // Which account, from evidence only.
  const zendesk = zendeskFor(deps, tenantId, s.subdomain, 10_000);
  const base = { endUserEmail: null, endUserId: null };
  let route: RouteDecision = { level: 'unknown', accountId: null, reason: 'no_match', ...base };
  let ticket: PipelineTicket = {
    id: `slack:${p.channel}:${p.ts}`,
    subject: '',
    body: plainSlackText(p.text),
    requester: { id: null, email: null, name: null },
    organization: null,
    brand: null,
    recipient: null,
    via: 'slack',
    createdAt: null,
  };
  let ticketId: string | null = null;
  if (p.accountId) {
    if (!(await withTenant(db, tenantId, (tx) => accountExists(tx, p.accountId!))))
      throw new AppError('not_found', 'The chosen account does not exist in this tenant.');
    route = { level: 'account', accountId: p.accountId, reason: 'slack_choice', ...base };
  } else {
    const evidence = await withTenant(db, tenantId, (tx) =>
      resolveAccountEvidence(tx, {
        text: p.text,
        channelAccountId: s.slack.channels[p.channel] ?? null,
        zendeskSubdomain: s.subdomain,
      }),
    );
    if (evidence.kind === 'ambiguous' && !external) {
      await performEffectOnce(
        deps.database,
        tenantId,
        {
          key: `slack.select:${p.eventId}`,
          kind: 'slack.message',
          perform: async () => {
            const blocks = accountSelectBlocks(p.eventId, evidence.candidates);
            const text = 'Several accounts match. Which one do you mean?';
            if (extShared) {
              await web.call('chat.postEphemeral', {
                channel: p.channel,
                user: p.user,
                thread_ts: p.threadTs,
                text,
                blocks,
              });
              return { ephemeral: true };
            }
            const r = await web.call(
              'chat.postMessage',
              { channel: p.channel, thread_ts: p.threadTs, text, blocks },
              tsOf,
            );
            return { ts: r.ts };
          },
          reconcile: async () => null,
        },
        { now },
      );
      return { outcome: 'asked_account' };
    }
    if (evidence.kind === 'channel' || evidence.kind === 'text') {
      route = {
        level: 'account',
        accountId: evidence.accountId,
        reason: evidence.kind === 'channel' ? 'slack_channel' : 'slack_text',
        ...base,
      };
    } else if (evidence.kind === 'ticket' && s.subdomain) {
      // The ticket's own route, exactly as the webhook pipeline routes it.
      ticket = await loadPipelineTicket(zendesk, evidence.ticketId, 'ticket_created');
      ticketId = ticket.id;
      route = await withTenant(db, tenantId, (tx) => routeTicket(tx, ticket, s.pipeline.routing));
    }
  }
  if (external) {
    // Another workspace's user: public facts only, whatever the channel or text says.
    route = { level: 'unknown', accountId: null, reason: 'slack_external_user', ...base };
  }

  const draftId = await slackDraftIdFor(tenantId, p);
  const view = await draftOnce(deps, {
    tenantId,
    jobId: job.jobId,
    draftId,
    ticket,
    ticketId,
    route,
    settings: s,
    now,
  });
  const destination: AskResult['destination'] = extShared
    ? s.slack.triageChannel
      ? 'triage'
      : 'ephemeral'
    : 'thread_stream';

  const posted = await performEffectOnce(
    deps.database,
    tenantId,
    {
      key: `slack.answer:${draftId}`,
      kind: 'slack.message',
      perform: async () => {
        if (destination === 'triage') {
          const r = await web.call(
            'chat.postMessage',
            {
              channel: s.slack.triageChannel,
              text: `Draft for a question from <@${p.user}> in <#${p.channel}> (Slack Connect: held here until a human approves).`,
              blocks: [
                {
                  type: 'section',
                  text: {
                    type: 'mrkdwn',
                    text: `Question from <@${p.user}> in <#${p.channel}> (Slack Connect channel: held here until a human approves).`,
                  },
                },
                ...draftContentBlocks(view.view),
                draftActions(draftId, { ticketId: view.view.ticketId }),
              ],
            },
            tsOf,
          );
          return { channel: s.slack.triageChannel!, ts: r.ts, jobId: job.jobId };
        }
        if (destination === 'ephemeral') {
          await web.call('chat.postEphemeral', {
            channel: p.channel,
            user: p.user,
            thread_ts: p.threadTs,
            text: view.view.body,
            blocks: [
              ...draftContentBlocks(view.view),
              draftActions(draftId, { ticketId: view.view.ticketId }),
            ],
          });
          return { channel: p.channel, ephemeral: true, jobId: job.jobId };
        }
        return { ...(await streamDraft(web, p, view, isDm)), jobId: job.jobId };
      },
      // A crash between Slack's answer and our record: the stream may exist; Slack's history API is
      // limited to 1 call a minute for new apps, so we do not search it and post again (rare).
      reconcile: async () => null,
    },
    { now },
  );
  if (isDm) {
    await web.call('assistant.threads.setStatus', {
      channel_id: p.channel,
      thread_ts: p.threadTs,
      status: '',
    });
    // The tenant's own follow-up prompts in the messages tab (the manifest's are the default).
    if (s.slack.suggestedPrompts.length && posted.status === 'performed') {
      await web.call('assistant.threads.setSuggestedPrompts', {
        channel_id: p.channel,
        thread_ts: p.threadTs,
        prompts: s.slack.suggestedPrompts,
      });
    }
  }
  return { outcome: posted.status === 'already_done' ? 'already_done' : 'answered', draftId, destination };
}

interface DraftOnce {
  view: DraftView;
  context: AccountContext | null;
  citedFacts: ContextFact[];
  subdomain: string | null;
  publicUrl: string;
}

/** Drafts once per draft id (a retried job finds its draft and does not pay for a model call again). */
async function draftOnce(
  deps: SlackJobDeps,
  a: {
    tenantId: string;
    jobId: string;
    draftId: string;
    ticket: PipelineTicket;
    ticketId: string | null;
    route: RouteDecision;
    settings: Awaited<ReturnType<typeof setup>>;
    now: () => Date;
  },
): Promise<DraftOnce> {
  const db = deps.database.db;
  const about =
    a.route.level === 'account'
      ? `Account ${a.route.accountId} (${a.route.reason.replace(/_/g, ' ')})`
      : a.route.reason === 'slack_external_user'
        ? 'Asked by a user of another workspace: public information only'
        : a.route.level === 'end_user'
          ? `End user of account ${a.route.accountId}`
          : 'No account identified: public information only';
  // The stored draft if a retry already made it; else the tenant's usage against its limits.
  const { existing, quota } = await withTenant(db, a.tenantId, async (tx) => {
    const [row] = await tx.select().from(drafts).where(eq(drafts.id, a.draftId)).limit(1);
    const limits = a.settings.pipeline.limits;
    return { existing: row, quota: row ? null : quotaReached(limits, await quotaUsage(tx, limits, a.now())) };
  });
  const toView = (row: typeof existing & object, facts: ContextFact[]): DraftOnce => {
    const cited = facts.filter((f) => row.citations.includes(f.id));
    return {
      view: {
        draftId: row.id,
        body: row.body,
        citations: cited.map((f): Citation => ({ id: f.id, source: f.source, key: f.key })),
        ticketId: row.ticketId,
        about,
        status: row.status === 'blocked' ? 'blocked' : 'pending',
      },
      context: null,
      citedFacts: cited,
      subdomain: a.settings.subdomain,
      publicUrl: deps.publicUrl,
    };
  };
  if (existing) return toView(existing, (existing.contextSnapshot.facts ?? []) as ContextFact[]);

  const settings = a.settings.pipeline;
  const contextZendesk = zendeskFor(
    deps,
    a.tenantId,
    a.settings.subdomain,
    settings.context.providerTimeoutMs ?? settings.context.deadlineMs,
    true,
  );
  const now = a.now;
  const { context, draft } = await composeDraft(deps, {
    tenantId: a.tenantId,
    ticket: a.ticket,
    route: a.route,
    settings,
    quota,
    zendesk: contextZendesk,
    now,
  });
  await withTenant(db, a.tenantId, async (tx) => {
    const guard = await guardDraft(tx, a.route, draft.reply);
    if (quota)
      await audit(
        { tenantId: a.tenantId, tx, actor: ACTOR, requestId: a.jobId },
        {
          action: 'quota.enforced',
          target: a.draftId,
          outcome: 'success',
          detail: { limit: quota.kind, value: quota.limit, used: quota.used, drafter: draft.drafter },
        },
      );
    return recordDraft(
      { tenantId: a.tenantId, tx, actor: ACTOR, requestId: a.jobId },
      {
        draftId: a.draftId,
        ticket: a.ticket,
        route: a.route,
        context,
        draft,
        guard,
        now: now(),
        source: 'slack',
        ticketId: a.ticketId,
      },
    );
  });
  const [row] = await withTenant(db, a.tenantId, (tx) =>
    tx
      .select()
      .from(drafts)
      .where(and(eq(drafts.id, a.draftId)))
      .limit(1),
  );
  if (!row) throw new AppError('internal', 'the draft was not stored');
  return { ...toView(row, context.facts), context };
}

/** Streams the draft into the thread: start, one task update per context source, the text, stop with buttons. */
async function streamDraft(web: SlackWeb, p: AskJobPayload, d: DraftOnce, isDm: boolean) {
  const recipient = isDm
    ? {}
    : { recipient_user_id: p.user, ...(p.userTeamId ? { recipient_team_id: p.userTeamId } : {}) };
  const start = await web.call(
    'chat.startStream',
    {
      channel: p.channel,
      thread_ts: p.threadTs,
      ...recipient,
      task_display_mode: 'timeline',
      chunks: [
        {
          type: 'task_update',
          id: 'account',
          title: 'Finding the account',
          status: 'complete',
          details: d.view.about,
        },
      ],
    },
    tsOf,
  );
  const bySource = new Map<string, ContextFact[]>();
  for (const f of d.citedFacts) bySource.set(f.source, [...(bySource.get(f.source) ?? []), f]);
  const missing = d.context?.missing ?? [];
  const tasks = [
    ...[...bySource].map(([source, facts]) => ({
      type: 'task_update',
      id: `context:${source}`,
      title: `Loaded ${source}`,
      status: 'complete',
      output: `${facts.length} cited fact${facts.length === 1 ? '' : 's'}`,
      sources: facts
        .slice(0, 10)
        .map((f) => ({ type: 'url', url: factUrl(f, d.subdomain, d.publicUrl), text: f.id })),
    })),
    ...missing.map((m) => ({
      type: 'task_update',
      id: `context:${m.source}`,
      title: `${m.source} did not answer`,
      status: 'error',
      details: m.reason,
    })),
  ];
  if (tasks.length) await web.call('chat.appendStream', { channel: p.channel, ts: start.ts, chunks: tasks });
  await web.call('chat.appendStream', {
    channel: p.channel,
    ts: start.ts,
    chunks: [{ type: 'markdown_text', text: d.view.body }],
  });
  await web.call('chat.stopStream', {
    channel: p.channel,
    ts: start.ts,
    blocks: [
      ...draftContentBlocks(d.view).slice(1),
      draftActions(d.view.draftId, { ticketId: d.view.ticketId }),
    ],
    metadata: { event_type: 'copilot_draft', event_payload: { draft_id: d.view.draftId } },
  });
  return { channel: p.channel, ts: start.ts };
}

export function createAskHandler(deps: SlackJobDeps): JobHandler {
  return async (job) => {
    await processAskJob(deps, job);
  };
}
