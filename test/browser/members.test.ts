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

/** The members page with its last-seen column, at 900 px and 320 px. Screenshots: test/.output/members-*.png. */
describe.skipIf(!existsSync(CHROMIUM))('members page in headless Chromium', () => {
  let database: TestDatabase;
  let browser: Browser;
  let server: TestServer;
  let cookie: string;
  const T0 = Date.parse('2026-11-02T09:00:00Z');

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const tenantId = (
      await createTenant(database.db, { name: 'Kestrel', actor: { type: 'system', name: 't' } })
    ).id;
    cookie = (
      await createSession(database.db, {
        tenantId,
        userId: 'UADA',
        userName: 'Ada Admin',
        role: 'admin',
        via: 'slack_oidc',
        now: new Date(T0),
      })
    ).token;
    await createSession(database.db, {
      tenantId,
      userId: 'zendesk:77',
      userName: 'Max Member',
      role: 'member',
      via: 'zendesk_oauth',
      now: new Date(T0 - 3 * 3_600_000),
    });
    server = await startTestServer();
    server.serveApp(
      testApp(database, {
        config: testConfig({ PUBLIC_URL: server.origin }),
        vault: testVault(),
        now: () => new Date(T0 + 30 * 60_000),
      }).app,
    );
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.close();
  });

  for (const width of [900, 320]) {
    it(`at ${width} px the last-seen column reads and the page fits`, async () => {
      const context = await browser.newContext({ viewport: { width, height: 700 } });
      await context.addCookies([{ name: 'hc_session', value: cookie, url: server.origin }]);
      const page = await context.newPage();
      await page.goto(`${server.origin}/admin/members`);
      expect(await page.getByRole('columnheader', { name: 'last seen' }).count()).toBe(1);
      expect(await page.getByRole('cell', { name: 'just now' }).count()).toBe(1);
      expect(await page.getByRole('cell', { name: '3 h ago' }).count()).toBe(1);
      await page.screenshot({ path: `${SCREENSHOTS}members-${width}.png`, fullPage: true });
      // Nothing sticks out of the viewport: a wide table scrolls inside itself (its visually
      // hidden header text included, which used to widen the page).
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      await context.close();
    }, 60_000);
  }
});
