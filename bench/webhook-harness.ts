/** Shared pieces of bench/webhook-ack.ts and bench/fairness.ts (not a test; run with node). */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { type Database, openDatabase } from '../src/db/client.ts';
import { randomToken } from '../src/lib/ids.ts';
import { createVault, generateMasterKey, type Vault } from '../src/tenancy/vault.ts';
import {
  createZendeskTenant,
  signedZendeskHeaders,
  type ZendeskFixture,
} from '../test/helpers/zendesk-sign.ts';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDb {
  url: string;
  database: Database;
  vault: Vault;
  encryptionKey: string;
  drop(): Promise<void>;
}

/** A fresh, migrated PostgreSQL database for one benchmark run (dropped afterwards). */
export async function createBenchDatabase(): Promise<BenchDb> {
  const { default: postgres } = await import('postgres');
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const name = `hc_bench_${randomToken(6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}`;
  await admin.unsafe(`create database "${name}"`);
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const database = await openDatabase({ url, maxConnections: 4 });
  await database.migrate();
  const encryptionKey = generateMasterKey();
  return {
    url,
    database,
    vault: createVault([{ version: 1, key: encryptionKey }]),
    encryptionKey,
    async drop() {
      await database.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 2 });
    },
  };
}

export async function createTenants(db: BenchDb, n: number): Promise<ZendeskFixture[]> {
  const out: ZendeskFixture[] = [];
  for (let i = 0; i < n; i++) out.push(await createZendeskTenant(db.database.db, db.vault));
  return out;
}

export interface BenchServer {
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns bench/webhook-server.ts (the real app on @hono/node-server) against `db`. */
export async function startServer(db: BenchDb, env: Record<string, string> = {}): Promise<BenchServer> {
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the server process.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, new URL('./webhook-server.ts', import.meta.url).pathname],
    {
      env: { ...process.env, DATABASE_URL: db.url, ENCRYPTION_KEY: db.encryptionKey, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    lines.on('line', (l) => {
      try {
        const m = JSON.parse(l) as { port?: number };
        if (m.port) resolve(m.port);
      } catch {}
    });
  });
  return {
    port,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface PreparedRequest {
  tenant: ZendeskFixture;
  ticketId: number;
  body: string;
  headers: Record<string, string>;
  /** A control request instead: `GET /healthz` (no database), to measure the machine's own noise. */
  control?: boolean;
}

/** A signed trigger call (signed now; the run must finish within the 5-minute freshness window). */
export async function prepareRequest(tenant: ZendeskFixture, ticketId: number): Promise<PreparedRequest> {
  const body = JSON.stringify({ ticket_id: String(ticketId), event: 'ticket_created' });
  return {
    tenant,
    ticketId,
    body,
    headers: await signedZendeskHeaders(tenant.secret, body, {
      invocationId: `bench-${ticketId}-${randomToken(4)}`,
    }),
  };
}

export interface Sample {
  control: boolean;
  ticketId: number;
  tenantId: string;
  sentAt: number;
  ms: number;
  status: number;
}

/**
 * Open-loop load: request i is sent at start + i/rate seconds whatever the earlier ones are doing
 * (so a slow server shows up as latency, not as a lower rate), with at most `maxInFlight` pending
 * (beyond that a request is counted as skipped).
 */
export async function runOpenLoop(
  port: number,
  schedule: { at: number; req: PreparedRequest }[],
  maxInFlight = 512,
): Promise<{ samples: Sample[]; skipped: number; errors: number; elapsedMs: number }> {
  const samples: Sample[] = [];
  let inFlight = 0;
  let skipped = 0;
  let errors = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (const { at, req } of schedule) {
    const wait = t0 + at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= maxInFlight) {
      skipped++;
      continue;
    }
    inFlight++;
    const sentAt = performance.now();
    pending.push(
      (req.control
        ? fetch(`http://127.0.0.1:${port}/healthz`)
        : fetch(`http://127.0.0.1:${port}/webhooks/zendesk/${req.tenant.hookId}`, {
            method: 'POST',
            headers: req.headers,
            body: req.body,
          })
      )
        .then(async (res) => {
          await res.arrayBuffer();
          samples.push({
            control: req.control === true,
            ticketId: req.ticketId,
            tenantId: req.tenant.tenantId,
            sentAt,
            ms: performance.now() - sentAt,
            status: res.status,
          });
        })
        .catch(() => {
          errors++;
        })
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(pending);
  return { samples, skipped, errors, elapsedMs: performance.now() - t0 };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const median = (values: number[]) => percentile(values, 50);
export const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
