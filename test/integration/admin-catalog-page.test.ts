import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, playbooks } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { type CatalogInput, replaceCatalog } from '../../src/pipeline/tenant-config.ts';
import { readCatalog } from '../../src/pipeline/tenant-config-read.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The console's catalog page: items edited one at a time, imports (JSON, CSV per section)
 * previewed with their differences and applied only on a confirmation that carries exactly the
 * previewed document, refused when the catalog changed meanwhile; invalid input names its line
 * and changes nothing; another tenant's catalog never shows.
 */
const system = { type: 'system', name: 'test' } as const;
const ORIGIN = 'https://copilot.test';
const sameOrigin = { origin: ORIGIN, 'sec-fetch-site': 'same-origin' };

const BASE: CatalogInput = {
  plans: [
    { key: 'starter', name: 'Starter', monthlyPrice: 0 },
    { key: 'pro', name: 'Pro', monthlyPrice: 49 },
  ],
  features: [{ key: 'sso', name: 'Single sign-on', plans: ['pro'] }],
  links: { billing: 'https://example.com/billing/{account.id}' },
  kb: [{ id: 'kb-reset', title: 'Resetting a password', body: 'Go to settings.' }],
  changelog: [{ date: '2026-11-01', title: 'Dark mode', body: '' }],
  playbooks: [
    {
      key: 'billing',
      when: 'A billing question',
      steps: ['Check the plan'],
      visibility: 'account',
      autoSend: false,
    },
  ],
};

describe.each(backends())('catalog page on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  let otherAdmin: string;
  const vault = testVault();
  const app = () => testApp(database, { vault }).app;
  const get = (path: string, cookie = admin) => app().request(path, { headers: { cookie } });
  const post = (path: string, fields: Record<string, string | File>, cookie = admin) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return app().request(path, { method: 'POST', body: form, headers: { cookie, ...sameOrigin } });
  };
  const catalogOf = (t: string) => withTenant(database.db, t, (tx) => readCatalog(tx));
  const setCatalog = (t: string, c: CatalogInput) =>
    withTenant(database.db, t, (tx) => replaceCatalog({ tenantId: t, tx, actor: system }, c));
  const tokenOf = (html: string) => /name="preview" value="([^"]+)"/.exec(html)?.[1];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'O', actor: system })).id;
    const session = (t: string, role: 'admin' | 'member') =>
      createSession(database.db, {
        tenantId: t,
        userId: `U_${role}_${t.slice(-4)}`,
        role,
        via: 'slack_oidc',
      }).then((s) => `hc_session=${s.token}`);
    admin = await session(tenantId, 'admin');
    member = await session(tenantId, 'member');
    otherAdmin = await session(otherTenant, 'admin');
    await setCatalog(otherTenant, { ...BASE, plans: [{ key: 'zebra-secret', name: 'Zebra Secret Plan' }] });
  });
  beforeEach(() => setCatalog(tenantId, BASE));
  afterAll(() => database?.close());

  it("shows every section's items with edit and remove, never another tenant's; members get 403", async () => {
    const res = await get('/admin/catalog');
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const s of [
      'Starter',
      'Single sign-on',
      'https://example.com/billing/{account.id}',
      'Resetting a password',
      'Dark mode',
      'A billing question',
    ])
      expect(html).toContain(s);
    expect(html).toContain('aria-label="Edit plan pro"');
    expect(html).toContain('aria-label="Remove article kb-reset"');
    expect(html).not.toContain('Zebra Secret Plan');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await get('/admin/catalog', member)).status).toBe(403);
    const other = await (await get('/admin/catalog', otherAdmin)).text();
    expect(other).toContain('Zebra Secret Plan');
    expect(other).not.toContain('Starter');
  });

  it('a JSON import shows added, changed and removed items per section; only the confirmation applies exactly that', async () => {
    const next = {
      ...BASE,
      plans: [
        { key: 'pro', name: 'Pro', monthlyPrice: 59 },
        { key: 'team', name: 'Team', monthlyPrice: 99 },
      ],
      features: [],
    };
    const res = await post('/admin/catalog/import', {
      format: 'json',
      file: new File([JSON.stringify(next, null, 2)], 'c.json'),
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/Added: <code>team<\/code>/);
    expect(html).toMatch(/Changed: <code>pro<\/code>/);
    expect(html).toMatch(/Removed: <code>starter<\/code>/);
    expect(html).toMatch(/Removed: <code>sso<\/code>/);
    expect(html).not.toContain('kb-reset</code>'); // unchanged sections list nothing
    // Previewing changed nothing.
    expect((await catalogOf(tenantId)).plans.map((p) => p.key)).toEqual(['pro', 'starter']);
    const token = tokenOf(html)!;
    // Another tenant's admin cannot use it, and a tampered token does not open.
    expect((await post('/admin/catalog/import/confirm', { preview: token }, otherAdmin)).status).toBe(400);
    expect(
      (await post('/admin/catalog/import/confirm', { preview: `${token.slice(0, -4)}AAAA` })).status,
    ).toBe(400);
    expect((await catalogOf(otherTenant)).plans.map((p) => p.key)).toEqual(['zebra-secret']);
    const confirm = await post('/admin/catalog/import/confirm', { preview: token });
    expect(confirm.status).toBe(303);
    expect(confirm.headers.get('location')).toBe('/admin/catalog?applied=1');
    const after = await catalogOf(tenantId);
    expect(after.plans).toEqual([
      { key: 'pro', name: 'Pro', monthlyPrice: 59 },
      { key: 'team', name: 'Team', monthlyPrice: 99 },
    ]);
    expect(after.features).toEqual([]);
    expect(after.kb).toEqual(BASE.kb);
    const actions = await withTenant(database.db, tenantId, (tx) =>
      tx
        .select({ action: auditEvents.action, detail: auditEvents.detail })
        .from(auditEvents)
        .where(eq(auditEvents.outcome, 'success')),
    );
    expect(actions.map((a) => a.action)).toContain('catalog.import_confirmed');
    expect(actions.find((a) => a.action === 'catalog.import_confirmed')!.detail).toMatchObject({
      plans: { added: 1, changed: 1, removed: 1 },
    });
    // The same confirmation again: the catalog is no longer the one previewed.
    expect((await post('/admin/catalog/import/confirm', { preview: token })).status).toBe(409);
  });

  it('a confirmation is refused (409) when the catalog changed after the preview, and nothing is applied', async () => {
    const res = await post('/admin/catalog/import', {
      format: 'json',
      document: JSON.stringify({ ...BASE, kb: [] }),
    });
    const token = tokenOf(await res.text())!;
    const changed = { ...BASE, plans: [{ key: 'enterprise', name: 'Enterprise' }] };
    await setCatalog(tenantId, changed); // e.g. PUT /admin/api/catalog meanwhile
    const confirm = await post('/admin/catalog/import/confirm', { preview: token });
    expect(confirm.status).toBe(409);
    expect(await confirm.text()).toContain('The catalog changed since this preview');
    const now = await catalogOf(tenantId);
    expect(now.plans.map((p) => p.key)).toEqual(['enterprise']);
    expect(now.kb).toHaveLength(1);
  });

  it('invalid JSON and invalid items are reported with their line and field, and nothing changes', async () => {
    const before = await catalogOf(tenantId);
    const broken = await post('/admin/catalog/import', {
      format: 'json',
      document: '{\n  "plans": [\n    {"key": "x",}\n  ]\n}',
    });
    expect(broken.status).toBe(400);
    expect(await broken.text()).toMatch(/<strong>line 3<\/strong>: not valid JSON/);
    const doc = JSON.stringify(
      {
        ...BASE,
        plans: [
          { key: 'ok', name: 'OK' },
          { key: 'bad', name: '' },
        ],
        links: { x: 'not a url' },
      },
      null,
      2,
    );
    const invalid = await post('/admin/catalog/import', { format: 'json', document: doc });
    expect(invalid.status).toBe(400);
    const html = await invalid.text();
    const nameLine = doc.split('\n').findIndex((l) => l.includes('"name": ""')) + 1;
    expect(html).toContain(`<strong>line ${nameLine}</strong>: plans item 2, name:`);
    expect(html).toContain('links item &quot;x&quot;: Invalid URL');
    expect(html).not.toContain('name="preview"');
    const partial = await post('/admin/catalog/import', { format: 'json', document: '{"plans": []}' });
    expect(partial.status).toBe(400);
    expect(await partial.text()).toContain('features is required');
    const placeholder = await post('/admin/catalog/import', {
      format: 'json',
      document: JSON.stringify({ ...BASE, links: { l: 'https://x.example/{ticket.secret}' } }),
    });
    expect(await placeholder.text()).toContain('the placeholder {ticket.secret} is not allowed');
    const twice = await post('/admin/catalog/import', {
      format: 'json',
      document: `{"plans": [], "features": [], "kb": [], "changelog": [], "playbooks": [],\n"links": {\n"a": "https://a.example/",\n"a": "https://b.example/"}}`,
    });
    expect(await twice.text()).toContain('<strong>line 4</strong>: links.a is given twice');
    expect(await catalogOf(tenantId)).toEqual(before);
  });

  it('a CSV replaces one section: bad rows are named by line; a good file previews and applies that section only', async () => {
    const before = await catalogOf(tenantId);
    const bad = await post('/admin/catalog/import', {
      format: 'csv:plans',
      document: 'key,name,monthly_price\npro,Pro,49\nteam,,99\nbig,Big,lots\n',
    });
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toContain('<strong>line 4</strong>');
    expect(badHtml).toContain('monthly_price &quot;lots&quot; is not a number');
    const unknownColumn = await post('/admin/catalog/import', {
      format: 'csv:plans',
      document: 'key,title\n',
    });
    expect(await unknownColumn.text()).toContain('unknown column &quot;title&quot;');
    const missingName = await post('/admin/catalog/import', {
      format: 'csv:plans',
      document: 'key,name\npro,Pro\nteam,\n',
    });
    expect(await missingName.text()).toContain('<strong>line 3</strong>: plans item 2, name:');
    expect(await catalogOf(tenantId)).toEqual(before);

    const csv =
      'key,when,steps,visibility,auto_send\nbilling,A billing question,"Check the plan|Check invoices, then answer",account,\nrefund,"A refund, maybe",Say sorry,end_user,true\n';
    const ok = await post('/admin/catalog/import', {
      format: 'csv:playbooks',
      file: new File([csv], 'p.csv', { type: 'text/csv' }),
    });
    expect(ok.status).toBe(200);
    const html = await ok.text();
    expect(html).toMatch(/Added: <code>refund<\/code>/);
    expect(html).toMatch(/Changed: <code>billing<\/code>/);
    expect((await post('/admin/catalog/import/confirm', { preview: tokenOf(html)! })).status).toBe(303);
    const after = await catalogOf(tenantId);
    expect(after.playbooks).toEqual([
      {
        key: 'billing',
        when: 'A billing question',
        steps: ['Check the plan', 'Check invoices, then answer'],
        visibility: 'account',
        autoSend: false,
      },
      {
        key: 'refund',
        when: 'A refund, maybe',
        steps: ['Say sorry'],
        visibility: 'end_user',
        autoSend: true,
      },
    ]);
    expect({ ...after, playbooks: [] }).toEqual({ ...before, playbooks: [] });
  });

  it("a playbook's auto-send is a checkbox of its form: on only when ticked, shown in the table", async () => {
    const form = await (await get('/admin/catalog/item?section=playbooks')).text();
    expect(form).toContain('<input type="checkbox" id="autoSend" name="autoSend" value="1"');
    const on = await post('/admin/catalog/item', {
      section: 'playbooks',
      index: '',
      key: 'outage',
      when: 'A customer reports an outage',
      steps: 'Link the status page',
      visibility: 'account',
      autoSend: '1',
    });
    expect(on.status).toBe(303);
    const off = await post('/admin/catalog/item', {
      section: 'playbooks',
      index: '',
      key: 'quiet',
      when: 'Anything else',
      steps: '',
      visibility: 'account',
    });
    expect(off.status).toBe(303);
    const books = (await catalogOf(tenantId)).playbooks;
    expect(books.find((b) => b.key === 'outage')?.autoSend).toBe(true);
    expect(books.find((b) => b.key === 'quiet')?.autoSend).toBe(false);
    const [row] = await withTenant(database.db, tenantId, (tx) =>
      tx.select().from(playbooks).where(eq(playbooks.key, 'outage')),
    );
    expect(row?.autoSend).toBe(true);
  });

  it('item forms add, edit and remove one item; a bad field is shown beside it; an item changed meanwhile is refused', async () => {
    const added = await post('/admin/catalog/item', {
      section: 'plans',
      index: '',
      key: 'team',
      name: 'Team',
      monthlyPrice: '99',
    });
    expect(added.status).toBe(303);
    expect((await catalogOf(tenantId)).plans.map((p) => p.key)).toEqual(['pro', 'starter', 'team']);

    const form = await (await get('/admin/catalog/item?section=plans&index=0')).text();
    expect(form).toContain('value="pro"');
    const hash = /name="hash" value="([^"]+)"/.exec(form)![1]!;
    const bad = await post('/admin/catalog/item', {
      section: 'plans',
      index: '0',
      hash,
      key: 'pro',
      name: 'Pro',
      monthlyPrice: 'cheap',
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(
      /id="monthlyPrice-error" role="alert">&quot;cheap&quot; is not a number/,
    );
    const dup = await post('/admin/catalog/item', {
      section: 'plans',
      index: '0',
      hash,
      key: 'team',
      name: 'Pro',
      monthlyPrice: '',
    });
    expect(dup.status).toBe(400);
    expect(await dup.text()).toContain(
      'id="key-error" role="alert">key &quot;team&quot; is used twice in plans',
    );
    const linkClash = await post('/admin/catalog/item', {
      section: 'links',
      index: '',
      key: 'billing',
      url: 'https://x.example/',
      purpose: '',
    });
    expect(linkClash.status).toBe(400);
    expect(await linkClash.text()).toContain(
      'id="key-error" role="alert">key &quot;billing&quot; is used twice in links',
    );
    expect(Object.keys((await catalogOf(tenantId)).links)).toEqual(['billing']);
    const saved = await post('/admin/catalog/item', {
      section: 'plans',
      index: '0',
      hash,
      key: 'pro',
      name: 'Pro+',
      monthlyPrice: '55',
    });
    expect(saved.status).toBe(303);
    expect((await catalogOf(tenantId)).plans[0]).toEqual({ key: 'pro', name: 'Pro+', monthlyPrice: 55 });
    // The form's hash is of the item before the save: using it again is refused.
    const stale = await post('/admin/catalog/item', {
      section: 'plans',
      index: '0',
      hash,
      key: 'pro',
      name: 'Old',
      monthlyPrice: '',
    });
    expect(stale.status).toBe(409);
    expect((await catalogOf(tenantId)).plans[0]!.name).toBe('Pro+');

    const page = await (await get('/admin/catalog')).text();
    const removeHash =
      /name="section" value="kb"><input type="hidden" name="index" value="0"><input type="hidden" name="hash" value="([^"]+)"/.exec(
        page,
      )![1]!;
    expect(
      (await post('/admin/catalog/item/remove', { section: 'kb', index: '0', hash: removeHash })).status,
    ).toBe(303);
    expect((await catalogOf(tenantId)).kb).toEqual([]);
    expect(
      (await post('/admin/catalog/item/remove', { section: 'kb', index: '0', hash: removeHash })).status,
    ).toBe(409);
    // A member cannot write.
    expect(
      (await post('/admin/catalog/item', { section: 'plans', index: '', key: 'x', name: 'X' }, member))
        .status,
    ).toBe(403);
    expect((await catalogOf(tenantId)).plans.map((p) => p.key)).not.toContain('x');
  });

  it('a section downloads as CSV in the import format, and imports back unchanged', async () => {
    const res = await get('/admin/catalog/export.csv?section=playbooks');
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const csv = await res.text();
    expect(csv).toBe(
      'key,when,steps,visibility,auto_send\nbilling,A billing question,Check the plan,account,false\n',
    );
    const preview = await (
      await post('/admin/catalog/import', { format: 'csv:playbooks', document: csv })
    ).text();
    expect(preview).toContain('No differences');
    expect((await get('/admin/catalog/export.csv?section=plans', member)).status).toBe(403);
    expect(await (await get('/admin/catalog/export.csv?section=plans', otherAdmin)).text()).toBe(
      'key,name,monthly_price\nzebra-secret,Zebra Secret Plan,\n',
    );
  });
});
