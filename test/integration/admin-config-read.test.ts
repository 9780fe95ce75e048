import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, catalogEntries } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The configuration API's read side: every document that can be PUT can be read back, in the
 * shape PUT takes (GET, then PUT the answer unchanged, changes nothing), only by the tenant's
 * own admins; and a catalog PUT that leaves a section out is refused instead of wiping it.
 */
const system = { type: 'system', name: 'test' } as const;

const catalog = {
  plans: [
    { key: 'pro', name: 'Pro', monthlyPrice: 499 },
    { key: 'free', name: 'Free', monthlyPrice: null },
  ],
  features: [{ key: 'sso', name: 'SSO', plans: ['pro'] }],
  links: {
    billing: 'https://app.example.com/billing?company={account.name}',
    roles: { url: 'https://app.example.com/roles', purpose: 'manage roles' },
  },
  kb: [{ id: 'kb-1', title: 'Setting up SSO', body: 'Open Settings, Security, SSO.' }],
  changelog: [
    { date: '2026-11-01', title: 'SSO for Pro', body: 'Pro workspaces can use SSO.' },
    { date: '2026-10-01', title: 'Exports', body: '' },
  ],
  playbooks: [
    {
      key: 'sso',
      when: 'someone asks about SSO',
      steps: ['Check the plan'],
      visibility: 'account',
      autoSend: true,
    },
  ],
};

describe.each(backends())('configuration read API on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  let otherAdmin: string;
  const vault = testVault();
  const call = (method: string, path: string, cookie: string, body?: unknown) =>
    testApp(database, { vault }).app.request(path, {
      method,
      headers: { cookie, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'O', actor: system })).id;
    const session = (t: string, userId: string, role: 'admin' | 'member') =>
      createSession(database.db, { tenantId: t, userId, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session(tenantId, 'U1', 'admin');
    member = await session(tenantId, 'U2', 'member');
    otherAdmin = await session(otherTenant, 'U3', 'admin');
  });
  afterAll(() => database?.close());

  it('the catalog reads back as it was PUT, and PUTting the answer back changes nothing', async () => {
    expect((await call('PUT', '/admin/api/catalog', admin, catalog)).status).toBe(200);
    const res = await call('GET', '/admin/api/catalog', admin);
    expect(res.status).toBe(200);
    const read = (await res.json()) as typeof catalog;
    expect(read).toEqual({
      ...catalog,
      plans: [...catalog.plans].sort((a, b) => a.key.localeCompare(b.key)),
    });
    const before = await withTenant(database.db, tenantId, (tx) => tx.select().from(catalogEntries));
    expect((await call('PUT', '/admin/api/catalog', admin, read)).status).toBe(200);
    expect(await (await call('GET', '/admin/api/catalog', admin)).json()).toEqual(read);
    const after = await withTenant(database.db, tenantId, (tx) => tx.select().from(catalogEntries));
    const rows = (r: typeof before) =>
      r
        .map((e) => [e.kind, e.key, e.data])
        .sort((a, b) => `${a[0]}/${a[1]}`.localeCompare(`${b[0]}/${b[1]}`));
    expect(rows(after)).toEqual(rows(before));
    // Another tenant's admin reads its own (empty) catalog; members and the signed-out read nothing.
    expect(await (await call('GET', '/admin/api/catalog', otherAdmin)).json()).toMatchObject({
      plans: [],
      kb: [],
    });
    expect((await call('GET', '/admin/api/catalog', member)).status).toBe(403);
    expect((await call('GET', '/admin/api/catalog', '')).status).toBe(401);
  });

  it('a catalog PUT that leaves out a section is refused, naming it, and nothing changes', async () => {
    await call('PUT', '/admin/api/catalog', admin, catalog);
    const audits = async () =>
      withTenant(database.db, tenantId, async (tx) =>
        (await tx.select().from(auditEvents)).filter((e) => e.action === 'catalog.replaced'),
      );
    const n = (await audits()).length;
    const empty = await call('PUT', '/admin/api/catalog', admin, {});
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({
      error: { code: 'invalid_body', message: expect.stringMatching(/^plans: is required/) },
    });
    const { kb: _kb, ...withoutKb } = catalog;
    const partial = await call('PUT', '/admin/api/catalog', admin, withoutKb);
    expect(partial.status).toBe(400);
    expect(((await partial.json()) as { error: { message: string } }).error.message).toMatch(
      /^kb: is required/,
    );
    expect((await audits()).length).toBe(n);
    expect(
      ((await (await call('GET', '/admin/api/catalog', admin)).json()) as typeof catalog).kb,
    ).toHaveLength(1);
    // Emptying a section on purpose still works.
    expect((await call('PUT', '/admin/api/catalog', admin, { ...catalog, kb: [] })).status).toBe(200);
    expect(((await (await call('GET', '/admin/api/catalog', admin)).json()) as typeof catalog).kb).toEqual(
      [],
    );
  });

  it('the directory reads back in pages, as PUT takes it, with end-user counts', async () => {
    const accounts = Array.from({ length: 5 }, (_, i) => ({
      id: `acc_${i}`,
      name: `Account ${i}`,
      plan: i % 2 ? 'pro' : null,
      domains: [`a${i}.example`],
      users: [{ email: `ops@a${i}.example`, name: `Ops ${i}`, role: 'admin' }],
      internalNotes: i === 0 ? 'renewal discount' : null,
      ...(i === 1 ? { endUsers: [{ email: 'shopper@mail.example', name: 'S', records: {} }] } : {}),
    }));
    expect((await call('PUT', '/admin/api/directory', admin, { mode: 'replace', accounts })).status).toBe(
      200,
    );
    const first = (await (await call('GET', '/admin/api/directory?limit=2', admin)).json()) as {
      accounts: { id: string }[];
      endUserCounts: Record<string, number>;
      nextCursor: string | null;
    };
    expect(first.accounts.map((a) => a.id)).toEqual(['acc_0', 'acc_1']);
    expect(first.endUserCounts).toEqual({ acc_0: 0, acc_1: 1 });
    expect(first.nextCursor).toBe('acc_1');
    const rest = (await (
      await call('GET', `/admin/api/directory?limit=10&cursor=${first.nextCursor}`, admin)
    ).json()) as {
      accounts: { id: string }[];
      nextCursor: string | null;
    };
    expect(rest.accounts.map((a) => a.id)).toEqual(['acc_2', 'acc_3', 'acc_4']);
    expect(rest.nextCursor).toBeNull();
    const all = [...first.accounts, ...rest.accounts];
    const { endUsers: _e, ...expected0 } = { ...accounts[0]!, endUsers: undefined };
    expect(all[0]).toEqual(expected0);
    // The pages PUT back unchanged keep every account and its end users.
    expect(
      (await call('PUT', '/admin/api/directory', admin, { mode: 'replace', accounts: all })).status,
    ).toBe(200);
    const again = (await (await call('GET', '/admin/api/directory?limit=1000', admin)).json()) as {
      accounts: unknown[];
      endUserCounts: Record<string, number>;
    };
    expect(again.accounts).toEqual(all);
    expect(again.endUserCounts.acc_1).toBe(1);
    for (const bad of ['limit=0', 'limit=1001', 'limit=abc', 'cursor=']) {
      const res = await call('GET', `/admin/api/directory?${bad}`, admin);
      expect(res.status, bad).toBe(400);
    }
    expect(await (await call('GET', '/admin/api/directory', otherAdmin)).json()).toMatchObject({
      accounts: [],
    });
  });

  it('the Context API reads back without its secret', async () => {
    expect(await (await call('GET', '/admin/api/context-api', admin)).json()).toEqual({
      configured: false,
      settings: null,
      secretSet: false,
    });
    const put = await call('PUT', '/admin/api/context-api', admin, {
      url: 'https://api.example.com/copilot/context',
      secret: 'a-very-long-shared-secret-value',
    });
    expect(put.status).toBe(200);
    const res = await call('GET', '/admin/api/context-api', admin);
    const text = await res.text();
    expect(text).not.toContain('a-very-long-shared-secret-value');
    expect(JSON.parse(text)).toMatchObject({
      configured: true,
      secretSet: true,
      settings: { url: 'https://api.example.com/copilot/context' },
    });
    expect(await (await call('GET', '/admin/api/context-api', otherAdmin)).json()).toMatchObject({
      configured: false,
    });
  });
});
