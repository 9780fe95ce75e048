import { eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drafts, jobs } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { randomToken } from '../../src/lib/ids.ts';
import { recordDraft } from '../../src/pipeline/draft-record.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { readTicketJob, ticketJob } from '../../src/pipeline/ticket-job.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import type { PlaybookFeedback } from '../../src/zendesk/sidebar-feedback.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { directory, draftInput, feature, plan, playbook } from '../helpers/draft-input.ts';
import { useMsw } from '../helpers/msw.ts';
import {
  type SeededTenant,
  seedSidebarTenant,
  sidebarConfig,
  sidebarZendeskFake,
  signSidebarToken,
  tokenManager,
} from './sidebar-fixture.ts';

const fake = await sidebarZendeskFake('feedbackco');
useMsw(...fake.handlers);

const facts = [
  directory('Acme', 'basic'),
  plan('basic', 'Basic', 20),
  feature('hubspot', 'HubSpot sync', ['scale']),
  playbook('plan-gated', 'feature missing from plan upgrade', ['Say which plan has it']),
  playbook('refund', 'refund money back invoice charged twice', ['Check the invoice']),
];

describe.each(backends())('Sidebar drafts: playbook, feedback, instruction, stale mark on %s', (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>['app'];
  let tenant: SeededTenant;
  let queue: ReturnType<typeof createJobQueue>;
  let ticketSeq = backend === 'pglite' ? 61000 : 62000;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const vault = testVault();
    queue = createJobQueue();
    app = testApp(database, {
      config: sidebarConfig,
      vault,
      tokens: tokenManager(database.db, vault),
      queue,
    }).app;
    tenant = await seedSidebarTenant(database.db, vault, fake, { ticketId: String(ticketSeq) });
  });
  afterAll(() => database?.close());

  /** A draft as the pipeline records it: the offline drafter's result, through recordDraft. */
  const pipelineDraft = async (
    subject: string,
    body: string,
    opts: { ticketId?: string; now?: Date } = {},
  ) => {
    const ticketId = opts.ticketId ?? String(++ticketSeq);
    const input = draftInput(subject, body, facts);
    input.ticket = { ...input.ticket, id: ticketId, createdAt: '2026-12-01T09:00:00.000Z' };
    const draft = draftOffline(input);
    const draftId = `dr_${randomToken(12)}`;
    await withTenant(database.db, tenant.tenantId, (tx) =>
      recordDraft(
        { tenantId: tenant.tenantId, tx, actor: { type: 'system', name: 'test' } },
        {
          draftId,
          ticket: input.ticket,
          route: {
            level: 'account',
            accountId: 'acc_globex',
            endUserId: null,
            endUserEmail: null,
            reason: 'requester_email',
          },
          context: input.context,
          draft,
          guard: { verdict: { action: 'pass', findings: [], checked: 1 }, body: draft.reply },
          now: opts.now ?? new Date(),
        },
      ),
    );
    return { ticketId, draftId, draft };
  };
  const credential = async () => {
    const res = await app.request('/zendesk/sidebar?origin=x&app_guid=y', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: await signSidebarToken(fake) }).toString(),
    });
    return /data-credential="([^"]+)"/.exec(await res.text())![1]!;
  };
  const post = (cred: string, path: string, body: unknown) =>
    app.request(`/zendesk/sidebar/api/tickets/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('stores the matched playbook key on the draft and groups the feedback API by it', async () => {
    const gated = await pipelineDraft(
      'HubSpot sync missing',
      'HubSpot sync is missing from our plan. Upgrade?',
    );
    const refund = await pipelineDraft(
      'Refund',
      'We were charged twice on the invoice, refund the money back.',
    );
    const none = await pipelineDraft('Hello', 'Just saying hello to the team today.');
    expect([gated.draft.playbookKey, refund.draft.playbookKey, none.draft.playbookKey]).toEqual([
      'plan-gated',
      'refund',
      null,
    ]);
    const stored = await withTenant(database.db, tenant.tenantId, (tx) =>
      tx.select().from(drafts).where(eq(drafts.id, gated.draftId)),
    );
    expect(stored[0]!.contextSnapshot.playbookId).toBe('plan-gated');

    const cred = await credential();
    expect((await post(cred, `${gated.ticketId}/drafts/${gated.draftId}/send`, {})).status).toBe(200);
    const rejected = await post(cred, `${refund.ticketId}/drafts/${refund.draftId}/reject`, {
      reason: 'Wrong invoice',
    });
    expect(rejected.status).toBe(200);

    const { token } = await createSession(database.db, {
      tenantId: tenant.tenantId,
      userId: 'U_ADMIN',
      role: 'admin',
      via: 'local_link',
    });
    const res = await app.request('/admin/api/sidebar/feedback?days=7', {
      headers: { cookie: `${SESSION_COOKIE}=${token}` },
    });
    expect(res.status).toBe(200);
    const { playbooks } = (await res.json()) as { playbooks: PlaybookFeedback[] };
    const by = (k: string | null) => playbooks.find((p) => p.playbookId === k)!;
    expect(by('plan-gated')).toMatchObject({ drafts: 1, sent: 1, sentUnchanged: 1, acceptanceRate: 1 });
    expect(by('plan-gated').sentBy.sidebar).toBe(1);
    // Ticket created at 09:00 on 2026-12-01: the time to sent counts from then.
    expect(by('plan-gated').meanSecondsTicketToSent).toBeGreaterThan(by('plan-gated').meanSecondsToSent!);
    expect(by('refund')).toMatchObject({ drafts: 1, sent: 0, rejected: 1, acceptanceRate: 0 });
    expect(by('refund').rejectionReasons).toEqual([{ reason: 'Wrong invoice', count: 1 }]);
    // The fixture's own draft and the no-playbook draft fall under null.
    expect(by(null).drafts).toBe(2);
  });

  it("Regenerate's instruction travels in the job to the drafter", async () => {
    const cred = await credential();
    const ticketId = String(++ticketSeq);
    const res = await post(cred, `${ticketId}/regenerate`, { instruction: '  shorter, in German ' });
    expect(res.status).toBe(202);
    const rows = await withTenant(database.db, tenant.tenantId, (tx) =>
      tx.select({ payload: jobs.payload, key: jobs.dedupeKey }).from(jobs),
    );
    const job = rows.find((r) => r.key?.startsWith(`${ticketId}:sidebar:`))!;
    expect(readTicketJob(job.payload)).toMatchObject({ ticketId, instruction: 'shorter, in German' });
    const tooLong = await post(cred, `${ticketId}/regenerate`, { instruction: 'x'.repeat(301) });
    expect(tooLong.status).toBe(400);
  });

  it('marks the draft stale when the requester wrote again after it, until a newer draft exists', async () => {
    const cred = await credential();
    const { ticketId } = await pipelineDraft('HubSpot sync missing', 'HubSpot sync is missing. Upgrade?', {
      now: new Date(Date.now() - 60_000),
    });
    const view = async () => {
      const res = await app.request(`/zendesk/sidebar/api/tickets/${ticketId}`, {
        headers: { authorization: `Bearer ${cred}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { state: string; stale: { since: string } | null; draft: { id: string } };
    };
    expect((await view()).stale).toBeNull();
    // The requester's comment arrives (the webhook enqueues a comment_added ticket job).
    const stamp = new Date().toISOString();
    await withTenant(database.db, tenant.tenantId, (tx) =>
      queue.enqueue(
        tx,
        tenant.tenantId,
        ticketJob({
          connectionId: tenant.connectionId,
          ticketId,
          event: 'comment_added',
          invocationId: `inv_${randomToken(6)}`,
          eventKey: `${ticketId}:comment_added:${stamp}`,
        }),
      ),
    );
    const marked = await view();
    expect(marked.stale).not.toBeNull();
    expect(marked.state).toBe('drafting');
    await withTenant(database.db, tenant.tenantId, (tx) =>
      tx
        .update(jobs)
        .set({ status: 'done' })
        .where(like(jobs.dedupeKey, `${ticketId}:comment_added:%`)),
    );
    const done = await view();
    expect(done).toMatchObject({ state: 'ready', stale: { since: marked.stale!.since } });
    expect(marked.draft.id).toBe(done.draft.id);
    // The draft written for the new comment is not stale.
    const newer = await pipelineDraft('HubSpot sync missing', 'Still missing.', {
      ticketId,
      now: new Date(Date.now() + 1_000),
    });
    const fresh = await view();
    expect(fresh.draft.id).toBe(newer.draftId);
    expect(fresh.stale).toBeNull();
  });
});
