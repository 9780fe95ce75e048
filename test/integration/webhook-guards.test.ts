import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, jobs, webhookDeliveries, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { captureLogger, testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createZendeskTenant, signedZendeskHeaders, type ZendeskFixture } from '../helpers/zendesk-sign.ts';

/**
 * Attack-run findings (issue 13, item 7) on POST /webhooks/zendesk/:hookId: a NUL in a signed
 * body's `updated_at` answered 500 (PostgreSQL text refuses it), and a sealed signing secret that
 * does not open (tampered or moved) answered 500. Both are now clear 4xx answers storing nothing;
 * the second also marks the connection as needing re-authorization and audits it once.
 */
type ErrorBody = { error: { code: string; message: string; requestId: string } };

describe.each(backends())('webhook guards on %s', (backend) => {
  let database: TestDatabase;
  const vault = testVault();
  const log = captureLogger();
  let app: ReturnType<typeof testApp>['app'];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    app = testApp(database, { vault, logger: log.logger }).app;
  });
  afterAll(() => database?.close());

  const stored = (t: ZendeskFixture) =>
    withTenant(database.db, t.tenantId, async (tx) => ({
      deliveries: (await tx.select().from(webhookDeliveries)).length,
      jobs: (await tx.select().from(jobs)).length,
    }));
  const post = async (t: ZendeskFixture, body: string) =>
    app.request(`/webhooks/zendesk/${t.hookId}`, {
      method: 'POST',
      body,
      headers: await signedZendeskHeaders(t.secret, body),
    });

  it("a NUL in a signed body's updated_at is 400 invalid_body, and nothing is stored", async () => {
    const t = await createZendeskTenant(database.db, vault);
    const body = JSON.stringify({
      ticket_id: '77',
      event: 'comment_added',
      updated_at: '2026-11-23\u0000T05:00',
    });
    expect(body).toContain('\\u0000');
    const res = await post(t, body);
    expect(res.status).toBe(400);
    const err = (await res.json()) as ErrorBody;
    expect(err.error.code).toBe('invalid_body');
    expect(err.error.message).toContain('updated_at');
    expect(await stored(t)).toEqual({ deliveries: 0, jobs: 0 });
    // The same event without the NUL goes through: the refusal was about content.
    const ok = JSON.stringify({ ticket_id: '77', event: 'comment_added', updated_at: '2026-11-23T05:00' });
    expect((await post(t, ok)).status).toBe(200);
    expect(await stored(t)).toEqual({ deliveries: 1, jobs: 1 });
  });

  it('a signed body nested deep is 400 invalid_body, not a 500', async () => {
    const t = await createZendeskTenant(database.db, vault);
    const body = `{"ticket_id":"1","event":"ticket_created","updated_at":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const res = await post(t, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.code).toBe('invalid_body');
    expect(await stored(t)).toEqual({ deliveries: 0, jobs: 0 });
  });

  describe('a sealed signing secret that does not open', () => {
    const body = JSON.stringify({ ticket_id: '4242', event: 'ticket_created' });

    async function tamper(t: ZendeskFixture, change: (sealed: string) => Promise<string> | string) {
      await withTenant(database.db, t.tenantId, async (tx) => {
        const [row] = await tx
          .select({ sealed: zendeskConnections.webhookSecret })
          .from(zendeskConnections)
          .where(eq(zendeskConnections.id, t.connectionId));
        await tx
          .update(zendeskConnections)
          .set({ webhookSecret: await change(row!.sealed!) })
          .where(eq(zendeskConnections.id, t.connectionId));
      });
    }
    const connection = async (t: ZendeskFixture) =>
      (
        await withTenant(database.db, t.tenantId, (tx) =>
          tx.select().from(zendeskConnections).where(eq(zendeskConnections.id, t.connectionId)),
        )
      )[0]!;
    const audited = (t: ZendeskFixture) =>
      withTenant(database.db, t.tenantId, async (tx) =>
        (await tx.select().from(auditEvents)).filter(
          (e) => e.action === 'zendesk.webhook_secret_unavailable',
        ),
      );

    it('tampered: 401 webhook_secret_unavailable (not a 5xx), nothing stored, connection marked and audited once', async () => {
      const t = await createZendeskTenant(database.db, vault);
      await tamper(t, (sealed) => {
        const parts = sealed.split('.');
        const ct = parts[3]!;
        parts[3] = `${ct.slice(0, -2)}${ct.endsWith('AA') ? 'BB' : 'AA'}`;
        return parts.join('.');
      });
      for (let i = 0; i < 2; i++) {
        const res = await post(t, body);
        expect(res.status).toBe(401);
        const err = (await res.json()) as ErrorBody;
        expect(err.error.code).toBe('webhook_secret_unavailable');
        expect(err.error.message).toContain('reconnect Zendesk');
      }
      expect(await stored(t)).toEqual({ deliveries: 0, jobs: 0 });
      expect(await connection(t)).toMatchObject({
        status: 'needs_reauth',
        statusDetail: 'webhook_secret_unavailable',
      });
      const events = await audited(t);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        outcome: 'failure',
        target: t.connectionId,
        actor: { type: 'webhook', provider: 'zendesk' },
        detail: { reason: 'does_not_open', status: 'needs_reauth' },
      });
      expect(log.lines.join('\n')).not.toContain(t.secret);
    });

    it("moved from another tenant's row: the same answer, and the other tenant is untouched", async () => {
      const t = await createZendeskTenant(database.db, vault);
      const donor = await createZendeskTenant(database.db, vault);
      const donorSealed = (await connection(donor)).webhookSecret!;
      await tamper(t, () => donorSealed);
      const res = await post(t, body);
      expect(res.status).toBe(401);
      expect(((await res.json()) as ErrorBody).error.code).toBe('webhook_secret_unavailable');
      expect(await connection(t)).toMatchObject({ status: 'needs_reauth' });
      expect(await connection(donor)).toMatchObject({ status: 'active', statusDetail: null });
      expect(await audited(donor)).toEqual([]);
      // Signed with the donor's own secret, the moved ciphertext still opens for nobody but the donor.
      const asDonor = await app.request(`/webhooks/zendesk/${t.hookId}`, {
        method: 'POST',
        body,
        headers: await signedZendeskHeaders(donor.secret, body),
      });
      expect(asDonor.status).toBe(401);
      expect(await stored(t)).toEqual({ deliveries: 0, jobs: 0 });
    });

    it('sealed with a key version that is not configured: the same answer', async () => {
      const t = await createZendeskTenant(database.db, vault);
      await tamper(t, (sealed) => sealed.replace(/^v1\.1\./, 'v1.7.'));
      const res = await post(t, body);
      expect(res.status).toBe(401);
      expect(((await res.json()) as ErrorBody).error.code).toBe('webhook_secret_unavailable');
      expect((await audited(t))[0]?.detail).toMatchObject({ reason: 'key_version' });
    });
  });
});
