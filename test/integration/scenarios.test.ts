import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.ts';
import { createTestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { parseScenario } from '../scenario/format.ts';
import { runScenario } from '../scenario/run.ts';

/**
 * Every scenario file through the real pipeline with the offline drafter: the shared ones
 * (<root>/shared/scenarios next to this repository at <root>/main, or SCENARIOS_DIR) and our own
 * (test/fixtures/scenarios). A missing shared directory fails unless SCENARIOS_DIR=off.
 */
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sharedDir = process.env.SCENARIOS_DIR ?? resolve(repo, '..', 'shared', 'scenarios');
const ownDir = join(repo, 'test', 'fixtures', 'scenarios');

const server = useMsw();

// One migrated database for the file, one tenant per scenario: starting PGlite takes seconds,
// seeding a tenant milliseconds. Every scenario so also runs beside other tenants' directories.
let database: Database;
beforeAll(async () => {
  database = await createTestDatabase('pglite');
});
afterAll(async () => {
  await database?.close();
});

function files(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(dir, f))
    : [];
}

// SCENARIOS_DIR=off skips the shared scenarios on purpose; otherwise a missing or empty
// directory fails the suite instead of passing it silently.
const sharedOff = process.env.SCENARIOS_DIR === 'off';
const sets: (readonly [string, string])[] = sharedOff
  ? [['own', ownDir]]
  : [
      ['shared', sharedDir],
      ['own', ownDir],
    ];
for (const [label, dir] of sets) {
  const list = files(dir);
  describe(`${label} scenarios (${dir})`, () => {
    if (list.length === 0) {
      it('has scenario files', () => {
        expect.fail(
          `no *.json scenario in ${dir}: check it out there, point SCENARIOS_DIR at it, or set SCENARIOS_DIR=off to skip the shared scenarios on purpose`,
        );
      });
      return;
    }
    it.each(list)(
      '%s passes with the offline drafter',
      async (file) => {
        const scenario = parseScenario(readFileSync(file, 'utf8'), file);
        const result = await runScenario(scenario, { server, database });
        expect(result.failures, JSON.stringify(result.draft)).toEqual([]);
        expect(result.pass).toBe(true);
        expect(result.route).toBe(scenario.expect.route);
        // A wide bound for a loaded machine; a scenario takes well under a second when idle.
      },
      300_000,
    );
  });
}
if (sharedOff) {
  describe('shared scenarios', () => {
    it.skip('skipped on purpose: SCENARIOS_DIR=off', () => {});
  });
}
