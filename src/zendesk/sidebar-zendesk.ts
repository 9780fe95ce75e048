import { z } from 'zod';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { createZendeskApi, type ZendeskApi } from './api.ts';
import { type ZendeskResources, zendeskResources } from './resources.ts';

/**
 * The Zendesk calls only the sidebar makes, beside the typed methods of ./resources.ts (owned by
 * the core pipeline): an agent's display name, the account's ticket statuses (standard and
 * custom, read at runtime: two tenants with different custom statuses need no code change) and
 * setting a ticket's status after a send.
 */
export interface SidebarZendesk extends ZendeskResources {
  agentName(userId: string): Promise<string | null>;
  listTicketStatuses(): Promise<TicketStatusOption[]>;
  setTicketStatus(ticketId: string, status: string): Promise<void>;
}

export interface TicketStatusOption {
  /** A custom status id (numeric) or a standard status category (`open`, `pending`, `hold`, `solved`). */
  value: string;
  label: string;
  category: string;
}

const userEnvelope = z.object({ user: z.object({ id: z.number(), name: z.string().nullish() }) });
const customStatuses = z.object({
  custom_statuses: z.array(
    z.object({
      id: z.number(),
      agent_label: z.string(),
      status_category: z.string(),
      active: z.boolean().nullish(),
    }),
  ),
});

export function sidebarZendesk(opts: {
  tenantId: string;
  subdomain: string;
  tokens: TokenProvider;
  maxInlineWaitMs?: number;
}): SidebarZendesk {
  const api: ZendeskApi = createZendeskApi({
    tenantId: opts.tenantId,
    subdomain: opts.subdomain,
    tokens: opts.tokens,
    maxInlineWaitMs: opts.maxInlineWaitMs ?? 0,
  });
  const numeric = (v: string) => {
    if (!/^\d{1,20}$/.test(v)) throw new Error('Zendesk id must be numeric');
    return v;
  };
  return {
    ...zendeskResources(api),
    async agentName(userId) {
      const r = await api.request('GET', `/api/v2/users/${numeric(userId)}.json`, { schema: userEnvelope });
      return r.user.name ?? null;
    },
    async listTicketStatuses() {
      const r = await api.request('GET', '/api/v2/custom_statuses.json', { schema: customStatuses });
      return r.custom_statuses
        .filter((s) => s.active !== false)
        .map((s) => ({ value: String(s.id), label: s.agent_label, category: s.status_category }));
    },
    async setTicketStatus(ticketId, status) {
      const ticket = /^\d+$/.test(status) ? { custom_status_id: Number(status) } : { status };
      await api.send('PUT', `/api/v2/tickets/${numeric(ticketId)}.json`, { ticket });
    },
  };
}
