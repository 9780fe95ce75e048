import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { drafts } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { performEffectOnce } from '../jobs/effects.ts';
import { draftView } from './actions.ts';
import { type SlackJobDeps, slackWebFor } from './ask.ts';
import { draftBlocks } from './blocks.ts';
import { readSlackSettings } from './settings.ts';

/**
 * A new ticket draft for an account with a linked channel is posted there as a thread: a root
 * message naming the ticket, then the draft with its buttons in the thread. Both posts go through
 * the effect ledger (keys per draft), so a retried ticket job never posts twice. A linked channel
 * that is a Slack Connect channel gets nothing before a human approves: the draft goes to the
 * tenant's triage channel instead, or nowhere (the sidebar still has it).
 */
const tsOf = z.looseObject({ ts: z.string() });
const convInfo = z.object({ channel: z.looseObject({ is_ext_shared: z.boolean().optional() }) });

export async function postTicketDraftToChannel(
  deps: SlackJobDeps,
  a: { tenantId: string; draftId: string },
): Promise<'posted' | 'no_channel' | 'held'> {
  const db = deps.database.db;
  const found = await withTenant(db, a.tenantId, async (tx) => {
    const [d] = await tx
      .select({
        accountId: drafts.accountId,
        route: drafts.route,
        ticketId: drafts.ticketId,
        status: drafts.status,
      })
      .from(drafts)
      .where(eq(drafts.id, a.draftId))
      .limit(1);
    return { d, settings: await readSlackSettings(tx) };
  });
  const d = found.d;
  // Only account-level drafts: an end user's ticket is not discussed in the account's channel.
  if (!d?.accountId || d.route !== 'account' || !d.ticketId) return 'no_channel';
  let channel = Object.entries(found.settings.channels).find(([, acct]) => acct === d.accountId)?.[0];
  if (!channel) return 'no_channel';
  const view = await draftView(deps, a.tenantId, a.draftId);
  if (!view) return 'no_channel';
  const web = await slackWebFor(deps, a.tenantId);
  const now = deps.now ?? (() => new Date());
  const info = await web.call('conversations.info', { channel }, convInfo);
  if (info.channel.is_ext_shared === true) {
    if (!found.settings.triageChannel) return 'held';
    channel = found.settings.triageChannel;
  }
  const once = (key: string, perform: () => Promise<{ ts: string }>) =>
    performEffectOnce(
      deps.database,
      a.tenantId,
      { key, kind: 'slack.message', perform, reconcile: async () => null },
      { now },
    );
  const root = await once(`slack.ticket_draft:${a.draftId}:root`, async () => {
    const r = await web.call(
      'chat.postMessage',
      {
        channel,
        text: `New ticket #${d.ticketId} for account ${d.accountId}: a draft reply is in the thread.`,
      },
      tsOf,
    );
    return { ts: r.ts };
  });
  await once(`slack.ticket_draft:${a.draftId}:draft`, async () => {
    const r = await web.call(
      'chat.postMessage',
      { channel, thread_ts: root.result.ts, text: view.view.body, blocks: draftBlocks(view.view) },
      tsOf,
    );
    return { ts: r.ts };
  });
  return 'posted';
}
