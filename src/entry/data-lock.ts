import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * One process per embedded data folder: PGlite has no lock of its own, and two processes writing
 * the same folder corrupt it. The lock is a file `DATA_DIR/pglite.lock` holding the owner's pid
 * (and, on Linux, its start time, so a pid reused after a reboot is not taken for the owner).
 * A lock whose process is gone (a crash, `kill -9`) is stale and taken over.
 */
export const LOCK_FILE = 'pglite.lock';

interface LockOwner {
  pid: number;
  /** /proc/<pid>/stat field 22 (start time in clock ticks since boot), when available. */
  start?: string | undefined;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; start time is field 22 overall.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(owner: LockOwner): boolean {
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(owner.pid);
  return !(owner.start && start && owner.start !== start);
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' ? { pid: parsed.pid, start: parsed.start } : undefined;
  } catch {
    return undefined;
  }
}

export class DataDirLocked extends Error {
  readonly pid: number;
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is in use by process ${pid} (another \`npm start\` or \`npm run tenant\`?): stop it first, or set DATA_DIR to another folder.`,
    );
    this.name = 'DataDirLocked';
    this.pid = pid;
  }
}

/**
 * Takes the lock or throws DataDirLocked naming the process that holds it. Returns the release
 * function; the lock is also released when the process exits normally (process.exit included).
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, start: processStart(process.pid) };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(me)}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw e;
      let owner = readOwner(file);
      if (!owner) {
        // Maybe another process is between creating and writing it: look again a moment later.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        owner = readOwner(file);
      }
      if (owner && alive(owner)) throw new DataDirLocked(dataDir, owner.pid);
      // Stale (its process is gone) or unreadable: take it over.
      try {
        unlinkSync(file);
      } catch {}
    }
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (readOwner(file)?.pid === process.pid) {
      try {
        unlinkSync(file);
      } catch {}
    }
  };
  process.on('exit', release);
  return release;
}
