import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.ts';
import { DataDirLocked, LOCK_FILE, lockDataDir } from '../../src/entry/data-lock.ts';

/**
 * A newcomer's first hour, with the real entry points as child processes: the Node floor, the
 * README's start on `.env.example`, a port in use, a second process on the same data folder,
 * `--help` of every CLI, and stopping `npm start` with SIGTERM / SIGINT.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  scripts: Record<string, string>;
};
// This Node first on PATH, so `npm` (a `#!/usr/bin/env node` script) runs under it too.
const PATH24 = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);
const temps: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'hc-newcomer-'));
  temps.push(d);
  return d;
};
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A child with a minimal environment: PATH, HOME and what the test gives (nothing from a .env). */
function start(cmd: string, args: string[], env: Record<string, string>, path = PATH24, cwd = ROOT) {
  const child = spawn(cmd, args, {
    cwd,
    // DATABASE_URL empty (= unset) so that a developer's ./.env cannot point a child elsewhere.
    env: { PATH: path, HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'warn', DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (b: Buffer) => {
    out.stdout += b.toString();
  });
  child.stderr!.on('data', (b: Buffer) => {
    out.stderr += b.toString();
  });
  const done = new Promise<Run>((res) => child.on('close', (code, signal) => res({ code, signal, ...out })));
  return { child, out, done };
}

const run = (cmd: string, args: string[], env: Record<string, string> = {}, path?: string) =>
  start(cmd, args, env, path).done;

/** Resolves when `predicate` holds on the output so far; rejects if the child exits first. */
async function waitFor(p: ReturnType<typeof start>, predicate: () => boolean, what: string) {
  let exited: Run | undefined;
  void p.done.then((r) => {
    exited = r;
  });
  for (;;) {
    if (predicate()) return;
    if (exited) throw new Error(`exited before ${what}: ${JSON.stringify(exited)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port that was free a moment ago (the entries refuse PORT=0). */
function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

/** Every process below `pid`, read from /proc (Linux). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Running (not a zombie awaiting its parent) and not gone. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const floor = /^>=(\d+\.\d+)$/.exec(pkg.engines.node)?.[1];

describe('the Node version floor', () => {
  it('is one number in engines, check-node, use-node.sh and the README', () => {
    expect(floor).toBe('22.19');
    const useNode = readFileSync(join(ROOT, 'scripts/use-node.sh'), 'utf8');
    expect(useNode).toContain(`Node >= ${floor}`);
    expect(useNode).toContain('a===22&&b>=19');
    expect(useNode.match(/22\.\d+/g)?.every((v) => v === floor)).toBe(true);
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(`Node.js >= ${floor}`);
    expect(readme.match(/Node(?:\.js)? >= ?22\.\d+/g)?.every((v) => v.endsWith(floor!))).toBe(true);
  });

  it('every npm script runs the version check first', () => {
    const names = Object.keys(pkg.scripts).filter((n) => !n.startsWith('pre'));
    expect(names.length).toBeGreaterThan(10);
    for (const n of names) expect(pkg.scripts[`pre${n}`], n).toBe('node scripts/check-node.cjs');
  });

  const old = '/usr/bin/node';
  it.skipIf(!existsSync(old) || !existsSync('/usr/bin/npm'))(
    'on an older Node (/usr/bin/node), every npm script prints one line naming the version and fails',
    async () => {
      const version = (await run(old, ['--version'], {}, '/usr/bin:/bin')).stdout.trim();
      const [major, minor] = version.slice(1).split('.').map(Number) as [number, number];
      if (major > 22 || (major === 22 && minor >= 19)) return; // not an old Node here
      const names = Object.keys(pkg.scripts).filter((n) => !n.startsWith('pre'));
      const results: [string, Run][] = [];
      // Two at a time: npm's own start-up is most of each run.
      for (let i = 0; i < names.length; i += 2) {
        const batch = names.slice(i, i + 2);
        results.push(
          ...(await Promise.all(
            batch.map(
              async (n) =>
                [n, await run('npm', ['run', n, '--', '--help'], {}, '/usr/bin:/bin')] as [string, Run],
            ),
          )),
        );
      }
      for (const [name, r] of results) {
        expect(r.code, name).not.toBe(0);
        const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() && !l.startsWith('> ')); // npm's own "> pkg@v prescript" banner
        expect(lines, name).toEqual([
          `helpdesk-copilot needs Node.js >= ${floor} (this is ${version}): install Node 24, or run \`. scripts/use-node.sh\` (Linux x64) and try again.`,
        ]);
      }
    },
    120_000,
  );
});

describe('.env.example', () => {
  it('parses as a valid configuration as it is (empty means unset)', () => {
    const env = parseEnv(readFileSync(join(ROOT, '.env.example'), 'utf8'));
    const config = parseConfig(env);
    expect(config.PUBLIC_URL).toBe('http://127.0.0.1:8787');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.ENCRYPTION_KEY).toBeUndefined();
  });
});

describe('CLIs answer --help with usage and do nothing else', () => {
  const cases: [string, string[]][] = [
    ['src/entry/tenant-cli.ts', ['--help']],
    ['src/entry/tenant-cli.ts', ['delete', 'ten_x', '-h']],
    ['src/entry/migrate.ts', ['--help']],
    ['bench/webhook-ack.ts', ['--help']],
    ['bench/fairness.ts', ['--help']],
    ['bench/context-loading.ts', ['--help']],
    ['bench/webhook-server.ts', ['--help']],
  ];
  it.concurrent.each(cases)('%s %j', async (file, args) => {
    const dataDir = join(tempDir(), 'data');
    // An unreachable DATABASE_URL for the benches: they would connect to it first thing.
    const r = await run(process.execPath, [file, ...args], {
      DATA_DIR: dataDir,
      BENCH_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: /);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('through npm as the README writes it: npm run tenant -- purge --help', async () => {
    const dataDir = join(tempDir(), 'data');
    const r = await run('npm', ['run', '--silent', 'tenant', '--', 'purge', '--help'], { DATA_DIR: dataDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: npm run tenant -- delete <tenantId>/);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('the embedded data folder lock', () => {
  it('is taken over from a process that is gone, and refused while its holder runs', async () => {
    const dir = tempDir();
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => gone.on('close', r));
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: gone.pid }));
    const release = lockDataDir(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);

    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await new Promise((r) => holder.on('spawn', r));
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: holder.pid }));
      expect(() => lockDataDir(dir)).toThrow(DataDirLocked);
      expect(() => lockDataDir(dir)).toThrow(`in use by process ${holder.pid}`);
      // The same pid with another start time: a reused pid after a reboot, not the holder.
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: holder.pid, start: '1' }));
      lockDataDir(dir)();
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('npm start', () => {
  /** `npm start` on a fresh data folder; resolves once it listens. */
  async function npmStart(dataDir: string) {
    const port = await freePort();
    const p = start('npm', ['start'], { PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    await waitFor(
      p,
      () => p.out.stdout.includes('"msg":"listening"') && p.out.stdout.includes('Local admin link'),
      'listening',
    );
    return { ...p, port, base: `http://127.0.0.1:${port}` };
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`serves / and /healthz${signal === 'SIGTERM' ? ', refuses a second process on its port or data folder' : ''}; ${signal} leaves no process`, async () => {
      const dataDir = tempDir();
      const srv = await npmStart(dataDir);
      try {
        const health = await fetch(`${srv.base}/healthz`);
        expect(await health.json()).toEqual({ ok: true });
        const home = await fetch(`${srv.base}/`);
        expect(home.status).toBe(200);
        expect(await home.text()).toContain('href="/admin"');

        // The checks with a second process, once (the SIGINT run only stops the server).
        if (signal === 'SIGTERM') {
          const holder = descendants(srv.child.pid!).find((pid) =>
            readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('src/entry/node.ts'),
          );
          expect(holder).toBeDefined();

          // Same port, another data folder: one line, and nothing else happened (no folder created).
          const otherDir = join(tempDir(), 'data');
          const busy = await run(process.execPath, ['src/entry/node.ts'], {
            PORT: String(srv.port),
            DATA_DIR: otherDir,
          });
          expect(busy.code).toBe(1);
          expect(busy.stdout).toBe('');
          expect(busy.stderr).toBe(
            `helpdesk-copilot: port ${srv.port} on 127.0.0.1 is already in use (another \`npm start\`?): stop that process or set PORT to a free port.\n`,
          );
          expect(existsSync(otherDir)).toBe(false);

          // Same data folder, another process: refused, naming the holder.
          const second = await run(process.execPath, ['src/entry/migrate.ts'], { DATA_DIR: dataDir });
          expect(second.code).toBe(1);
          expect(second.stderr).toBe(
            `The embedded database in ${dataDir} is in use by process ${holder} (another \`npm start\` or \`npm run tenant\`?): stop it first, or set DATA_DIR to another folder.\n`,
          );
        }
      } finally {
        const tree = [srv.child.pid!, ...descendants(srv.child.pid!)];
        expect(tree.length).toBeGreaterThanOrEqual(2);
        srv.child.kill(signal);
        const r = await srv.done;
        expect(r.code, r.stderr).toBe(0);
        // npm has exited: nothing of its tree may be left (an orphaned server was the bug).
        expect(tree.filter(running)).toEqual([]);
      }
      // The lock went with its process.
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    }, 120_000);
  }

  it('starts on `cp .env.example .env`, as the README says', async () => {
    // A folder holding only the copied .env is the working directory, as the package root is for
    // `npm start`; the process environment wins over the file, so only PORT is changed (8787 may
    // be taken on this machine) and DATA_DIR stays the example's ./.data inside that folder.
    const dir = tempDir();
    writeFileSync(join(dir, '.env'), readFileSync(join(ROOT, '.env.example')));
    const port = await freePort();
    const p = start(
      process.execPath,
      [join(ROOT, 'src/entry/node.ts')],
      { PORT: String(port), LOG_LEVEL: 'info' },
      PATH24,
      dir,
    );
    try {
      await waitFor(p, () => p.out.stdout.includes('"msg":"listening"'), 'listening');
      expect(p.out.stderr).toBe('');
      expect(existsSync(join(dir, '.data', 'pglite'))).toBe(true);
      expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ ok: true });
    } finally {
      p.child.kill('SIGTERM');
      expect((await p.done).code).toBe(0);
    }
  }, 120_000);
});
