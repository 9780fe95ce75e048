import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../audit/audit.ts';
import { drafts, jobs, slackInstallations } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { Logger } from '../lib/logger.ts';
import type { Actor } from '../tenancy/context.ts';
import { activeTenantIdBySlack } from '../tenancy/lookup.ts';
import { draftView } from './actions.ts';
import { isWorkspaceAdmin, slackUser } from './agents.ts';
import { type SlackJobDeps, slackWebFor } from './ask.ts';
import { actionJob, askJob, readAskJob } from './ask-job.ts';
import {
  ACTIONS,
  draftActions,
  draftContentBlocks,
  EDIT_VIEW_CALLBACK,
  editModal,
  escapeMrkdwn,
  LINK_VIEW_CALLBACK,
  linkModal,
  noticeModal,
} from './blocks.ts';
import { linkChannel, unlinkChannel } from './channel-links.ts';
import { COPILOT_COMMAND, SLACK_SHORTCUTS } from './contract.ts';
import { updateSlackSettings } from './settings.ts';

/**
 * Interactivity (`POST /slack/interactions`) and the `/copilot` command (`POST /slack/commands`),
 * after the route verified the signature. The tenant comes only from the signed payload's
 * team / enterprise ids (one active installation, or nothing is done); drafts are then read in
 * that tenant only, so another tenant's draft id is simply not found. Slow work (Send, Reject,
 * Regenerate, a chosen account) becomes a durable job; the modal opens inline (trigger ids live
 * about 3 s).
 */
export type InteractionDeps = SlackJobDeps & { jobsEnqueued?: () => void; log: Logger };

const id = z.string().min(1).max(64);
const interactionSchema = z.looseObject({
  type: z.string(),
  /** Shortcuts carry their callback id at the top level. */
  callback_id: z.string().max(255).optional(),
  team: z.looseObject({ id: id, enterprise_id: id.nullish() }).nullish(),
  enterprise: z.looseObject({ id: id }).nullish(),
  is_enterprise_install: z.boolean().optional(),
  user: z.looseObject({ id: id, team_id: id.optional() }),
  trigger_id: z.string().max(200).optional(),
  channel: z.looseObject({ id: id }).nullish(),
  container: z.looseObject({ channel_id: id.optional(), message_ts: id.optional() }).nullish(),
  message: z.looseObject({ ts: id }).nullish(),
  actions: z
    .array(
      z.looseObject({
        action_id: z.string().max(255),
        block_id: z.string().max(255).optional(),
        value: z.string().max(2000).optional(),
        action_ts: z.string().max(64).optional(),
        selected_option: z.looseObject({ value: z.string().max(200) }).nullish(),
      }),
    )
    .optional(),
  view: z
    .looseObject({
      callback_id: z.string().max(255).optional(),
      private_metadata: z.string().max(3000).optional(),
      app_installed_team_id: id.optional(),
      state: z
        .looseObject({
          values: z.record(
            z.string(),
            z.record(
              z.string(),
              z.looseObject({ value: z.string().nullish(), selected_conversation: id.nullish() }),
            ),
          ),
        })
        .optional(),
    })
    .nullish(),
});
type Interaction = z.infer<typeof interactionSchema>;

export type InteractionOutcome =
  | { status: 200; body?: Record<string, unknown> }
  | { status: 400; code: 'invalid_body'; message: string };

async function installTeamOf(deps: SlackJobDeps, tenantId: string): Promise<string | null> {
  const [row] = await withTenant(deps.database.db, tenantId, (tx) =>
    tx
      .select({ teamId: slackInstallations.teamId })
      .from(slackInstallations)
      .where(eq(slackInstallations.status, 'active'))
      .limit(1),
  );
  return row?.teamId ?? null;
}

export async function handleInteraction(
  deps: InteractionDeps,
  rawPayload: string | null,
): Promise<InteractionOutcome> {
  let json: unknown;
  try {
    json = JSON.parse(rawPayload ?? '');
  } catch {
    return { status: 400, code: 'invalid_body', message: 'The interaction has no JSON payload field.' };
  }
  const parsed = interactionSchema.safeParse(json);
  if (!parsed.success)
    return { status: 400, code: 'invalid_body', message: 'The interaction payload is not understood.' };
  const it = parsed.data;
  const enterpriseInstall = it.is_enterprise_install === true;
  const tenantId = await activeTenantIdBySlack(deps.database.db, {
    isEnterpriseInstall: enterpriseInstall,
    enterpriseId: it.enterprise?.id ?? it.team?.enterprise_id ?? null,
    teamId: it.view?.app_installed_team_id ?? it.team?.id ?? null,
  });
  if (!tenantId) {
    deps.log.warn('slack interaction for no installed tenant: nothing done', { type: it.type });
    return { status: 200 };
  }
  if (it.type === 'block_actions') return blockAction(deps, tenantId, it);
  if (it.type === 'view_submission' && it.view?.callback_id === EDIT_VIEW_CALLBACK)
    return editSubmitted(deps, tenantId, it);
  if (it.type === 'shortcut' && it.callback_id === SLACK_SHORTCUTS.linkChannel)
    return linkShortcut(deps, tenantId, it);
  if (it.type === 'view_submission' && it.view?.callback_id === LINK_VIEW_CALLBACK)
    return linkSubmitted(deps, tenantId, it);
  return { status: 200 };
}

/** The workspace admin behind an interaction, or null (members of other workspaces included). */
async function adminOf(deps: InteractionDeps, tenantId: string, it: Interaction): Promise<Actor | null> {
  const web = await slackWebFor(deps, tenantId);
  const u = await slackUser(web, it.user.id);
  if (!isWorkspaceAdmin(u, await installTeamOf(deps, tenantId))) return null;
  return { type: 'slack_user', userId: it.user.id, ...(u.team_id ? { teamId: u.team_id } : {}) };
}

/** The "Link this channel" shortcut: admins get the modal, others a modal saying why not. */
async function linkShortcut(
  deps: InteractionDeps,
  tenantId: string,
  it: Interaction,
): Promise<InteractionOutcome> {
  if (!it.trigger_id) return { status: 200 };
  const admin = await adminOf(deps, tenantId, it);
  const web = await slackWebFor(deps, tenantId);
  await web.call('views.open', {
    trigger_id: it.trigger_id,
    view: admin
      ? linkModal()
      : noticeModal('Link a channel', 'Only workspace admins can link channels to accounts.'),
  });
  return { status: 200 };
}

async function linkSubmitted(
  deps: InteractionDeps,
  tenantId: string,
  it: Interaction,
): Promise<InteractionOutcome> {
  const values = it.view?.state?.values;
  const channel = values?.channel?.channel?.selected_conversation ?? '';
  const accountText = values?.account?.account?.value ?? '';
  const errors = (field: 'channel' | 'account', message: string): InteractionOutcome => ({
    status: 200,
    body: { response_action: 'errors', errors: { [field]: message } },
  });
  const actor = await adminOf(deps, tenantId, it);
  if (!actor) return errors('account', 'Only workspace admins can link channels to accounts.');
  const out = await withTenant(deps.database.db, tenantId, (tx) =>
    linkChannel({ tenantId, tx, actor }, channel, accountText),
  );
  if (!out.ok) return errors(out.code === 'invalid_channel' ? 'channel' : 'account', out.message);
  return {
    status: 200,
    body: {
      response_action: 'update',
      view: noticeModal(
        'Channel linked',
        `<#${channel}> is now linked to *${escapeMrkdwn(out.accountName ?? out.accountId)}* (\`${escapeMrkdwn(out.accountId)}\`): questions there are about this account, and its new ticket drafts are posted there.`,
      ),
    },
  };
}

async function blockAction(
  deps: InteractionDeps,
  tenantId: string,
  it: Interaction,
): Promise<InteractionOutcome> {
  const a = it.actions?.[0];
  const channel = it.channel?.id ?? it.container?.channel_id;
  if (!a || !channel) return { status: 200 };
  const messageTs = it.message?.ts ?? it.container?.message_ts ?? null;
  const db = deps.database.db;
  const kind = {
    [ACTIONS.send]: 'send',
    [ACTIONS.reject]: 'reject',
    [ACTIONS.regenerate]: 'regenerate',
  } as const;
  if (Object.hasOwn(kind, a.action_id) && a.value) {
    await withTenant(db, tenantId, (tx) =>
      deps.queue.enqueue(
        tx,
        tenantId,
        actionJob({
          action: kind[a.action_id as keyof typeof kind],
          actionId: a.action_ts ?? it.trigger_id ?? `${Date.now()}`,
          draftId: a.value!,
          user: it.user.id,
          userTeamId: it.user.team_id ?? null,
          channel,
          messageTs,
        }),
      ),
    );
    deps.jobsEnqueued?.();
    return { status: 200 };
  }
  if (a.action_id === ACTIONS.edit && a.value && it.trigger_id && messageTs) {
    const internal = it.user.team_id && it.user.team_id === (await installTeamOf(deps, tenantId));
    const found = internal ? await draftView(deps, tenantId, a.value) : null;
    const web = await slackWebFor(deps, tenantId);
    if (!found) {
      await web.call('chat.postEphemeral', {
        channel,
        user: it.user.id,
        text: 'That draft cannot be edited here.',
      });
      return { status: 200 };
    }
    await web.call('views.open', {
      trigger_id: it.trigger_id,
      view: editModal({ draftId: a.value, channel, ts: messageTs }, found.row.body),
    });
    return { status: 200 };
  }
  if (a.action_id === ACTIONS.accountSelect && a.selected_option && a.block_id?.startsWith('acct:')) {
    if (!it.user.team_id || it.user.team_id !== (await installTeamOf(deps, tenantId))) return { status: 200 };
    const eventId = a.block_id.slice('acct:'.length);
    const accountId = a.selected_option.value;
    await withTenant(db, tenantId, async (tx) => {
      const [j] = await tx
        .select({ payload: jobs.payload })
        .from(jobs)
        .where(eq(jobs.dedupeKey, `slack.ask:${eventId}`))
        .limit(1);
      const origin = j ? readAskJob(j.payload) : null;
      if (origin) await deps.queue.enqueue(tx, tenantId, askJob({ ...origin, accountId }));
    });
    deps.jobsEnqueued?.();
  }
  return { status: 200 };
}

const editMeta = z.object({ draftId: z.string().min(1).max(100), channel: id, ts: id });

async function editSubmitted(
  deps: InteractionDeps,
  tenantId: string,
  it: Interaction,
): Promise<InteractionOutcome> {
  let meta: z.infer<typeof editMeta>;
  try {
    meta = editMeta.parse(JSON.parse(it.view?.private_metadata ?? ''));
  } catch {
    return { status: 400, code: 'invalid_body', message: 'The edit modal lost its draft.' };
  }
  const body = it.view?.state?.values?.body?.body?.value?.trim() ?? '';
  if (!body)
    return {
      status: 200,
      body: { response_action: 'errors', errors: { body: 'The reply cannot be empty.' } },
    };
  if (!it.user.team_id || it.user.team_id !== (await installTeamOf(deps, tenantId)))
    return {
      status: 200,
      body: { response_action: 'errors', errors: { body: 'Only members of this workspace can edit.' } },
    };
  const actor: Actor = { type: 'slack_user', userId: it.user.id, teamId: it.user.team_id };
  const now = deps.now ?? (() => new Date());
  const changed = await withTenant(deps.database.db, tenantId, async (tx) => {
    const r = await tx
      .update(drafts)
      .set({ body, status: 'pending', updatedAt: now() })
      .where(and(eq(drafts.id, meta.draftId), inArray(drafts.status, ['pending', 'blocked'])))
      .returning({ id: drafts.id });
    if (r.length)
      await audit(
        { tenantId, tx, actor },
        { action: 'draft.edited', target: meta.draftId, outcome: 'success', detail: { via: 'slack' } },
      );
    return r.length > 0;
  });
  if (!changed)
    return {
      status: 200,
      body: { response_action: 'errors', errors: { body: 'This draft can no longer be edited.' } },
    };
  const found = await draftView(deps, tenantId, meta.draftId);
  if (found) {
    const web = await slackWebFor(deps, tenantId);
    await web.call('chat.update', {
      channel: meta.channel,
      ts: meta.ts,
      text: found.view.body,
      blocks: [
        ...draftContentBlocks(found.view),
        draftActions(meta.draftId, { ticketId: found.view.ticketId }),
      ],
    });
  }
  return { status: 200 };
}

/** `/copilot link <account>`, `/copilot unlink`, `/copilot triage` (admins), `/copilot help`. */
export async function handleCommand(
  deps: InteractionDeps,
  form: URLSearchParams,
): Promise<
  { status: 200; body: Record<string, unknown> } | { status: 400; code: 'invalid_body'; message: string }
> {
  const command = form.get('command');
  const user = form.get('user_id');
  const channel = form.get('channel_id');
  if (command !== COPILOT_COMMAND || !user || !channel)
    return { status: 400, code: 'invalid_body', message: 'Not a /copilot command.' };
  const reply = (text: string) => ({ status: 200 as const, body: { response_type: 'ephemeral', text } });
  const tenantId = await activeTenantIdBySlack(deps.database.db, {
    isEnterpriseInstall: form.get('is_enterprise_install') === 'true',
    enterpriseId: form.get('enterprise_id') || null,
    teamId: form.get('team_id') || null,
  });
  if (!tenantId) return reply('This workspace has not installed Helpdesk Copilot.');
  const [sub = 'help', ...rest] = (form.get('text') ?? '').trim().split(/\s+/);
  const arg = rest.join(' ').trim();
  if (sub === 'help' || !['link', 'unlink', 'triage'].includes(sub)) {
    return reply(
      'Usage: `/copilot link <account id, email or domain>` links this channel to an account; `/copilot unlink`; `/copilot triage` makes this channel the triage channel for Slack Connect drafts. Admins only.',
    );
  }
  const web = await slackWebFor(deps, tenantId);
  const u = await slackUser(web, user);
  if (!isWorkspaceAdmin(u, await installTeamOf(deps, tenantId)))
    return reply('Only workspace admins can change channel links.');
  const actor: Actor = { type: 'slack_user', userId: user, ...(u.team_id ? { teamId: u.team_id } : {}) };
  return withTenant(deps.database.db, tenantId, async (tx) => {
    const ctx = { tenantId, tx, actor };
    if (sub === 'link') {
      if (!arg) return reply('Name the account: `/copilot link <account id, email or domain>`.');
      const out = await linkChannel(ctx, channel, arg);
      if (!out.ok) return reply(out.message);
      return reply(
        `This channel is now linked to account ${out.accountId}: questions here are about it, and its new ticket drafts are posted here.`,
      );
    }
    if (sub === 'unlink') {
      return reply(
        (await unlinkChannel(ctx, channel))
          ? 'This channel is no longer linked to an account.'
          : 'This channel was not linked to an account.',
      );
    }
    await updateSlackSettings(tx, tenantId, (s) => ({ ...s, triageChannel: channel }));
    await audit(
      { tenantId, tx, actor },
      { action: 'slack.triage_channel_set', target: channel, outcome: 'success' },
    );
    return reply('Drafts for questions in Slack Connect channels will wait here for a human.');
  });
}
