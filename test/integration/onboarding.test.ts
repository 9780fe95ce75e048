import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts, drafts, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/** The console's onboarding checklist: each step's state from the tenant's own rows, and its next action. */
const system = { type: 'system', name: 'test' } as const;
const config = testConfig({
  SLACK_CLIENT_ID: 'sc',
  SLACK_CLIENT_SECRET: 'ss',
  ZENDESK_CLIENT_ID: 'zc',
  ZENDESK_CLIENT_SECRET: 'zs',
});

describe.each(backends())('onboarding checklist on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let admin: string;
  let member: string;
  const vault = testVault();
  const page = async (cookie: string, over = config) => {
    const res = await testApp(database, { vault, config: over }).app.request('/admin', {
      headers: { cookie },
    });
    expect(res.status).toBe(200);
    return res.text();
  };
  const step = (html: string, title: string) => {
    const li = new RegExp(
      `<li class="step step-([a-z]+)">\\s*<span class="badge">[^<]*</span> <strong>${title}</strong>([\\s\\S]*?)</li>`,
    ).exec(html);
    expect(li, title).not.toBeNull();
    return { state: li![1], body: li![2]! };
  };

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'Fresh', actor: system })).id;
    const session = (userId: string, role: 'admin' | 'member') =>
      createSession(database.db, { tenantId, userId, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session('UA', 'admin');
    member = await session('UM', 'member');
  });
  afterAll(() => database?.close());

  it('a new tenant sees every step to do, with its next action', async () => {
    const html = await page(admin);
    expect(html).toContain('0 of 4 steps done');
    expect(step(html, 'Connect Slack')).toMatchObject({ state: 'todo' });
    expect(step(html, 'Connect Slack').body).toContain('href="/slack/install"');
    expect(step(html, 'Connect Zendesk').body).toContain('href="/zendesk/connect"');
    expect(step(html, 'Context API').state).toBe('optional');
    expect(step(html, 'Account directory').state).toBe('todo');
    expect(step(html, 'First draft').body).toContain('Drafts start once Zendesk or Slack is connected');
    // Provisioning and the sidebar only appear once Zendesk is connected.
    expect(html).not.toContain('Zendesk webhook and triggers');
    // A member sees the states, not the actions.
    const asMember = await page(member);
    expect(step(asMember, 'Connect Slack').body).not.toContain('href="/slack/install"');
    // A server without the OAuth clients says so instead of offering a broken link.
    const bare = await page(admin, testConfig());
    expect(step(bare, 'Connect Slack')).toMatchObject({ state: 'unavailable' });
    expect(bare).toContain('0 of 2 steps done');
  });

  it('steps turn done from the rows: Zendesk connected but not provisioned needs attention, with a same-origin retry', async () => {
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(zendeskConnections).values({
        tenantId,
        id: 'zc_onb',
        subdomain: 'onboardco',
        hookId: 'hook-onboarding-1',
        status: 'active',
      }),
    );
    let html = await page(admin);
    expect(step(html, 'Connect Zendesk')).toMatchObject({ state: 'done' });
    expect(step(html, 'Connect Zendesk').body).toContain('onboardco.zendesk.com');
    const prov = step(html, 'Zendesk webhook and triggers');
    expect(prov.state).toBe('attention');
    expect(prov.body).toContain('<form method="post" action="/zendesk/provision">');
    expect(step(html, 'Zendesk sidebar app').state).toBe('todo');
    await withTenant(database.db, tenantId, async (tx) => {
      await tx
        .update(zendeskConnections)
        .set({ zendeskWebhookId: 'wh-1', provisionedAt: new Date('2026-11-30T10:00:00Z') });
      await tx.insert(accounts).values({ tenantId, id: 'acc-1', name: 'Acme', domains: ['acme.example'] });
      await tx.insert(drafts).values({
        tenantId,
        id: 'dr_onb',
        source: 'zendesk',
        route: 'account',
        body: 'b',
        drafter: 'offline',
      });
    });
    html = await page(admin);
    expect(step(html, 'Zendesk webhook and triggers')).toMatchObject({ state: 'done' });
    expect(step(html, 'Account directory').body).toContain('1 accounts');
    expect(step(html, 'First draft').state).toBe('done');
    expect(html).toContain('4 of 6 steps done');
  });
});
