import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditEvents,
  catalogEntries,
  endUsers,
  kbArticles,
  playbooks,
  tenantSecrets,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { routeTicket } from '../../src/pipeline/routing.ts';
import { readPipelineSettings } from '../../src/pipeline/settings.ts';
import type { PipelineTicket } from '../../src/pipeline/types.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const system = { type: 'system', name: 'test' } as const;

const catalog = {
  plans: [{ key: 'pro', name: 'Pro', monthlyPrice: 499 }],
  features: [{ key: 'sso', name: 'SSO', plans: ['pro'] }],
  links: { billing: 'https://app.example.com/billing?company={account.name}' },
  kb: [{ id: 'kb-1', title: 'Setting up SSO', body: 'Open Settings, Security, SSO.' }],
  changelog: [{ date: '2026-11-01', title: 'SSO for Pro', body: 'Pro workspaces can use SSO.' }],
  playbooks: [{ key: 'sso', when: 'someone asks about SSO', steps: ['Check the plan'] }],
};

const directory = {
  mode: 'replace',
  accounts: [
    {
      id: 'acc_1',
      name: 'Acme',
      plan: 'pro',
      domains: ['Acme.example'],
      users: [{ email: 'Ops@Acme.example', name: 'Ops', role: 'admin' }],
      internalNotes: 'secret renewal discount',
      endUsers: [{ email: 'shopper@mail.example', name: 'Shopper', records: { orders: [{ id: '7' }] } }],
    },
  ],
};

function ticket(over: Partial<PipelineTicket> = {}): PipelineTicket {
  return {
    id: '1',
    subject: 's',
    body: 'b',
    requester: { id: '9', email: 'ops@acme.example', name: 'Ops' },
    organization: null,
    brand: null,
    recipient: null,
    via: 'email',
    createdAt: null,
    ...over,
  };
}

describe.each(backends())('admin configuration API on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  const vault = testVault();

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'Other', actor: system })).id;
    admin = `hc_session=${(await createSession(database.db, { tenantId, userId: 'U1', role: 'admin', via: 'slack_oidc' })).token}`;
    member = `hc_session=${(await createSession(database.db, { tenantId, userId: 'U2', role: 'member', via: 'slack_oidc' })).token}`;
  });
  afterAll(() => database?.close());

  const put = (path: string, body: unknown, cookie = admin, contentType = 'application/json') =>
    testApp(database, { vault }).app.request(path, {
      method: 'PUT',
      headers: { cookie, 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('refuses signed-out callers and members', async () => {
    expect((await put('/admin/api/catalog', catalog, '')).status).toBe(401);
    expect((await put('/admin/api/catalog', catalog, member)).status).toBe(403);
  });

  it('replaces the catalog, searchable by full text, and audits it', async () => {
    const res = await put('/admin/api/catalog', catalog);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result: unknown }).result).toEqual({
      plans: 1,
      features: 1,
      links: 1,
      kb: 1,
      changelog: 1,
      playbooks: 1,
    });
    // A second PUT replaces rather than adds.
    await put('/admin/api/catalog', { ...catalog, plans: [], kb: [] });
    const rows = await withTenant(database.db, tenantId, async (tx) => ({
      entries: await tx.select().from(catalogEntries),
      kb: await tx.select().from(kbArticles),
      audit: (await tx.select().from(auditEvents)).filter((e) => e.action === 'catalog.replaced'),
    }));
    expect(rows.entries.map((e) => e.kind).sort()).toEqual(['changelog', 'feature', 'link']);
    expect(rows.kb).toEqual([]);
    expect(rows.audit).toHaveLength(2);
    expect(rows.audit[0]!.actor).toEqual({ type: 'admin', userId: 'U1', via: 'slack_oidc' });
    const other = await withTenant(database.db, otherTenant, (tx) => tx.select().from(catalogEntries));
    expect(other).toEqual([]);
  });

  it("stores a playbook's visibility (internal by default); an unknown visibility is refused and changes nothing", async () => {
    const books = [
      { key: 'internal', when: 'refund questions', steps: ['Check the ledger'] },
      { key: 'shoppers', when: 'loyalty points', steps: ['Explain points'], visibility: 'end_user' },
    ];
    expect((await put('/admin/api/catalog', { ...catalog, playbooks: books })).status).toBe(200);
    const read = () =>
      withTenant(database.db, tenantId, async (tx) =>
        (await tx.select().from(playbooks)).map((b) => [b.key, b.visibility]).sort(),
      );
    expect(await read()).toEqual([
      ['internal', 'account'],
      ['shoppers', 'end_user'],
    ]);
    const bad = await put('/admin/api/catalog', {
      ...catalog,
      playbooks: [{ key: 'x', when: 'y', visibility: 'everyone' }],
    });
    expect(bad.status).toBe(400);
    expect(await read()).toEqual([
      ['internal', 'account'],
      ['shoppers', 'end_user'],
    ]);
  });

  it('syncs the directory so routing finds the account by email domain, without a code change', async () => {
    expect((await put('/admin/api/directory', directory)).status).toBe(200);
    const route = await withTenant(database.db, tenantId, async (tx) =>
      routeTicket(tx, ticket(), (await readPipelineSettings(tx)).routing),
    );
    expect([route.level, route.accountId]).toEqual(['account', 'acc_1']);
    const eus = await withTenant(database.db, tenantId, (tx) => tx.select().from(endUsers));
    expect(eus.map((e) => e.email)).toEqual(['shopper@mail.example']);
  });

  it('settings: a new org field takes effect at runtime; unknown keys and bad values are refused', async () => {
    const res = await put('/admin/api/settings', { routing: { orgField: 'customer_ref', brands: {} } });
    expect(res.status).toBe(200);
    const route = await withTenant(database.db, tenantId, async (tx) =>
      routeTicket(
        tx,
        ticket({
          requester: { id: '9', email: 'x@elsewhere.example', name: 'X' },
          organization: { id: '5', name: 'Acme', fields: { customer_ref: 'acc_1' } },
        }),
        (await readPipelineSettings(tx)).routing,
      ),
    );
    expect([route.level, route.accountId]).toEqual(['account', 'acc_1']);

    const unknownKey = await put('/admin/api/settings', { colour: 'blue' });
    expect(unknownKey.status).toBe(400);
    expect(((await unknownKey.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'invalid_body',
      message: expect.stringContaining('colour'),
    });
    const bad = await put('/admin/api/settings', { context: { deadlineMs: 5 } });
    expect(bad.status).toBe(400);
    const settings = await withTenant(database.db, tenantId, (tx) => readPipelineSettings(tx));
    expect(settings.context.deadlineMs).toBe(800);
    expect(settings.routing.orgField).toBe('customer_ref');
  });

  it('Context API: secret sealed, never returned, https only, required the first time', async () => {
    const noSecret = await put('/admin/api/context-api', { url: 'https://ctx.example.com/copilot' });
    expect(noSecret.status).toBe(400);
    const http = await put('/admin/api/context-api', {
      url: 'http://ctx.example.com/copilot',
      secret: 'a-long-enough-secret-value',
    });
    expect(http.status).toBe(400);
    const ok = await put('/admin/api/context-api', {
      url: 'https://ctx.example.com/copilot',
      secret: 'a-long-enough-secret-value',
    });
    expect(ok.status).toBe(200);
    expect(await ok.text()).not.toContain('a-long-enough-secret-value');
    const stored = await withTenant(database.db, tenantId, (tx) => tx.select().from(tenantSecrets));
    expect(stored).toHaveLength(1);
    expect(stored[0]!.sealed).not.toContain('a-long-enough');
    expect(await vault.open(tenantId, 'context_api_secret', stored[0]!.sealed)).toBe(
      'a-long-enough-secret-value',
    );
    const get = await testApp(database, { vault }).app.request('/admin/api/settings', {
      headers: { cookie: admin },
    });
    const text = await get.text();
    expect(JSON.parse(text).contextApi.url).toBe('https://ctx.example.com/copilot');
    expect(text).not.toContain('secret-value');
    const audits = await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents));
    expect(JSON.stringify(audits)).not.toContain('a-long-enough-secret-value');
  });

  it('bad bodies are refused with a clear error and change nothing', async () => {
    const before = await withTenant(database.db, tenantId, (tx) => tx.select().from(catalogEntries));
    const notJson = await put('/admin/api/catalog', '{"plans": [', admin);
    expect([notJson.status, ((await notJson.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'invalid_body',
    ]);
    const form = await put('/admin/api/catalog', 'plans=1', admin, 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    const badLink = await put('/admin/api/catalog', { ...catalog, links: { billing: 'not a url' } });
    expect(badLink.status).toBe(400);
    expect(((await badLink.json()) as { error: { message: string } }).error.message).toContain(
      'links.billing',
    );
    const dup = await put('/admin/api/directory', {
      accounts: [directory.accounts[0], directory.accounts[0]],
    });
    expect(dup.status).toBe(400);
    const after = await withTenant(database.db, tenantId, (tx) => tx.select().from(catalogEntries));
    expect(after).toEqual(before);
  });
});
