import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import {
  CHROMIUM,
  launchChromium,
  SCREENSHOTS,
  startTestServer,
  type TestServer,
} from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The audit page's retention form in headless Chromium at 900 px and 320 px: a refused value is
 * explained beside the form, a valid one is saved. Screenshots: test/.output/audit-retention-*.png.
 */
describe.skipIf(!existsSync(CHROMIUM))('audit retention form in headless Chromium', () => {
  let database: TestDatabase;
  let browser: Browser;
  let server: TestServer;
  let cookie: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const tenantId = (
      await createTenant(database.db, { name: 'Kestrel', actor: { type: 'system', name: 't' } })
    ).id;
    cookie = (
      await createSession(database.db, {
        tenantId,
        userId: 'UADA',
        userName: 'Ada',
        role: 'owner',
        via: 'slack_oidc',
      })
    ).token;
    server = await startTestServer();
    server.serveApp(
      testApp(database, { config: testConfig({ PUBLIC_URL: server.origin }), vault: testVault() }).app,
    );
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.close();
  });

  for (const width of [900, 320]) {
    it(`at ${width} px: a refused value is explained, a valid one saved`, async () => {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      await context.addCookies([{ name: 'hc_session', value: cookie, url: server.origin }]);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.goto(`${server.origin}/admin/audit`);
      const field = page.getByRole('spinbutton', { name: /Keep events for/ });
      // The browser's own min check is bypassed to show the server's answer.
      await field.evaluate((el) => el.removeAttribute('min'));
      await field.fill('7');
      await page.getByRole('button', { name: 'Save retention' }).click();
      await page.getByRole('alert').waitFor();
      expect(await page.getByRole('alert').textContent()).toContain('from 30 to 3650');
      await page.screenshot({ path: `${SCREENSHOTS}audit-retention-refused-${width}.png`, fullPage: true });
      await page.getByRole('spinbutton', { name: /Keep events for/ }).fill('365');
      await page.getByRole('button', { name: 'Save retention' }).click();
      await page.getByRole('status').waitFor();
      expect(await page.getByText('events older than 365 days are deleted').count()).toBe(1);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      await page.screenshot({ path: `${SCREENSHOTS}audit-retention-saved-${width}.png`, fullPage: true });
      expect(errors.filter((e) => !e.includes('400'))).toEqual([]);
      await context.close();
    }, 60_000);
  }
});
