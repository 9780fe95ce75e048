import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  auditEvents,
  draftDeliveries,
  drafts,
  draftVersions,
  sidebarSettings,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import type { SidebarPrincipal } from '../../src/zendesk/sidebar-credentials.ts';
import type { SidebarDeps } from '../../src/zendesk/sidebar-drafts.ts';
import type { PlaybookFeedback } from '../../src/zendesk/sidebar-feedback.ts';
import { sendDraft } from '../../src/zendesk/sidebar-send.ts';
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

const acme = await sidebarZendeskFake('acme');
useMsw(...acme.handlers);

describe.each(backends())('Sidebar send on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  let app: ReturnType<typeof testApp>['app'];
  let t: SeededTenant;
  let tenant: SeededTenant;
  // Tickets numbered per backend: the fake account (and its comments) is shared by both runs.
  let ticketSeq = backend === 'pglite' ? 7000 : 8000;
  /** A fresh draft on a new ticket of the one tenant. */
  const fresh = async (status: 'pending' | 'blocked' = 'pending') => {
    const ticketId = String(++ticketSeq);
    t = { ...tenant, ticketId, draftId: await seedDraft(database.db, tenant.tenantId, { ticketId, status }) };
  };

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
    app = testApp(database, { config: sidebarConfig, vault, tokens: tokenManager(database.db, vault) }).app;
    tenant = await seedSidebarTenant(database.db, vault, acme, { ticketId: String(ticketSeq) });
  });
  afterAll(() => database?.close());
  beforeEach(async () => {
    acme.replies.length = 0;
    acme.failNext.length = 0;
    acme.replyDelayMs = 0;
    await fresh();
  });

  const credential = async (agentId = '9001') => {
    const res = await app.request('/zendesk/sidebar?origin=x&app_guid=y', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: await signSidebarToken(acme, { agentId }) }).toString(),
    });
    return /data-credential="([^"]+)"/.exec(await res.text())![1]!;
  };
  const send = (cred: string, body: Record<string, unknown>, draftId = t.draftId, ticketId = t.ticketId) =>
    app.request(`/zendesk/sidebar/api/tickets/${ticketId}/drafts/${draftId}/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const draftRow = async () =>
    (
      await withTenant(database.db, t.tenantId, (tx) =>
        tx.select().from(drafts).where(eq(drafts.id, t.draftId)),
      )
    )[0]!;
  const delivery = async () =>
    (
      await withTenant(database.db, t.tenantId, (tx) =>
        tx.select().from(draftDeliveries).where(eq(draftDeliveries.draftId, t.draftId)),
      )
    )[0];

  it('edit, then send: one public reply with the edited text, authored by the agent; stored diff and edit distance', async () => {
    const cred = await credential('9001');
    const edited = 'Hello Hank, SSO is part of your Pro plan. Turn it on under Settings > Security.';
    const res = await send(cred, { body: edited });
    expect(res.status).toBe(200);
    const out = (await res.json()) as {
      draft: { status: string; delivery: { agentName: string } };
      outcome: string;
    };
    expect(out.outcome).toBe('performed');
    expect(out.draft.status).toBe('sent');
    expect(out.draft.delivery.agentName).toBe('Agent 9001');
    expect(acme.replies).toEqual([{ ticketId: t.ticketId, authorId: 9001, body: edited }]);
    const [v] = await withTenant(database.db, t.tenantId, (tx) =>
      tx.select().from(draftVersions).where(eq(draftVersions.draftId, t.draftId)),
    );
    expect(v?.version).toBe(1);
    expect(v?.editDistance).toBeGreaterThan(5);
    expect(v?.diff.some((d) => d.op === 'ins' && d.text.includes('Turn'))).toBe(true);
    expect((await delivery())?.status).toBe('sent');
    const actions = (await withTenant(database.db, t.tenantId, (tx) => tx.select().from(auditEvents))).map(
      (e) => e.action,
    );
    expect(actions).toEqual(
      expect.arrayContaining(['sidebar.opened', 'draft.edited', 'draft.approved', 'draft.sent']),
    );
    // Sending again is a no-op that says so.
    const again = (await (await send(cred, {})).json()) as { outcome: string };
    expect(again.outcome).toBe('already_done');
    expect(acme.replies).toHaveLength(1);
  });

  it('twenty concurrent Send calls make exactly one Zendesk request', async () => {
    const cred = await credential();
    acme.replyDelayMs = 150;
    const results = await Promise.all(Array.from({ length: 20 }, () => send(cred, {})));
    const statuses = results.map((r) => r.status);
    expect(acme.replies).toHaveLength(1);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    // The others were told it is in progress (409) or already done (200): never a second post.
    expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);
    expect((await draftRow()).status).toBe('sent');
  });

  it('a crash between Zendesk storing the reply and our record is reconciled from the comments, without a second post', async () => {
    const cred = await credential();
    await send(cred, {}); // warm: names the agent on the credential
    // A fresh draft on a new ticket, sent through the service with a crash after Zendesk answered.
    await fresh();
    acme.replies.length = 0;
    const principal: SidebarPrincipal = {
      tenantId: t.tenantId,
      agentId: '9001',
      agentName: 'Agent 9001',
      installationId: acme.installationId,
      expiresAt: new Date(Date.now() + 60_000),
    };
    const deps: SidebarDeps = {
      database,
      tokens: tokenManager(database.db, vault),
      now: () => new Date(),
      effectLeaseMs: 300,
      afterReplyPosted: async () => {
        throw new Error('process died');
      },
    };
    await expect(sendDraft(deps, principal, t.ticketId, t.draftId, {})).rejects.toThrow();
    expect(acme.replies).toHaveLength(1);
    expect((await draftRow()).status).toBe('failed');
    expect((await delivery())?.outcomeUnknown).toBe(true);
    // An edit now would risk a second, different reply: refused until the first is settled.
    await expect(
      sendDraft({ ...deps, afterReplyPosted: undefined }, principal, t.ticketId, t.draftId, {
        body: 'Other text',
      }),
    ).rejects.toThrow(/already being sent/);
    const r = await sendDraft({ ...deps, afterReplyPosted: undefined }, principal, t.ticketId, t.draftId, {});
    expect(r.outcome).toBe('reconciled');
    expect(r.draft.status).toBe('sent');
    expect(acme.replies).toHaveLength(1);
  });

  const failures: [number, Record<string, string> | undefined, RegExp, number][] = [
    [404, undefined, /no longer exists/, 502],
    [422, undefined, /refused the reply/, 502],
    [409, undefined, /same moment/, 502],
    [429, { 'retry-after': '120' }, /rate limit.*120 s/, 429],
    [503, undefined, /having trouble \(HTTP 503\)/, 502],
  ];
  it.each(failures)(
    'Zendesk %i gets a clear message, the draft is failed, and a retry sends once',
    async (status, headers, msg, ours) => {
      const cred = await credential();
      acme.failNext.push({ status, ...(headers ? { headers } : {}) });
      const res = await send(cred, {});
      expect(res.status).toBe(ours);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(msg);
      expect((await draftRow()).status).toBe('failed');
      expect((await delivery())?.reason).toMatch(msg);
      const view = (await (
        await app.request(`/zendesk/sidebar/api/tickets/${t.ticketId}`, {
          headers: { authorization: `Bearer ${cred}` },
        })
      ).json()) as {
        draft: { delivery: { reason: string } };
      };
      expect(view.draft.delivery.reason).toMatch(msg);
      const retry = await send(cred, {});
      expect(retry.status).toBe(200);
      expect((await draftRow()).status).toBe('sent');
      // One failed attempt and one successful post: the retry never doubled a stored reply.
      expect(acme.replies).toHaveLength(2);
      expect([...(acme.comments.get(t.ticketId) ?? [])]).toHaveLength(1);
    },
  );

  it('a blocked draft is not sent without an override reason; with one it is sent and the override audited', async () => {
    await fresh('blocked');
    const cred = await credential();
    const refused = await send(cred, {});
    expect(refused.status).toBe(403);
    expect(acme.replies).toHaveLength(0);
    expect((await draftRow()).status).toBe('blocked');
    const ok = await send(cred, {
      overrideReason: 'The other account named is the requester’s parent company',
    });
    expect(ok.status).toBe(200);
    expect(acme.replies).toHaveLength(1);
    const events = await withTenant(database.db, t.tenantId, (tx) =>
      tx.select().from(auditEvents).where(eq(auditEvents.target, t.draftId)),
    ).then((rows) => rows.filter((e) => e.action === 'draft.guard_overridden'));
    expect(events).toHaveLength(1);
    expect(events[0]?.detail).toMatchObject({ reason: expect.stringContaining('parent company') });
  });

  it("after a send the ticket moves to the tenant's chosen status; none chosen, none set", async () => {
    const cred = await credential();
    acme.statusUpdates.length = 0;
    await send(cred, {});
    expect(acme.statusUpdates).toEqual([]);
    await fresh();
    await withTenant(database.db, t.tenantId, (tx) =>
      tx.insert(sidebarSettings).values({
        tenantId: t.tenantId,
        scope: '*',
        statusAfterSend: '8812',
        statusAfterSendLabel: 'Awaiting Vendor',
      }),
    );
    const cred2 = await credential();
    await send(cred2, {});
    expect(acme.statusUpdates).toEqual([{ ticketId: t.ticketId, ticket: { custom_status_id: 8812 } }]);
  });

  it('reject with a reason: rejected, audited, and it can no longer be sent', async () => {
    const cred = await credential();
    const res = await app.request(`/zendesk/sidebar/api/tickets/${t.ticketId}/drafts/${t.draftId}/reject`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'Wrong plan' }),
    });
    expect(res.status).toBe(200);
    expect((await draftRow()).status).toBe('rejected');
    expect((await send(cred, {})).status).toBe(409);
    expect(acme.replies).toHaveLength(0);
    const bad = await app.request(`/zendesk/sidebar/api/tickets/${t.ticketId}/drafts/${t.draftId}/reject`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 7 }),
    });
    expect(bad.status).toBe(400);
  });
  it('the admin feedback API reports acceptance, edits, edit distance and rejection reasons (admins only)', async () => {
    expect((await app.request('/admin/api/sidebar/feedback')).status).toBe(401);
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
    const body = (await res.json()) as { playbooks: PlaybookFeedback[] };
    const all = body.playbooks.find((p) => p.playbookId === null)!;
    // From the tests above: one edited send, several unchanged ones, one rejection.
    expect(all.sentEdited).toBeGreaterThanOrEqual(1);
    expect(all.sentUnchanged).toBeGreaterThanOrEqual(1);
    expect(all.meanEditDistance).toBeGreaterThan(0);
    expect(all.rejectionReasons).toContainEqual({ reason: 'Wrong plan', count: 1 });
    expect(all.acceptanceRate).toBeCloseTo(all.sentUnchanged / all.drafts);
  });
});
