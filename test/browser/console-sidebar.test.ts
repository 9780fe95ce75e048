import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createApp } from '../../src/app.ts';
import { sidebarSettings } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
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
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = new URL('../.output/', import.meta.url).pathname;
const fake = await sidebarZendeskFake('browserstatus');
useMsw(...fake.handlers);

describe.skipIf(!existsSync(CHROMIUM))('sidebar settings page in headless Chromium', () => {
  let database: TestDatabase;
  let tenant: SeededTenant;
  let cookie: string;
  let browser: Browser;
  let server: ReturnType<typeof serve>;
  let origin: string;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
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
    let app: ReturnType<typeof createApp> | undefined;
    server = serve({ fetch: (req) => app!.fetch(req), port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    app = testApp(database, {
      config: testConfig({ PUBLIC_URL: origin }),
      vault,
      tokens: tokenManager(database.db, vault),
    }).app;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
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
