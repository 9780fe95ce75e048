import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/db/tenant.ts';
import { replaceCatalog, syncDirectory } from '../../src/pipeline/tenant-config.ts';
import { readCatalog, readDirectoryPage } from '../../src/pipeline/tenant-config-read.ts';
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
 * The console's catalog and directory pages in a real headless Chromium (the real app on
 * @hono/node-server, strict CSP, same-origin form posts): an admin imports a catalog file, sees
 * the differences, confirms and sees it applied; edits one item; uploads a directory CSV, sees
 * the report with the shared domain flagged, confirms. At 320 px wide every page fits without
 * sideways scrolling of the page. Screenshots: test/.output/console-catalog-*.png.
 */
const OUT = SCREENSHOTS;
const system = { type: 'system', name: 'test' } as const;

describe.skipIf(!existsSync(CHROMIUM))('catalog and directory pages in headless Chromium', () => {
  let database: TestDatabase;
  let tenantId: string;
  let cookie: string;
  let browser: Browser;
  let server: TestServer;
  let origin: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    tenantId = (await createTenant(database.db, { name: 'Browser Co', actor: system })).id;
    await withTenant(database.db, tenantId, async (tx) => {
      const ctx = { tenantId, tx, actor: system };
      await replaceCatalog(ctx, {
        plans: [
          { key: 'starter', name: 'Starter', monthlyPrice: 0 },
          { key: 'pro', name: 'Pro', monthlyPrice: 49 },
        ],
        features: [{ key: 'sso', name: 'Single sign-on', plans: ['pro'] }],
        links: { billing: { url: 'https://example.com/billing/{account.id}', purpose: 'Billing portal' } },
        kb: [{ id: 'kb-reset', title: 'Resetting a password', body: 'Go to settings.' }],
        changelog: [{ date: '2026-11-01', title: 'Dark mode', body: 'Everywhere.' }],
        playbooks: [{ key: 'billing', when: 'A billing question', steps: ['Check the plan'] }],
      });
      await syncDirectory(ctx, {
        accounts: [
          { id: 'acme', name: 'Acme Inc', plan: 'pro', domains: ['acme.com'] },
          { id: 'globex', name: 'Globex', domains: ['globex.com'], endUsers: [{ email: 'eve@example.org' }] },
        ],
      });
    });
    cookie = (
      await createSession(database.db, {
        tenantId,
        userId: 'U_A',
        userName: 'Ada Admin',
        role: 'admin',
        via: 'slack_oidc',
      })
    ).token;
    server = await startTestServer();
    origin = server.origin;
    server.serveApp(
      testApp(database, { config: testConfig({ PUBLIC_URL: origin }), vault: testVault() }).app,
    );
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.close();
  });

  async function open(width: number): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 900 } });
    await context.addCookies([{ name: 'hc_session', value: cookie, url: origin }]);
    return context.newPage();
  }
  /** The page itself does not scroll sideways (wide tables scroll inside their own box). */
  const fits = async (page: Page) => {
    // Open the format help too: its long column lists must wrap.
    for (const d of await page.locator('details').all()) await d.evaluate((e) => e.setAttribute('open', ''));
    return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  };

  it('imports a catalog file: preview with the differences, confirm, applied; edits one item', async () => {
    const page = await open(1000);
    await page.goto(`${origin}/admin/catalog`);
    await page.screenshot({ path: `${OUT}console-catalog-1-catalog.png`, fullPage: true });
    const current = await withTenant(database.db, tenantId, (tx) => readCatalog(tx));
    const next = {
      ...current,
      plans: [
        ...current.plans.filter((p) => p.key !== 'starter'),
        { key: 'team', name: 'Team', monthlyPrice: 99 },
      ],
      kb: [{ id: 'kb-reset', title: 'Resetting your password', body: 'Go to settings, then Security.' }],
    };
    await page.getByLabel('What you import').selectOption('json');
    await page.getByLabel('File').setInputFiles({
      name: 'catalog.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(next, null, 2)),
    });
    await page.getByRole('button', { name: 'Preview import' }).click();
    await page.getByRole('heading', { name: 'Catalog import: preview' }).waitFor();
    const changes = await page.locator('ul.changes').allTextContents();
    expect(changes.join(' ')).toContain('Added: team');
    expect(changes.join(' ')).toContain('Removed: starter');
    expect(changes.join(' ')).toContain('Changed: kb-reset');
    await page.screenshot({ path: `${OUT}console-catalog-2-preview.png`, fullPage: true });
    // Nothing changed yet.
    expect(
      (await withTenant(database.db, tenantId, (tx) => readCatalog(tx))).plans.map((p) => p.key),
    ).toContain('starter');
    await page.getByRole('button', { name: 'Apply this import' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('The import was applied.');
    const applied = await withTenant(database.db, tenantId, (tx) => readCatalog(tx));
    expect(applied.plans.map((p) => p.key)).toEqual(['pro', 'team']);
    expect(applied.kb[0]!.title).toBe('Resetting your password');
    await page.screenshot({ path: `${OUT}console-catalog-3-applied.png`, fullPage: true });

    await page.getByRole('link', { name: 'Edit plan team' }).click();
    await page.getByLabel('Monthly price').fill('lots');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('#monthlyPrice-error').waitFor();
    await page.screenshot({ path: `${OUT}console-catalog-4-item-error.png`, fullPage: true });
    await page.getByLabel('Monthly price').fill('89');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').waitFor();
    expect((await withTenant(database.db, tenantId, (tx) => readCatalog(tx))).plans[1]).toEqual({
      key: 'team',
      name: 'Team',
      monthlyPrice: 89,
    });
    await page.context().close();
  }, 120_000);

  it('uploads a directory CSV: report with the shared domain flagged, confirm, applied', async () => {
    const page = await open(1000);
    await page.goto(`${origin}/admin/directory`);
    await page.screenshot({ path: `${OUT}console-catalog-5-directory.png`, fullPage: true });
    await page
      .getByLabel('Or paste it here')
      .fill('kind,account_id,name,domains\naccount,hooli,Hooli,hooli.com\nuser,nobody,,\n');
    await page.getByRole('button', { name: 'Check upload' }).click();
    await page.getByRole('heading', { name: 'Directory upload: not valid' }).waitFor();
    expect(await page.locator('table.issues').textContent()).toContain(
      'account "nobody" has no account row in this file',
    );
    await page.screenshot({ path: `${OUT}console-catalog-6-directory-invalid.png`, fullPage: true });
    const csv = [
      'kind,account_id,name,plan,domains,email,role,notes',
      'account,hooli,Hooli,pro,hooli.com|acme.com,,,',
      'user,hooli,Gavin Belson,,,gavin@hooli.com,ceo,',
      'end_user,hooli,Jared,,,jared@example.net,,',
    ].join('\n');
    await page
      .getByLabel('File')
      .setInputFiles({ name: 'directory.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByRole('button', { name: 'Check upload' }).click();
    await page.getByRole('heading', { name: 'Directory upload: report' }).waitFor();
    const flagged = await page.locator('table.flagged').textContent();
    expect(flagged).toContain('acme.com');
    expect(flagged).toContain('acme, hooli');
    expect(flagged).toContain('between this upload and accounts you keep');
    expect(await page.locator('body').textContent()).toContain('routed as unknown');
    await page.screenshot({ path: `${OUT}console-catalog-7-directory-report.png`, fullPage: true });
    await page.getByRole('button', { name: 'Confirm and apply' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('The upload was applied.');
    const dir = await withTenant(database.db, tenantId, (tx) => readDirectoryPage(tx, { limit: 10 }));
    expect(dir.accounts.map((a) => a.id)).toEqual(['acme', 'globex', 'hooli']);
    expect(dir.endUserCounts).toMatchObject({ globex: 1, hooli: 1 });
    expect(await page.locator('.flag').count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${OUT}console-catalog-8-directory-applied.png`, fullPage: true });
    await page.context().close();
  }, 120_000);

  it('at 320 px every page fits the width (screenshots of each)', async () => {
    const page = await open(320);
    await page.goto(`${origin}/admin/catalog`);
    expect(await fits(page)).toBe(true);
    await page.screenshot({ path: `${OUT}console-catalog-320-catalog.png`, fullPage: true });
    await page.getByLabel('Or paste it here').fill('key,name,monthly_price\npro,Pro,45\n');
    await page.getByLabel('What you import').selectOption('csv:plans');
    await page.getByRole('button', { name: 'Preview import' }).click();
    await page.getByRole('heading', { name: 'Catalog import: preview' }).waitFor();
    expect(await fits(page)).toBe(true);
    await page.screenshot({ path: `${OUT}console-catalog-320-preview.png`, fullPage: true });
    await page.goto(`${origin}/admin/catalog/item?section=playbooks&index=0`);
    expect(await fits(page)).toBe(true);
    await page.screenshot({ path: `${OUT}console-catalog-320-item.png`, fullPage: true });
    await page.goto(`${origin}/admin/directory`);
    expect(await fits(page)).toBe(true);
    await page.screenshot({ path: `${OUT}console-catalog-320-directory.png`, fullPage: true });
    await page
      .getByLabel('Or paste it here')
      .fill('kind,account_id,name,domains\naccount,initech,Initech,globex.com\n');
    await page.getByRole('button', { name: 'Check upload' }).click();
    await page.getByRole('heading', { name: 'Directory upload: report' }).waitFor();
    expect(await fits(page)).toBe(true);
    await page.screenshot({ path: `${OUT}console-catalog-320-directory-report.png`, fullPage: true });
    await page.context().close();
  }, 120_000);
});
