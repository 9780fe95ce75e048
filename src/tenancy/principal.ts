/**
 * A signed-in admin console user. Built only from a verified source: a session created after
 * "Sign in with Slack" (OIDC) or after the one-time local admin link. Never from a parameter.
 */
export interface Principal {
  tenantId: string;
  userId: string;
  userName?: string | undefined;
  role: 'owner' | 'admin' | 'member';
  via: 'slack_oidc' | 'zendesk_oauth' | 'local_link';
}

export function isAdmin(p: Principal | undefined): p is Principal {
  return !!p && (p.role === 'owner' || p.role === 'admin');
}
