import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { rowsOf } from '../../src/db/client.ts';
import { accounts } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import { createOfflineDrafter } from '../../src/pipeline/drafting/offline.ts';
import { updateSettings } from '../../src/pipeline/tenant-config.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, openOwner, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';

/**
 * One security suite over every admin route the app serves (read from the router, so a new
 * route is covered without being listed here): signed out, a member, another tenant's admin and a
 * cross-site form post are each refused or confined to their own tenant, and tenant A's rows are
 * byte-for-byte the same afterwards. The only routes left out are the sign-in flows, which are
 * for signed-out people by design, and signing out.
 */
useMsw();
const ORIGIN = 'https://copilot.test';
const MARK = 'Quillfeather Secret Holdings';
const system = { type: 'system', name: 'test' } as const;
const config = testConfig({
  SLACK_CLIENT_ID: 'sc',
  SLACK_CLIENT_SECRET: 'ss',
  SLACK_SIGNING_SECRET: 'slack-signing',
  ZENDESK_CLIENT_ID: 'zc',
  ZENDESK_CLIENT_SECRET: 'zs',
});
/** By design for signed-out people (sign-in flows, the one-time local link) or for every principal (sign out). */
const PUBLIC = [/^\/admin\/signin\//, /^\/admin\/local-login$/, /^\/admin\/signout$/];
/** Pages a member may read (their forms are what they may not use). */
const MEMBER_READABLE = new Set([
  'GET /admin',
  'GET /admin/slack/channels',
  'GET /admin/zendesk/sidebar',
  'GET /admin/drafts',
]);
/** Member-readable pages of one record, whose sample id (`x1`) names none: 404, not 403. */
const MEMBER_READABLE_RECORDS = new Set(['GET /admin/drafts/:id']);
/** Admin actions outside /admin. */
const EXTRA = ['POST /zendesk/provision', 'POST /zendesk/disconnect'];

describe.each(backends())('every admin route on %s', (backend) => {
  let database: TestDatabase;
  let app: App;
  let tenantA: string;
  let adminA: string;
  let memberA: string;
  let adminB: string;
  let routes: string[];

  /** A digest of every tenant-owned row of tenant A, as the owner sees them. */
  async function fingerprint(): Promise<string> {
    const owner = await openOwner(database);
    try {
      const tables = rowsOf<{ t: string }>(
        await owner.db.execute(sql`select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' and exists (select 1 from pg_attribute a
          where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped) order by 1`),
      ).map((r) => r.t);
      const parts: string[] = [];
      for (const t of tables) {
        const [r] = rowsOf<{ d: string | null }>(
          await owner.db.execute(
            sql`select md5(coalesce(string_agg(md5(x::text), ',' order by md5(x::text)), '')) as d from ${sql.identifier(t)} x where x.tenant_id = ${tenantA}`,
          ),
        );
        parts.push(`${t}:${r?.d ?? ''}`);
      }
      return parts.join('\n');
    } finally {
      await owner.close();
    }
  }

  const call = (route: string, headers: Record<string, string>) => {
    const [method, path] = route.split(' ') as [string, string];
    const body =
      method === 'PUT'
        ? { body: '{}', headers: { ...headers, 'content-type': 'application/json' } }
        : method === 'POST'
          ? {
              body: 'confirm=A&channel=CSEC00001&account=acc-a&session=' + 'a'.repeat(64),
              headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
            }
          : { headers };
    return app.request(path.replace(/:[a-zA-Z]+/g, 'x1'), { method, ...body });
  };
  const sameOrigin = { origin: ORIGIN, 'sec-fetch-site': 'same-origin' };

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const vault = testVault();
    tenantA = (await createTenant(database.db, { name: 'A', actor: system })).id;
    const tenantB = (await createTenant(database.db, { name: 'B', actor: system })).id;
    await withTenant(database.db, tenantA, async (tx) => {
      await tx
        .insert(accounts)
        .values({ tenantId: tenantA, id: 'acc-a', name: MARK, domains: ['quillfeather.example'] });
      await updateSettings({ tenantId: tenantA, tx, actor: system }, { drafting: { model: 'gpt-4.1-mini' } });
    });
    const session = (t: string, userId: string, role: 'admin' | 'member') =>
      createSession(database.db, { tenantId: t, userId, role, via: 'slack_oidc' }).then(
        (s) => `${SESSION_COOKIE}=${s.token}`,
      );
    adminA = await session(tenantA, 'U_A_ADMIN', 'admin');
    memberA = await session(tenantA, 'U_A_MEMBER', 'member');
    adminB = await session(tenantB, 'U_B_ADMIN', 'admin');
    const logger = createLogger('silent');
    app = testApp(database, {
      config,
      vault,
      tokens: createTokenManager({ db: database.db, vault, config, logger }),
      queue: createJobQueue(),
      drafter: createOfflineDrafter(),
    }).app;
    const seen = new Set<string>();
    for (const r of app.routes)
      if (r.path.startsWith('/admin') && r.method !== 'ALL') seen.add(`${r.method} ${r.path}`);
    routes = [...seen, ...EXTRA].filter((r) => !PUBLIC.some((p) => p.test(r.split(' ')[1]!))).sort();
  });
  afterAll(() => database?.close());

  it('covers the routes it should (the router is read, not a list)', () => {
    expect(routes.length).toBeGreaterThanOrEqual(25);
    for (const r of [
      'PUT /admin/api/catalog',
      'POST /admin/tenant/delete',
      'GET /admin/audit.jsonl',
      'POST /admin/members/end',
      'POST /admin/settings/context-api/test',
    ])
      expect(routes).toContain(r);
  });

  it('signed out: every route refuses (401, 403, or a redirect to sign in) and nothing changes', async () => {
    const before = await fingerprint();
    for (const r of routes) {
      const res = await call(r, r.startsWith('GET') ? {} : sameOrigin);
      const ok =
        [401, 403].includes(res.status) || (res.status === 303 && res.headers.get('location') === '/admin');
      expect(ok, `${r} answered ${res.status}`).toBe(true);
      expect(await res.text(), r).not.toContain(MARK);
    }
    expect(await fingerprint()).toBe(before);
  });

  it('a member: every admin action and admin read is refused with 403, and nothing changes', async () => {
    const before = await fingerprint();
    for (const r of routes) {
      const res = await call(r, { cookie: memberA, ...(r.startsWith('GET') ? {} : sameOrigin) });
      if (MEMBER_READABLE.has(r)) expect(res.status, r).toBe(200);
      else if (MEMBER_READABLE_RECORDS.has(r)) expect(res.status, r).toBe(404);
      else expect(res.status, `${r} answered ${res.status}`).toBe(403);
    }
    expect(await fingerprint()).toBe(before);
  });

  it("another tenant's admin: whatever the route does, it does to that tenant; A's rows are untouched and never shown", async () => {
    const before = await fingerprint();
    for (const r of routes) {
      const res = await call(r, { cookie: adminB, ...(r.startsWith('GET') ? {} : sameOrigin) });
      const text = await res.text();
      expect(text, r).not.toContain(MARK);
      expect(text, r).not.toContain(tenantA);
    }
    expect(await fingerprint()).toBe(before);
  });

  it("a cross-site form post with A's admin session is refused with 403 on every route that takes a post, and nothing changes", async () => {
    const before = await fingerprint();
    for (const r of routes.filter((x) => x.startsWith('POST'))) {
      const attempts: Record<string, string>[] = [
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        { origin: 'https://evil.example' },
        { 'sec-fetch-site': 'cross-site' },
      ];
      for (const headers of attempts) {
        const res = await call(r, { cookie: adminA, ...headers });
        expect(res.status, `${r} ${JSON.stringify(headers)} answered ${res.status}`).toBe(403);
      }
    }
    expect(await fingerprint()).toBe(before);
  });
});
