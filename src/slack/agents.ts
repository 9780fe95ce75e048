import { z } from 'zod';
import type { ZendeskApi } from '../zendesk/api.ts';
import type { SlackWeb } from './web.ts';

/**
 * Maps a Slack user to a Zendesk agent of the same tenant, by VERIFIED email only:
 * `users.info` must say the email is confirmed and the user belongs to the tenant's own
 * workspace; Zendesk's user search must find exactly one active agent or admin with that email.
 * Anything else is no mapping (the caller refuses).
 */
const usersInfo = z.object({
  user: z.looseObject({
    id: z.string(),
    team_id: z.string().optional(),
    deleted: z.boolean().optional(),
    is_bot: z.boolean().optional(),
    is_admin: z.boolean().optional(),
    is_owner: z.boolean().optional(),
    is_primary_owner: z.boolean().optional(),
    is_restricted: z.boolean().optional(),
    is_email_confirmed: z.boolean().optional(),
    profile: z.looseObject({ email: z.string().optional() }).optional(),
  }),
});
export type SlackUser = z.infer<typeof usersInfo>['user'];

export async function slackUser(web: SlackWeb, userId: string): Promise<SlackUser> {
  return (await web.call('users.info', { user: userId }, usersInfo)).user;
}

/** A member of the tenant's own workspace (not a guest, bot, deleted user or another workspace's user). */
export function isInternalMember(u: SlackUser, installTeamId: string | null): boolean {
  return !u.deleted && !u.is_bot && !u.is_restricted && !!installTeamId && u.team_id === installTeamId;
}

export function isWorkspaceAdmin(u: SlackUser, installTeamId: string | null): boolean {
  return isInternalMember(u, installTeamId) && !!(u.is_admin || u.is_owner || u.is_primary_owner);
}

const zendeskUsers = z.object({
  users: z.array(
    z.looseObject({
      id: z.number(),
      email: z.string().nullish(),
      role: z.string().nullish(),
      active: z.boolean().nullish(),
      suspended: z.boolean().nullish(),
    }),
  ),
});

export type AgentMapping =
  | { ok: true; agentId: string; email: string }
  | { ok: false; reason: 'not_member' | 'email_unverified' | 'no_zendesk' | 'no_agent' };

export async function zendeskAgentFor(
  web: SlackWeb,
  zendesk: ZendeskApi | null,
  slackUserId: string,
  installTeamId: string | null,
): Promise<AgentMapping> {
  const u = await slackUser(web, slackUserId);
  if (!isInternalMember(u, installTeamId)) return { ok: false, reason: 'not_member' };
  const email = u.profile?.email?.trim().toLowerCase();
  if (!email || u.is_email_confirmed !== true) return { ok: false, reason: 'email_unverified' };
  if (!zendesk) return { ok: false, reason: 'no_zendesk' };
  const r = await zendesk.request('GET', '/api/v2/users/search.json', {
    schema: zendeskUsers,
    query: { query: `email:${email}` },
  });
  const agents = r.users.filter(
    (x) =>
      x.email?.toLowerCase() === email &&
      (x.role === 'agent' || x.role === 'admin') &&
      x.active !== false &&
      x.suspended !== true,
  );
  if (agents.length !== 1) return { ok: false, reason: 'no_agent' };
  return { ok: true, agentId: String(agents[0]!.id), email };
}
