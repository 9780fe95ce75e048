import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useMsw } from '../helpers/msw.ts';
import { parseScenario } from '../scenario/format.ts';
import { runScenario } from '../scenario/run.ts';

/**
 * Every scenario file through the real pipeline with the offline drafter: the shared ones
 * (<root>/shared/scenarios next to this repository at <root>/main, or SCENARIOS_DIR) and our own
 * (test/fixtures/scenarios).
 */
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sharedDir = process.env.SCENARIOS_DIR ?? resolve(repo, '..', 'shared', 'scenarios');
const ownDir = join(repo, 'test', 'fixtures', 'scenarios');

const server = useMsw();

function files(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(dir, f))
    : [];
}

for (const [label, dir] of [
  ['shared', sharedDir],
  ['own', ownDir],
] as const) {
  const list = files(dir);
  describe.skipIf(list.length === 0)(`${label} scenarios (${dir})`, () => {
    it.each(list)(
      '%s passes with the offline drafter',
      async (file) => {
        const scenario = parseScenario(readFileSync(file, 'utf8'), file);
        const result = await runScenario(scenario, { server });
        expect(result.failures, JSON.stringify(result.draft)).toEqual([]);
        expect(result.pass).toBe(true);
        expect(result.route).toBe(scenario.expect.route);
      },
      120_000,
    );
  });
  if (list.length === 0) {
    it(`${label} scenarios: directory ${dir} is absent or empty, skipped`, () => {
      expect(existsSync(dir) && files(dir).length > 0).toBe(false);
    });
  }
}
