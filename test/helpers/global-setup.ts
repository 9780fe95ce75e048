import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of a reachable PostgreSQL server, or '' when none runs (then PGlite alone). */
    pgAdminUrl: string;
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
}
