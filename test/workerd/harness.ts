import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Miniflare } from 'miniflare';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { randomToken } from '../../src/lib/ids.ts';

/**
 * Shared by the workerd smoke test and bench/workerd-ack.ts: a fresh PostgreSQL database migrated
 * from Node with the project's migrator, the Worker bundled by `wrangler deploy --dry-run` (as a
 * deploy would bundle it), and that bundle run on local workerd through Miniflare with the
 * database as its Hyperdrive binding. No network: the Worker's outbound fetches go to `outbound`.
 */
const exec = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

export const DEFAULT_PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/test';

export interface FreshDatabase {
  url: string;
  database: Database;
  drop(): Promise<void>;
}

export async function freshDatabase(adminUrl: string, prefix: string): Promise<FreshDatabase> {
  const { default: postgres } = await import('postgres');
  const name = `${prefix}_${randomToken(6)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')}_${Date.now().toString(36)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  await admin.unsafe(`create database "${name}"`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const database = await openDatabase({ url: u.toString(), maxConnections: 4 });
  await database.migrate();
  return {
    url: u.toString(),
    database,
    async drop() {
      await database.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 2 });
    },
  };
}

export interface Bundle {
  dir: string;
  /** Sum of the emitted files, bytes. */
  bytes: number;
}

/** `wrangler deploy --dry-run --outdir`: bundles exactly as a deploy would, with no login or network. */
export async function bundleWorker(): Promise<Bundle> {
  const dir = await mkdtemp(join(tmpdir(), 'hc-worker-'));
  await exec('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', dir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
    timeout: 300_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  let bytes = 0;
  for (const f of await readdir(dir))
    if (f.endsWith('.js') || f.endsWith('.wasm')) bytes += (await stat(join(dir, f))).size;
  return { dir, bytes };
}

/** Hyperdrive (and Miniflare's emulation of it) requires a password; trust auth ignores it. */
function withPassword(url: string): string {
  const u = new URL(url);
  if (!u.password) u.password = 'unused';
  return u.toString();
}

export async function startWorker(opts: {
  bundle: Bundle;
  databaseUrl: string;
  bindings: Record<string, string>;
  outbound: (request: Request) => Promise<Response> | Response;
}): Promise<Miniflare> {
  const toml = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!compatibilityDate) throw new Error('wrangler.toml has no compatibility_date');
  const mf = new Miniflare({
    modules: true,
    scriptPath: join(opts.bundle.dir, 'worker.js'),
    modulesRoot: opts.bundle.dir,
    compatibilityDate,
    compatibilityFlags: ['nodejs_compat'],
    bindings: opts.bindings,
    hyperdrives: { HYPERDRIVE: withPassword(opts.databaseUrl) },
    outboundService: (req: unknown) => opts.outbound(req as unknown as Request) as never,
  });
  await mf.ready;
  return mf;
}
