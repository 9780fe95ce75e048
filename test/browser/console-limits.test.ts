import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BREAKER, createUpstreamLimiter } from '../../src/limits/upstream.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig } from '../helpers/app.ts';
import {
  CHROMIUM,
  launchChromium,
  SCREENSHOTS,
  startTestServer,
  type TestServer,
} from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The console's limits page in headless Chromium: a tenant whose model breaker is open and whose
 * Zendesk is paused sees both; the admin sets a daily draft quota by its label, is told beside the
 * field when a value is out of range, and sees the saved value. Screenshots:
 * test/.output/console-limits-*.png (desktop and 320 px wide).
 */
describe.skipIf(!existsSync(CHROMIUM))('limits page in headless Chromium', () => {
  let database: TestDatabase;
  let cookie: string;
  let browser: Browser;
  let server: TestServer;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const tenantId = (
      await createTenant(database.db, { name: 'Acme', actor: { type: 'system', name: 'test' } })
    ).id;
    cookie = (
      await createSession(database.db, {
        tenantId,
        userId: 'U_A',
        userName: 'Ada',
        role: 'admin',
        via: 'zendesk_oauth',
      })
    ).token;
    const limiter = createUpstreamLimiter({ db: database.db });
    for (let i = 0; i < BREAKER.threshold; i++)
      await (await limiter.acquire(tenantId, { upstream: 'model', cost: 10 })).failed(
        '503 to /v1/chat/completions',
      );
    const z = await limiter.acquire(tenantId, { upstream: 'zendesk' });
    await z.throttled(new Date(Date.now() + 600_000), { limitPerMinute: 400 });
    server = await startTestServer();
    server.serveApp(testApp(database, { config: testConfig({ PUBLIC_URL: server.origin }) }).app);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.close();
  });

  it('shows the open breaker and the pause, refuses an out-of-range value beside its field, saves a quota', async () => {
    for (const width of [900, 320]) {
      const context = await browser.newContext({ viewport: { width, height: 800 } });
      await context.addCookies([{ name: 'hc_session', value: cookie, url: server.origin }]);
      const page = await context.newPage();
      await page.goto(`${server.origin}/admin/limits`);
      await expect(page.getByText(/breaker open: calls wait/).count()).resolves.toBe(1);
      await expect(page.getByText(/paused until .* \(the upstream answered 429\)/).count()).resolves.toBe(1);
      await page.screenshot({ path: `${SCREENSHOTS}console-limits-${width}-1.png`, fullPage: true });
      if (width === 900) {
        await page.getByLabel('Zendesk headroom (%)').fill('95');
        await page.getByRole('button', { name: 'Save limits' }).click();
        await page.locator('#zendeskHeadroomPercent-error').waitFor();
        await page.screenshot({ path: `${SCREENSHOTS}console-limits-${width}-2.png`, fullPage: true });
        await page.getByLabel('Zendesk headroom (%)').fill('');
        await page.getByLabel('Drafts a day').fill('300');
        await page.getByRole('button', { name: 'Save limits' }).click();
        await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
        expect(await page.getByLabel('Drafts a day').inputValue()).toBe('300');
        await page.screenshot({ path: `${SCREENSHOTS}console-limits-${width}-3.png`, fullPage: true });
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await context.close();
    }
  });
});
