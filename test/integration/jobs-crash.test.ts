import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drafts, externalEffects, jobs } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createWorker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { ticketJob } from '../../src/pipeline/ticket-job.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { createVault, generateMasterKey } from '../../src/tenancy/vault.ts';
import { createLedgerNoteHandler, LEDGER_NOTE_JOB } from '../fixtures/ledger-note-handler.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createZendeskTenant } from '../helpers/zendesk-sign.ts';

const hasPostgres = backends().includes('postgres');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Generous: these spawn processes on a shared machine; the loops inside have their own bounds. */
const CRASH_TEST_TIMEOUT_MS = 300_000;

/** The "remote" the handler writes to: counts writes per idempotency key, answers slowly. */
function startStub(delayMs: number) {
  const posts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    if (req.method === 'GET' && url.pathname.startsWith('/notes/')) {
      const key = decodeURIComponent(url.pathname.slice('/notes/'.length));
      res.writeHead(posts.has(key) ? 200 : 404).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/notes') {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const { key } = JSON.parse(body) as { key: string };
        posts.set(key, (posts.get(key) ?? 0) + 1);
        setTimeout(() => res.writeHead(201).end(), delayMs);
      });
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise<{ server: Server; url: string; posts: Map<string, number> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, posts });
    });
  });
}

/**
 * Just enough of a Zendesk account for the ticket pipeline, at /<subdomain>/api/v2/...: one
 * requester, no organization; internal notes (PUT ticket with a comment) are counted per ticket
 * and answered slowly, and the ticket's comments list returns them (the pipeline's reconcile).
 */
function startZendeskStub(delayMs: number) {
  const notes = new Map<string, string[]>();
  const unexpected: string[] = [];
  const requester = { id: 5001, name: 'Pat Doe', email: 'pat@example.com' };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://stub').pathname.replace(/^\/[a-z0-9-]+/, '');
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.authorization !== 'Bearer stub-zendesk-token') return json(401, { error: 'auth' });
    let m = /^\/api\/v2\/tickets\/(\d+)\.json$/.exec(path);
    if (m && req.method === 'GET') {
      return json(200, {
        ticket: {
          id: Number(m[1]),
          subject: 'Cannot export invoices',
          description: 'Hello, the export button does nothing.',
          requester_id: requester.id,
          organization_id: null,
          brand_id: null,
          via: { channel: 'email' },
          created_at: '2026-11-23T05:00:00Z',
        },
        users: [requester],
        organizations: [],
      });
    }
    if (m && req.method === 'PUT') {
      const id = m[1]!;
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const parsed = JSON.parse(body) as { ticket?: { comment?: { body?: string } } };
        notes.set(id, [...(notes.get(id) ?? []), parsed.ticket?.comment?.body ?? '']);
        setTimeout(() => json(200, { ticket: { id: Number(id) } }), delayMs);
      });
      return;
    }
    m = /^\/api\/v2\/tickets\/(\d+)\/comments\.json$/.exec(path);
    if (m && req.method === 'GET') {
      return json(200, {
        comments: (notes.get(m[1]!) ?? []).map((b, i) => ({ id: i + 1, body: b, public: false })),
      });
    }
    if (/^\/api\/v2\/users\/\d+\/tickets\/requested\.json$/.test(path)) return json(200, { tickets: [] });
    unexpected.push(`${req.method} ${path}`);
    return json(404, { error: 'RecordNotFound' });
  });
  return new Promise<{ server: Server; url: string; notes: Map<string, string[]>; unexpected: string[] }>(
    (resolve) => {
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        resolve({ server, url: `http://127.0.0.1:${port}`, notes, unexpected });
      });
    },
  );
}

function spawnWorker(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  return { child, exited, stderr: () => stderr };
}

describe.skipIf(!hasPostgres)(
  'a worker process killed mid-batch (PostgreSQL only: a second process cannot open the in-memory PGlite database)',
  () => {
    let database: TestDatabase;
    let stub: Awaited<ReturnType<typeof startStub>>;
    let child: ChildProcess | undefined;

    beforeAll(async () => {
      database = await createTestDatabase('postgres');
      stub = await startStub(120);
    });
    afterAll(async () => {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await new Promise((r) => stub?.server.close(r));
      await database?.close();
    });

    it(
      'loses no job and makes no external write twice',
      async () => {
        const n = 40;
        const queue = createJobQueue();
        const tenants = [
          (await createTenant(database.db, { name: 'A', actor: { type: 'system', name: 'test' } })).id,
          (await createTenant(database.db, { name: 'B', actor: { type: 'system', name: 'test' } })).id,
        ];
        for (const [ti, t] of tenants.entries()) {
          await withTenant(database.db, t, async (tx) => {
            for (let i = ti; i < n; i += 2)
              await queue.enqueue(tx, t, { kind: LEDGER_NOTE_JOB, payload: { n: i } });
          });
        }

        child = spawn(process.execPath, ['test/fixtures/job-worker-child.ts'], {
          env: {
            ...process.env,
            DATABASE_URL: database.url,
            STUB_URL: stub.url,
            LEASE_MS: '1500',
            EFFECT_LEASE_MS: '1000',
            CONCURRENCY: '4',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr?.on('data', (d) => {
          stderr += String(d);
        });
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          child?.on('exit', (_c, sig) => resolve(sig)),
        );

        // Kill it in the middle of the batch: some notes written, others claimed or in flight.
        // Deadlines here are upper bounds for a stuck run, not expectations of speed.
        const deadline = Date.now() + 90_000;
        while (stub.posts.size < 10) {
          if (Date.now() > deadline || child.exitCode !== null)
            throw new Error(`child did not get going: ${stderr}`);
          await sleep(5);
        }
        child.kill('SIGKILL');
        expect(await exited).toBe('SIGKILL');
        const writtenBeforeKill = stub.posts.size;
        expect(writtenBeforeKill).toBeLessThan(n);

        const leftover = await Promise.all(
          tenants.map((t) => withTenant(database.db, t, (tx) => tx.select().from(jobs))),
        );
        const runningAtKill = leftover.flat().filter((j) => j.status === 'running').length;
        expect(runningAtKill).toBeGreaterThan(0);

        // Another worker takes over: the dead process's leases lapse and its jobs run again.
        const survivor = createWorker({
          database,
          logger: createLogger('silent'),
          handlers: {
            [LEDGER_NOTE_JOB]: createLedgerNoteHandler({ database, baseUrl: stub.url, effectLeaseMs: 1000 }),
          },
          concurrency: 4,
          perTenantConcurrency: 4,
          leaseMs: 1500,
          pollMs: 20,
        });
        // A rerun that finds a dead worker's effect claim not yet lapsed is rescheduled until it
        // has; so run until every job is finished, not just until nothing is due right now.
        const allRows = async () =>
          (
            await Promise.all(tenants.map((t) => withTenant(database.db, t, (tx) => tx.select().from(jobs))))
          ).flat();
        let succeeded = 0;
        for (;;) {
          succeeded += (await survivor.runUntilIdle({ timeoutMs: 90_000 })).succeeded - succeeded;
          if ((await allRows()).every((j) => j.status === 'done' || j.status === 'dead')) break;
          if (Date.now() > deadline + 90_000) throw new Error('survivor did not finish the jobs');
          await sleep(100);
        }
        expect(succeeded).toBeGreaterThan(0);

        const rows = await allRows();
        expect(rows).toHaveLength(n);
        expect(rows.every((j) => j.status === 'done')).toBe(true);
        // The kill interrupted at least one job, which ran again.
        expect(rows.filter((j) => j.attempts > 1).length).toBeGreaterThan(0);

        // Every note written exactly once, none lost.
        expect(stub.posts.size).toBe(n);
        expect([...stub.posts.entries()].filter(([, count]) => count !== 1)).toEqual([]);
        const effects = (
          await Promise.all(
            tenants.map((t) => withTenant(database.db, t, (tx) => tx.select().from(externalEffects))),
          )
        ).flat();
        expect(effects).toHaveLength(n);
        expect(effects.every((e) => e.status === 'done')).toBe(true);
        // The kill came right after a write reached the stub and before its answer: that job's
        // rerun found its ledger key 'started' and asked the stub instead of writing again.
        const reconciled = effects.filter((e) => (e.result as { reconciled?: boolean } | null)?.reconciled);
        expect(reconciled.length).toBeGreaterThan(0);
      },
      CRASH_TEST_TIMEOUT_MS,
    );

    it(
      'with the real zendesk.ticket pipeline: one draft and one internal note per ticket',
      async () => {
        const n = 24;
        const zd = await startZendeskStub(150);
        const key = generateMasterKey();
        const vault = createVault([{ version: 1, key }]);
        const workers: ReturnType<typeof spawnWorker>[] = [];
        try {
          const conn = await createZendeskTenant(database.db, vault);
          const queue = createJobQueue();
          await withTenant(database.db, conn.tenantId, async (tx) => {
            for (let i = 0; i < n; i++) {
              const ticketId = String(7000 + i);
              await queue.enqueue(
                tx,
                conn.tenantId,
                ticketJob({
                  connectionId: conn.connectionId,
                  ticketId,
                  event: 'ticket_created',
                  invocationId: `inv-${i}`,
                  eventKey: `${ticketId}:ticket_created`,
                }),
              );
            }
          });
          const env = {
            DATABASE_URL: database.url!,
            STUB_URL: zd.url,
            ENCRYPTION_KEY: key,
            LEASE_MS: '1500',
            EFFECT_LEASE_MS: '1000',
            CONCURRENCY: '4',
          };
          const first = spawnWorker('test/fixtures/ticket-worker-child.ts', { ...env, WORKER_ID: 'first' });
          workers.push(first);
          // Upper bounds for a stuck run, not expectations of speed.
          const deadline = Date.now() + 90_000;
          const posted = () => [...zd.notes.values()].reduce((k, v) => k + v.length, 0);
          while (posted() < 6) {
            if (Date.now() > deadline || first.child.exitCode !== null)
              throw new Error(`first worker did not get going: ${first.stderr()}`);
            await sleep(5);
          }
          first.child.kill('SIGKILL');
          expect(await first.exited).toBe('SIGKILL');
          expect(posted()).toBeLessThan(n);

          const second = spawnWorker('test/fixtures/ticket-worker-child.ts', { ...env, WORKER_ID: 'second' });
          workers.push(second);
          const rowsNow = () => withTenant(database.db, conn.tenantId, (tx) => tx.select().from(jobs));
          for (;;) {
            const rows = await rowsNow();
            if (rows.every((j) => j.status === 'done' || j.status === 'dead')) break;
            if (Date.now() > deadline + 90_000 || second.child.exitCode !== null)
              throw new Error(`second worker did not finish: ${second.stderr()}`);
            await sleep(50);
          }
          const rows = await rowsNow();
          expect(rows.map((j) => [j.status, j.lastError])).toEqual(rows.map(() => ['done', null]));
          expect(rows.filter((j) => j.attempts > 1).length).toBeGreaterThan(0);
          // One internal note per ticket, none lost, none twice; every note names its draft.
          expect(zd.unexpected).toEqual([]);
          expect(zd.notes.size).toBe(n);
          expect([...zd.notes.entries()].filter(([, list]) => list.length !== 1)).toEqual([]);
          const stored = await withTenant(database.db, conn.tenantId, (tx) => tx.select().from(drafts));
          expect(stored).toHaveLength(n);
          for (const d of stored) expect(zd.notes.get(d.ticketId!)?.[0]).toContain(`[copilot:${d.id}]`);
          // The note in flight at the kill was found among the ticket's comments, not posted again.
          const effects = await withTenant(database.db, conn.tenantId, (tx) =>
            tx.select().from(externalEffects),
          );
          expect(effects.filter((e) => e.status === 'done')).toHaveLength(n);
          expect(
            effects.filter((e) => (e.result as { reconciled?: boolean } | null)?.reconciled).length,
          ).toBeGreaterThan(0);
        } finally {
          for (const w of workers)
            if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
          await new Promise((r) => zd.server.close(r));
        }
      },
      CRASH_TEST_TIMEOUT_MS,
    );
  },
);
