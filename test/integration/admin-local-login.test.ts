import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { adminSessions } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createLocalLoginLinks, ensureLocalTenant, LOCAL_TENANT_NAME } from '../../src/tenancy/sessions.ts';
import { testApp } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/** Serves the app on a real loopback socket, so the route sees a real peer address. */
async function listen(app: App): Promise<{ base: string; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        base: `http://127.0.0.1:${info.port}`,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

const remote = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });

describe('local admin link on the embedded database', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
  });
  afterAll(() => database?.close());

  it('creates the Local tenant once and reuses it', async () => {
    const first = await ensureLocalTenant(database.db);
    expect(await ensureLocalTenant(database.db)).toBe(first);
    const name = await withTenant(
      database.db,
      first,
      async (tx) => (await tx.query.tenants.findFirst())?.name,
    );
    expect(name).toBe(LOCAL_TENANT_NAME);
  });

  it('works once, from a loopback socket, and signs in an owner via local_link', async () => {
    const links = createLocalLoginLinks();
    const { app } = testApp(database, { localLogin: links });
    const tenantId = await ensureLocalTenant(database.db);
    const token = await links.issue(tenantId);
    const srv = await listen(app);
    try {
      // Not from loopback (a proxied request): refused, and the token is not used up by it,
      // whatever headers claim.
      const far = await app.request(
        `/admin/local-login?token=${token}`,
        { headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' } },
        remote('203.0.113.7'),
      );
      expect(far.status).toBe(403);
      const noSocket = await app.request(`/admin/local-login?token=${token}`);
      expect(noSocket.status).toBe(403);

      const res = await fetch(`${srv.base}/admin/local-login?token=${token}`, { redirect: 'manual' });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/admin');
      const cookie = res.headers
        .getSetCookie()
        .find((c) => c.startsWith('hc_session='))!
        .split(';')[0]!;
      const page = await fetch(`${srv.base}/admin`, { headers: { cookie } });
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(html).toContain('role <strong>owner</strong>');
      expect(html).toContain('via local_link');
      expect(html).toContain(tenantId);
      const sessions = await withTenant(database.db, tenantId, (tx) => tx.select().from(adminSessions));
      expect(sessions.some((s) => s.via === 'local_link' && s.role === 'owner')).toBe(true);
      expect(JSON.stringify(sessions)).not.toContain(cookie.split('=')[1]!);

      const again = await fetch(`${srv.base}/admin/local-login?token=${token}`, { redirect: 'manual' });
      expect(again.status).toBe(401);
      expect(again.headers.getSetCookie().some((c) => c.startsWith('hc_session='))).toBe(false);
      const bogus = await fetch(`${srv.base}/admin/local-login?token=nope`, { redirect: 'manual' });
      expect(bogus.status).toBe(401);
    } finally {
      await srv.close();
    }
  });

  it('expires after 15 minutes', async () => {
    const links = createLocalLoginLinks();
    const tenantId = await ensureLocalTenant(database.db);
    const issuedAt = new Date('2026-11-23T05:00:00Z');
    const token = await links.issue(tenantId, issuedAt);
    const { app } = testApp(database, {
      localLogin: links,
      now: () => new Date(issuedAt.getTime() + 16 * 60_000),
    });
    const res = await app.request(`/admin/local-login?token=${token}`, {}, remote('127.0.0.1'));
    expect(res.status).toBe(401);
  });
});

describe.each(backends().filter((b) => b === 'postgres'))('local admin link on %s', (backend) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());

  it('never works on PostgreSQL, even from loopback with a valid token', async () => {
    const links = createLocalLoginLinks();
    const { app } = testApp(database, { localLogin: links });
    const token = await links.issue('tn_0123456789abcdefghij');
    const srv = await listen(app);
    try {
      const res = await fetch(`${srv.base}/admin/local-login?token=${token}`, { redirect: 'manual' });
      expect(res.status).toBe(404);
      expect(res.headers.getSetCookie().some((c) => c.startsWith('hc_session='))).toBe(false);
    } finally {
      await srv.close();
    }
  });
});
