import { describe, expect, it } from 'vitest';
import {
  type Catalog,
  catalogFromCsv,
  checkCatalog,
  diffCatalog,
  sectionToCsv,
} from '../../src/pipeline/catalog-import.ts';
import { catalogSchema } from '../../src/pipeline/tenant-config.ts';

/** The catalog import's diff and CSV sections, without a database. */
const catalog = (c: Partial<Catalog>): Catalog => catalogSchema.parse(c);

describe('diffCatalog', () => {
  it('compares items by key: a link that gains a purpose is changed; changelog entries go by date and title', () => {
    const before = catalog({
      links: { docs: 'https://docs.example/' },
      changelog: [
        { date: '2026-01-01', title: 'Fix', body: '' },
        { date: '2026-01-01', title: 'Fix', body: 'second' },
      ],
    });
    const after = catalog({
      links: { docs: { url: 'https://docs.example/', purpose: 'Docs' } },
      changelog: [{ date: '2026-01-01', title: 'Fix', body: '' }],
    });
    const d = diffCatalog(before, after);
    expect(d.links).toEqual({ added: [], changed: ['docs'], removed: [], unchanged: 0 });
    expect(d.changelog).toEqual({ added: [], changed: [], removed: ['2026-01-01 Fix #2'], unchanged: 1 });
    // A link written as a string or as { url } without purpose is the same item.
    expect(
      diffCatalog(before, catalog({ ...before, links: { docs: { url: 'https://docs.example/' } } })).links
        .changed,
    ).toEqual([]);
  });
});

describe('catalog CSV sections', () => {
  const current = catalog({
    plans: [{ key: 'pro', name: 'Pro', monthlyPrice: 49 }],
    kb: [{ id: 'a', title: 'A', body: 'x' }],
  });

  it('replaces only its own section and keeps the others', () => {
    const r = catalogFromCsv(current, 'plans', 'name,key\nTeam,team\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = checkCatalog(r.doc, { lines: r.lines });
    expect(c.ok && c.catalog.plans).toEqual([{ key: 'team', name: 'Team', monthlyPrice: null }]);
    expect(c.ok && c.catalog.kb).toEqual(current.kb);
  });

  it('names the line of a duplicated link key and of a syntax error', () => {
    expect(catalogFromCsv(current, 'links', 'key,url\na,https://a.example\na,https://b.example\n')).toEqual({
      ok: false,
      issues: [{ section: 'links', line: 3, field: 'key', message: 'key "a" is used twice in links' }],
    });
    expect(catalogFromCsv(current, 'kb', 'id,title,body\nx,"unclosed\n')).toMatchObject({
      ok: false,
      issues: [{ line: 2, message: 'a quoted field is never closed' }],
    });
  });

  it('a duplicated key in a checked document is reported on the CSV line of the second', () => {
    const r = catalogFromCsv(current, 'plans', 'key,name\npro,Pro\nteam,Team\npro,Again\n');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const c = checkCatalog(r.doc, { lines: r.lines });
    expect(c).toEqual({
      ok: false,
      issues: [
        { section: 'plans', item: 2, field: 'key', line: 4, message: 'key "pro" is used twice in plans' },
      ],
    });
  });

  it('writes a section as the CSV it reads (lists joined with |)', () => {
    const c = catalog({ features: [{ key: 'sso', name: 'SSO, SAML', plans: ['pro', 'enterprise'] }] });
    expect(sectionToCsv(c, 'features')).toBe('key,name,plans\nsso,"SSO, SAML",pro|enterprise\n');
  });
});
