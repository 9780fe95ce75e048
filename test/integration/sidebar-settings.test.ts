import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, sidebarAppProvisioning, sidebarSettings } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { MANUAL_UPLOAD_HINT } from '../../src/zendesk/sidebar-app.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import {
  type SeededTenant,
  seedDraft,
  seedSidebarTenant,
  sidebarConfig,
  sidebarZendeskFake,
  signSidebarToken,
  tokenManager,
} from './sidebar-fixture.ts';

const fake = await sidebarZendeskFake('statusco');
useMsw(...fake.handlers);

describe.each(backends())('After-send status chosen from the tenant’s Zendesk statuses on %s', (backend) => {
  let database: TestDatabase;
  let app: ReturnType<typeof testApp>['app'];
  let tenant: SeededTenant;
  let cookie: string;
  let ticketSeq = backend === 'pglite' ? 81000 : 82000;

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const vault = testVault();
    app = testApp(database, { config: sidebarConfig, vault, tokens: tokenManager(database.db, vault) }).app;
    tenant = await seedSidebarTenant(database.db, vault, fake, { ticketId: String(ticketSeq) });
    const { token } = await createSession(database.db, {
      tenantId: tenant.tenantId,
      userId: 'U_ADMIN',
      role: 'admin',
      via: 'local_link',
    });
    cookie = `${SESSION_COOKIE}=${token}`;
  });
  afterAll(() => database?.close());

  const put = (body: unknown, type = 'application/json') =>
    app.request('/admin/api/sidebar/settings', {
      method: 'PUT',
      headers: { cookie, 'content-type': type },
      body: JSON.stringify(body),
    });
  /** Sends a fresh draft from the sidebar; answers the status updates Zendesk received for it. */
  const sendOne = async () => {
    const ticketId = String(++ticketSeq);
    const draftId = await seedDraft(database.db, tenant.tenantId, { ticketId });
    const page = await app.request('/zendesk/sidebar?origin=x&app_guid=y', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: await signSidebarToken(fake) }).toString(),
    });
    const cred = /data-credential="([^"]+)"/.exec(await page.text())![1]!;
    const res = await app.request(`/zendesk/sidebar/api/tickets/${ticketId}/drafts/${draftId}/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cred}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    return fake.statusUpdates.filter((u) => u.ticketId === ticketId).map((u) => u.ticket);
  };

  it('lists the active statuses read from the tenant’s Zendesk, for admins only', async () => {
    expect((await app.request('/admin/api/zendesk/statuses')).status).toBe(401);
    const res = await app.request('/admin/api/zendesk/statuses', { headers: { cookie } });
    expect(res.status).toBe(200);
    const { statuses } = (await res.json()) as { statuses: { value: string; label: string }[] };
    expect(statuses).toContainEqual({ value: '8812', label: 'Awaiting Vendor', category: 'pending' });
    expect(statuses.map((s) => s.value)).toEqual(expect.arrayContaining(['1', 'pending', 'solved']));
    expect(statuses.map((s) => s.value)).not.toContain('8813');
  });

  it('changes no status unless one was chosen; then sets the chosen custom status after a send', async () => {
    expect(await sendOne()).toEqual([]);
    const bad = await put({ scope: '*', statusAfterSend: '8813' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_body');
    expect((await put({ scope: 'no-such-playbook', statusAfterSend: '8812' })).status).toBe(400);
    expect((await put({ scope: '*', statusAfterSend: '8812' }, 'text/plain')).status).toBe(415);
    expect(await withTenant(database.db, tenant.tenantId, (tx) => tx.select().from(sidebarSettings))).toEqual(
      [],
    );

    const ok = await put({ scope: '*', statusAfterSend: '8812' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      scopes: [{ scope: '*', statusAfterSend: '8812', statusAfterSendLabel: 'Awaiting Vendor' }],
    });
    expect(await sendOne()).toEqual([{ custom_status_id: 8812 }]);

    // A standard status is stored as such and set with `status`.
    expect((await put({ scope: '*', statusAfterSend: 'pending' })).status).toBe(200);
    expect(await sendOne()).toEqual([{ status: 'pending' }]);

    // Cleared: no status change again.
    expect((await put({ scope: '*', statusAfterSend: null })).status).toBe(200);
    expect(await sendOne()).toEqual([]);
    const actions = (
      await withTenant(database.db, tenant.tenantId, (tx) => tx.select().from(auditEvents))
    ).map((e) => e.action);
    expect(actions.filter((a) => a === 'sidebar.settings_updated')).toHaveLength(3);
  });

  it('the /admin page shows the sidebar app state (with the manual upload when the plan refused) and the chosen status', async () => {
    await withTenant(database.db, tenant.tenantId, (tx) =>
      tx.insert(sidebarAppProvisioning).values({
        tenantId: tenant.tenantId,
        connectionId: tenant.connectionId,
        status: 'plan_refused',
        detail: MANUAL_UPLOAD_HINT,
      }),
    );
    expect((await put({ scope: '*', statusAfterSend: '8812' })).status).toBe(200);
    const page = await (await app.request('/admin', { headers: { cookie } })).text();
    expect(page).toContain('<h2>Zendesk sidebar</h2>');
    expect(page).toContain('Sidebar app: plan refused.');
    expect(page).toContain('Upload private app');
    expect(page).toContain('all playbooks: Awaiting Vendor');
  });
});
