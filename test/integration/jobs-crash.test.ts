import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalEffects, jobs } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createWorker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { createLedgerNoteHandler, LEDGER_NOTE_JOB } from '../fixtures/ledger-note-handler.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const hasPostgres = backends().includes('postgres');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

    it('loses no job and makes no external write twice', async () => {
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
      const deadline = Date.now() + 20_000;
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
        handlers: { [LEDGER_NOTE_JOB]: createLedgerNoteHandler({ database, baseUrl: stub.url }) },
        concurrency: 4,
        perTenantConcurrency: 4,
        leaseMs: 1500,
        pollMs: 20,
      });
      const stats = await survivor.runUntilIdle({ timeoutMs: 30_000 });
      expect(stats.succeeded).toBeGreaterThan(0);

      const rows = (
        await Promise.all(tenants.map((t) => withTenant(database.db, t, (tx) => tx.select().from(jobs))))
      ).flat();
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
    });
  },
);
