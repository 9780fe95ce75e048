import type { ZendeskResources, ZendeskTicketSummary } from '../../zendesk/resources.ts';
import type { ContextFact } from '../types.ts';
import type { ContextProvider, ProviderInput } from './loader.ts';

/**
 * Zendesk's view of the requester: their profile (already loaded with the ticket), the
 * organization and its fields, and recent tickets of the requester and of the organization.
 * Account tickets get all of it (visibility account); end-user tickets get only the end user's
 * own profile and tickets (visibility end_user); unknown requesters get nothing.
 */
export function createZendeskProvider(
  zendesk: ZendeskResources,
  opts: { recentTickets: number },
): ContextProvider {
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
      const recent = async (list: (limit: number) => Promise<ZendeskTicketSummary[]>) => {
        if (opts.recentTickets === 0) return [];
        const tickets = await list(opts.recentTickets + 1);
        return tickets.filter((t) => String(t.id) !== ticket.id).slice(0, opts.recentTickets);
      };
      const jobs: Promise<void>[] = [];
      const requesterId = ticket.requester.id;
      if (requesterId) {
        jobs.push(
          recent((n) => zendesk.recentTicketsOfUser(requesterId, n)).then((t) => {
            facts.push({
              id: 'zendesk:requester_tickets',
              source: 'zendesk',
              key: 'requesterTickets',
              value: t,
              fetchedAt,
              visibility: vis,
            });
          }),
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
        const orgId = ticket.organization.id;
        if (orgId) {
          jobs.push(
            recent((n) => zendesk.recentTicketsOfOrganization(orgId, n)).then((t) => {
              facts.push({
                id: 'zendesk:organization_tickets',
                source: 'zendesk',
                key: 'organizationTickets',
                value: t,
                fetchedAt,
                visibility: 'account',
              });
            }),
          );
        }
      }
      await Promise.all(jobs);
      signal.throwIfAborted();
      return facts;
    },
  };
}
