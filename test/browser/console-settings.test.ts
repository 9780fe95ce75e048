import { existsSync } from 'node:fs';
import { HttpResponse, http } from 'msw';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantSettings } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import {
  CHROMIUM,
  launchChromium,
  SCREENSHOTS,
  startTestServer,
  type TestServer,
} from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import {
  type SeededTenant,
  seedSidebarTenant,
  sidebarZendeskFake,
  tokenManager,
} from '../integration/sidebar-fixture.ts';

/**
 * The console's settings page in a real headless Chromium: the real app on @hono/node-server,
 * the tenant's Zendesk and its Context API answered by msw in this process. An admin picks an
 * organization field and maps a brand from the lists read from Zendesk, sees a field error,
 * saves, sees the values persist after a reload, saves the Context API and sends its test request.
 * Screenshots (desktop and 320 px): test/.output/console-settings-*.png.
 */
const OUT = SCREENSHOTS;
const fake = await sidebarZendeskFake('browsersettings');
const ZD = `https://${fake.subdomain}.zendesk.com`;
const CTX_URL = 'https://ctx.browsersettings.example/copilot/context';
const server = useMsw(
  ...fake.handlers,
  http.get(`${ZD}/api/v2/organization_fields.json`, () =>
    HttpResponse.json({
      organization_fields: [
        { id: 1, key: 'workspace_id', title: 'Workspace ID', type: 'text', active: true },
        { id: 3, key: 'tier', title: 'Tier', type: 'dropdown', active: true },
      ],
      meta: { has_more: false },
    }),
  ),
  http.get(`${ZD}/api/v2/brands.json`, () =>
    HttpResponse.json({
      brands: [
        { id: 10, name: 'Acme Support', active: true, default: true },
        { id: 11, name: 'Moss & Fern', active: true },
      ],
      meta: { has_more: false },
    }),
  ),
  http.post(CTX_URL, () =>
    HttpResponse.json({
      facts: [
        { key: 'plan', value: { name: 'Pro', seats: 12 }, visibility: 'account' },
        { key: 'integrations', value: ['slack', 'stripe'], visibility: 'account' },
      ],
    }),
  ),
);

describe.skipIf(!existsSync(CHROMIUM))('settings page in headless Chromium', () => {
  let database: TestDatabase;
  let tenant: SeededTenant;
  let cookie: string;
  let browser: Browser;
  let testServer: TestServer;
  let origin: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const vault = testVault();
    tenant = await seedSidebarTenant(database.db, vault, fake, { ticketId: '96001' });
    cookie = (
      await createSession(database.db, {
        tenantId: tenant.tenantId,
        userId: 'U_A',
        userName: 'Ada Admin',
        role: 'admin',
        via: 'zendesk_oauth',
      })
    ).token;
    testServer = await startTestServer();
    origin = testServer.origin;
    const app = testApp(database, {
      config: testConfig({ PUBLIC_URL: origin }),
      vault,
      tokens: tokenManager(database.db, vault),
      contextApiResolver: async () => ['93.184.216.34'],
    }).app;
    testServer.serveApp(app);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await testServer?.close();
    await database?.close();
  });

  const shoot = async (page: Page, name: string) => {
    await page.screenshot({ path: `${OUT}console-settings-${name}.png`, fullPage: true });
    const width = page.viewportSize()!.width;
    await page.setViewportSize({ width: 320, height: 800 });
    // Nothing wider than the screen: the page itself never scrolls sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    await page.screenshot({ path: `${OUT}console-settings-${name}-320.png`, fullPage: true });
    await page.setViewportSize({ width, height: 800 });
  };

  it('an admin sets routing from the Zendesk lists, sees a field error, saves, and the values persist', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    await context.addCookies([{ name: 'hc_session', value: cookie, url: origin }]);
    const page = await context.newPage();
    await page.goto(`${origin}/admin/settings`);
    await shoot(page, '1');

    await page
      .getByLabel('Organization field holding the account id')
      .selectOption({ label: 'Workspace ID (workspace_id, text)' });
    await page.getByLabel('Account id for brand “Moss & Fern”').fill('acc_globex');
    await page.getByRole('button', { name: 'Save routing' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('Routing saved.');

    await page.getByLabel('Context deadline (ms)').fill('99999');
    await page.getByRole('button', { name: 'Save context', exact: true }).click();
    await page.locator('#deadlineMs-error').waitFor();
    expect(await page.locator('#deadlineMs-error').textContent()).toMatch(/30000.*\(400 invalid_body\)/);
    expect(await page.getByLabel('Context deadline (ms)').getAttribute('aria-invalid')).toBe('true');
    await shoot(page, '2-error');
    await page.getByLabel('Context deadline (ms)').fill('1500');
    await page.getByRole('button', { name: 'Save context', exact: true }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('Context saved.');

    await page.getByLabel('Model', { exact: true }).fill('gpt-4.1');
    await page.getByLabel('Your model API key').fill('sk-browser-own-key-42');
    await page.getByLabel('Reply language').selectOption('de');
    await page.getByRole('button', { name: 'Save drafting' }).click();
    await page.getByRole('status').waitFor();

    await page.reload();
    expect(await page.getByLabel('Organization field holding the account id').inputValue()).toBe(
      'workspace_id',
    );
    expect(await page.getByLabel('Account id for brand “Moss & Fern”').inputValue()).toBe('acc_globex');
    expect(await page.getByLabel('Context deadline (ms)').inputValue()).toBe('1500');
    expect(await page.getByLabel('Reply language').inputValue()).toBe('de');
    expect(await page.locator('#apiKey-state').textContent()).toBe('set');
    expect(await page.getByLabel('Your model API key').inputValue()).toBe('');
    expect(await page.content()).not.toContain('sk-browser-own-key-42');
    const [row] = await withTenant(database.db, tenant.tenantId, (tx) => tx.select().from(tenantSettings));
    expect(row?.settings).toMatchObject({
      routing: { orgField: 'workspace_id', brands: { 'Moss & Fern': 'acc_globex' } },
      context: { deadlineMs: 1500 },
      drafting: { model: 'gpt-4.1', replyLanguage: 'de' },
    });
    await context.close();
  }, 120_000);

  it('an admin saves the Context API and sends the test request, then sees a failing answer', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
    await context.addCookies([{ name: 'hc_session', value: cookie, url: origin }]);
    const page = await context.newPage();
    await page.goto(`${origin}/admin/settings#context-api`);
    expect(await page.getByRole('button', { name: 'Send test request' }).isDisabled()).toBe(true);
    await page.getByLabel('Endpoint URL').fill(CTX_URL);
    await page.getByLabel('Signing secret').fill('browser-secret-0123456789');
    await page.getByRole('button', { name: 'Save Context API' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('Context API saved.');
    expect(await page.locator('#ctxSecret-state').textContent()).toBe('set');

    await page.getByLabel('Sample account id').fill('acc_globex');
    await page.getByRole('button', { name: 'Send test request' }).click();
    await page.locator('#probe-result').waitFor();
    const result = (await page.locator('#probe-result').textContent()) ?? '';
    expect(result).toContain('Test result: answered');
    expect(result).toContain(`POST ${CTX_URL}`);
    expect(result).toMatch(/x-copilot-signature: v1=[0-9a-f]{64}/);
    expect(result).toContain('HTTP 200');
    expect(result).toContain('The pipeline would use facts for: plan, integrations.');
    expect(result).not.toContain('browser-secret-0123456789');
    await page.locator('#probe-result').scrollIntoViewIfNeeded();
    await shoot(page, '3-test');

    server.use(http.post(CTX_URL, () => HttpResponse.json({ error: 'maintenance' }, { status: 503 })));
    await page.getByRole('button', { name: 'Send test request' }).click();
    await page.getByText('Test result: failed').waitFor();
    expect(await page.locator('#probe-result').textContent()).toContain('answered 503');
    await shoot(page, '4-failed');
    await context.close();
  }, 120_000);
});
