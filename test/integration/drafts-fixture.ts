import { readFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import type { setupServer } from 'msw/node';
import type { Database } from '../../src/db/client.ts';
import { drafts } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import type { JobContext } from '../../src/jobs/types.ts';
import { processTicketJob } from '../../src/pipeline/process-ticket.ts';
import { editDraft, rejectDraft } from '../../src/zendesk/sidebar-drafts.ts';
import { parseScenario, type Scenario } from '../scenario/format.ts';
import { setupScenarioPipeline, zendeskHandlers } from '../scenario/run.ts';

/**
 * Real drafts for the console's draft pages: a scenario tenant (Helio Cloud CRM: directory,
 * catalog, playbook, Context API) whose Zendesk account is msw, three tickets run through the
 * real pipeline on three days (an account routed by domain, another account, an unknown
 * requester), then an agent's edit of the first and a rejection of the second through the
 * sidebar's own verbs. `copies` more drafts (copies of the unknown requester's, made on one more
 * day, two per minute so keyset paging meets ties) fill pages.
 */
export const fixture = (name: string): Scenario =>
  parseScenario(readFileSync(new URL(`../fixtures/scenarios/${name}.json`, import.meta.url), 'utf8'), name);

export interface SeededDrafts {
  tenantId: string;
  subdomain: string;
  /** Ticket id -> draft id of the three pipeline drafts. */
  byTicket: Record<'31001' | '31002' | '31003', string>;
  setup: Awaited<ReturnType<typeof setupScenarioPipeline>>;
}

export async function seedDrafts(
  database: Database,
  server: ReturnType<typeof setupServer>,
  opts: { subdomain: string; copies?: number },
): Promise<SeededDrafts> {
  const base = fixture('domain-routed-integration');
  const s: Scenario = { ...base, tenant: { ...base.tenant, zendeskSubdomain: opts.subdomain } };
  const p = await setupScenarioPipeline(s, { database, server });
  const tickets: { ticket: Scenario['ticket']; now: string }[] = [
    { ticket: s.ticket, now: '2026-12-03T15:00:00Z' },
    {
      ticket: {
        ...s.ticket,
        id: 31002,
        subject: 'Inviting a teammate',
        body: 'How do I invite a new teammate to our workspace?',
        requester: { email: 'it@kestrelfreight.example', name: 'Tom Okafor' },
      },
      now: '2026-12-02T09:00:00Z',
    },
    {
      ticket: {
        ...s.ticket,
        id: 31003,
        subject: 'Status page',
        body: 'Where can I see whether your service is down?',
        requester: { email: 'someone@gmail.com', name: 'Sam' },
      },
      now: '2026-11-20T12:00:00Z',
    },
  ];
  const byTicket = {} as SeededDrafts['byTicket'];
  for (const t of tickets) {
    if (t.ticket.id !== s.ticket.id) server.use(...zendeskHandlers({ ...s, ticket: t.ticket }, p.notes));
    const job: JobContext = {
      tenantId: p.tenantId,
      jobId: `job_${t.ticket.id}`,
      kind: 'zendesk.ticket',
      attempt: 1,
      signal: new AbortController().signal,
      payload: {
        connectionId: p.connectionId,
        ticketId: String(t.ticket.id),
        event: 'ticket_created',
        invocationId: `inv-${t.ticket.id}`,
        eventKey: `${t.ticket.id}:ticket_created`,
      },
    };
    const r = await processTicketJob({ ...p.deps, now: () => new Date(t.now) }, job);
    byTicket[String(t.ticket.id) as keyof SeededDrafts['byTicket']] = r.draftId;
  }
  const sidebar = { database, tokens: p.tokens, now: () => new Date('2026-12-03T16:00:00Z') };
  const agent = {
    tenantId: p.tenantId,
    agentId: '9001',
    agentName: 'Agent Avery',
    installationId: '360001',
    expiresAt: new Date('2026-12-03T17:00:00Z'),
  };
  const [first] = await withTenant(database.db, p.tenantId, (tx) =>
    tx.select().from(drafts).where(eq(drafts.id, byTicket['31001'])),
  );
  await editDraft(sidebar, agent, '31001', byTicket['31001'], `${first!.body}\n\nBest, Avery`);
  await rejectDraft(sidebar, agent, '31002', byTicket['31002'], 'Wrong workspace settings page');

  const copies = opts.copies ?? 0;
  if (copies) {
    const [model] = await withTenant(database.db, p.tenantId, (tx) =>
      tx.select().from(drafts).where(eq(drafts.id, byTicket['31003'])),
    );
    await withTenant(database.db, p.tenantId, (tx) =>
      tx.insert(drafts).values(
        Array.from({ length: copies }, (_, i) => ({
          ...model!,
          id: `dr_copy${String(i).padStart(3, '0')}`,
          ticketId: String(40_000 + i),
          createdAt: new Date(Date.parse('2026-11-10T08:00:00Z') + Math.floor(i / 2) * 60_000),
        })),
      ),
    );
  }
  return { tenantId: p.tenantId, subdomain: opts.subdomain, byTicket, setup: p };
}
