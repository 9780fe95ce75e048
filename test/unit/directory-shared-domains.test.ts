import { describe, expect, it } from 'vitest';
import { findSharedDomains } from '../../src/pipeline/directory-import.ts';

/** The check behind the directory upload's "domain claimed by two accounts" flag. */
describe('findSharedDomains', () => {
  it('flags a domain two accounts of the upload list', () => {
    expect(
      findSharedDomains(
        [
          { id: 'b', domains: ['shared.io', 'b.com'] },
          { id: 'a', domains: ['shared.io'] },
        ],
        [],
        'upsert',
      ),
    ).toEqual([{ domain: 'shared.io', accountIds: ['a', 'b'], between: 'upload' }]);
  });

  it('flags a domain an uploaded account shares with a stored account that survives (upsert)', () => {
    const existing = [{ id: 'acme', domains: ['acme.com'] }];
    expect(findSharedDomains([{ id: 'hooli', domains: ['acme.com'] }], existing, 'upsert')).toEqual([
      { domain: 'acme.com', accountIds: ['acme', 'hooli'], between: 'both' },
    ]);
    // In replace mode the stored account is removed, so nothing is shared.
    expect(findSharedDomains([{ id: 'hooli', domains: ['acme.com'] }], existing, 'replace')).toEqual([]);
  });

  it('an uploaded account replaces its stored self: its old domains no longer count', () => {
    expect(
      findSharedDomains(
        [
          { id: 'acme', domains: ['acme.io'] },
          { id: 'hooli', domains: ['acme.com'] },
        ],
        [{ id: 'acme', domains: ['acme.com'] }],
        'upsert',
      ),
    ).toEqual([]);
  });

  it('keeps reporting a domain two stored, untouched accounts already share', () => {
    expect(
      findSharedDomains(
        [{ id: 'c', domains: ['c.com'] }],
        [
          { id: 'a', domains: ['old.com'] },
          { id: 'b', domains: ['old.com'] },
        ],
        'upsert',
      ),
    ).toEqual([{ domain: 'old.com', accountIds: ['a', 'b'], between: 'existing' }]);
  });

  it('compares domains case- and trailing-dot-insensitively; one account listing a domain twice is not shared', () => {
    expect(
      findSharedDomains(
        [
          { id: 'a', domains: ['Example.COM', 'example.com'] },
          { id: 'b', domains: ['example.com.'] },
        ],
        [],
        'upsert',
      ),
    ).toEqual([{ domain: 'example.com', accountIds: ['a', 'b'], between: 'upload' }]);
    expect(findSharedDomains([{ id: 'a', domains: ['x.com', 'x.com'] }], [], 'upsert')).toEqual([]);
  });

  it('leaves free-mail domains out (routing never matches them; the sync refuses them)', () => {
    expect(
      findSharedDomains(
        [
          { id: 'a', domains: ['gmail.com'] },
          { id: 'b', domains: ['gmail.com'] },
        ],
        [],
        'upsert',
      ),
    ).toEqual([]);
  });
});
