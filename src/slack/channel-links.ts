import { eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../audit/audit.ts';
import type { Tx } from '../db/client.ts';
import { accounts } from '../db/schema/index.ts';
import type { Actor } from '../tenancy/context.ts';
import { resolveAccountEvidence } from './resolve-account.ts';
import { readSlackSettings, updateSlackSettings } from './settings.ts';
import type { SlackWeb } from './web.ts';

/**
 * Channel <-> account links, one set of verbs for every way an admin makes them: the
 * `/copilot link` command, the "Link this channel" shortcut's modal and the console page
 * (`/admin/slack/channels`). The account is named by its id, an email or a domain and must match
 * exactly one account (never a guess from a company name); every change is audited.
 */
export interface LinkCtx {
  tenantId: string;
  tx: Tx;
  actor: Actor;
  requestId?: string | undefined;
}

export type LinkOutcome =
  | { ok: true; accountId: string; accountName: string | null }
  | { ok: false; code: 'ambiguous'; candidates: string[]; message: string }
  | { ok: false; code: 'no_match' | 'invalid_channel'; message: string };

const CHANNEL_ID = /^[CG][A-Z0-9]{2,30}$/;

export async function linkChannel(ctx: LinkCtx, channel: string, accountText: string): Promise<LinkOutcome> {
  if (!CHANNEL_ID.test(channel))
    return { ok: false, code: 'invalid_channel', message: 'Choose a public or private channel.' };
  const text = accountText.trim();
  if (!text)
    return { ok: false, code: 'no_match', message: 'Name the account: its id, an email or a domain of it.' };
  const ev = await resolveAccountEvidence(ctx.tx, { text, channelAccountId: null, zendeskSubdomain: null });
  if (ev.kind === 'ambiguous') {
    const candidates = ev.candidates.map((c) => c.id);
    return {
      ok: false,
      code: 'ambiguous',
      candidates,
      message: `Several accounts match (${candidates.join(', ')}): use the account id.`,
    };
  }
  if (ev.kind !== 'text')
    return {
      ok: false,
      code: 'no_match',
      message: 'No account matches exactly. Use its id, an email or a domain of it.',
    };
  await updateSlackSettings(ctx.tx, ctx.tenantId, (s) => ({
    ...s,
    channels: { ...s.channels, [channel]: ev.accountId },
  }));
  await audit(
    { tenantId: ctx.tenantId, tx: ctx.tx, actor: ctx.actor, requestId: ctx.requestId },
    {
      action: 'slack.channel_linked',
      target: channel,
      outcome: 'success',
      detail: { accountId: ev.accountId },
    },
  );
  const [named] = await ctx.tx
    .select({ name: accounts.name })
    .from(accounts)
    .where(eq(accounts.id, ev.accountId))
    .limit(1);
  return { ok: true, accountId: ev.accountId, accountName: named?.name ?? null };
}

/** Removes the channel's link; `false` when it had none (nothing changed, nothing audited). */
export async function unlinkChannel(ctx: LinkCtx, channel: string): Promise<boolean> {
  const before = await readSlackSettings(ctx.tx);
  if (!Object.hasOwn(before.channels, channel)) return false;
  await updateSlackSettings(ctx.tx, ctx.tenantId, (s) => {
    const { [channel]: _gone, ...channels } = s.channels;
    return { ...s, channels };
  });
  await audit(
    { tenantId: ctx.tenantId, tx: ctx.tx, actor: ctx.actor, requestId: ctx.requestId },
    { action: 'slack.channel_unlinked', target: channel, outcome: 'success' },
  );
  return true;
}

export interface ChannelLink {
  channel: string;
  accountId: string;
  /** null when the linked account is no longer in the directory. */
  accountName: string | null;
}

/** The tenant's links with their accounts' names, ordered by channel id. */
export async function channelLinks(tx: Tx): Promise<{ links: ChannelLink[]; triageChannel: string | null }> {
  const s = await readSlackSettings(tx);
  const ids = [...new Set(Object.values(s.channels))];
  const names = new Map(
    ids.length
      ? (
          await tx
            .select({ id: accounts.id, name: accounts.name })
            .from(accounts)
            .where(inArray(accounts.id, ids))
        ).map((a) => [a.id, a.name] as const)
      : [],
  );
  const links = Object.entries(s.channels)
    .map(([channel, accountId]) => ({ channel, accountId, accountName: names.get(accountId) ?? null }))
    .sort((a, b) => a.channel.localeCompare(b.channel));
  return { links, triageChannel: s.triageChannel ?? null };
}

export interface WorkspaceChannel {
  id: string;
  name: string;
  isPrivate: boolean;
}

const channelList = z.object({
  channels: z
    .array(z.looseObject({ id: z.string(), name: z.string().optional(), is_private: z.boolean().optional() }))
    .default([]),
  response_metadata: z.looseObject({ next_cursor: z.string().optional() }).optional(),
});

/**
 * The workspace's channels the app can see (public ones, and private ones it is in), read from
 * Slack at runtime for the console's channel picker: at most `max`, by name.
 */
export async function workspaceChannels(web: SlackWeb, max = 1000): Promise<WorkspaceChannel[]> {
  const out: WorkspaceChannel[] = [];
  let cursor = '';
  do {
    const page = await web.call(
      'conversations.list',
      {
        types: 'public_channel,private_channel',
        exclude_archived: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      },
      channelList,
    );
    for (const c of page.channels)
      out.push({ id: c.id, name: c.name ?? c.id, isPrivate: c.is_private === true });
    cursor = page.response_metadata?.next_cursor ?? '';
  } while (cursor && out.length < max);
  return out.slice(0, max).sort((a, b) => a.name.localeCompare(b.name));
}
