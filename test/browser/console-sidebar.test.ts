import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sidebarSettings } from '../../src/db/schema/index.ts';
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
 * The console's sidebar settings page in a real headless Chromium: the real app on
 * @hono/node-server, the tenant's Zendesk answered by msw in this process. An admin picks the
 * tenant's own custom status and a threshold by label, saves, and sees them.
 * Screenshots: test/.output/console-sidebar-*.png.
 */
const OUT = SCREENSHOTS;
const fake = await sidebarZendeskFake('browserstatus');
useMsw(...fake.handlers);

describe.skipIf(!existsSync(CHROMIUM))('sidebar settings page in headless Chromium', () => {
  let database: TestDatabase;
  let tenant: SeededTenant;
  let cookie: string;
  let browser: Browser;
  let server: TestServer;
  let origin: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const vault = testVault();
    tenant = await seedSidebarTenant(database.db, vault, fake, { ticketId: '94001' });
    cookie = (
      await createSession(database.db, {
        tenantId: tenant.tenantId,
        userId: 'U_A',
        userName: 'Ada Admin',
        role: 'admin',
        via: 'zendesk_oauth',
      })
    ).token;
    server = await startTestServer();
    origin = server.origin;
    const app = testApp(database, {
      config: testConfig({ PUBLIC_URL: origin }),
      vault,
      tokens: tokenManager(database.db, vault),
    }).app;
    server.serveApp(app);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.close();
  });

  it('an admin picks "Awaiting Vendor" and a threshold, saves, and sees them', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    await context.addCookies([{ name: 'hc_session', value: cookie, url: origin }]);
    const page = await context.newPage();
    await page.goto(`${origin}/admin/zendesk/sidebar`);
    await page.screenshot({ path: `${OUT}console-sidebar-1.png`, fullPage: true });
    await page.getByLabel('Ticket status after a send').selectOption({ label: 'Awaiting Vendor (pending)' });
    await page.getByLabel('Auto-send confidence threshold').fill('2');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#threshold-error').waitFor();
    await page.screenshot({ path: `${OUT}console-sidebar-2-error.png`, fullPage: true });
    await page.getByLabel('Auto-send confidence threshold').fill('0.85');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('Saved.');
    expect(await page.locator('table').textContent()).toContain('Awaiting Vendor');
    await page.screenshot({ path: `${OUT}console-sidebar-3-saved.png`, fullPage: true });
    expect(
      await withTenant(database.db, tenant.tenantId, (tx) => tx.select().from(sidebarSettings)),
    ).toMatchObject([{ scope: '*', statusAfterSend: '8812', autoSendThreshold: 0.85 }]);
    await context.close();
  }, 120_000);
});
