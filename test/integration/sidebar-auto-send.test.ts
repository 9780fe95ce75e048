import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  auditEvents,
  draftDeliveries,
  drafts,
  externalEffects,
  playbooks,
  sidebarSettings,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { autoSendDraft, DEFAULT_AUTO_SEND_THRESHOLD } from '../../src/zendesk/sidebar-auto-send.ts';
import type { SidebarDeps } from '../../src/zendesk/sidebar-drafts.ts';
import { sendDraft } from '../../src/zendesk/sidebar-send.ts';
import { testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import {
  CONNECTION_USER_ID,
  type SeededTenant,
  seedDraft,
  seedSidebarTenant,
  sidebarZendeskFake,
  tokenManager,
} from './sidebar-fixture.ts';

const fake = await sidebarZendeskFake('autosendco');
useMsw(...fake.handlers);

describe.each(backends())('Auto-send per playbook on %s', (backend) => {
  let database: TestDatabase;
  let tenant: SeededTenant;
  let deps: SidebarDeps;
  let ticketSeq = backend === 'pglite' ? 71000 : 72000;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const vault = testVault();
    tenant = await seedSidebarTenant(database.db, vault, fake, { ticketId: String(ticketSeq) });
    deps = { database, tokens: tokenManager(database.db, vault), now: () => new Date() };
    await withTenant(database.db, tenant.tenantId, (tx) =>
      tx.insert(playbooks).values([
        { tenantId: tenant.tenantId, key: 'sso', whenText: 'sso login', steps: [], autoSend: true },
        { tenantId: tenant.tenantId, key: 'billing', whenText: 'invoice', steps: [] },
      ]),
    );
  });
  afterAll(() => database?.close());
  beforeEach(async () => {
    fake.replies.length = 0;
    await withTenant(database.db, tenant.tenantId, (tx) => tx.delete(sidebarSettings));
  });

  /** A stored draft on a new ticket, as the pipeline leaves it, with the given traits. */
  const draft = async (
    o: {
      playbook?: string | null;
      confidence?: number;
      guard?: 'pass' | 'redacted' | 'blocked';
      route?: 'account' | 'end_user' | 'unknown';
      needsHuman?: string | null;
    } = {},
  ) => {
    const ticketId = String(++ticketSeq);
    const draftId = await seedDraft(database.db, tenant.tenantId, {
      ticketId,
      status: o.guard === 'blocked' ? 'blocked' : 'pending',
    });
    await withTenant(database.db, tenant.tenantId, async (tx) => {
      const [row] = await tx.select().from(drafts).where(eq(drafts.id, draftId));
      await tx
        .update(drafts)
        .set({
          confidence: o.confidence ?? 0.95,
          route: o.route ?? 'account',
          needsHumanReason: o.needsHuman ?? null,
          guardVerdict: { action: o.guard ?? 'pass', findings: [], checked: 3 },
          contextSnapshot: {
            ...row!.contextSnapshot,
            playbookId: o.playbook === undefined ? 'sso' : o.playbook,
          },
        })
        .where(eq(drafts.id, draftId));
    });
    return { ticketId, draftId };
  };
  const auditOf = async (draftId: string) =>
    (await withTenant(database.db, tenant.tenantId, (tx) => tx.select().from(auditEvents))).filter(
      (e) => e.target === draftId,
    );

  it('sends a clean, confident draft of an auto-send playbook once, as the connection user, audited', async () => {
    const d = await draft();
    const first = await autoSendDraft(deps, { tenantId: tenant.tenantId, draftId: d.draftId });
    expect(first).toEqual({ sent: true, outcome: 'performed' });
    // A retried job calls it again: the ledger joins, nothing is posted twice.
    const again = await autoSendDraft(deps, { tenantId: tenant.tenantId, draftId: d.draftId });
    expect(again).toEqual({ sent: false, reason: 'already_handled' });
    expect(fake.replies.filter((r) => r.ticketId === d.ticketId)).toEqual([
      expect.objectContaining({ authorId: CONNECTION_USER_ID }),
    ]);
    await withTenant(database.db, tenant.tenantId, async (tx) => {
      const [del] = await tx.select().from(draftDeliveries).where(eq(draftDeliveries.draftId, d.draftId));
      expect(del).toMatchObject({ status: 'sent', mode: 'auto_send', agentId: String(CONNECTION_USER_ID) });
      const [fx] = await tx
        .select()
        .from(externalEffects)
        .where(eq(externalEffects.key, `zendesk.reply:${d.draftId}:v0`));
      expect(fx?.status).toBe('done');
    });
    const events = await auditOf(d.draftId);
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['draft.auto_send', 'draft.auto_approved', 'draft.sent']),
    );
    expect(events.find((e) => e.action === 'draft.auto_approved')!.actor).toMatchObject({
      type: 'system',
      name: 'auto-send',
    });
  });

  it('is off by default and for drafts without a playbook', async () => {
    const off = await draft({ playbook: 'billing' });
    const none = await draft({ playbook: null });
    expect(await autoSendDraft(deps, { tenantId: tenant.tenantId, draftId: off.draftId })).toEqual({
      sent: false,
      reason: 'off',
    });
    expect(await autoSendDraft(deps, { tenantId: tenant.tenantId, draftId: none.draftId })).toEqual({
      sent: false,
      reason: 'off',
    });
    expect(fake.replies).toEqual([]);
  });

  it('never sends blocked, redacted, unknown-route or needs-a-human drafts, and audits why', async () => {
    for (const [traits, reason] of [
      [{ guard: 'blocked' }, 'not_clean'],
      [{ guard: 'redacted' }, 'not_clean'],
      [{ route: 'unknown' }, 'not_clean'],
      [{ needsHuman: 'Context incomplete.' }, 'needs_human'],
    ] as const) {
      const d = await draft(traits);
      expect(await autoSendDraft(deps, { tenantId: tenant.tenantId, draftId: d.draftId })).toEqual({
        sent: false,
        reason,
      });
      const ev = (await auditOf(d.draftId)).find((e) => e.action === 'draft.auto_send')!;
      expect(ev).toMatchObject({ outcome: 'denied', detail: expect.objectContaining({ decision: reason }) });
    }
    // The send path checks it again: a redacted draft cannot be sent with mode auto_send.
    const redacted = await draft({ guard: 'redacted' });
    await expect(
      sendDraft(
        deps,
        {
          tenantId: tenant.tenantId,
          agentId: String(CONNECTION_USER_ID),
          agentName: null,
          installationId: 'auto-send',
          expiresAt: new Date(),
          autoSend: true,
        },
        redacted.ticketId,
        redacted.draftId,
        { mode: 'auto_send' },
      ),
    ).rejects.toMatchObject({ code: 'forbidden' });
    expect(fake.replies).toEqual([]);
  });

  it('honours the threshold of the playbook, else the tenant default, else the built-in one', async () => {
    const at = async (confidence: number) =>
      (
        await autoSendDraft(deps, {
          tenantId: tenant.tenantId,
          draftId: (await draft({ confidence })).draftId,
        })
      ).sent;
    expect(await at(DEFAULT_AUTO_SEND_THRESHOLD - 0.01)).toBe(false);
    await withTenant(database.db, tenant.tenantId, (tx) =>
      tx.insert(sidebarSettings).values([
        { tenantId: tenant.tenantId, scope: '*', autoSendThreshold: 0.5 },
        { tenantId: tenant.tenantId, scope: 'sso', autoSendThreshold: 0.8 },
      ]),
    );
    expect(await at(0.79)).toBe(false);
    expect(await at(0.8)).toBe(true);
    expect(fake.replies).toHaveLength(1);
  });
});
