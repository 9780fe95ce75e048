import { readFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, drafts, externalEffects } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import type { JobContext } from '../../src/jobs/types.ts';
import type { Drafter } from '../../src/pipeline/drafting/types.ts';
import { processTicketJob } from '../../src/pipeline/process-ticket.ts';
import { updateSettings } from '../../src/pipeline/tenant-config.ts';
import { eventKey } from '../../src/zendesk/trigger-payload.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { parseScenario, type Scenario } from '../scenario/format.ts';
import { REQUESTER_ID, setupScenarioPipeline } from '../scenario/run.ts';

const server = useMsw();
const fixture = (name: string): Scenario => {
  const path = new URL(`../fixtures/scenarios/${name}.json`, import.meta.url);
  return parseScenario(readFileSync(path, 'utf8'), name);
};

/**
 * The scenario pipeline with a context deadline far above what providers need here: the loader
 * returns as soon as every provider answered, so this only keeps a loaded machine from turning
 * a slow answer into a "missing" source (the deadline itself is tested in the loader's tests).
 */
async function setup(...args: Parameters<typeof setupScenarioPipeline>) {
  const p = await setupScenarioPipeline(...args);
  await withTenant(args[1].database.db, p.tenantId, (tx) =>
    updateSettings(
      { tenantId: p.tenantId, tx, actor: { type: 'system', name: 'test' } },
      { context: { deadlineMs: 30_000 } },
    ),
  );
  return p;
}

describe.each(backends())('zendesk.ticket job on %s', (backend) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());

  function job(p: { tenantId: string; connectionId: string }, ticketId: number, attempt = 1): JobContext {
    return {
      tenantId: p.tenantId,
      jobId: 'job_test',
      kind: 'zendesk.ticket',
      attempt,
      signal: new AbortController().signal,
      payload: {
        connectionId: p.connectionId,
        ticketId: String(ticketId),
        event: 'ticket_created',
        invocationId: 'inv-1',
        eventKey: `${ticketId}:ticket_created`,
      },
    };
  }

  async function state(tenantId: string) {
    return withTenant(database.db, tenantId, async (tx) => ({
      drafts: await tx.select().from(drafts),
      effects: await tx.select().from(externalEffects),
      audit: (await tx.select().from(auditEvents)).map((e) => `${e.action}:${e.outcome}`),
    }));
  }

  it('stores one pending draft with citations and context snapshot, posts one internal note, audits each step; a rerun changes nothing', async () => {
    const s = fixture('domain-routed-integration');
    const p = await setup(s, { database, server });
    const first = await processTicketJob(p.deps, job(p, s.ticket.id));
    expect(first).toMatchObject({ created: true, status: 'pending', notePosted: true });
    const second = await processTicketJob(p.deps, job(p, s.ticket.id, 2));
    expect(second).toMatchObject({ draftId: first.draftId, created: false, notePosted: false });

    const st = await state(p.tenantId);
    expect(st.drafts).toHaveLength(1);
    const d = st.drafts[0]!;
    expect(d).toMatchObject({
      status: 'pending',
      route: 'account',
      accountId: 'hc-0917',
      drafter: 'offline',
    });
    expect(d.citations).toContain('ctx:integrations');
    expect((d.contextSnapshot.facts as { id: string }[]).map((f) => f.id)).toContain('ctx:integrations');
    expect(d.guardVerdict).toMatchObject({ action: 'pass' });
    expect(p.notes).toHaveLength(1);
    expect(p.notes[0]).toMatchObject({ public: false });
    expect(p.notes[0]!.body).toContain(`[copilot:${first.draftId}]`);
    expect(st.effects).toEqual([
      expect.objectContaining({
        key: `zendesk.note:${first.draftId}`,
        kind: 'zendesk.internal_note',
        status: 'done',
      }),
    ]);
    // Seeding the tenant (createTenant and the configuration verbs) is audited too; this test
    // checks what the job itself wrote.
    const seeding = new Set([
      'tenant.created:success',
      'settings.updated:success',
      'context_api.configured:success',
      'catalog.replaced:success',
      'directory.synced:success',
    ]);
    expect(st.audit.filter((a) => !seeding.has(a))).toEqual([
      'context.loaded:success',
      'draft.created:success',
      'zendesk.note_posted:success',
    ]);
  });

  it('a note Zendesk refused (4xx) is recorded failed and posted on the retry, once; the retry does not draft again', async () => {
    const s = fixture('custom-org-field-plan-gated');
    const p = await setup(s, { database, server });
    let puts = 0;
    server.use(
      http.put(
        `https://${s.tenant.zendeskSubdomain}.zendesk.com/api/v2/tickets/${s.ticket.id}.json`,
        () => {
          puts++;
          return HttpResponse.json({ error: 'RecordInvalid' }, { status: 422 });
        },
        { once: true },
      ),
    );
    await expect(processTicketJob(p.deps, job(p, s.ticket.id))).rejects.toMatchObject({
      code: 'upstream_error',
      retryable: false,
      upstreamStatus: 422,
    });
    let st = await state(p.tenantId);
    expect(st.drafts).toHaveLength(1);
    expect(st.effects[0]).toMatchObject({ status: 'failed', result: { status: 422 } });
    expect(String((st.effects[0]!.result as { error: string }).error)).toContain('422');
    expect(p.notes).toHaveLength(0);

    const retry = await processTicketJob(p.deps, job(p, s.ticket.id, 2));
    expect(retry).toMatchObject({ created: false, notePosted: true });
    await processTicketJob(p.deps, job(p, s.ticket.id, 3));
    st = await state(p.tenantId);
    expect(puts).toBe(1);
    expect(p.notes).toHaveLength(1);
    expect(st.drafts).toHaveLength(1);
    expect(st.effects[0]).toMatchObject({ status: 'done' });
    expect(st.audit).toContain('zendesk.note_posted:failure');
  });

  it('a 503 on the note leaves its outcome unknown: the retry looks among the comments first, then posts once', async () => {
    const s = fixture('audit-role-downgrade');
    const p = await setup(s, { database, server });
    server.use(
      http.put(
        `https://${s.tenant.zendeskSubdomain}.zendesk.com/api/v2/tickets/${s.ticket.id}.json`,
        () => new HttpResponse('<html>oops</html>', { status: 503 }),
        { once: true },
      ),
    );
    await expect(processTicketJob(p.deps, job(p, s.ticket.id))).rejects.toMatchObject({
      code: 'upstream_error',
      retryable: true,
      upstreamStatus: 503,
    });
    expect((await state(p.tenantId)).effects[0]).toMatchObject({ status: 'started' });
    const comments: string[] = [];
    server.events.on('request:start', ({ request }) => {
      if (request.url.includes('/comments.json')) comments.push(request.method);
    });
    const retry = await processTicketJob(p.deps, job(p, s.ticket.id, 2));
    server.events.removeAllListeners('request:start');
    expect(retry.notePosted).toBe(true);
    expect(comments).toEqual(['GET']);
    expect(p.notes).toHaveLength(1);
    const st = await state(p.tenantId);
    expect(st.effects[0]).toMatchObject({ status: 'done' });
    expect(st.audit).toContain('zendesk.note_posted:failure');
  });

  it('a claim left "started" by a crash is reconciled from the ticket comments, not posted twice', async () => {
    const s = fixture('end-user-other-merchant-brand');
    const p = await setup(s, { database, server });
    const first = await processTicketJob(p.deps, job(p, s.ticket.id));
    // The process died after Zendesk accepted the note and before the ledger said so.
    const key = `zendesk.note:${first.draftId}`;
    // A claim renewed just now is someone's live attempt: nothing is called, the job retries later.
    await withTenant(database.db, p.tenantId, (tx) =>
      tx
        .update(externalEffects)
        .set({ status: 'started', updatedAt: p.clock() })
        .where(eq(externalEffects.key, key)),
    );
    await expect(processTicketJob(p.deps, job(p, s.ticket.id, 2))).rejects.toMatchObject({
      code: 'conflict',
      retryable: true,
      detail: { reason: 'effect_in_progress' },
    });
    expect(p.notes).toHaveLength(1);
    // Its lease lapsed long ago (by the pipeline's clock): the process that claimed it is gone.
    const crashed = () =>
      withTenant(database.db, p.tenantId, (tx) =>
        tx
          .update(externalEffects)
          .set({ status: 'started', updatedAt: new Date(p.clock().getTime() - 60 * 60_000) })
          .where(eq(externalEffects.key, key)),
      );
    await crashed();
    const again = await processTicketJob(p.deps, job(p, s.ticket.id, 2));
    expect(again.notePosted).toBe(false);
    expect(p.notes).toHaveLength(1);
    const st = await state(p.tenantId);
    expect(st.effects[0]).toMatchObject({ status: 'done', result: { reconciled: true } });

    // And when the crash came before the call, the reconciliation finds nothing and posts once.
    p.notes.length = 0;
    await crashed();
    expect((await processTicketJob(p.deps, job(p, s.ticket.id, 3))).notePosted).toBe(true);
    expect(p.notes).toHaveLength(1);
  });

  it('a leaking draft is stored blocked with the verdict, and the note says it was held back', async () => {
    const base = fixture('end-user-other-merchant-brand');
    const s = { ...base, tenant: { ...base.tenant, zendeskSubdomain: 'shelfwise-two' } };
    const leaky: Drafter = {
      name: 'leaky',
      draft: async () => ({
        reply:
          'Your reservation R-7781 is confirmed. Oakline Outfitters (hello@oakline.example) also says hi.',
        citedFactIds: ['ctx:records', 'made:up'],
        confidence: 0.9,
        needsHumanReason: null,
        drafter: 'leaky',
        model: null,
      }),
    };
    const p = await setup(s, { database, server, drafter: leaky });
    const r = await processTicketJob(p.deps, job(p, s.ticket.id));
    expect(r.status).toBe('blocked');
    const [d] = (await state(p.tenantId)).drafts;
    expect(d!.status).toBe('blocked');
    expect(d!.citations).toEqual(['ctx:records']); // ids not in the context are dropped
    expect(d!.guardVerdict).toMatchObject({ action: 'blocked' });
    expect(JSON.stringify(d!.guardVerdict)).not.toContain('hello@oakline.example');
    expect(p.notes[0]!.body).toMatch(/held it back/);
    expect((await state(p.tenantId)).audit).toContain('draft.blocked:denied');
  });

  it("comment_added: answers the requester's latest public comment, as a separate draft per event stamp", async () => {
    const base = fixture('end-user-other-merchant-brand');
    const s = {
      ...base,
      tenant: { ...base.tenant, zendeskSubdomain: 'shelfwise-three' },
      ticket: { ...base.ticket, subject: 'Question', body: 'Hello, a question about my reservation.' },
    };
    const p = await setup(s, { database, server });
    server.use(
      http.get(`https://shelfwise-three.zendesk.com/api/v2/tickets/${s.ticket.id}/comments.json`, () =>
        HttpResponse.json({
          comments: [
            { id: 3, author_id: 4242, public: true, body: 'Agent: is it R-7790?' },
            {
              id: 2,
              author_id: REQUESTER_ID,
              public: true,
              body: 'It is reservation R-7781, is it confirmed?',
            },
            { id: 1, author_id: REQUESTER_ID, public: true, body: 'Hello, a question about my reservation.' },
          ],
        }),
      ),
    );
    const created = await processTicketJob(p.deps, job(p, s.ticket.id));
    const comment = await processTicketJob(p.deps, {
      ...job(p, s.ticket.id),
      payload: {
        connectionId: p.connectionId,
        ticketId: String(s.ticket.id),
        event: 'comment_added',
        invocationId: 'inv-2',
        eventKey: eventKey({
          ticket_id: String(s.ticket.id),
          event: 'comment_added',
          updated_at: '2026-12-01T12:05:00Z',
        }),
      },
    });
    expect(comment.draftId).not.toBe(created.draftId);
    const st = await state(p.tenantId);
    const byId = new Map(st.drafts.map((d) => [d.id, d]));
    expect(byId.get(created.draftId)!.body).toContain('which one your question is about');
    expect(byId.get(comment.draftId)!.body).toContain('I found your reservation R-7781');
    expect(byId.get(comment.draftId)!.body).toContain('confirmed');
    expect(byId.get(comment.draftId)!.body).not.toContain('R-7790');
  });
});
