import type { Tx } from '../db/client.ts';

/** Who caused an effect. Recorded with every audit event. */
export type Actor =
  | { type: 'system'; name: string }
  | { type: 'webhook'; provider: 'zendesk' | 'slack'; id?: string }
  | { type: 'slack_user'; userId: string; teamId?: string }
  | { type: 'zendesk_agent'; userId: string }
  | { type: 'admin'; userId: string; via: 'slack_oidc' | 'zendesk_oauth' | 'local_link' }
  | { type: 'cli'; name: string };

/**
 * What a service verb receives: the tenant it acts for, the open tenant-scoped transaction
 * (from withTenant), who is acting and the request id. Services never take a tenant id from
 * anywhere else.
 */
export interface ServiceCtx {
  tenantId: string;
  tx: Tx;
  actor: Actor;
  requestId?: string | undefined;
}
