/**
 * `npm run scenario -- FILE...`: runs each scenario file through the real pipeline (see run.ts)
 * and prints one JSON line per file on stdout:
 *   {"id","route","accountId","draft","citations","pass","failures","drafter","language","missing","timings"}
 * Progress goes to stderr, one line per file, then a final `N/M passed` line.
 * With OPENAI_API_KEY (and optionally OPENAI_BASE_URL) set, drafts come from the OpenAI-compatible
 * drafter (falling back to the offline drafter as in production); otherwise from the offline one.
 * Exits 1 when any file fails (or cannot be read), 2 on a usage error.
 */
import { readFile } from 'node:fs/promises';
import { http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { parseConfig } from '../../src/config.ts';
import { drafterFromConfig } from '../../src/pipeline/drafting/openai.ts';
import { parseScenario } from './format.ts';
import { runScenario } from './run.ts';

const USAGE = `usage: npm run scenario -- [--help] FILE.json [FILE.json ...]

Runs each scenario file (format: ../shared/scenarios/README.md) through the real webhook route,
worker and pipeline against a mocked Zendesk account and Context API, and checks the draft.

stdout  one JSON line per file: id, route, accountId, draft, citations, pass, failures,
        drafter, language, missing (context sources that did not arrive) and timings (ms:
        total, context, and the zendesk / context_api upstream spans)
stderr  progress per file and a final "N/M passed" line

environment
  OPENAI_API_KEY   use the OpenAI-compatible drafter (the offline drafter takes over on failure)
  OPENAI_BASE_URL  its server (default https://api.openai.com/v1), e.g. a local stub

exit    0 all passed, 1 a file failed or could not be read, 2 usage error
`;

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const unknown = args.filter((a) => a.startsWith('-'));
const files = args.filter((a) => !a.startsWith('-'));
if (unknown.length || files.length === 0) {
  process.stderr.write(unknown.length ? `unknown option ${unknown[0]}\n\n${USAGE}` : USAGE);
  process.exit(2);
}

// The one place the runner reads the environment: through the app's own config schema.
const config = parseConfig({
  LOG_LEVEL: 'silent',
  ...(process.env.OPENAI_API_KEY ? { OPENAI_API_KEY: process.env.OPENAI_API_KEY } : {}),
  ...(process.env.OPENAI_BASE_URL ? { OPENAI_BASE_URL: process.env.OPENAI_BASE_URL } : {}),
});
const drafter = config.OPENAI_API_KEY ? drafterFromConfig(config) : undefined;
const modelBase = (config.OPENAI_BASE_URL ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
// Everything else is mocked; the model server is real (or a local stub) when configured.
const handlers = drafter ? [http.all(`${modelBase}/*`, () => passthrough())] : [];

const server = setupServer();
server.listen({ onUnhandledFrame: 'error' });
let passed = 0;
for (const [i, file] of files.entries()) {
  server.resetHandlers();
  const started = performance.now();
  let line: Record<string, unknown>;
  try {
    const scenario = parseScenario(await readFile(file, 'utf8'), file);
    const result = await runScenario(scenario, { server, handlers, ...(drafter ? { drafter } : {}) });
    if (result.pass) passed++;
    line = { ...result };
  } catch (e) {
    line = {
      id: file,
      route: null,
      accountId: null,
      draft: null,
      citations: [],
      pass: false,
      failures: [(e as Error).message],
    };
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
  const failures = (line.failures as string[]).join('; ');
  process.stderr.write(
    `[${i + 1}/${files.length}] ${line.pass ? 'pass' : 'FAIL'} ${String(line.id)} (${Math.round(performance.now() - started)} ms)${failures ? `: ${failures}` : ''}\n`,
  );
}
server.close();
process.stderr.write(`${passed}/${files.length} passed\n`);
process.exit(passed === files.length ? 0 : 1);
