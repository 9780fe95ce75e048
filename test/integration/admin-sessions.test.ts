import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSessions } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import {
  createLocalLoginLinks,
  createSession,
  deleteExpiredSessions,
  SESSION_TTL_MS,
} from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const system = { type: 'system', name: 'test' } as const;
const NOW = new Date('2026-11-23T05:00:00Z');

describe.each(backends())('admin sessions on %s', (backend) => {
  let database: TestDatabase;
  let a: string;
  let b: string;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    a = (await createTenant(database.db, { name: 'A', actor: system })).id;
    b = (await createTenant(database.db, { name: 'B', actor: system })).id;
  });
  afterAll(() => database?.close());

  const page = (at: Date, cookie: string) =>
    testApp(database, { now: () => at }).app.request('/admin', { headers: { cookie } });

  it('a session lasts 12 hours, stores only a hash, and names its own tenant', async () => {
    const s = await createSession(database.db, {
      tenantId: a,
      userId: 'U1',
      role: 'admin',
      via: 'slack_oidc',
      now: NOW,
    });
    expect(s.expiresAt.getTime() - NOW.getTime()).toBe(SESSION_TTL_MS);
    const rows = await withTenant(database.db, a, (tx) => tx.select().from(adminSessions));
    expect(JSON.stringify(rows)).not.toContain(s.token);
    const cookie = `hc_session=${s.token}`;
    const inside = await page(new Date(NOW.getTime() + SESSION_TTL_MS - 1000), cookie);
    expect(inside.status).toBe(200);
    const html = await inside.text();
    expect(html).toContain(a);
    expect(html).not.toContain(b);
    expect((await page(new Date(NOW.getTime() + SESSION_TTL_MS + 1000), cookie)).status).toBe(401);
  });

  it('unknown, malformed and tampered cookies are simply signed out', async () => {
    const s = await createSession(database.db, {
      tenantId: b,
      userId: 'U2',
      role: 'owner',
      via: 'slack_oidc',
      now: NOW,
    });
    const flipped = `${s.token.slice(0, -1)}${s.token.endsWith('A') ? 'B' : 'A'}`;
    for (const cookie of [
      'hc_session=',
      'hc_session=short',
      `hc_session=${flipped}`,
      "hc_session=' or 1=1 --",
    ]) {
      expect((await page(NOW, cookie)).status, cookie).toBe(401);
    }
  });

  it('the admin page escapes what it shows', async () => {
    const evil = (await createTenant(database.db, { name: '<script>alert(1)</script>', actor: system })).id;
    const s = await createSession(database.db, {
      tenantId: evil,
      userId: 'U"><img src=x onerror=alert(2)>',
      userName: '<b>boss</b>',
      role: 'owner',
      via: 'slack_oidc',
      now: NOW,
    });
    const res = await page(NOW, `hc_session=${s.token}`);
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>boss');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('the sweep deletes expired sessions only', async () => {
    const old = await createSession(database.db, {
      tenantId: a,
      userId: 'U3',
      role: 'member',
      via: 'slack_oidc',
      now: new Date(NOW.getTime() - 2 * SESSION_TTL_MS),
    });
    const fresh = await createSession(database.db, {
      tenantId: b,
      userId: 'U4',
      role: 'member',
      via: 'slack_oidc',
      now: NOW,
    });
    const n = await deleteExpiredSessions(database.db, new Date(NOW.getTime() + 1000));
    expect(n).toBeGreaterThanOrEqual(1);
    expect((await page(NOW, `hc_session=${old.token}`)).status).toBe(401);
    expect((await page(NOW, `hc_session=${fresh.token}`)).status).toBe(200);
  });

  it.runIf(backend === 'pglite')('the cookie is Secure only when PUBLIC_URL is https', async () => {
    for (const [url, secure] of [
      ['http://127.0.0.1:8787', false],
      ['https://copilot.test', true],
    ] as const) {
      const links = createLocalLoginLinks();
      const token = await links.issue(a);
      const { app } = testApp(database, { config: testConfig({ PUBLIC_URL: url }), localLogin: links });
      const res = await app.request(
        `/admin/local-login?token=${token}`,
        {},
        {
          incoming: { socket: { remoteAddress: '::1' } },
        },
      );
      expect(res.status).toBe(303);
      const sc = res.headers.getSetCookie().find((c) => c.startsWith('hc_session='))!;
      expect(sc).toMatch(/HttpOnly/);
      expect(sc).toMatch(/SameSite=Lax/);
      expect(/;\s*Secure/i.test(sc), url).toBe(secure);
    }
  });
});
