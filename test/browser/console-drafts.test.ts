import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createOfflineDrafter } from '../../src/pipeline/drafting/offline.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { testApp, testConfig } from '../helpers/app.ts';
import {
  CHROMIUM,
  launchChromium,
  SCREENSHOTS,
  startTestServer,
  type TestServer,
} from '../helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { type SeededDrafts, seedDrafts } from '../integration/drafts-fixture.ts';

/**
 * The console's drafts and playground in a real headless Chromium: the real app on
 * @hono/node-server, drafts made by the real pipeline (Zendesk and the tenant's Context API
 * answered by msw in this process). An admin opens the list, filters it, opens a draft, and runs
 * the playground; each page is also checked at 320 px (no sideways scrolling).
 * Screenshots: test/.output/console-drafts-*.png.
 */
const OUT = SCREENSHOTS;
const server = useMsw();

describe.skipIf(!existsSync(CHROMIUM))('console drafts and playground in headless Chromium', () => {
  let database: TestDatabase;
  let seeded: SeededDrafts;
  let cookie: string;
  let browser: Browser;
  let http: TestServer;
  let origin: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    seeded = await seedDrafts(database, server, { subdomain: 'helio-browser', copies: 3 });
    cookie = (
      await createSession(database.db, {
        tenantId: seeded.tenantId,
        userId: 'U_A',
        userName: 'Ada Admin',
        role: 'admin',
        via: 'slack_oidc',
      })
    ).token;
    http = await startTestServer();
    origin = http.origin;
    http.serveApp(
      testApp(database, {
        config: testConfig({ PUBLIC_URL: origin }),
        vault: seeded.setup.vault,
        tokens: seeded.setup.tokens,
        queue: createJobQueue(),
        drafter: createOfflineDrafter(),
        contextApiResolver: async () => ['93.184.216.34'],
      }).app,
    );
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await http?.close();
    await database?.close();
  });

  async function open(width: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    await context.addCookies([{ name: 'hc_session', value: cookie, url: origin }]);
    return context.newPage();
  }
  const noSideways = async (page: Page) => {
    return expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      page.viewportSize()!.width,
    );
  };
  const routes = (page: Page) => page.locator('table tr td:nth-child(4)').allTextContents();

  it('an admin lists the drafts, filters them by route, and opens one', async () => {
    const page = await open(1100);
    await page.goto(`${origin}/admin/drafts`);
    expect(await page.locator('nav').getByRole('link', { name: 'Drafts' }).count()).toBe(1);
    expect(new Set(await routes(page))).toEqual(new Set(['account', 'unknown']));
    await page.screenshot({ path: `${OUT}console-drafts-1-list.png`, fullPage: true });

    await page.getByLabel('Route').selectOption('unknown');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/route=unknown/);
    expect(await routes(page)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    await page.screenshot({ path: `${OUT}console-drafts-2-filtered.png`, fullPage: true });

    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByRole('link', { name: 'Ticket #31001' }).click();
    await page.getByRole('heading', { name: 'Draft for ticket #31001' }).waitFor();
    expect(await page.getByRole('link', { name: 'Ticket #31001 in Zendesk' }).getAttribute('href')).toBe(
      'https://helio-browser.zendesk.com/agent/tickets/31001',
    );
    expect(await page.getByText('Leads not syncing to Salesforce').count()).toBe(1);
    expect(await page.locator('.badge').first().textContent()).toBe('pass');
    expect(await page.getByText(/edited \(version 1\) by agent 9001/).count()).toBe(1);
    await page.screenshot({ path: `${OUT}console-drafts-3-draft.png`, fullPage: true });
    await page.context().close();
  }, 120_000);

  it('an admin runs the playground and sees the route, the draft and the verdict', async () => {
    const page = await open(1100);
    await page.goto(`${origin}/admin/playground`);
    await page.getByLabel('Subject').fill('Leads not syncing to Salesforce');
    await page
      .getByLabel('Message')
      .fill('Since Monday no new leads show up in Salesforce. Did something change?');
    await page.getByLabel('Requester email').fill('ops@brightwater-dental.example');
    await page.getByLabel('Brand').fill('Helio Cloud');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.locator('#result').waitFor();
    expect(await page.locator('#draft-text').textContent()).toContain(
      'https://console.helio.example/a/hc-0917/integrations/salesforce/connect',
    );
    expect(await page.getByText('not loaded in the playground (no Zendesk calls)').count()).toBe(1);
    expect(await page.locator('.badge').textContent()).toBe('pass');
    await page.screenshot({ path: `${OUT}console-drafts-4-playground.png`, fullPage: true });

    await page.getByLabel('Message').fill('');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.locator('#body-error').waitFor();
    await page.screenshot({ path: `${OUT}console-drafts-5-playground-error.png`, fullPage: true });
    await page.context().close();
  }, 120_000);

  it('at 320 px the list, a draft and a playground result fit without sideways scrolling', async () => {
    const page = await open(320);
    await page.goto(`${origin}/admin/drafts`);
    await page.screenshot({ path: `${OUT}console-drafts-6-list-320.png`, fullPage: true });
    await noSideways(page);
    await page.goto(`${origin}/admin/drafts/${seeded.byTicket['31001']}`);
    await page.screenshot({ path: `${OUT}console-drafts-7-draft-320.png`, fullPage: true });
    await noSideways(page);
    await page.goto(`${origin}/admin/playground`);
    await page.getByLabel('Message').fill('Our leads stopped syncing.');
    await page.getByLabel('Requester email').fill('ops@brightwater-dental.example');
    await page.getByRole('button', { name: 'Run' }).click();
    await page.locator('#result').waitFor();
    await page.screenshot({ path: `${OUT}console-drafts-8-playground-320.png`, fullPage: true });
    await noSideways(page);
    await page.context().close();
  }, 120_000);
});
