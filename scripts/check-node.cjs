// Runs before every npm script (the `pre*` entries in package.json): on a Node.js older than
// package.json's `engines.node`, prints one line naming the version needed and exits 1.
// Plain CommonJS (no import, no type annotations), so that an old Node parses it.
'use strict';
const path = require('node:path');
const engines = require(path.join(__dirname, '..', 'package.json')).engines;
const m = /^>=\s*(\d+)\.(\d+)/.exec(String(engines?.node));
if (!m) {
  process.stderr.write('check-node: package.json engines.node must read ">=MAJOR.MINOR"\n');
  process.exit(1);
}
const want = [Number(m[1]), Number(m[2])];
const have = process.versions.node.split('.').map(Number);
if (have[0] < want[0] || (have[0] === want[0] && have[1] < want[1])) {
  process.stderr.write(
    'helpdesk-copilot needs Node.js >= ' +
      want.join('.') +
      ' (this is ' +
      process.version +
      '): install Node 24, or run `. scripts/use-node.sh` (Linux x64) and try again.\n',
  );
  process.exit(1);
}
