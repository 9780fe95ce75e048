import { z } from 'zod';
import type { ZendeskApi } from '../../zendesk/api.ts';
import type { ContextFact } from '../types.ts';
import type { ContextProvider, ProviderInput } from './loader.ts';

const ticketsSchema = z.object({
  tickets: z.array(
    z.object({
      id: z.number(),
      subject: z.string().nullish(),
      status: z.string().nullish(),
      created_at: z.string().nullish(),
      updated_at: z.string().nullish(),
    }),
  ),
});

/**
 * Zendesk's view of the requester: their profile (already loaded with the ticket), the
 * organization and its fields, and recent tickets of the requester and of the organization.
 * Account tickets get all of it (visibility account); end-user tickets get only the end user's
 * own profile and tickets (visibility end_user); unknown requesters get nothing.
 */
export function createZendeskProvider(api: ZendeskApi, opts: { recentTickets: number }): ContextProvider {
  return {
    source: 'zendesk',
    async load(input: ProviderInput, signal: AbortSignal): Promise<ContextFact[]> {
      const { ticket, route } = input;
      if (route.level === 'unknown') return [];
      const fetchedAt = input.now.toISOString();
      const vis = route.level === 'account' ? 'account' : 'end_user';
      const facts: ContextFact[] = [
        {
          id: 'zendesk:requester',
          source: 'zendesk',
          key: 'requester',
          value: { name: ticket.requester.name, email: ticket.requester.email },
          fetchedAt,
          visibility: vis,
        },
      ];
      const recent = async (path: string) => {
        if (opts.recentTickets === 0) return [];
        const r = await api.request('GET', path, {
          schema: ticketsSchema,
          query: { sort_by: 'created_at', sort_order: 'desc', per_page: String(opts.recentTickets + 1) },
        });
        return r.tickets
          .filter((t) => String(t.id) !== ticket.id)
          .slice(0, opts.recentTickets)
          .map((t) => ({
            id: t.id,
            subject: t.subject ?? null,
            status: t.status ?? null,
            createdAt: t.created_at ?? null,
          }));
      };
      const jobs: Promise<void>[] = [];
      if (ticket.requester.id) {
        jobs.push(
          recent(`/api/v2/users/${encodeURIComponent(ticket.requester.id)}/tickets/requested.json`).then(
            (t) => {
              facts.push({
                id: 'zendesk:requester_tickets',
                source: 'zendesk',
                key: 'requesterTickets',
                value: t,
                fetchedAt,
                visibility: vis,
              });
            },
          ),
        );
      }
      if (route.level === 'account' && ticket.organization) {
        facts.push({
          id: 'zendesk:organization',
          source: 'zendesk',
          key: 'organization',
          value: { name: ticket.organization.name, fields: ticket.organization.fields },
          fetchedAt,
          visibility: 'account',
        });
        if (ticket.organization.id) {
          jobs.push(
            recent(`/api/v2/organizations/${encodeURIComponent(ticket.organization.id)}/tickets.json`).then(
              (t) => {
                facts.push({
                  id: 'zendesk:organization_tickets',
                  source: 'zendesk',
                  key: 'organizationTickets',
                  value: t,
                  fetchedAt,
                  visibility: 'account',
                });
              },
            ),
          );
        }
      }
      await Promise.all(jobs);
      signal.throwIfAborted();
      return facts;
    },
  };
}
