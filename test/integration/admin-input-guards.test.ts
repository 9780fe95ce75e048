import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accounts,
  auditEvents,
  catalogEntries,
  endUsers,
  tenantSecrets,
  tenantSettings,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createCatalogProvider } from '../../src/pipeline/context/catalog-provider.ts';
import type { RouteDecision } from '../../src/pipeline/routing.ts';
import { readPipelineSettings } from '../../src/pipeline/settings.ts';
import type { ContextFact } from '../../src/pipeline/types.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * Findings of the independent attack run (issue 13, item 7) on the admin configuration API:
 * Context API URLs checked when saved, free-mail domains refused at directory sync, link
 * placeholders limited to the fields links may carry, and bodies PostgreSQL cannot store
 * (NUL characters, deep nesting) refused with 400 instead of a 500. Each refusal changes nothing.
 */
const system = { type: 'system', name: 'test' } as const;
type ErrorBody = { error: { code: string; message: string; requestId: string } };

const account = (over: Record<string, unknown> = {}) => ({
  id: 'acc_1',
  name: 'Acme',
  plan: 'pro',
  domains: ['acme.example'],
  users: [{ email: 'ops@acme.example', name: 'Ops', role: 'admin' }],
  internalNotes: 'renewal discount: 40%',
  ...over,
});

describe.each(backends())('admin API input guards on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let cookie: string;
  const vault = testVault();

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'Guards', actor: system })).id;
    const s = await createSession(database.db, { tenantId, userId: 'U1', role: 'admin', via: 'slack_oidc' });
    cookie = `hc_session=${s.token}`;
  });
  afterAll(() => database?.close());

  const put = (path: string, body: unknown, env: Record<string, string> = {}) =>
    testApp(database, { vault, config: testConfig(env) }).app.request(path, {
      method: 'PUT',
      headers: { cookie, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  async function refused(res: Response, code: string, ...inMessage: string[]) {
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe(code);
    for (const m of inMessage) expect(body.error.message).toContain(m);
    return body.error.message;
  }

  const snapshot = () =>
    withTenant(database.db, tenantId, async (tx) => ({
      accounts: await tx.select().from(accounts),
      endUsers: await tx.select().from(endUsers),
      catalog: await tx.select().from(catalogEntries),
      secrets: await tx.select().from(tenantSecrets),
      settings: await tx.select().from(tenantSettings),
      audit: (await tx.select().from(auditEvents)).length,
    }));

  describe('Context API URL at save time', () => {
    const secret = 'a-long-enough-secret-value';

    it.each([
      'https://127.0.0.1/copilot',
      'https://[::1]/copilot',
      'https://10.1.2.3/copilot',
      'https://169.254.169.254/latest/meta-data',
      'https://192.0.2.10/copilot',
      'https://203.0.113.7/copilot',
      'https://[2001:db8::1]/copilot',
      'https://[::ffff:0:7f00:1]/copilot',
      'https://localhost:8443/copilot',
      'https://ctx.localhost/copilot',
      'https://metadata.google.internal/copilot',
      'https://ctx/copilot',
      'http://ctx.example.com/copilot',
      'https://user:pw@ctx.example.com/copilot',
    ])('refuses %s with 400 url_not_allowed, storing nothing', async (url) => {
      const before = await snapshot();
      await refused(await put('/admin/api/context-api', { url, secret }), 'url_not_allowed', 'url');
      expect(await snapshot()).toEqual(before);
    });

    it('accepts a public name (not resolved without a resolver, so no DNS in tests)', async () => {
      const res = await put('/admin/api/context-api', { url: 'https://ctx.example.com/copilot', secret });
      expect(res.status).toBe(200);
      const settings = await withTenant(database.db, tenantId, (tx) => readPipelineSettings(tx));
      expect(settings.contextApi?.url).toBe('https://ctx.example.com/copilot');
    });

    it('a resolver given to the app refuses a name that resolves to a private address', async () => {
      const app = testApp(database, {
        vault,
        contextApiResolver: async (host) =>
          host === 'inside.example.com' ? ['10.0.0.7'] : ['93.184.216.34'],
      }).app;
      const send = (url: string) =>
        app.request('/admin/api/context-api', {
          method: 'PUT',
          headers: { cookie, 'content-type': 'application/json' },
          body: JSON.stringify({ url, secret }),
        });
      await refused(await send('https://inside.example.com/copilot'), 'url_not_allowed', '10.0.0.7');
      expect((await send('https://outside.example.com/copilot')).status).toBe(200);
    });

    it('CONTEXT_API_ALLOW_PRIVATE (development, loopback stubs) is respected at save time too', async () => {
      const res = await put(
        '/admin/api/context-api',
        { url: 'https://127.0.0.1:8443/copilot', secret },
        { CONTEXT_API_ALLOW_PRIVATE: 'true' },
      );
      expect(res.status).toBe(200);
      const http = await put(
        '/admin/api/context-api',
        { url: 'http://127.0.0.1:8443/copilot', secret },
        { CONTEXT_API_ALLOW_PRIVATE: 'true' },
      );
      await refused(http, 'url_not_allowed', 'https');
    });
  });

  describe('directory sync and free-mail domains', () => {
    it('refuses an account listing a free-mail domain: 400 free_mail_domain naming it, nothing stored', async () => {
      const before = await snapshot();
      const res = await put('/admin/api/directory', {
        mode: 'replace',
        accounts: [account(), account({ id: 'acc_2', name: 'Beta', domains: ['beta.example', 'Gmail.com'] })],
      });
      await refused(res, 'free_mail_domain', 'acc_2', 'gmail.com', 'accounts.1.domains');
      expect(await snapshot()).toEqual(before);
    });

    it('the same people can be listed by exact email', async () => {
      const res = await put('/admin/api/directory', {
        mode: 'replace',
        accounts: [account({ users: [{ email: 'founder@gmail.com', name: 'Founder' }] })],
      });
      expect(res.status).toBe(200);
      const [row] = await withTenant(database.db, tenantId, (tx) => tx.select().from(accounts));
      expect(row).toMatchObject({ domains: ['acme.example'], emails: ['founder@gmail.com'] });
    });
  });

  describe('catalog link placeholders', () => {
    const catalog = (links: Record<string, unknown>) => ({
      plans: [],
      features: [],
      links,
      kb: [],
      changelog: [],
      playbooks: [],
    });

    it('refuses a link naming another account field: 400 placeholder_not_allowed, nothing stored', async () => {
      expect(
        (await put('/admin/api/catalog', catalog({ billing: 'https://app.example/b?c={account.name}' })))
          .status,
      ).toBe(200);
      for (const bad of [
        '{account.internalNotes}',
        '{internalNotes}',
        '{account.users}',
        '{account.data.x}',
      ]) {
        const before = await snapshot();
        const res = await put(
          '/admin/api/catalog',
          catalog({ billing: 'https://app.example/b', leak: { url: `https://app.example/n?x=${bad}` } }),
        );
        await refused(res, 'placeholder_not_allowed', 'links.leak', bad);
        expect(await snapshot()).toEqual(before);
      }
    });

    it('accepts the placeholders the scenarios use: {account.id}, {account.name}, {account.plan}', async () => {
      const res = await put(
        '/admin/api/catalog',
        catalog({
          byId: 'https://admin.example/{account.id}/billing',
          byName: 'https://app.example/billing?company={account.name}',
          byPlan: { url: 'https://app.example/upgrade?from={account.plan}', purpose: 'upgrade' },
        }),
      );
      expect(res.status).toBe(200);
    });

    it('a link stored before the rule with another field is never filled at draft time', async () => {
      expect((await put('/admin/api/directory', { mode: 'replace', accounts: [account()] })).status).toBe(
        200,
      );
      // Written directly, as a catalog saved before placeholders were checked.
      await withTenant(database.db, tenantId, async (tx) => {
        await tx.delete(catalogEntries);
        await tx.insert(catalogEntries).values([
          {
            tenantId,
            kind: 'link',
            key: 'notes',
            data: { url: 'https://x.example/?n={account.internalNotes}' },
          },
          { tenantId, kind: 'link', key: 'short', data: { url: 'https://x.example/?n={internalNotes}' } },
          { tenantId, kind: 'link', key: 'users', data: { url: 'https://x.example/?u={account.users}' } },
          {
            tenantId,
            kind: 'link',
            key: 'billing',
            data: { url: 'https://x.example/{account.id}?c={name}' },
          },
        ]);
      });
      const provider = createCatalogProvider({ db: database.db, kbLimit: 3 });
      const route: RouteDecision = {
        level: 'account',
        accountId: 'acc_1',
        endUserEmail: null,
        endUserId: null,
        reason: 'org_field',
      };
      const facts: ContextFact[] = await provider.load(
        {
          tenantId,
          route,
          ticket: {
            id: '1',
            subject: 'billing',
            body: 'where is billing',
            requester: { id: '9', email: 'ops@acme.example', name: 'Ops' },
            organization: null,
            brand: null,
            recipient: null,
            via: 'email',
            createdAt: null,
          },
          now: new Date(),
        },
        new AbortController().signal,
      );
      const links = facts.filter((f) => f.key === 'link').map((f) => f.value as { key: string; url: string });
      expect(links).toEqual([{ key: 'billing', url: 'https://x.example/acc_1?c=Acme' }]);
      expect(JSON.stringify(facts)).not.toContain('renewal');
    });
  });

  describe('bodies PostgreSQL cannot store', () => {
    it('a NUL character in an admin API field is 400 invalid_body naming the field, nothing stored', async () => {
      const before = await snapshot();
      const directory = JSON.stringify({ accounts: [account({ name: 'Ac\u0000me' })] });
      expect(directory).toContain('\\u0000');
      await refused(await put('/admin/api/directory', directory), 'invalid_body', 'accounts.0.name', 'NUL');
      await refused(
        await put('/admin/api/catalog', { kb: [{ id: 'kb1', title: 'T', body: 'x\u0000y' }] }),
        'invalid_body',
        'kb.0.body',
      );
      await refused(
        await put('/admin/api/settings', { routing: { brands: { 'Br\u0000and': 'acc_1' } } }),
        'invalid_body',
        'NUL',
      );
      await refused(
        await put('/admin/api/context-api', {
          url: 'https://ctx.example.com/\u0000',
          secret: 'x'.repeat(20),
        }),
        'invalid_body',
        'url',
      );
      expect(await snapshot()).toEqual(before);
    });

    it('an escaped backslash before u0000 is not a NUL', async () => {
      const res = await put('/admin/api/directory', {
        mode: 'upsert',
        accounts: [account({ internalNotes: 'path C:\\u0000dir' })],
      });
      expect(res.status).toBe(200);
    });

    it('JSON nested 5,000 deep in directory records is 400 invalid_body, nothing stored', async () => {
      const before = await snapshot();
      const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
      const body = `{"accounts":[{"id":"acc_9","name":"Deep","endUsers":[{"email":"a@b.example","records":{"x":${deep}}}]}]}`;
      await refused(await put('/admin/api/directory', body), 'invalid_body', 'nested deeper than 64');
      const objects = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
      await refused(
        await put(
          '/admin/api/directory',
          `{"accounts":[{"id":"acc_9","name":"Deep","endUsers":[{"email":"a@b.example","records":${objects}}]}]}`,
        ),
        'invalid_body',
        'nested',
      );
      expect(await snapshot()).toEqual(before);
    });

    it('ordinary nesting (records a few levels deep) is accepted', async () => {
      const res = await put('/admin/api/directory', {
        mode: 'upsert',
        accounts: [
          account({
            endUsers: [
              { email: 'shopper@mail.example', records: { orders: [{ id: '7', lines: [{ sku: 'a' }] }] } },
            ],
          }),
        ],
      });
      expect(res.status).toBe(200);
    });
  });
});
