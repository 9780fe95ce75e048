import { createHmac } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { delay, HttpResponse, http } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, tenantSecrets, tenantSettings } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import {
  type SeededTenant,
  seedSidebarTenant,
  sidebarConfig,
  sidebarZendeskFake,
  tokenManager,
} from './sidebar-fixture.ts';

/**
 * The console's settings page: the routing form offers the tenant's own Zendesk organization
 * fields and brands (read at runtime, every page), and falls back to typed values saying why;
 * every form goes through the API's verbs and schemas (errors beside the field with status and
 * code, nothing changed; the same audit events); secrets are write-only; the Context API test
 * request is signed as the pipeline signs it and shows the request and the answer, failures too.
 */
const fake = await sidebarZendeskFake('settingspage');
const ZD = `https://${fake.subdomain}.zendesk.com`;
const CTX_URL = 'https://ctx.settingspage.example/copilot/context';
const SECRET = 'ctx-secret-0123456789abcdef';
const MODEL_KEY = 'sk-tenant-own-key-0123456789';
const ORIGIN = 'https://copilot.test';
let orgFieldsFail = false;
const server = useMsw(
  ...fake.handlers,
  // Two pages of organization fields (cursor pagination), one inactive.
  http.get(`${ZD}/api/v2/organization_fields.json`, ({ request }) => {
    if (orgFieldsFail) return HttpResponse.json({ error: 'boom' }, { status: 500 });
    const after = new URL(request.url).searchParams.get('page[after]');
    if (!after)
      return HttpResponse.json({
        organization_fields: [
          { id: 1, key: 'workspace_id', title: 'Workspace ID', type: 'text', active: true },
          { id: 2, key: 'legacy_code', title: 'Legacy code', type: 'text', active: false },
        ],
        meta: { has_more: true, after_cursor: 'c2' },
      });
    expect(after).toBe('c2');
    return HttpResponse.json({
      organization_fields: [{ id: 3, key: 'tier', title: 'Tier', type: 'dropdown', active: true }],
      meta: { has_more: false, after_cursor: null },
    });
  }),
  http.get(`${ZD}/api/v2/brands.json`, () =>
    HttpResponse.json({
      brands: [
        { id: 10, name: 'Acme Support', subdomain: 'acme', active: true, default: true },
        { id: 11, name: 'Moss & Fern', subdomain: 'mossfern', active: true, default: false },
      ],
      meta: { has_more: false },
    }),
  ),
);

describe.each(backends())('settings page on %s', (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>['app'];
  let tenant: SeededTenant;
  let bare: string;
  let admin: string;
  let member: string;
  let bareAdmin: string;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const vault = testVault();
    app = testApp(database, {
      config: sidebarConfig,
      vault,
      tokens: tokenManager(database.db, vault),
      contextApiResolver: async () => ['93.184.216.34'],
    }).app;
    tenant = await seedSidebarTenant(database.db, vault, fake, { ticketId: '95001' });
    bare = (await createTenant(database.db, { name: 'No Zendesk', actor: { type: 'system', name: 't' } })).id;
    const session = async (tenantId: string, userId: string, role: 'admin' | 'member') =>
      `${SESSION_COOKIE}=${(await createSession(database.db, { tenantId, userId, role, via: 'local_link' })).token}`;
    admin = await session(tenant.tenantId, 'U_A', 'admin');
    member = await session(tenant.tenantId, 'U_M', 'member');
    bareAdmin = await session(bare, 'U_B', 'admin');
  });
  afterAll(() => database?.close());

  const page = (cookie = admin) => app.request('/admin/settings', { headers: { cookie } });
  const post = (path: string, fields: Record<string, string>, cookie = admin, origin = ORIGIN) =>
    app.request(path, {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  const settingsDoc = async () =>
    (
      await withTenant(database.db, tenant.tenantId, (tx) =>
        tx.select({ s: tenantSettings.settings }).from(tenantSettings),
      )
    )[0]?.s ?? null;
  const auditOf = (action: string) =>
    withTenant(database.db, tenant.tenantId, (tx) =>
      tx.select().from(auditEvents).where(eq(auditEvents.action, action)),
    );
  const secrets = () => withTenant(database.db, tenant.tenantId, (tx) => tx.select().from(tenantSecrets));

  it("offers the tenant's active organization fields (every page) and its brands, read from Zendesk", async () => {
    const res = await page();
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<option value="workspace_id">Workspace ID (workspace_id, text)</option>');
    expect(html).toContain('<option value="tier">Tier (tier, dropdown)</option>');
    expect(html).not.toContain('legacy_code');
    // The stored default is not one of its fields: kept selected, and said so.
    expect(html).toContain(
      '<option value="account_id" selected>account_id (not a field of your Zendesk)</option>',
    );
    expect(html).toContain('Account id for brand “Acme Support”');
    expect(html).toContain('Account id for brand “Moss &amp; Fern”');
    expect(html).toContain('href="/admin/settings"');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('without Zendesk (not connected, or failing) the routing form takes typed values and says why', async () => {
    const none = await (await page(bareAdmin)).text();
    expect(none).toContain(
      'Zendesk is not connected, so its organization fields and brands cannot be listed.',
    );
    expect(none).toMatch(/<input id="orgField" name="orgField" value="account_id"/);
    expect(none).toContain('<label for="brandName-new">Another brand name</label>');
    orgFieldsFail = true;
    try {
      const failing = await (await page()).text();
      expect(failing).toContain(
        'Zendesk did not list the organization fields and brands just now (HTTP 500).',
      );
      expect(failing).toMatch(/<input id="orgField" name="orgField"/);
    } finally {
      orgFieldsFail = false;
    }
    // The typed brand mapping is saved on the tenant without Zendesk.
    const saved = await post(
      '/admin/settings/routing',
      { orgField: 'acct', 'brandName-new': 'Solo Brand', 'brand-new': 'acc_solo' },
      bareAdmin,
    );
    expect(saved.status).toBe(303);
    expect(saved.headers.get('location')).toBe('/admin/settings?saved=routing#routing');
    const after = await (
      await app.request('/admin/settings?saved=routing', { headers: { cookie: bareAdmin } })
    ).text();
    expect(after).toContain('<p class="notice" role="status">Routing saved.</p>');
    expect(after).toContain('Account id for brand “Solo Brand”');
    expect(after).toMatch(/id="brand-0" name="brand-0" value="acc_solo"/);
  });

  it('members get 403 and cross-site posts are refused; nothing changes', async () => {
    const before = await settingsDoc();
    expect((await page(member)).status).toBe(403);
    expect((await post('/admin/settings/context', { deadlineMs: '900' }, member)).status).toBe(403);
    expect(
      (await post('/admin/settings/context', { deadlineMs: '900' }, admin, 'https://evil.example')).status,
    ).toBe(403);
    expect(await settingsDoc()).toEqual(before);
  });

  it('routing: an empty field is refused beside it; a chosen field and brand mapping are saved and audited', async () => {
    const before = await settingsDoc();
    const bad = await post('/admin/settings/routing', {
      orgField: '',
      'brandName-0': 'Acme Support',
      'brand-0': 'acc_1',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(
      /id="orgField-error" role="alert">[^<]+<small>\(400 invalid_body\)<\/small>/,
    );
    expect(await settingsDoc()).toEqual(before);
    const ok = await post('/admin/settings/routing', {
      orgField: 'workspace_id',
      'brandName-0': 'Acme Support',
      'brand-0': '',
      'brandName-1': 'Moss & Fern',
      'brand-1': 'acc_globex',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/admin/settings?saved=routing#routing');
    expect(await settingsDoc()).toMatchObject({
      routing: { orgField: 'workspace_id', brands: { 'Moss & Fern': 'acc_globex' } },
    });
    const html = await (await page()).text();
    expect(html).toContain('<option value="workspace_id" selected>');
    expect(html).toMatch(/id="brand-1" name="brand-1" value="acc_globex"/);
    expect((await auditOf('settings.updated')).map((a) => a.detail)).toContainEqual({ keys: ['routing'] });
  });

  it('drafting: base URL rules and the write-only key (sealed, "set"/"not set", cleared on request)', async () => {
    const before = await settingsDoc();
    const cases: [Record<string, string>, string, RegExp][] = [
      [
        { model: 'gpt-4.1', baseUrl: 'http://llm.example.com/v1', apiKey: MODEL_KEY },
        'baseUrl',
        /only https URLs are allowed/,
      ],
      [
        { model: 'gpt-4.1', baseUrl: 'https://u:p@llm.example.com/v1', apiKey: MODEL_KEY },
        'baseUrl',
        /credentials/,
      ],
      [
        { model: 'gpt-4.1', baseUrl: 'https://10.0.0.5/v1', apiKey: MODEL_KEY },
        'baseUrl',
        /not a public address/,
      ],
      [
        { model: 'gpt-4.1', baseUrl: 'https://llm.example.com/v1' },
        'baseUrl',
        /needs the tenant&#39;s own API key/,
      ],
      [{ model: '', replyLanguage: 'auto' }, 'model', /.+/],
      [{ model: 'gpt-4.1', replyLanguage: 'xx' }, 'replyLanguage', /.+/],
      [{ model: 'gpt-4.1', apiKey: 'short' }, 'apiKey', /at least 8 characters/],
    ];
    for (const [fields, field, message] of cases) {
      const res = await post('/admin/settings/drafting', fields);
      expect(res.status, JSON.stringify(fields)).toBe(400);
      const html = await res.text();
      const err = html.match(new RegExp(`id="${field}-error" role="alert">([^]*?)</p>`));
      expect(err?.[1], JSON.stringify(fields)).toMatch(message);
      expect(html).not.toContain(MODEL_KEY);
    }
    expect(await settingsDoc()).toEqual(before);
    expect(await secrets()).toEqual([]);

    const ok = await post('/admin/settings/drafting', {
      model: 'gpt-4.1',
      baseUrl: 'https://llm.example.com/v1',
      apiKey: MODEL_KEY,
      replyLanguage: 'de',
    });
    expect(ok.status).toBe(303);
    expect((await settingsDoc())?.drafting).toEqual({
      model: 'gpt-4.1',
      baseUrl: 'https://llm.example.com/v1',
      replyLanguage: 'de',
    });
    const [sealed] = await secrets();
    expect(sealed?.purpose).toBe('model_api_key');
    expect(sealed?.sealed).not.toContain(MODEL_KEY);
    const html = await (await page()).text();
    expect(html).toContain('<strong id="apiKey-state">set</strong>');
    expect(html).toContain('value="https://llm.example.com/v1"');
    expect(html).toContain('<option value="de" selected>German (de)</option>');
    expect(html).not.toContain(MODEL_KEY);
    const audits = await auditOf('settings.updated');
    expect(audits.map((a) => a.detail)).toContainEqual({ keys: ['drafting'], ownModel: 'set' });
    expect(JSON.stringify(audits)).not.toContain(MODEL_KEY);

    // Clearing the key while a base URL is set is refused (the server's key never goes there) ...
    const keep = await post('/admin/settings/drafting', {
      model: 'gpt-4.1',
      baseUrl: 'https://llm.example.com/v1',
      clearApiKey: '1',
    });
    expect(keep.status).toBe(400);
    expect(await secrets()).toHaveLength(1);
    // ... and allowed with the base URL emptied.
    expect(
      (await post('/admin/settings/drafting', { model: 'gpt-4.1', baseUrl: '', clearApiKey: '1' })).status,
    ).toBe(303);
    expect(await secrets()).toEqual([]);
    expect(await (await page()).text()).toContain('<strong id="apiKey-state">not set</strong>');
    expect((await auditOf('settings.updated')).map((a) => a.detail)).toContainEqual({
      keys: ['drafting'],
      ownModel: 'cleared',
    });
  });

  it('the API refuses the same drafting values with the same codes (one verb, one schema)', async () => {
    const put = (body: unknown) =>
      app.request('/admin/api/settings', {
        method: 'PUT',
        headers: { cookie: admin, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const http1 = await put({
      drafting: { model: 'm', baseUrl: 'http://llm.example.com/v1', apiKey: MODEL_KEY },
    });
    expect(http1.status).toBe(400);
    expect(((await http1.json()) as { error: { code: string } }).error.code).toBe('url_not_allowed');
    const noKey = await put({ drafting: { model: 'm', baseUrl: 'https://llm.example.com/v1' } });
    expect(((await noKey.json()) as { error: { message: string } }).error.message).toMatch(
      /^drafting\.baseUrl: needs the tenant's own API key/,
    );
    expect(await secrets()).toEqual([]);
  });

  it('context: numbers are checked by the schema beside their field; saved values are shown', async () => {
    const before = await settingsDoc();
    const word = await post('/admin/settings/context', {
      deadlineMs: 'soon',
      kbLimit: '3',
      recentTickets: '5',
    });
    expect(word.status).toBe(400);
    expect(await word.text()).toContain('id="deadlineMs-error" role="alert">must be a whole number');
    const big = await post('/admin/settings/context', {
      deadlineMs: '99999',
      kbLimit: '3',
      recentTickets: '5',
    });
    expect(big.status).toBe(400);
    expect(await big.text()).toMatch(/id="deadlineMs-error" role="alert">[^<]*30000/);
    const kb = await post('/admin/settings/context', {
      deadlineMs: '900',
      kbLimit: '21',
      recentTickets: '5',
    });
    expect(await kb.text()).toMatch(/id="kbLimit-error" role="alert">[^<]*20/);
    expect(await settingsDoc()).toEqual(before);
    const ok = await post('/admin/settings/context', {
      deadlineMs: '1200',
      providerTimeoutMs: '',
      kbLimit: '4',
      recentTickets: '7',
    });
    expect(ok.status).toBe(303);
    expect((await settingsDoc())?.context).toEqual({ deadlineMs: 1200, kbLimit: 4, recentTickets: 7 });
    expect(await (await page()).text()).toMatch(/id="deadlineMs" name="deadlineMs" value="1200"/);
  });

  const ctxForm = (over: Record<string, string> = {}) => ({
    ctxUrl: CTX_URL,
    ctxKeysAccount: 'plan, integrations',
    ctxKeysEndUser: 'records',
    ctxAttemptTimeoutMs: '200',
    ctxDefaultTtlSeconds: '60',
    ctxErrorTtlSeconds: '30',
    ctxMaxResponseBytes: '262144',
    ctxSecret: '',
    ...over,
  });

  it('Context API: refused URL and missing secret beside their fields; saved write-only, audited', async () => {
    const http1 = await post(
      '/admin/settings/context-api',
      ctxForm({ ctxUrl: 'http://ctx.example/x', ctxSecret: SECRET }),
    );
    expect(http1.status).toBe(400);
    expect(await http1.text()).toMatch(/id="ctxUrl-error" role="alert">[^<]*https/);
    const loop = await post(
      '/admin/settings/context-api',
      ctxForm({ ctxUrl: 'https://127.0.0.1/x', ctxSecret: SECRET }),
    );
    expect(await loop.text()).toMatch(
      /id="ctxUrl-error" role="alert">[^<]*not a public address <small>\(400 url_not_allowed\)/,
    );
    const noSecret = await post('/admin/settings/context-api', ctxForm());
    expect(noSecret.status).toBe(400);
    expect(await noSecret.text()).toMatch(/id="ctxSecret-error" role="alert">is required the first time/);
    const short = await post('/admin/settings/context-api', ctxForm({ ctxSecret: 'short' }));
    expect(await short.text()).toMatch(/id="ctxSecret-error" role="alert">must be at least 16 characters/);
    const slow = await post(
      '/admin/settings/context-api',
      ctxForm({ ctxAttemptTimeoutMs: '5', ctxSecret: SECRET }),
    );
    expect(await slow.text()).toMatch(/id="ctxAttemptTimeoutMs-error" role="alert">/);
    expect((await settingsDoc())?.contextApi).toBeUndefined();

    const ok = await post('/admin/settings/context-api', ctxForm({ ctxSecret: SECRET }));
    expect(ok.status).toBe(303);
    expect((await settingsDoc())?.contextApi).toMatchObject({
      url: CTX_URL,
      keys: { account: ['plan', 'integrations'], end_user: ['records'] },
      attemptTimeoutMs: 200,
    });
    const html = await (await page()).text();
    expect(html).toContain('<strong id="ctxSecret-state">set</strong>');
    expect(html).toContain('value="plan, integrations"');
    expect(html).not.toContain(SECRET);
    const [configured] = await auditOf('context_api.configured');
    expect(configured?.detail).toMatchObject({ host: 'ctx.settingspage.example', secretRotated: true });
  });

  it('the test request is signed as the pipeline signs it and shows the request and the answer, never the secret', async () => {
    const seen: { signature: string; expected: string; body: unknown }[] = [];
    server.use(
      http.post(CTX_URL, async ({ request }) => {
        const raw = await request.text();
        const ts = request.headers.get('x-copilot-timestamp')!;
        seen.push({
          signature: request.headers.get('x-copilot-signature')!,
          expected: `v1=${createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex')}`,
          body: JSON.parse(raw),
        });
        return HttpResponse.json({
          facts: [{ key: 'plan', value: { name: 'Pro' }, visibility: 'account' }],
        });
      }),
    );
    const empty = await post('/admin/settings/context-api/test', { testAccountId: '' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toMatch(/id="testAccountId-error" role="alert">is required/);
    expect(seen).toHaveLength(0);

    // Twice: the cache is left out, so the second sends too.
    for (let i = 0; i < 2; i++) {
      const res = await post('/admin/settings/context-api/test', { testAccountId: 'acc_globex' });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain(`POST ${CTX_URL}`);
      expect(html).toMatch(/x-copilot-signature: v1=[0-9a-f]{64}/);
      expect(html).toContain('HTTP <strong>200</strong>');
      expect(html).toContain('{&quot;facts&quot;:[{&quot;key&quot;:&quot;plan&quot;');
      expect(html).toContain('The pipeline would use facts for: plan.');
      expect(html).not.toContain(SECRET);
    }
    const endUser = await post('/admin/settings/context-api/test', {
      testAccountId: 'acc_globex',
      testEndUserEmail: 'Pat@Shop.example',
    });
    expect(await endUser.text()).toContain('The answer was valid but held no facts for the keys asked.');
    expect(seen[2]?.body).toMatchObject({
      keys: ['records'],
      endUser: { email: 'pat@shop.example' },
      level: 'end_user',
    });
    // A tenant without a Context API is told to save one first; nothing is sent.
    const none = await post('/admin/settings/context-api/test', { testAccountId: 'acc_1' }, bareAdmin);
    expect(none.status).toBe(409);
    expect(await none.text()).toMatch(
      /id="testAccountId-error" role="alert">Save the Context API settings first\./,
    );
    expect(seen).toHaveLength(3);
    expect(seen[0]!.signature).toBe(seen[0]!.expected);
    expect(seen[0]!.body).toEqual({
      keys: ['plan', 'integrations'],
      account: { id: 'acc_globex' },
      endUser: null,
      ticketId: 'console-test',
      level: 'account',
    });
    const tested = await auditOf('context_api.tested');
    expect(tested).toHaveLength(3);
    expect(tested[0]).toMatchObject({ outcome: 'success', target: 'ctx.settingspage.example' });
    expect(JSON.stringify(tested)).not.toContain(SECRET);
  });

  it('a failing and a timed-out answer are shown clearly, with the retry the pipeline makes', async () => {
    let calls = 0;
    server.use(
      http.post(CTX_URL, () => {
        calls++;
        return HttpResponse.json({ error: 'database is down' }, { status: 503 });
      }),
    );
    const failing = await (
      await post('/admin/settings/context-api/test', { testAccountId: 'acc_globex' })
    ).text();
    expect(calls).toBe(2);
    expect(failing).toContain('Test result: failed');
    expect(failing).toContain('The pipeline would mark the Context API missing: answered 503.');
    expect(failing).toContain('Request 2 of 2');
    expect(failing).toContain('HTTP <strong>503</strong>');
    expect(failing).toContain('database is down');

    server.use(http.post(CTX_URL, () => delay('infinite')));
    const slow = await (
      await post('/admin/settings/context-api/test', { testAccountId: 'acc_globex' })
    ).text();
    expect(slow).toContain('Test result: failed');
    expect(slow).toContain('attempt timed out');
    expect(slow).toMatch(/No answer after \d+ ms: no answer in time/);
    const failures = (await auditOf('context_api.tested')).filter((a) => a.outcome === 'failure');
    expect(failures.map((a) => (a.detail as { error: string }).error)).toEqual([
      'answered 503',
      'attempt timed out',
    ]);
  });
});
