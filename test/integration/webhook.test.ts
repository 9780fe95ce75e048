import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs, webhookDeliveries, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import type { JobContext } from '../../src/jobs/types.ts';
import { createWorker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import {
  readTicketJob,
  TICKET_JOB_KIND,
  ticketJob,
  ticketJobPayloadSchema,
} from '../../src/pipeline/ticket-job.ts';
import { eventKey } from '../../src/zendesk/trigger-payload.ts';
import { captureLogger, testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import {
  createZendeskTenant,
  signedZendeskHeaders,
  type ZendeskFixture,
  zendeskTimestamp,
} from '../helpers/zendesk-sign.ts';

/** Creating and migrating a database takes seconds, or minutes on a loaded machine: an upper bound only. */
const DB_SETUP_TIMEOUT_MS = 300_000;

type ErrorBody = { error: { code: string; message: string; requestId: string } };

describe.each(backends())('POST /webhooks/zendesk/:hookId on %s', (backend) => {
  let database: TestDatabase;
  const vault = testVault();
  let acme: ZendeskFixture;
  let other: ZendeskFixture;
  let reauth: ZendeskFixture;
  let revoked: ZendeskFixture;
  let unsigned: ZendeskFixture;
  let app: ReturnType<typeof testApp>['app'];
  const log = captureLogger();
  let enqueuedCalls = 0;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    acme = await createZendeskTenant(database.db, vault);
    other = await createZendeskTenant(database.db, vault);
    reauth = await createZendeskTenant(database.db, vault, { status: 'needs_reauth' });
    revoked = await createZendeskTenant(database.db, vault, { status: 'revoked' });
    unsigned = await createZendeskTenant(database.db, vault, { withSecret: false });
    app = testApp(database, { vault, logger: log.logger, jobsEnqueued: () => void enqueuedCalls++ }).app;
  }, DB_SETUP_TIMEOUT_MS);
  afterAll(() => database?.close());

  /** Rows stored for every fixture tenant (each read inside its own tenant scope). */
  async function stored() {
    let deliveries = 0;
    let jobCount = 0;
    for (const t of [acme, other, reauth, revoked, unsigned]) {
      await withTenant(database.db, t.tenantId, async (tx) => {
        deliveries += (await tx.select().from(webhookDeliveries)).length;
        jobCount += (await tx.select().from(jobs)).length;
      });
    }
    return { deliveries, jobs: jobCount };
  }

  async function post(hookId: string, body: string | Uint8Array, headers: Record<string, string>) {
    return app.request(`/webhooks/zendesk/${hookId}`, { method: 'POST', body: body as BodyInit, headers });
  }

  async function expectRefused(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe(code);
    expect(body.error.requestId).toMatch(/^req_/);
    return body;
  }

  it('accepts a signed trigger call: one delivery row and one job, answered 200', async () => {
    const before = await stored();
    const body = JSON.stringify({
      ticket_id: '4242',
      event: 'ticket_created',
      updated_at: '2026-11-23T05:00:00Z',
    });
    const res = await post(
      acme.hookId,
      body,
      await signedZendeskHeaders(acme.secret, body, { invocationId: 'inv-1' }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, duplicate: false });
    expect(await stored()).toEqual({ deliveries: before.deliveries + 1, jobs: before.jobs + 1 });
    const [job] = await withTenant(database.db, acme.tenantId, (tx) => tx.select().from(jobs));
    expect(job).toMatchObject({
      kind: TICKET_JOB_KIND,
      status: 'queued',
      dedupeKey: '4242:ticket_created',
      payload: {
        connectionId: acme.connectionId,
        ticketId: '4242',
        event: 'ticket_created',
        invocationId: 'inv-1',
        eventKey: '4242:ticket_created',
      },
    });
    // What the webhook wrote is exactly the contract the pipeline reads (nothing more, nothing less).
    expect(ticketJobPayloadSchema.parse(job!.payload)).toEqual(job!.payload);
    expect(readTicketJob(job!.payload)).toEqual(job!.payload);
    const [delivery] = await withTenant(database.db, acme.tenantId, (tx) =>
      tx.select().from(webhookDeliveries),
    );
    expect(delivery).toMatchObject({
      invocationId: 'inv-1',
      eventKey: '4242:ticket_created',
      jobId: job?.id,
    });
  });

  it('a replay of the same invocation is a 200 duplicate and stores nothing new', async () => {
    const before = await stored();
    const body = JSON.stringify({
      ticket_id: '4242',
      event: 'ticket_created',
      updated_at: '2026-11-23T05:00:00Z',
    });
    const res = await post(
      acme.hookId,
      body,
      await signedZendeskHeaders(acme.secret, body, { invocationId: 'inv-1' }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, duplicate: true });
    expect(await stored()).toEqual(before);
    // Only the first delivery woke the worker.
    expect(enqueuedCalls).toBe(1);
  });

  it('the same ticket event under a new invocation id (a second send) is one job', async () => {
    const before = await stored();
    // ticket_id as a number this time: the event key is the same.
    const body = JSON.stringify({
      ticket_id: 4242,
      event: 'ticket_created',
      updated_at: '2026-11-23T05:00:09Z',
    });
    const res = await post(
      acme.hookId,
      body,
      await signedZendeskHeaders(acme.secret, body, { invocationId: 'inv-2' }),
    );
    expect(await res.json()).toEqual({ ok: true, duplicate: true });
    expect(await stored()).toEqual(before);
  });

  it('a known invocation id with another event stores nothing new', async () => {
    const before = await stored();
    const body = JSON.stringify({ ticket_id: '31337', event: 'ticket_created' });
    const res = await post(
      acme.hookId,
      body,
      await signedZendeskHeaders(acme.secret, body, { invocationId: 'inv-1' }),
    );
    expect(await res.json()).toEqual({ ok: true, duplicate: true });
    expect(await stored()).toEqual(before);
  });

  it('two comments on one ticket (different stamps) are two jobs', async () => {
    const before = await stored();
    for (const [i, stamp] of ['2026-11-23T05:01:00Z', '2026-11-23T05:02:00Z'].entries()) {
      const body = JSON.stringify({ ticket_id: '4242', event: 'comment_added', updated_at: stamp });
      const res = await post(
        acme.hookId,
        body,
        await signedZendeskHeaders(acme.secret, body, { invocationId: `c-${i}` }),
      );
      expect(await res.json()).toEqual({ ok: true, duplicate: false });
    }
    expect(await stored()).toEqual({ deliveries: before.deliveries + 2, jobs: before.jobs + 2 });
  });

  it('concurrent copies of one invocation make one job', async () => {
    const before = await stored();
    const body = JSON.stringify({ ticket_id: '777', event: 'ticket_created' });
    const headers = await signedZendeskHeaders(acme.secret, body, { invocationId: 'inv-race' });
    const results = await Promise.all(Array.from({ length: 8 }, () => post(acme.hookId, body, headers)));
    const bodies = (await Promise.all(results.map((r) => r.json()))) as { ok: boolean; duplicate: boolean }[];
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    expect(await stored()).toEqual({ deliveries: before.deliveries + 1, jobs: before.jobs + 1 });
  });

  const ticket = JSON.stringify({ ticket_id: '9001', event: 'ticket_created' });

  describe('refusals store nothing', () => {
    const cases: {
      name: string;
      status: number;
      code: string;
      make: () => Promise<{ hookId: string; body: string | Uint8Array; headers: Record<string, string> }>;
    }[] = [
      {
        name: 'forged signature',
        status: 401,
        code: 'invalid_signature',
        make: async () => {
          const headers = await signedZendeskHeaders(acme.secret, ticket);
          headers['x-zendesk-webhook-signature'] = Buffer.alloc(32, 7).toString('base64');
          return { hookId: acme.hookId, body: ticket, headers };
        },
      },
      {
        name: "signed with another tenant's secret",
        status: 401,
        code: 'invalid_signature',
        make: async () => ({
          hookId: acme.hookId,
          body: ticket,
          headers: await signedZendeskHeaders(other.secret, ticket),
        }),
      },
      {
        name: 'body changed after signing (re-serialized JSON)',
        status: 401,
        code: 'invalid_signature',
        make: async () => ({
          hookId: acme.hookId,
          body: JSON.stringify(JSON.parse(ticket), null, 1),
          headers: await signedZendeskHeaders(acme.secret, ticket),
        }),
      },
      {
        name: 'hex instead of base64 signature',
        status: 401,
        code: 'invalid_signature',
        make: async () => {
          const headers = await signedZendeskHeaders(acme.secret, ticket);
          headers['x-zendesk-webhook-signature'] = Buffer.from(
            headers['x-zendesk-webhook-signature']!,
            'base64',
          ).toString('hex');
          return { hookId: acme.hookId, body: ticket, headers };
        },
      },
      {
        name: 'signature timestamp header changed after signing',
        status: 401,
        code: 'invalid_signature',
        make: async () => {
          const headers = await signedZendeskHeaders(acme.secret, ticket);
          headers['x-zendesk-webhook-signature-timestamp'] = zendeskTimestamp(new Date(Date.now() - 1000));
          return { hookId: acme.hookId, body: ticket, headers };
        },
      },
      {
        name: 'stale timestamp (6 minutes old)',
        status: 401,
        code: 'stale_request',
        make: async () => ({
          hookId: acme.hookId,
          body: ticket,
          headers: await signedZendeskHeaders(acme.secret, ticket, { at: new Date(Date.now() - 6 * 60_000) }),
        }),
      },
      {
        name: 'future timestamp (6 minutes ahead)',
        status: 401,
        code: 'stale_request',
        make: async () => ({
          hookId: acme.hookId,
          body: ticket,
          headers: await signedZendeskHeaders(acme.secret, ticket, { at: new Date(Date.now() + 6 * 60_000) }),
        }),
      },
      {
        name: 'unparseable timestamp',
        status: 401,
        code: 'stale_request',
        make: async () => ({
          hookId: acme.hookId,
          body: ticket,
          headers: await signedZendeskHeaders(acme.secret, ticket, {
            timestamp: String(Math.floor(Date.now() / 1000)),
          }),
        }),
      },
      {
        name: 'malformed JSON',
        status: 400,
        code: 'invalid_body',
        make: async () => {
          const body = '{"ticket_id": "1", "event": "ticket_created"';
          return { hookId: acme.hookId, body, headers: await signedZendeskHeaders(acme.secret, body) };
        },
      },
      {
        name: 'wrong shape (free text field)',
        status: 400,
        code: 'invalid_body',
        make: async () => {
          const body = JSON.stringify({ ticket_id: '1', event: 'ticket_created', subject: 'hi' });
          return { hookId: acme.hookId, body, headers: await signedZendeskHeaders(acme.secret, body) };
        },
      },
      {
        name: 'wrong shape (unknown event)',
        status: 400,
        code: 'invalid_body',
        make: async () => {
          const body = JSON.stringify({ ticket_id: '1', event: 'ticket_deleted' });
          return { hookId: acme.hookId, body, headers: await signedZendeskHeaders(acme.secret, body) };
        },
      },
      {
        name: 'not UTF-8',
        status: 400,
        code: 'invalid_body',
        make: async () => {
          const body = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
          return { hookId: acme.hookId, body, headers: await signedZendeskHeaders(acme.secret, body) };
        },
      },
      {
        name: 'missing signature header',
        status: 401,
        code: 'invalid_signature',
        make: async () => {
          const headers = await signedZendeskHeaders(acme.secret, ticket);
          delete headers['x-zendesk-webhook-signature'];
          return { hookId: acme.hookId, body: ticket, headers };
        },
      },
      {
        name: 'missing timestamp header',
        status: 401,
        code: 'invalid_signature',
        make: async () => {
          const headers = await signedZendeskHeaders(acme.secret, ticket);
          delete headers['x-zendesk-webhook-signature-timestamp'];
          return { hookId: acme.hookId, body: ticket, headers };
        },
      },
      {
        name: 'missing invocation id',
        status: 400,
        code: 'bad_request',
        make: async () => ({
          hookId: acme.hookId,
          body: ticket,
          headers: await signedZendeskHeaders(acme.secret, ticket, { invocationId: null }),
        }),
      },
      {
        name: 'unknown hook id',
        status: 404,
        code: 'not_found',
        make: async () => ({
          hookId: 'nosuchhookid000000000000000',
          body: ticket,
          headers: await signedZendeskHeaders(acme.secret, ticket),
        }),
      },
      {
        name: 'malformed hook id',
        status: 404,
        code: 'not_found',
        make: async () => ({
          hookId: 'a%27%3B',
          body: ticket,
          headers: await signedZendeskHeaders(acme.secret, ticket),
        }),
      },
      {
        name: 'revoked connection',
        status: 404,
        code: 'not_found',
        make: async () => ({
          hookId: revoked.hookId,
          body: ticket,
          headers: await signedZendeskHeaders(revoked.secret, ticket),
        }),
      },
      {
        name: 'connection without a signing secret',
        status: 401,
        code: 'invalid_signature',
        make: async () => ({
          hookId: unsigned.hookId,
          body: ticket,
          headers: await signedZendeskHeaders(unsigned.secret, ticket),
        }),
      },
      {
        name: 'oversized body (signed)',
        status: 413,
        code: 'payload_too_large',
        make: async () => {
          const body = JSON.stringify({
            ticket_id: '1',
            event: 'ticket_created',
            updated_at: 'x'.repeat(70_000),
          });
          return { hookId: acme.hookId, body, headers: await signedZendeskHeaders(acme.secret, body) };
        },
      },
    ];

    it.each(cases)('$name -> $status $code', async (c) => {
      const before = await stored();
      const { hookId, body, headers } = await c.make();
      await expectRefused(await post(hookId, body, headers), c.status, c.code);
      expect(await stored()).toEqual(before);
    });

    it('explains a body problem in the message', async () => {
      const body = JSON.stringify({ ticket_id: 'abc', event: 'ticket_created' });
      const res = await post(acme.hookId, body, await signedZendeskHeaders(acme.secret, body));
      const err = await expectRefused(res, 400, 'invalid_body');
      expect(err.error.message).toMatch(/ticket_id/);
    });
  });

  it('a connection that needs re-authorization still gets its events queued', async () => {
    const body = JSON.stringify({ ticket_id: '55', event: 'ticket_created' });
    const res = await post(reauth.hookId, body, await signedZendeskHeaders(reauth.secret, body));
    expect(await res.json()).toEqual({ ok: true, duplicate: false });
    const rows = await withTenant(database.db, reauth.tenantId, (tx) => tx.select().from(jobs));
    expect(rows).toHaveLength(1);
  });

  it('a connection revoked after its hook id was cached is refused at once', async () => {
    const late = await createZendeskTenant(database.db, vault);
    const first = JSON.stringify({ ticket_id: '1', event: 'ticket_created' });
    const ok = await post(late.hookId, first, await signedZendeskHeaders(late.secret, first));
    expect(ok.status).toBe(200);
    await withTenant(database.db, late.tenantId, (tx) =>
      tx.update(zendeskConnections).set({ status: 'revoked' }),
    );
    const body = JSON.stringify({ ticket_id: '2', event: 'ticket_created' });
    await expectRefused(
      await post(late.hookId, body, await signedZendeskHeaders(late.secret, body)),
      404,
      'not_found',
    );
    const rows = await withTenant(database.db, late.tenantId, (tx) => tx.select().from(jobs));
    expect(rows.map((r) => r.dedupeKey)).toEqual(['1:ticket_created']);
  });

  it('a tenant being deleted stores nothing, even while its hook id is cached', async () => {
    const leaving = await createZendeskTenant(database.db, vault);
    const first = JSON.stringify({ ticket_id: '1', event: 'ticket_created' });
    expect(
      (await post(leaving.hookId, first, await signedZendeskHeaders(leaving.secret, first))).status,
    ).toBe(200);
    // Only the tenant's status changes (its connection stays live): the ingest statement checks it.
    await withTenant(database.db, leaving.tenantId, (tx) =>
      tx.execute(
        sql`select public.app_mark_tenant_deleting(${new Date(Date.now() + 86_400_000).toISOString()}::timestamptz, ${new Date().toISOString()}::timestamptz)`,
      ),
    );
    const body = JSON.stringify({ ticket_id: '2', event: 'ticket_created' });
    await expectRefused(
      await post(leaving.hookId, body, await signedZendeskHeaders(leaving.secret, body)),
      404,
      'not_found',
    );
    const rows = await withTenant(database.db, leaving.tenantId, (tx) => tx.select().from(jobs));
    expect(rows.map((r) => r.dedupeKey)).toEqual(['1:ticket_created']);
    const deliveries = await withTenant(database.db, leaving.tenantId, (tx) =>
      tx.select().from(webhookDeliveries),
    );
    expect(deliveries).toHaveLength(1);
  });

  it('a signing secret rotated after its hook id was cached: the new one verifies at once, the old one no longer', async () => {
    const rot = await createZendeskTenant(database.db, vault);
    const first = JSON.stringify({ ticket_id: '1', event: 'ticket_created' });
    expect((await post(rot.hookId, first, await signedZendeskHeaders(rot.secret, first))).status).toBe(200);
    const newSecret = 'rotated-secret-0123456789abcdef0123456789';
    const sealed = await vault.seal(rot.tenantId, 'zendesk_webhook_secret', newSecret);
    await withTenant(database.db, rot.tenantId, (tx) =>
      tx.update(zendeskConnections).set({ webhookSecret: sealed }),
    );
    const second = JSON.stringify({ ticket_id: '2', event: 'ticket_created' });
    const ok = await post(rot.hookId, second, await signedZendeskHeaders(newSecret, second));
    expect(ok.status).toBe(200);
    const third = JSON.stringify({ ticket_id: '3', event: 'ticket_created' });
    await expectRefused(
      await post(rot.hookId, third, await signedZendeskHeaders(rot.secret, third)),
      401,
      'invalid_signature',
    );
    const rows = await withTenant(database.db, rot.tenantId, (tx) => tx.select().from(jobs));
    expect(rows.map((r) => r.dedupeKey).sort()).toEqual(['1:ticket_created', '2:ticket_created']);
  });

  it('never logs the secret, the signature or the body', () => {
    const all = log.lines.join('\n');
    expect(all).toContain('zendesk webhook refused');
    for (const t of [acme, other]) expect(all).not.toContain(t.secret);
    expect(all).not.toContain('9001');
  });

  it('the queued job reaches a zendesk.ticket handler with its payload, in its tenant', async () => {
    const seen: JobContext[] = [];
    const worker = createWorker({
      database,
      logger: createLogger('silent'),
      pollMs: 10,
      handlers: { [TICKET_JOB_KIND]: async (j) => void seen.push(j) },
    });
    await worker.runUntilIdle();
    const acmeJobs = seen.filter((j) => j.tenantId === acme.tenantId);
    expect(acmeJobs.map((j) => j.payload.ticketId).sort()).toEqual(['4242', '4242', '4242', '777']);
    expect(acmeJobs.every((j) => j.payload.connectionId === acme.connectionId)).toBe(true);
    expect(seen.find((j) => j.tenantId === reauth.tenantId)?.payload).toMatchObject({ ticketId: '55' });
    expect(eventKey({ ticket_id: '4242', event: 'ticket_created' })).toBe('4242:ticket_created');
  });
});

describe('the zendesk.ticket job contract', () => {
  const payload = {
    connectionId: 'zc_1',
    ticketId: '4242',
    event: 'comment_added' as const,
    invocationId: 'inv-1',
    eventKey: '4242:comment_added:2026-12-01T12:05:00Z',
  };

  it('ticketJob() keys the job by the event key and refuses what the webhook never writes', () => {
    expect(ticketJob(payload)).toEqual({ kind: TICKET_JOB_KIND, payload, dedupeKey: payload.eventKey });
    expect(() => ticketJob({ ...payload, updatedAt: '2026-12-01T12:05:00Z' } as typeof payload)).toThrow();
    expect(readTicketJob({ ...payload, updatedAt: '2026-12-01T12:05:00Z' })).toBeNull();
    expect(readTicketJob({ ...payload, ticketId: 4242 })).toBeNull();
  });

  it('reads a payload queued before the event key existed, rebuilding the key', () => {
    const { eventKey: _k, ...legacy } = payload;
    expect(readTicketJob(legacy)).toEqual({ ...legacy, eventKey: '4242:comment_added:inv-1' });
    expect(readTicketJob({ ...legacy, event: 'ticket_created' })?.eventKey).toBe('4242:ticket_created');
  });
});
