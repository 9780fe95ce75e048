/**
 * `--help` / `-h` for the benchmark scripts: imported FIRST (a side-effect import) by each of
 * them, so it runs before any other module of the script is evaluated. Prints the script's own
 * leading doc comment as its usage and exits; the benchmark does nothing else.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  const script = process.argv[1] ?? '';
  const doc = /^\/\*\*([\s\S]*?)\*\//.exec(readFileSync(script, 'utf8'))?.[1] ?? '';
  const text = doc
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
  process.stdout.write(`usage: node ${script.slice(script.lastIndexOf('bench/'))}\n\n${text}\n`);
  process.exit(0);
}
