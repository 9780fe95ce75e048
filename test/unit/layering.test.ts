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
  it('only tenancy/lookup.ts calls the pre-tenant look-up functions; nothing switches to the look-up role', () => {
    expect(using(/app_tenant_by_|app_tenant_ids_by_status|app_tenants_/)).toEqual(['tenancy/lookup.ts']);
    // db/evidence.ts only probes that the switch is refused.
    expect(using(/set local role|withLookupRole\(/)).toEqual(['db/evidence.ts']);
  });

  it('only the job claimer calls the claim functions; nothing switches to the scheduler role', () => {
    expect(using(/app_claim_jobs|app_sweep_lapsed_leases|app_queue_state/)).toEqual(['jobs/claim.ts']);
    expect(using(/SCHEDULER_ROLE/).filter((p) => !p.startsWith('db/schema/'))).toEqual([]);
  });

  it('nothing but the config module and the entries reads process.env', () => {
    expect(using(/process\.env/).filter((p) => !p.startsWith('entry/') && p !== 'config.ts')).toEqual([]);
  });

  it('lib/ imports nothing from the layers above it', () => {
    const lib = sources.filter((s) => s.path.startsWith('lib/'));
    for (const f of lib) expect(f.text, f.path).not.toMatch(/from '\.\.\/(?!lib\/)/);
  });
});
