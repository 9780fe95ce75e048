import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { eq } from 'drizzle-orm';
import type { Miniflare } from 'miniflare';
import { drafts, jobs, slackInstallations, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { createVault, generateMasterKey } from '../../src/tenancy/vault.ts';
import { eventEnvelope, signedSlackRequest } from '../helpers/slack-sign.ts';
import { createZendeskTenant, signedZendeskHeaders } from '../helpers/zendesk-sign.ts';
import { bundleWorker, DEFAULT_PG_ADMIN, freshDatabase, startWorker } from './harness.ts';

/**
 * `npm run test:workerd`: the Worker bundle on local workerd (Miniflare) against PostgreSQL, no
 * network. Checks /healthz, /readyz, a signed Zendesk webhook that becomes a job and a stored
 * draft through waitUntil (Zendesk answered by a local stub at the Worker's outbound fetch), a
 * Slack url_verification and a signed app_uninstalled event, and the cron sweep claiming a job
 * whose lease lapsed. Prints the bundle size and one closing "N passed, N failed" line.
 * Time bounds are wide (CI may be loaded): waits poll the database for up to 90 s.
 */
const adminUrl = process.env.TEST_DATABASE_URL || DEFAULT_PG_ADMIN;
const SIGNING = 'slack-signing-secret-for-the-smoke-test';
const results: { name: string; error?: unknown }[] = [];

async function check(name: string, fn: () => Promise<void>) {
  try {
    await fn();
    results.push({ name });
    process.stdout.write(`  ok    ${name}\n`);
  } catch (error) {
    results.push({ name, error });
    process.stdout.write(`  FAIL  ${name}\n        ${String((error as Error)?.stack ?? error)}\n`);
  }
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fake Zendesk account behind the Worker's outbound fetch; anything unexpected is recorded and fails the run. */
function zendeskStub(subdomain: string) {
  const seen: string[] = [];
  const unexpected: string[] = [];
  const notes: unknown[] = [];
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const line = `${req.method} ${url.hostname}${url.pathname}`;
    seen.push(line);
    if (
      url.hostname !== `${subdomain}.zendesk.com` ||
      req.headers.get('authorization') !== 'Bearer zd-access'
    ) {
      unexpected.push(line);
      return Response.json({ error: 'unexpected request' }, { status: 599 });
    }
    const p = url.pathname;
    if (req.method === 'GET' && p === '/api/v2/tickets/4242.json')
      return Response.json({
        ticket: {
          id: 4242,
          subject: 'Cannot export invoices',
          description: 'Hello, the export button does nothing since yesterday.',
          requester_id: 77,
          organization_id: null,
          brand_id: null,
          via: { channel: 'email' },
          created_at: '2026-11-30T10:00:00Z',
        },
        users: [{ id: 77, name: 'Ada Customer', email: 'ada@customer.example' }],
        organizations: [],
      });
    if (req.method === 'GET' && /^\/api\/v2\/tickets\/4242\/comments\.json$/.test(p))
      return Response.json({ comments: [] });
    if (
      req.method === 'GET' &&
      /^\/api\/v2\/(users|organizations)\/\d+\/tickets(\/requested)?\.json$/.test(p)
    )
      return Response.json({ tickets: [], next_page: null, count: 0 });
    if (req.method === 'PUT' && p === '/api/v2/tickets/4242.json') {
      notes.push(await req.json());
      return Response.json({ ticket: { id: 4242 } });
    }
    unexpected.push(line);
    return Response.json({ error: 'not stubbed' }, { status: 404 });
  };
  return { handler, seen, unexpected, notes };
}

async function main() {
  process.stdout.write(`workerd smoke test (PostgreSQL at ${adminUrl.replace(/\/\/[^@]*@/, '//')})\n`);
  const bundle = await bundleWorker();
  const js = readFileSync(join(bundle.dir, 'worker.js'));
  process.stdout.write(
    `worker bundle: ${(bundle.bytes / 1024).toFixed(1)} KiB, gzip ${(gzipSync(js).length / 1024).toFixed(1)} KiB (wrangler deploy --dry-run)\n`,
  );
  const fresh = await freshDatabase(adminUrl, 'hc_workerd');
  const db = fresh.database.db;
  const key = generateMasterKey();
  const vault = createVault([{ version: 1, key }]);
  let mf: Miniflare | undefined;
  try {
    // A tenant with a provisioned Zendesk connection and a live access token.
    const subdomain = 'acmeworkerd';
    const z = await createZendeskTenant(db, vault, { subdomain });
    const sealedAccess = await vault.seal(z.tenantId, 'zendesk_access_token', 'zd-access');
    await withTenant(db, z.tenantId, (tx) =>
      tx
        .update(zendeskConnections)
        .set({ accessToken: sealedAccess, accessExpiresAt: new Date(Date.now() + 3_600_000) })
        .where(eq(zendeskConnections.id, z.connectionId)),
    );
    // A second tenant with a Slack installation, for the signed event.
    const { id: slackTenant } = await createTenant(db, {
      name: 'Slack tenant',
      actor: { type: 'system', name: 'smoke' },
    });
    const sealedBot = await vault.seal(slackTenant, 'slack_access_token', 'xoxe.xoxb-TSMOKE-access');
    await withTenant(db, slackTenant, (tx) =>
      tx.insert(slackInstallations).values({
        tenantId: slackTenant,
        id: 'si_smoke',
        teamId: 'TSMOKE',
        botUserId: 'UBOT',
        accessToken: sealedBot,
        status: 'active',
        updatedAt: new Date('2023-01-01T00:00:00Z'),
      }),
    );

    const stub = zendeskStub(subdomain);
    mf = await startWorker({
      bundle,
      databaseUrl: fresh.url,
      bindings: {
        PUBLIC_URL: 'https://copilot.example.com',
        ENCRYPTION_KEY: key,
        SLACK_SIGNING_SECRET: SIGNING,
        LOG_LEVEL: 'warn',
      },
      outbound: stub.handler,
    });
    const base = 'https://copilot.example.com';
    const worker = mf;

    await check('GET /healthz answers 200 {ok:true}', async () => {
      const res = await worker.dispatchFetch(`${base}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { ok: true });
    });

    await check('GET /readyz answers 200 with the database and migrations current', async () => {
      const res = await worker.dispatchFetch(`${base}/readyz`);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.match(JSON.stringify(body), /migrations/);
    });

    await check(
      'a signed Zendesk webhook is acked, becomes a job, and waitUntil stores its draft and note',
      async () => {
        const body = JSON.stringify({
          ticket_id: '4242',
          event: 'ticket_created',
          updated_at: '2026-11-30T10:00:00Z',
        });
        const headers = await signedZendeskHeaders(z.secret, body, { invocationId: 'inv-smoke-1' });
        const res = await worker.dispatchFetch(`${base}/webhooks/zendesk/${z.hookId}`, {
          method: 'POST',
          body,
          headers,
        });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { ok: true, duplicate: false });
        const draft = await eventually('the draft', async () => {
          const rows = await withTenant(db, z.tenantId, (tx) => tx.select().from(drafts));
          return rows[0];
        });
        assert.equal(draft.status, 'pending');
        const job = await eventually('the job to be done', async () => {
          const rows = await withTenant(db, z.tenantId, (tx) => tx.select().from(jobs));
          return rows[0]?.status === 'done' ? rows[0] : undefined;
        });
        assert.equal(job.kind, 'zendesk.ticket');
        assert.equal(job.attempts, 1);
        await eventually('the internal note', async () => (stub.notes.length ? true : undefined));
        assert.equal(stub.notes.length, 1);
        assert.match(JSON.stringify(stub.notes[0]), /"public":false/);
        assert.deepEqual(stub.unexpected, []);
      },
    );

    await check('the same invocation again is a duplicate and stores nothing', async () => {
      const body = JSON.stringify({
        ticket_id: '4242',
        event: 'ticket_created',
        updated_at: '2026-11-30T10:00:00Z',
      });
      const headers = await signedZendeskHeaders(z.secret, body, { invocationId: 'inv-smoke-1' });
      const res = await worker.dispatchFetch(`${base}/webhooks/zendesk/${z.hookId}`, {
        method: 'POST',
        body,
        headers,
      });
      assert.deepEqual(await res.json(), { ok: true, duplicate: true });
      const rows = await withTenant(db, z.tenantId, (tx) => tx.select().from(jobs));
      assert.equal(rows.length, 1);
    });

    await check('a webhook with a wrong signature is refused 401 and stores nothing', async () => {
      const body = JSON.stringify({ ticket_id: '4243', event: 'ticket_created' });
      const headers = await signedZendeskHeaders('not-the-secret', body, { invocationId: 'inv-smoke-2' });
      const res = await worker.dispatchFetch(`${base}/webhooks/zendesk/${z.hookId}`, {
        method: 'POST',
        body,
        headers,
      });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_signature');
      const rows = await withTenant(db, z.tenantId, (tx) => tx.select().from(jobs));
      assert.equal(rows.length, 1);
    });

    await check('Slack url_verification is answered with its challenge', async () => {
      const ts = Math.floor(Date.now() / 1000);
      const body = JSON.stringify({ type: 'url_verification', token: 'x', challenge: 'challenge-smoke-123' });
      const res = await worker.dispatchFetch(
        `${base}/slack/events`,
        signedSlackRequest(SIGNING, body, ts) as never,
      );
      assert.equal(res.status, 200);
      assert.match(await res.text(), /challenge-smoke-123/);
    });

    await check(
      'a signed Slack app_uninstalled event revokes the installation; an unsigned one is refused',
      async () => {
        const ts = Math.floor(Date.now() / 1000);
        const body = JSON.stringify(eventEnvelope('TSMOKE', { type: 'app_uninstalled' }));
        const forged = await worker.dispatchFetch(`${base}/slack/events`, {
          ...(signedSlackRequest('wrong-secret', body, ts) as object),
        } as never);
        assert.equal(forged.status, 401);
        let [inst] = await withTenant(db, slackTenant, (tx) => tx.select().from(slackInstallations));
        assert.equal(inst?.status, 'active');
        const res = await worker.dispatchFetch(
          `${base}/slack/events`,
          signedSlackRequest(SIGNING, body, ts) as never,
        );
        assert.equal(res.status, 200);
        [inst] = await withTenant(db, slackTenant, (tx) => tx.select().from(slackInstallations));
        assert.equal(inst?.status, 'revoked');
        assert.equal(inst?.accessToken, null);
      },
    );

    await check('the cron sweep returns a lapsed lease to the queue and runs the job', async () => {
      // A job some worker claimed and abandoned: running, lease lapsed a minute ago.
      // Inserted from Node (so no waitUntil runs it) as a crashed claim.
      await withTenant(db, z.tenantId, (tx) =>
        tx.insert(jobs).values({
          tenantId: z.tenantId,
          id: 'job_lapsed',
          kind: 'zendesk.ticket',
          payload: {
            connectionId: z.connectionId,
            ticketId: '4242',
            event: 'ticket_created',
            invocationId: 'inv-lapsed',
            eventKey: '4242:ticket_created',
          },
          status: 'running',
          attempts: 1,
          leaseOwner: 'crashed-node-worker',
          leaseUntil: new Date(Date.now() - 60_000),
        }),
      );
      const w = (await worker.getWorker()) as unknown as {
        scheduled(o: { cron: string; scheduledTime: Date }): Promise<{ outcome: string }>;
      };
      const r = await w.scheduled({ cron: '* * * * *', scheduledTime: new Date() });
      assert.equal(r.outcome, 'ok');
      const job = await eventually('the lapsed job to be done', async () => {
        const rows = await withTenant(db, z.tenantId, (tx) =>
          tx.select().from(jobs).where(eq(jobs.id, 'job_lapsed')),
        );
        return rows[0]?.status === 'done' ? rows[0] : undefined;
      });
      assert.equal(job.attempts, 2);
      assert.deepEqual(stub.unexpected, []);
    });
  } finally {
    await mf?.dispose().catch(() => {});
    await fresh.drop().catch(() => {});
    await rm(bundle.dir, { recursive: true, force: true });
  }
}

const started = Date.now();
try {
  await main();
} catch (e) {
  results.push({ name: 'setup', error: e });
  process.stdout.write(`  FAIL  setup\n        ${String((e as Error)?.stack ?? e)}\n`);
}
const failed = results.filter((r) => r.error !== undefined).length;
process.stdout.write(`workerd smoke (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
process.stdout.write(`workerd: ${results.length - failed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
