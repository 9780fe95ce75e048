import type { Principal } from '../tenancy/principal.ts';
import { createZendeskApi } from '../zendesk/api.ts';
import { type ZendeskCurrentUser, type ZendeskResources, zendeskResources } from '../zendesk/resources.ts';

/**
 * "Sign in with Zendesk" for the admin console: OAuth as the Zendesk user on the tenant's own
 * subdomain (scope `read`, the same OAuth client as the connection), then the user's own record
 * (`getCurrentUser`, `GET /api/v2/users/me.json`) gives the role: Zendesk admin -> admin, agent
 * -> member; an end user or a suspended user is refused. The token is revoked as soon as the
 * role is read: the session is ours, the token is not kept. The tenant is the one whose Zendesk
 * connection is this subdomain (subdomains are unique across tenants), so the principal is bound
 * to exactly one.
 */
export const ZENDESK_SIGNIN_SCOPE = 'read';
export const ZENDESK_SIGNIN_CALLBACK_PATH = '/admin/signin/zendesk/callback';

export function zendeskSignInRedirectUri(publicUrl: string): string {
  return `${publicUrl}${ZENDESK_SIGNIN_CALLBACK_PATH}`;
}

/**
 * The typed Zendesk methods acting with the sign-in token alone (it is never stored, so it is
 * not the token manager's): only `getCurrentUser` and `revokeCurrentToken` are used.
 */
export function signInClient(tenantId: string, subdomain: string, accessToken: string): ZendeskResources {
  return zendeskResources(
    createZendeskApi({
      tenantId,
      subdomain,
      tokens: { getAccessToken: async () => accessToken },
      timeoutMs: 10_000,
      maxInlineWaitMs: 0,
    }),
  );
}

/** Console role of a Zendesk user, or null when they may not sign in. */
export function zendeskRoleOf(me: ZendeskCurrentUser): Principal['role'] | null {
  if (!me.active) return null;
  if (me.role === 'admin') return 'admin';
  if (me.role === 'agent') return 'member';
  return null;
}
