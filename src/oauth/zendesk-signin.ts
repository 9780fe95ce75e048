import { z } from 'zod';
import { AppError } from '../lib/errors.ts';
import type { Principal } from '../tenancy/principal.ts';
import { zendeskBaseUrl } from '../zendesk/api.ts';

/**
 * "Sign in with Zendesk" for the admin console: OAuth as the Zendesk user on the tenant's own
 * subdomain (scope `read`, the same OAuth client as the connection), then the user's own record
 * (`GET /api/v2/users/me.json`) gives the role: Zendesk admin -> admin, agent -> member; an end
 * user or a suspended user is refused. The token is revoked as soon as the role is read: the
 * session is ours, the token is not kept. The tenant is the one whose Zendesk connection is this
 * subdomain (subdomains are unique across tenants), so the principal is bound to exactly one.
 */
export const ZENDESK_SIGNIN_SCOPE = 'read';
export const ZENDESK_SIGNIN_CALLBACK_PATH = '/admin/signin/zendesk/callback';

export function zendeskSignInRedirectUri(publicUrl: string): string {
  return `${publicUrl}${ZENDESK_SIGNIN_CALLBACK_PATH}`;
}

const meSchema = z.object({
  user: z.looseObject({
    id: z.number().int().positive(),
    name: z.string().max(500).nullish(),
    email: z.string().max(320).nullish(),
    role: z.string().max(50),
    active: z.boolean().optional(),
    suspended: z.boolean().optional(),
  }),
});
export type ZendeskMe = z.infer<typeof meSchema>['user'];

/** The signed-in Zendesk user's own record. */
export async function zendeskMe(
  subdomain: string,
  accessToken: string,
  fetchFn: typeof fetch = (u, i) => globalThis.fetch(u, i),
): Promise<ZendeskMe> {
  let res: Response;
  try {
    res = await fetchFn(`${zendeskBaseUrl(subdomain)}/api/v2/users/me.json`, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    throw new AppError('upstream_error', 'Zendesk did not answer who you are.');
  }
  if (!res.ok) throw new AppError('upstream_error', `Zendesk answered ${res.status} when asked who you are.`);
  const parsed = meSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new AppError('upstream_error', "Zendesk's answer about you was not understood.");
  return parsed.data.user;
}

/** Console role of a Zendesk user, or null when they may not sign in. */
export function zendeskRoleOf(me: ZendeskMe): Principal['role'] | null {
  if (me.active === false || me.suspended === true) return null;
  if (me.role === 'admin') return 'admin';
  if (me.role === 'agent') return 'member';
  return null;
}

/** Revokes the sign-in token (best effort: it expires by itself; failures are returned, not thrown). */
export async function revokeZendeskSignInToken(
  subdomain: string,
  accessToken: string,
  fetchFn: typeof fetch = (u, i) => globalThis.fetch(u, i),
): Promise<boolean> {
  try {
    const res = await fetchFn(`${zendeskBaseUrl(subdomain)}/api/v2/oauth/tokens/current.json`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(5_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}
