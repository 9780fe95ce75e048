import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSameOriginRequest } from '../../src/http/middleware.ts';
import { testApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * One same-origin rule for every state-changing browser POST (isSameOriginRequest): the install
 * starts, the admin console forms and Zendesk provision/disconnect. Our pages are served with
 * `Referrer-Policy: no-referrer`, so browsers send `Origin: null` from them; that passes only
 * together with `Sec-Fetch-Site: same-origin` (a sandboxed cross-site frame also sends `null`).
 */
const PUBLIC_URL = 'https://copilot.test';

describe('isSameOriginRequest', () => {
  it.each([
    [{ secFetchSite: 'same-origin', origin: 'null' }, true],
    [{ secFetchSite: 'same-origin', origin: PUBLIC_URL }, true],
    [{ secFetchSite: 'same-origin' }, true],
    [{ origin: PUBLIC_URL }, true],
    [{ origin: 'null' }, false],
    [{ secFetchSite: 'cross-site', origin: 'null' }, false],
    [{ secFetchSite: 'same-site', origin: 'https://other.copilot.test' }, false],
    [{ secFetchSite: 'none', origin: 'null' }, false],
    [{ secFetchSite: 'same-origin', origin: 'https://evil.test' }, false],
    [{ origin: 'https://evil.test' }, false],
    [{}, false],
  ])('%o -> %s', (headers, expected) => {
    expect(isSameOriginRequest(headers, PUBLIC_URL)).toBe(expected);
  });
});

describe('admin and install POSTs share the rule', () => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>['app'];
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    app = testApp(database).app;
  });
  afterAll(() => database?.close());

  const post = (path: string, headers: Record<string, string>) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });

  it('sign out from our no-referrer page (Origin: null, Sec-Fetch-Site: same-origin) works', async () => {
    const res = await post('/admin/signout', { origin: 'null', 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(303);
  });

  it.each([['/admin/signout'], ['/admin/tenant/delete'], ['/zendesk/provision'], ['/zendesk/disconnect']])(
    '%s refuses Origin: null without same-origin, and cross-site posts',
    async (path) => {
      for (const headers of [
        { origin: 'null' },
        { origin: 'null', 'sec-fetch-site': 'cross-site' },
        { origin: 'https://evil.test' },
        {},
      ] as Record<string, string>[]) {
        const res = await post(path, headers);
        expect(res.status).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
      }
    },
  );
});
