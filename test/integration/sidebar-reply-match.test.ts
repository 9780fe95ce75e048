import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftDeliveries, drafts, draftVersions } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import type { JobContext } from '../../src/jobs/types.ts';
import { ticketJob } from '../../src/pipeline/ticket-job.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { triggerDefinition } from '../../src/zendesk/provisioning.ts';
import type { PlaybookFeedback } from '../../src/zendesk/sidebar-feedback.ts';
import { withAgentReplyMatching } from '../../src/zendesk/sidebar-reply-match.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import {
  type SeededTenant,
  seedDraft,
  seedSidebarTenant,
  sidebarConfig,
  sidebarZendeskFake,
  signSidebarToken,
  tokenManager,
} from './sidebar-fixture.ts';

const fake = await sidebarZendeskFake('buttonco');
useMsw(...fake.handlers);
const DRAFT_BODY = 'Hello Hank, SSO is included in your Pro plan. Enable it under Settings > Security.';

describe.each(backends())("Replies sent with Zendesk's own button after Insert on %s", (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>['app'];
  let tenant: SeededTenant;
  let handler: ReturnType<typeof withAgentReplyMatching>;
  const drafted: string[] = [];
  let ticketSeq = backend === 'pglite' ? 91000 : 92000;
  let commentSeq = backend === 'pglite' ? 1 : 500;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const vault = testVault();
    const tokens = tokenManager(database.db, vault);
    app = testApp(database, { config: sidebarConfig, vault, tokens }).app;
    tenant = await seedSidebarTenant(database.db, vault, fake, { ticketId: String(ticketSeq) });
    // The drafting pipeline stands in as a recorder: agent replies must never reach it.
    handler = withAgentReplyMatching(
      async (job) => {
        drafted.push(String(job.payload.event));
      },
      { database, tokens },
    );
  });
  afterAll(() => database?.close());

  const job = (ticketId: string, event: 'agent_replied' | 'comment_added'): JobContext => ({
    tenantId: tenant.tenantId,
    jobId: `job_${ticketId}_${event}`,
    kind: 'zendesk.ticket',
    payload: ticketJob({
      connectionId: tenant.connectionId,
      ticketId,
      event,
      invocationId: `inv_${ticketId}`,
      eventKey: `${ticketId}:${event}:stamp`,
    }).payload,
    attempt: 1,
    signal: new AbortController().signal,
  });
  const comment = (ticketId: string, authorId: number, body: string, isPublic = true) =>
    fake.comments.set(ticketId, [
      ...(fake.comments.get(ticketId) ?? []),
      { id: ++commentSeq, author_id: authorId, body, public: isPublic, created_at: new Date().toISOString() },
    ]);
  const insert = async (ticketId: string, draftId: string, agentId = '9001') => {
    const page = await app.request('/zendesk/sidebar?origin=x&app_guid=y', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: await signSidebarToken(fake, { agentId }) }).toString(),
    });
    const cred = /data-credential="([^"]+)"/.exec(await page.text())![1]!;
    const res = await app.request(`/zendesk/sidebar/api/tickets/${ticketId}/drafts/${draftId}/inserted`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' },
      body: JSON.stringify({ body: DRAFT_BODY }),
    });
    expect(res.status).toBeLessThan(300);
  };
  const fresh = async () => {
    const ticketId = String(++ticketSeq);
    return { ticketId, draftId: await seedDraft(database.db, tenant.tenantId, { ticketId }) };
  };
  const delivery = async (draftId: string) =>
    (
      await withTenant(database.db, tenant.tenantId, (tx) =>
        tx.select().from(draftDeliveries).where(eq(draftDeliveries.draftId, draftId)),
      )
    )[0];

  it('provisions a trigger for public comments by agents and admins', () => {
    const def = triggerDefinition('agent_replied', '01WH');
    expect(def.conditions.all).toContainEqual({ field: 'comment_is_public', operator: 'is', value: 'true' });
    expect(def.conditions.any).toEqual([
      { field: 'role', operator: 'is', value: 'agent' },
      { field: 'role', operator: 'is', value: 'admin' },
    ]);
  });

  it('matches the edited public comment of the agent who inserted the draft, records its edit distance, once', async () => {
    const t = await fresh();
    await insert(t.ticketId, t.draftId);
    comment(t.ticketId, 12345, 'Someone else replied.');
    comment(t.ticketId, 9001, `${DRAFT_BODY} Let me know if it works.`);
    await handler(job(t.ticketId, 'agent_replied'));
    await handler(job(t.ticketId, 'agent_replied'));
    expect(drafted).toEqual([]);
    const d = await delivery(t.draftId);
    expect(d).toMatchObject({ status: 'sent', mode: 'zendesk_button', agentId: '9001', version: 1 });
    expect(d!.editDistance).toBe(' Let me know if it works.'.length);
    await withTenant(database.db, tenant.tenantId, async (tx) => {
      const [row] = await tx.select().from(drafts).where(eq(drafts.id, t.draftId));
      expect(row!.status).toBe('sent');
      const versions = await tx.select().from(draftVersions).where(eq(draftVersions.draftId, t.draftId));
      expect(versions).toEqual([expect.objectContaining({ version: 1, via: 'zendesk_button' })]);
    });
    const { token } = await createSession(database.db, {
      tenantId: tenant.tenantId,
      userId: 'U_ADMIN',
      role: 'admin',
      via: 'local_link',
    });
    const res = await app.request('/admin/api/sidebar/feedback?days=7', {
      headers: { cookie: `${SESSION_COOKIE}=${token}` },
    });
    const { playbooks } = (await res.json()) as { playbooks: PlaybookFeedback[] };
    expect(playbooks.find((p) => p.playbookId === null)!.sentBy.zendesk_button).toBe(1);
  });

  it('an unchanged reply counts as accepted (distance 0, no new version)', async () => {
    const t = await fresh();
    await insert(t.ticketId, t.draftId);
    comment(t.ticketId, 9001, DRAFT_BODY);
    await handler(job(t.ticketId, 'agent_replied'));
    expect(await delivery(t.draftId)).toMatchObject({ status: 'sent', editDistance: 0, version: 0 });
  });

  it('matches nothing for a draft never inserted, a private note, or another agent’s comment', async () => {
    const notInserted = await fresh();
    comment(notInserted.ticketId, 9001, DRAFT_BODY);
    await handler(job(notInserted.ticketId, 'agent_replied'));
    expect(await delivery(notInserted.draftId)).toBeUndefined();

    const other = await fresh();
    await insert(other.ticketId, other.draftId, '9001');
    comment(other.ticketId, 9001, DRAFT_BODY, false);
    comment(other.ticketId, 4444, DRAFT_BODY);
    await handler(job(other.ticketId, 'agent_replied'));
    expect(await delivery(other.draftId)).toBeUndefined();
    expect(drafted).toEqual([]);
  });

  it('every other ticket event still goes to the drafting pipeline', async () => {
    const t = await fresh();
    await handler(job(t.ticketId, 'comment_added'));
    expect(drafted).toEqual(['comment_added']);
  });
});
