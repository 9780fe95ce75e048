import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files, measured (see README, "Tests and wall time"), start first: with two workers, a long file
 * that starts last is the suite's tail. Without this, a clean checkout (no vitest cache) orders
 * files by size, and the scenario suite, a small file that runs for the longest, comes last.
 */
const LONGEST_FIRST = [
  'test/integration/scenarios.test.ts',
  'test/integration/newcomer.test.ts',
  'test/browser/onboarding-walk.test.ts',
  'test/integration/upstream-limits-processes.test.ts',
  'test/integration/fault-isolation.test.ts',
  'test/integration/jobs.test.ts',
  'test/integration/jobs-crash.test.ts',
  'test/integration/deletion.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((p) => f.moduleId.endsWith(p));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
      .map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Bounds against a hang, not a speed test: at load 24 on 2 cores, tests that take 2 s idle took 30-110 s.
    testTimeout: 120_000,
    // Wide: creating and migrating a database per file takes far longer on a loaded machine.
    hookTimeout: 180_000,
    pool: 'forks',
    // Two cores here; most files wait on PostgreSQL, PGlite or child processes part of the time.
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
  },
});
