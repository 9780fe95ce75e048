import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, sidebarSettings } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
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
 * The console page for the sidebar's after-send status and auto-send threshold: the statuses come
 * from the tenant's Zendesk at runtime (custom ones included), a refused choice is shown beside
 * its field and changes nothing, a saved one is stored and audited through the settings verb.
 */
const fake = await sidebarZendeskFake('statuspage');
useMsw(...fake.handlers);
const ORIGIN = 'https://copilot.test';

describe.each(backends())('sidebar settings page on %s', (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>['app'];
  let tenant: SeededTenant;
  let admin: string;
  let member: string;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const vault = testVault();
    app = testApp(database, { config: sidebarConfig, vault, tokens: tokenManager(database.db, vault) }).app;
    tenant = await seedSidebarTenant(database.db, vault, fake, { ticketId: '93001' });
    const session = async (userId: string, role: 'admin' | 'member') =>
      `${SESSION_COOKIE}=${(await createSession(database.db, { tenantId: tenant.tenantId, userId, role, via: 'local_link' })).token}`;
    admin = await session('U_A', 'admin');
    member = await session('U_M', 'member');
  });
  afterAll(() => database?.close());

  const page = (cookie: string) => app.request('/admin/zendesk/sidebar', { headers: { cookie } });
  const save = (fields: Record<string, string>, cookie = admin, origin = ORIGIN) =>
    app.request('/admin/zendesk/sidebar', {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  const stored = () => withTenant(database.db, tenant.tenantId, (tx) => tx.select().from(sidebarSettings));

  it("offers the statuses read from the tenant's Zendesk, its custom ones included and inactive ones not", async () => {
    const res = await page(admin);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<option value="8812">Awaiting Vendor (pending)</option>');
    expect(html).toContain('<option value="solved">Solved (solved)</option>');
    expect(html).not.toContain('Retired status');
    expect(html).toContain('Nothing chosen');
  });

  it('a bad threshold or a status this account does not have is refused beside its field; nothing changes', async () => {
    const bad = await save({ scope: '*', status: '8812', threshold: '1.5' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/id="threshold-error" role="alert">Give a number from 0 to 1/);
    const gone = await save({ scope: '*', status: '8813', threshold: '' });
    expect(gone.status).toBe(400);
    expect(await gone.text()).toMatch(
      /id="status-error" role="alert">&quot;8813&quot; is not a status of this Zendesk account/,
    );
    const scope = await save({ scope: 'no-such-playbook', status: '8812' });
    expect(scope.status).toBe(400);
    expect(await stored()).toEqual([]);
    expect((await save({ scope: '*', status: '8812' }, admin, 'https://evil.example')).status).toBe(403);
    expect((await save({ scope: '*', status: '8812' }, member)).status).toBe(403);
    expect(await stored()).toEqual([]);
  });

  it('saves the chosen custom status and threshold, audited, and shows them', async () => {
    const res = await save({ scope: '*', status: '8812', threshold: '0.8' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/zendesk/sidebar?saved=1');
    expect(await stored()).toMatchObject([
      {
        scope: '*',
        statusAfterSend: '8812',
        statusAfterSendLabel: 'Awaiting Vendor',
        autoSendThreshold: 0.8,
      },
    ]);
    const events = await withTenant(database.db, tenant.tenantId, (tx) => tx.select().from(auditEvents));
    expect(events.filter((e) => e.action === 'sidebar.settings_updated')).toHaveLength(1);
    const html = await (
      await app.request('/admin/zendesk/sidebar?saved=1', { headers: { cookie: admin } })
    ).text();
    expect(html).toContain('Saved.');
    expect(html).toMatch(/<td>All playbooks<\/td><td>Awaiting Vendor<\/td><td>0.8<\/td>/);
    // Members read the settings but get no form.
    const asMember = await (await page(member)).text();
    expect(asMember).toContain('Awaiting Vendor');
    expect(asMember).not.toContain('<form method="post" action="/admin/zendesk/sidebar"');
  });
});
