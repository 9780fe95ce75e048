import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSessions } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { lastSeen } from '../../src/http/admin-members.ts';
import { createSession, LAST_SEEN_EVERY_MS } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * Last seen per member session: written at sign-in, then by a request only when the stored time
 * is at least LAST_SEEN_EVERY_MS old (so a busy session is not one UPDATE per request), and shown
 * on /admin/members. The clock is injected, so nothing depends on real time.
 */
const system = { type: 'system', name: 'test' } as const;
const T0 = Date.parse('2026-11-02T09:00:00Z');
const min = 60_000;

describe.each(backends())('last seen on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let admin: string;
  let member: string;
  const vault = testVault();
  const at = (ms: number) => testApp(database, { vault, now: () => new Date(ms) }).app;
  const stored = async (userId: string) =>
    (
      await withTenant(database.db, tenantId, (tx) =>
        tx
          .select({ at: adminSessions.lastSeenAt })
          .from(adminSessions)
          .where(eq(adminSessions.userId, userId)),
      )
    )[0]!.at?.toISOString();

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    const s = (userId: string, role: 'admin' | 'member') =>
      createSession(database.db, {
        tenantId,
        userId,
        userName: userId,
        role,
        via: 'slack_oidc',
        now: new Date(T0),
      }).then((x) => `hc_session=${x.token}`);
    admin = await s('U_ADA', 'admin');
    member = await s('U_MAX', 'member');
  });
  afterAll(() => database?.close());

  it('is the sign-in time at first, and a request within the interval does not rewrite it', async () => {
    expect(await stored('U_MAX')).toBe(new Date(T0).toISOString());
    expect((await at(T0 + 4 * min).request('/admin', { headers: { cookie: member } })).status).toBe(200);
    expect(await stored('U_MAX')).toBe(new Date(T0).toISOString());
  });

  it('a request after the interval moves it to that request, then it holds again for the interval', async () => {
    expect(LAST_SEEN_EVERY_MS).toBe(5 * min);
    await at(T0 + 6 * min).request('/admin', { headers: { cookie: member } });
    expect(await stored('U_MAX')).toBe(new Date(T0 + 6 * min).toISOString());
    await at(T0 + 9 * min).request('/admin', { headers: { cookie: member } });
    expect(await stored('U_MAX')).toBe(new Date(T0 + 6 * min).toISOString());
    // A refused request (a member on an admin page) still counts as being seen.
    await at(T0 + 40 * min).request('/admin/members', { headers: { cookie: member } });
    expect(await stored('U_MAX')).toBe(new Date(T0 + 40 * min).toISOString());
  });

  it('the members page shows it per session', async () => {
    const html = await (
      await at(T0 + 60 * min).request('/admin/members', { headers: { cookie: admin } })
    ).text();
    expect(html).toContain('<th scope="col">last seen</th>');
    // The admin's own request just now; the member 20 minutes ago.
    expect(html).toMatch(/U_ADA.*?<td>just now<\/td>/s);
    expect(html).toMatch(/U_MAX.*?<td>20 min ago<\/td>/s);
  });

  it('formats: never, just now, minutes, hours, then the UTC time', () => {
    const now = new Date(T0);
    expect(lastSeen(null, now)).toBe('not yet');
    expect(lastSeen(new Date(T0 - 4 * min), now)).toBe('just now');
    expect(lastSeen(new Date(T0 - 59 * min), now)).toBe('59 min ago');
    expect(lastSeen(new Date(T0 - 5 * 60 * min), now)).toBe('5 h ago');
    expect(lastSeen(new Date(T0 - 48 * 60 * min), now)).toBe('2026-10-31 09:00');
  });
});
