import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftDeliveries, drafts, llmUsage } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { estimateCostMicroUsd } from '../../src/pipeline/drafting/openai.ts';
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
 * The usage page in headless Chromium, at 900 px and 320 px: 90 days, one day and an empty
 * period. The CSP holds (no console error, nothing blocked), the charts fit the viewport (no
 * horizontal scroll of the page), and the form changes the period. Screenshots:
 * test/.output/usage-*.png.
 */
describe.skipIf(!existsSync(CHROMIUM))('usage page in headless Chromium', () => {
  let database: TestDatabase;
  let browser: Browser;
  let server: TestServer;
  let cookie: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const tenantId = (
      await createTenant(database.db, { name: 'Kestrel', actor: { type: 'system', name: 't' } })
    ).id;
    const ds: (typeof drafts.$inferInsert)[] = [];
    const us: (typeof llmUsage.$inferInsert)[] = [];
    const dl: (typeof draftDeliveries.$inferInsert)[] = [];
    for (let day = 0; day < 90; day++) {
      const n = 1 + ((day * 7) % 11);
      for (let k = 0; k < n; k++) {
        const id = `d${day}_${k}`;
        const at = new Date(Date.UTC(2026, 8, 1 + day, 8 + k));
        ds.push({
          tenantId,
          id,
          source: k % 3 ? 'zendesk' : 'slack',
          route: 'account',
          body: 'b',
          drafter: 'openai',
          ticketId: String(day),
          status: k % 4 === 3 ? 'rejected' : 'sent',
          createdAt: at,
        });
        if (k % 4 !== 3)
          dl.push({
            tenantId,
            draftId: id,
            ticketId: String(day),
            version: 0,
            status: 'sent',
            mode: 'sidebar',
            editDistance: k % 2 ? 9 : 0,
          });
        const model = k % 2 ? 'gpt-4.1' : 'gpt-4.1-mini';
        const p = 800 + k * 100;
        us.push({
          tenantId,
          id: `u${id}`,
          draftId: id,
          model,
          promptTokens: p,
          completionTokens: 150,
          costMicroUsd: estimateCostMicroUsd(model, p, 150),
          createdAt: at,
        });
      }
    }
    await withTenant(database.db, tenantId, async (tx) => {
      await tx.insert(drafts).values(ds);
      await tx.insert(draftDeliveries).values(dl);
      await tx.insert(llmUsage).values(us);
    });
    cookie = (
      await createSession(database.db, {
        tenantId,
        userId: 'UADMIN',
        userName: 'Ada',
        role: 'admin',
        via: 'slack_oidc',
      })
    ).token;
    server = await startTestServer();
    const config = testConfig({ PUBLIC_URL: server.origin });
    server.serveApp(
      testApp(database, { config, vault: testVault(), now: () => new Date('2026-11-29T12:00:00Z') }).app,
    );
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.close();
  });

  for (const width of [900, 320]) {
    it(`at ${width} px: 90 days, one day and an empty period render, fit, and break no CSP rule`, async () => {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      await context.addCookies([{ name: 'hc_session', value: cookie, url: server.origin }]);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
      });
      const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);

      await page.goto(`${server.origin}/admin/usage?from=2026-09-01&to=2026-11-29&granularity=day`);
      expect(await page.locator('svg.chart').count()).toBe(5);
      expect(
        await page.locator('svg[aria-labelledby="chart-drafts-title chart-drafts-desc"] rect title').count(),
      ).toBeGreaterThanOrEqual(90);
      // The chart is as wide as the page allows, never wider.
      const box = await page.locator('svg.chart').first().boundingBox();
      expect(box!.width).toBeLessThanOrEqual(width);
      expect(await fits()).toBe(true);
      await page.screenshot({ path: `${SCREENSHOTS}usage-90-days-${width}.png`, fullPage: true });

      // The form: labels name the fields; one day.
      await page.getByRole('textbox', { name: 'From' }).fill('2026-09-02');
      await page.getByRole('textbox', { name: 'To' }).fill('2026-09-02');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/from=2026-09-02&to=2026-09-02/);
      expect(
        await page.locator('svg[aria-labelledby="chart-drafts-title chart-drafts-desc"] rect title').count(),
      ).toBe(2);
      await page.getByText('Drafts: the numbers').click();
      await expect
        .poll(() => page.getByRole('cell', { name: '8', exact: true }).first().isVisible())
        .toBe(true);
      expect(await fits()).toBe(true);
      await page.screenshot({ path: `${SCREENSHOTS}usage-1-day-${width}.png`, fullPage: true });

      await page.goto(`${server.origin}/admin/usage?from=2025-01-01&to=2025-03-01&granularity=month`);
      expect(await page.getByRole('status').textContent()).toContain('No drafts and no model calls');
      expect(await fits()).toBe(true);
      await page.screenshot({ path: `${SCREENSHOTS}usage-empty-${width}.png`, fullPage: true });
      expect(problems).toEqual([]);
      await context.close();
    }, 60_000);
  }
});
