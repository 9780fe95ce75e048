import { describe, expect, it } from 'vitest';
import { createLookupCache, forgetTenantLookups } from '../../src/tenancy/lookup.ts';

describe('ingest look-up caches', () => {
  it('an entry lives at most its TTL', () => {
    const c = createLookupCache<{ tenantId: string }>({ ttlMs: 30_000 });
    c.set('k', { tenantId: 'tn_a' }, 1_000);
    expect(c.get('k', 30_999)?.tenantId).toBe('tn_a');
    expect(c.get('k', 31_000)).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('is bounded: past max entries the oldest goes', () => {
    const c = createLookupCache<{ tenantId: string }>({ max: 3 });
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, { tenantId: `tn_${k}` });
    expect(c.size).toBe(3);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('d')?.tenantId).toBe('tn_d');
  });

  it("forgetTenantLookups drops a tenant's entries from every cache in the process", () => {
    const hooks = createLookupCache<{ tenantId: string; secret: string }>();
    const teams = createLookupCache<{ tenantId: string }>();
    hooks.set('hook1', { tenantId: 'tn_gone', secret: 's' });
    hooks.set('hook2', { tenantId: 'tn_stays', secret: 's' });
    teams.set('T:1', { tenantId: 'tn_gone' });
    forgetTenantLookups('tn_gone');
    expect(hooks.get('hook1')).toBeUndefined();
    expect(teams.get('T:1')).toBeUndefined();
    expect(hooks.get('hook2')?.tenantId).toBe('tn_stays');
  });
});
