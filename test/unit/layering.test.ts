import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const sources = files(SRC).map((p) => ({ path: relative(SRC, p), text: readFileSync(p, 'utf8') }));
const using = (re: RegExp) =>
  sources
    .filter((s) => re.test(s.text))
    .map((s) => s.path)
    .sort();

describe('layering guards', () => {
  it('only tenancy/lookup.ts uses the cross-tenant look-up role', () => {
    expect(using(/withLookupRole\(|LOOKUP_ROLE|helpdesk_lookup/)).toEqual([
      'db/schema/columns.ts',
      'db/tenant.ts',
      'tenancy/lookup.ts',
    ]);
  });

  it('only the job claimer switches to the scheduler role', () => {
    expect(
      using(/set local role \$\{SCHEDULER_ROLE\}|helpdesk_scheduler/).filter(
        (p) => !p.startsWith('db/schema/'),
      ),
    ).toEqual(['jobs/claim.ts']);
  });

  it('nothing but the config module and the entries reads process.env', () => {
    expect(using(/process\.env/).filter((p) => !p.startsWith('entry/') && p !== 'config.ts')).toEqual([]);
  });

  it('lib/ imports nothing from the layers above it', () => {
    const lib = sources.filter((s) => s.path.startsWith('lib/'));
    for (const f of lib) expect(f.text, f.path).not.toMatch(/from '\.\.\/(?!lib\/)/);
  });
});
