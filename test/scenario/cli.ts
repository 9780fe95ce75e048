/**
 * `npm run scenario -- FILE...`: runs each scenario file through the real pipeline (see run.ts)
 * and prints one JSON line per file: {"id","route","accountId","draft","citations","pass","failures"}.
 * Exits 1 when any file fails (or cannot be read), 2 when no file was given.
 */
import { readFile } from 'node:fs/promises';
import { setupServer } from 'msw/node';
import { parseScenario } from './format.ts';
import { runScenario } from './run.ts';

const files = process.argv.slice(2).filter((a) => a !== '--');
if (files.length === 0) {
  process.stderr.write('usage: npm run scenario -- FILE.json [FILE.json ...]\n');
  process.exit(2);
}

const server = setupServer();
server.listen({ onUnhandledFrame: 'error' });
let failed = 0;
for (const file of files) {
  server.resetHandlers();
  try {
    const scenario = parseScenario(await readFile(file, 'utf8'), file);
    const result = await runScenario(scenario, { server });
    if (!result.pass) failed++;
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } catch (e) {
    failed++;
    process.stdout.write(
      `${JSON.stringify({ id: file, route: null, accountId: null, draft: null, citations: [], pass: false, failures: [(e as Error).message] })}\n`,
    );
  }
}
server.close();
process.exit(failed ? 1 : 0);
