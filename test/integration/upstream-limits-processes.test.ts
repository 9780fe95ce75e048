import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drafts, externalEffects, jobs, upstreamLimits, upstreamUsage } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { ticketJob } from '../../src/pipeline/ticket-job.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { createVault, generateMasterKey } from '../../src/tenancy/vault.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createZendeskTenant } from '../helpers/zendesk-sign.ts';

/**
 * The shared limits across real processes: two node children (test/fixtures/limiter-child.ts),
 * each with its own pool on the database as the runtime role, take Zendesk permits for the same
 * tenants at the same fixed clock (no refill). Between them they are granted exactly one bucket
 * per tenant, and a 429 recorded in one process pauses the tenant in the other. Then the ticket
 * pipeline's worker (test/fixtures/ticket-worker-child.ts with the limiter) killed while its
 * tenant's Zendesk answers 429 and 503: a second worker finishes, nothing lost, no note twice.
 */
const hasPostgres = backends().includes('postgres');
const system = { type: 'system', name: 'test' } as const;
/** The default Zendesk bucket: 200 a minute x 0.8 headroom = 160/min, 10 s of burst = 26.67 tokens. */
const ZENDESK_BUCKET = Math.floor(((200 * 0.8) / 60) * 10);
/** Upper bound for a stuck child, not an expectation of speed. */
const TIMEOUT_MS = 120_000;

interface Answer {
  id: number;
  error?: string;
  [k: string]: unknown;
}

interface TakeAnswer extends Answer {
  granted: number;
  refused: Record<string, number>;
}

/** One child process and a request/answer channel over its stdin/stdout. */
function spawnLimiterChild(url: string) {
  const child: ChildProcess = spawn(process.execPath, ['test/fixtures/limiter-child.ts'], {
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  const waiting = new Map<number, (a: Answer) => void>();
  let readyResolve: () => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    child.once('exit', (code) => reject(new Error(`limiter child exited with ${code}: ${stderr}`)));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as Answer & { ready?: boolean };
    if (msg.ready) return readyResolve();
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  let next = 0;
  return {
    child,
    ready,
    ask<T extends Answer = Answer>(command: Record<string, unknown>): Promise<T> {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, (a) => (a.error ? reject(new Error(`${a.error}\n${stderr}`)) : resolve(a as T)));
        child.stdin!.write(`${JSON.stringify({ id, ...command })}\n`);
      });
    },
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Just enough of one Zendesk account for the ticket pipeline (as in jobs-crash.test.ts): one
 * requester, no organization, notes (PUT ticket) counted per ticket and listed back as comments.
 * While `faults` holds answers, each request takes the next one instead (a status and headers).
 */
function startFaultyZendesk() {
  const notes = new Map<string, string[]>();
  const faults: { status: number; headers?: Record<string, string> }[] = [];
  const answered = { fault: new Map<number, number>(), ok: 0 };
  const requester = { id: 5001, name: 'Pat Doe', email: 'pat@example.com' };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://stub').pathname.replace(/^\/[a-z0-9-]+/, '');
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const fault = faults.shift();
    if (fault) {
      answered.fault.set(fault.status, (answered.fault.get(fault.status) ?? 0) + 1);
      req.resume();
      return res.writeHead(fault.status, fault.headers ?? {}).end();
    }
    answered.ok++;
    let m = /^\/api\/v2\/tickets\/(\d+)\.json$/.exec(path);
    if (m && req.method === 'GET')
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
    if (m && req.method === 'PUT') {
      const id = m[1]!;
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const parsed = JSON.parse(body) as { ticket?: { comment?: { body?: string } } };
        notes.set(id, [...(notes.get(id) ?? []), parsed.ticket?.comment?.body ?? '']);
        setTimeout(() => json(200, { ticket: { id: Number(id) } }), 150);
      });
      return;
    }
    m = /^\/api\/v2\/tickets\/(\d+)\/comments\.json$/.exec(path);
    if (m && req.method === 'GET')
      return json(200, {
        comments: (notes.get(m[1]!) ?? []).map((b, i) => ({ id: i + 1, body: b, public: false })),
      });
    if (/^\/api\/v2\/users\/\d+\/tickets\/requested\.json$/.test(path)) return json(200, { tickets: [] });
    return json(404, { error: 'RecordNotFound' });
  });
  return new Promise<{
    server: Server;
    url: string;
    notes: Map<string, string[]>;
    faults: typeof faults;
    answered: typeof answered;
  }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, url: `http://127.0.0.1:${port}`, notes, faults, answered });
    });
  });
}

function spawnWorker(env: Record<string, string>) {
  const child = spawn(process.execPath, ['test/fixtures/ticket-worker-child.ts'], {
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
  'upstream limits across two processes (PostgreSQL only: a second process cannot open the in-memory PGlite database)',
  () => {
    let database: TestDatabase;
    const children: ReturnType<typeof spawnLimiterChild>[] = [];
    beforeAll(async () => {
      database = await createTestDatabase('postgres');
    });
    afterAll(async () => {
      for (const c of children) c.stop();
      await database?.close();
    });

    it(
      'grant exactly one bucket per tenant between them, and a 429 recorded in one pauses the tenant in the other',
      async () => {
        const t1 = (await createTenant(database.db, { name: 'One', actor: system })).id;
        const t2 = (await createTenant(database.db, { name: 'Two', actor: system })).id;
        const [p, q] = [spawnLimiterChild(database.url!), spawnLimiterChild(database.url!)];
        children.push(p, q);
        await Promise.all([p.ready, q.ready]);

        // Both processes at once, at one fixed clock: 40 acquires each for tenant 1, 15 each for tenant 2.
        const nowMs = Date.parse('2026-12-02T10:00:00Z');
        const take = (c: typeof p, tenantId: string, n: number) =>
          c.ask<TakeAnswer>({ op: 'take', tenantId, n, nowMs });
        const [p1, q1, p2, q2] = await Promise.all([
          take(p, t1, 40),
          take(q, t1, 40),
          take(p, t2, 15),
          take(q, t2, 15),
        ]);
        expect(ZENDESK_BUCKET).toBe(26);
        expect(p1.granted + q1.granted).toBe(ZENDESK_BUCKET);
        expect(p2.granted + q2.granted).toBe(ZENDESK_BUCKET);
        // Every refusal is the bucket being empty, none an error.
        for (const a of [p1, q1, p2, q2])
          expect(Object.keys(a.refused).every((k) => k === 'rate_limit')).toBe(true);
        expect((p1.refused.rate_limit ?? 0) + (q1.refused.rate_limit ?? 0)).toBe(80 - ZENDESK_BUCKET);
        // The database agrees: what the tenant's usage counted, and what is left in its bucket.
        for (const [tenantId, asked] of [
          [t1, 80],
          [t2, 30],
        ] as const) {
          const [u] = await withTenant(database.db, tenantId, (tx) => tx.select().from(upstreamUsage));
          expect(u).toMatchObject({
            upstream: 'zendesk',
            calls: ZENDESK_BUCKET,
            deferred: asked - ZENDESK_BUCKET,
          });
          const [row] = await withTenant(database.db, tenantId, (tx) => tx.select().from(upstreamLimits));
          expect(row!.tokens).toBeGreaterThanOrEqual(0);
          expect(row!.tokens).toBeLessThan(1);
        }

        // A minute later the buckets are full again. Process p gets a 429 for tenant 1 (Retry-After 30 s).
        const later = nowMs + 60_000;
        await p.ask({ op: 'throttle', tenantId: t1, nowMs: later, retryAtMs: later + 30_000 });
        // Process q's next acquire for tenant 1 is refused as paused, until that moment; tenant 2 is not paused.
        expect(await q.ask({ op: 'acquire', tenantId: t1, nowMs: later })).toMatchObject({
          granted: false,
          reason: 'paused',
          retryAtMs: later + 30_000,
        });
        expect(await q.ask({ op: 'acquire', tenantId: t1, nowMs: later + 29_000 })).toMatchObject({
          granted: false,
          reason: 'paused',
          retryAtMs: later + 30_000,
        });
        expect(await q.ask({ op: 'acquire', tenantId: t2, nowMs: later })).toMatchObject({ granted: true });
        // At Retry-After, either process may call again.
        expect(await q.ask({ op: 'acquire', tenantId: t1, nowMs: later + 30_000 })).toMatchObject({
          granted: true,
        });
        const [u1] = await withTenant(database.db, t1, (tx) => tx.select().from(upstreamUsage));
        expect(u1).toMatchObject({ throttled: 1 });
      },
      TIMEOUT_MS,
    );

    it('a ticket worker with the limiter, killed while its tenant’s Zendesk answers 429 then 503: the next worker drafts every ticket once, one note each', async () => {
      const n = 16;
      const zd = await startFaultyZendesk();
      const key = generateMasterKey();
      const vault = createVault([{ version: 1, key }]);
      const workers: ReturnType<typeof spawnWorker>[] = [];
      try {
        const conn = await createZendeskTenant(database.db, vault);
        const queue = createJobQueue();
        await withTenant(database.db, conn.tenantId, async (tx) => {
          for (let i = 0; i < n; i++) {
            const ticketId = String(8000 + i);
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
          LIMITS: '1',
        };
        const first = spawnWorker({ ...env, WORKER_ID: 'first' });
        workers.push(first);
        // Upper bounds for a stuck run, not expectations of speed.
        const deadline = Date.now() + 90_000;
        const posted = () => [...zd.notes.values()].reduce((k, v) => k + v.length, 0);
        while (posted() < 3) {
          if (Date.now() > deadline || first.child.exitCode !== null)
            throw new Error(`first worker did not get going: ${first.stderr()}`);
          await sleep(5);
        }
        // Then Zendesk throttles (Retry-After 2 s: every process pauses this tenant) and fails
        // three times (fewer than the breaker's threshold); the kill lands while that goes on.
        zd.faults.push(
          { status: 429, headers: { 'retry-after': '2' } },
          { status: 503 },
          { status: 503 },
          { status: 503 },
        );
        // Killed once the 429 is recorded (the pause is in the database) and the first 503 answered.
        const throttleRecorded = async () =>
          ((await withTenant(database.db, conn.tenantId, (tx) => tx.select().from(upstreamUsage)))[0]
            ?.throttled ?? 0) > 0;
        while (zd.faults.length > 2 || !(await throttleRecorded())) {
          if (Date.now() > deadline || first.child.exitCode !== null)
            throw new Error(`first worker met no fault: ${first.stderr()}`);
          await sleep(5);
        }
        first.child.kill('SIGKILL');
        expect(await first.exited).toBe('SIGKILL');
        expect(posted()).toBeLessThan(n);

        const second = spawnWorker({ ...env, WORKER_ID: 'second' });
        workers.push(second);
        const rowsNow = () => withTenant(database.db, conn.tenantId, (tx) => tx.select().from(jobs));
        for (;;) {
          const rows = await rowsNow();
          if (rows.every((j) => j.status === 'done' || j.status === 'dead')) break;
          if (Date.now() > deadline + 90_000 || second.child.exitCode !== null)
            throw new Error(`second worker did not finish: ${second.stderr()}`);
          await sleep(50);
        }
        // Every fault was answered: one 429, three 503s.
        expect(zd.faults).toHaveLength(0);
        expect(Object.fromEntries(zd.answered.fault)).toEqual({ 429: 1, 503: 3 });
        const rows = await rowsNow();
        expect(rows.map((j) => j.status)).toEqual(rows.map(() => 'done'));
        // One internal note per ticket, none lost, none twice; every note names its draft.
        expect(zd.notes.size).toBe(n);
        expect([...zd.notes.entries()].filter(([, list]) => list.length !== 1)).toEqual([]);
        const stored = await withTenant(database.db, conn.tenantId, (tx) => tx.select().from(drafts));
        expect(stored).toHaveLength(n);
        for (const d of stored) expect(zd.notes.get(d.ticketId!)?.[0]).toContain(`[copilot:${d.id}]`);
        const effects = await withTenant(database.db, conn.tenantId, (tx) =>
          tx.select().from(externalEffects),
        );
        expect(effects.filter((e) => e.status === 'done')).toHaveLength(n);
        // The shared limits saw it: the 429 paused the tenant, the 503s counted as failures.
        const [u] = await withTenant(database.db, conn.tenantId, (tx) => tx.select().from(upstreamUsage));
        // The 429 was recorded before the kill (the kill waits for it). A 503 answered to the killed
        // process may have died with it unrecorded (on a loaded machine two did), so the failures
        // are at most the three answered; none is counted twice.
        expect(u).toMatchObject({ upstream: 'zendesk', throttled: 1 });
        expect(u!.failures).toBeLessThanOrEqual(3);
        const [limit] = await withTenant(database.db, conn.tenantId, (tx) =>
          tx.select().from(upstreamLimits),
        );
        expect(limit).toMatchObject({ breaker: 'closed', failures: 0 });
      } finally {
        for (const w of workers)
          if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await new Promise((r) => zd.server.close(r));
      }
    }, 300_000);
  },
);
