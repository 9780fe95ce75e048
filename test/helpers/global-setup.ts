import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of a reachable PostgreSQL server, or '' when none runs (then PGlite alone). */
    pgAdminUrl: string;
    /** A migrated PGlite data directory (tarball) that test databases start from. */
    pgliteTemplate: string;
  }
}

/**
 * Finds a PostgreSQL server for the database suites: TEST_DATABASE_URL when set (set it to
 * `off` to force PGlite only), else the local default postgres://postgres@127.0.0.1:5432/test.
 * When one answers, every database suite runs on PGlite AND on it.
 */
export default async function setup(project: TestProject) {
  const configured = process.env.TEST_DATABASE_URL;
  let url = '';
  if (configured !== 'off') {
    const candidate = configured || 'postgres://postgres@127.0.0.1:5432/test';
    const { default: postgres } = await import('postgres');
    const sql = postgres(candidate, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await sql`select 1`;
      url = candidate;
    } catch (e) {
      if (configured) throw new Error(`TEST_DATABASE_URL is set but unreachable: ${(e as Error).message}`);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
  process.stdout.write(
    `database suites: pglite${url ? ` + postgres (${url.replace(/\/\/[^@]*@/, '//')})` : ' only'}\n`,
  );
  project.provide('pgAdminUrl', url);

  // Migrated once for the run: a file's PGlite loads this in a fraction of the time a fresh
  // cluster takes to initialise and migrate (measured in the README, "Tests and wall time").
  const template = await openDatabase({ dataDir: 'memory://' });
  const dir = mkdtempSync(join(tmpdir(), 'helpdesk-copilot-pglite-'));
  try {
    await template.migrate();
    const file = join(dir, 'migrated.tar');
    writeFileSync(file, new Uint8Array(await (await template.dump!()).arrayBuffer()));
    project.provide('pgliteTemplate', file);
  } finally {
    await template.close();
  }
  return () => rmSync(dir, { recursive: true, force: true });
}
