import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accounts, slackInstallations } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { UNLIMITED } from '../../src/limits/upstream.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import { createOfflineDrafter } from '../../src/pipeline/drafting/offline.ts';
import { readSlackSettings } from '../../src/slack/settings.ts';
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
import { useMsw } from '../helpers/msw.ts';
import { fakeSlackApi } from '../helpers/msw-slack-api.ts';

/**
 * The console's Slack channels page in a real headless Chromium: the real app on
 * @hono/node-server, Slack's Web API answered by msw in this process. An admin picks a channel
 * from the workspace's list, is told beside the field when the account is ambiguous, links it,
 * then unlinks it with the keyboard. Screenshots: test/.output/slack-channels-*.png.
 */
const OUT = SCREENSHOTS;
const slack = fakeSlackApi();
useMsw(...slack.handlers);

describe.skipIf(!existsSync(CHROMIUM))('Slack channels page in headless Chromium', () => {
  let database: TestDatabase;
  let tenantId: string;
  let cookie: string;
  let browser: Browser;
  let server: TestServer;
  let origin: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    const vault = testVault();
    tenantId = (
      await createTenant(database.db, { name: 'Kestrel Support', actor: { type: 'system', name: 'test' } })
    ).id;
    const sealed = await vault.seal(tenantId, 'slack_access_token', 'xoxb-browser');
    await withTenant(database.db, tenantId, async (tx) => {
      await tx
        .insert(slackInstallations)
        .values({ tenantId, id: 'si_b', teamId: 'TBRW', accessToken: sealed });
      await tx.insert(accounts).values([
        { tenantId, id: 'acc-kestrel', name: 'Kestrel Freight', domains: ['kestrel.example'] },
        { tenantId, id: 'tw-1', name: 'Twin One', domains: ['twins.example'] },
        { tenantId, id: 'tw-2', name: 'Twin Two', domains: ['twins.example'] },
      ]);
    });
    cookie = (
      await createSession(database.db, {
        tenantId,
        userId: 'UADMIN',
        userName: 'Ada Admin',
        role: 'admin',
        via: 'slack_oidc',
      })
    ).token;
    slack.channels.set('CSUPPORT1', 'support-kestrel');
    slack.channels.set('CGENERAL1', 'general');
    slack.channels.set('GPRIVATE1', 'vip-escalations');
    // PUBLIC_URL must be the server's own origin (same-origin form posts): known once it listens.
    server = await startTestServer();
    origin = server.origin;
    const config = testConfig({ PUBLIC_URL: origin, SLACK_SIGNING_SECRET: 'browser-secret' });
    const logger = createLogger('silent');
    const app = testApp(database, {
      config,
      vault,
      tokens: createTokenManager({ db: database.db, vault, config, logger }),
      queue: createJobQueue(),
      drafter: createOfflineDrafter(),
      slackLimiter: UNLIMITED,
    }).app;
    server.serveApp(app);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.close();
  });

  it('an admin links a channel chosen from the list, sees why an ambiguous account is refused, then unlinks with the keyboard', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    await context.addCookies([{ name: 'hc_session', value: cookie, url: origin }]);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    // Every response but the one refused form post (400 on purpose, below).
    page.on('response', (r) => {
      if (r.status() >= 400 && !(r.status() === 400 && r.url().endsWith('/admin/slack/channels/link')))
        problems.push(`${r.status()} ${r.url()}`);
    });
    // The console's home first: the set-up checklist (Slack connected, Zendesk not yet).
    await page.goto(`${origin}/admin`);
    await page.getByRole('heading', { name: 'Set-up' }).waitFor();
    expect(await page.locator('.step-done strong').allTextContents()).toContain('Connect Slack');
    await page.screenshot({ path: `${OUT}console-checklist.png`, fullPage: true });
    await page.getByRole('link', { name: 'Slack channels' }).click();
    await page.waitForURL(`${origin}/admin/slack/channels`);
    expect(await page.locator('h1').textContent()).toBe('Slack channels');
    await expect.poll(() => page.getByText('No channel is linked yet').count()).toBe(1);
    await page.screenshot({ path: `${OUT}slack-channels-1-empty.png`, fullPage: true });

    // Labels lead to their fields (what a screen reader announces).
    await page.getByLabel('Channel', { exact: true }).selectOption({ label: '#support-kestrel' });
    await page.getByLabel('Account', { exact: true }).fill('twins.example');
    await page.getByRole('button', { name: 'Link channel' }).click();
    const error = page.locator('#link-account-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('Several accounts match (tw-1, tw-2)');
    expect(await page.getByLabel('Account', { exact: true }).getAttribute('aria-describedby')).toContain(
      'link-account-error',
    );
    // What was chosen and typed is kept.
    expect(await page.getByLabel('Channel', { exact: true }).inputValue()).toBe('CSUPPORT1');
    await page.screenshot({ path: `${OUT}slack-channels-2-error.png`, fullPage: true });

    await page.getByLabel('Account', { exact: true }).fill('acc-kestrel');
    await page.getByRole('button', { name: 'Link channel' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('Channel CSUPPORT1 is linked.');
    expect(await page.locator('table').textContent()).toContain('support-kestrel');
    expect(await page.locator('table').textContent()).toContain('Kestrel Freight');
    await page.screenshot({ path: `${OUT}slack-channels-3-linked.png`, fullPage: true });
    expect(await withTenant(database.db, tenantId, (tx) => readSlackSettings(tx))).toMatchObject({
      channels: { CSUPPORT1: 'acc-kestrel' },
    });

    // Readable at 320 px, and the Unlink button is reachable from the keyboard.
    await page.setViewportSize({ width: 320, height: 800 });
    await page.screenshot({ path: `${OUT}slack-channels-4-narrow.png`, fullPage: true });
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth).toBeLessThanOrEqual(320);
    await page.getByRole('button', { name: 'Unlink CSUPPORT1' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').textContent()).toBe('Channel CSUPPORT1 is no longer linked.');
    expect(await withTenant(database.db, tenantId, (tx) => readSlackSettings(tx))).toMatchObject({
      channels: {},
    });
    // The audit trail shows the link and the unlink, filtered by the "slack." prefix.
    await page.getByRole('link', { name: 'Audit trail' }).click();
    await page.getByLabel('Action').fill('slack.');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=slack\./);
    expect(await page.locator('table').textContent()).toContain('slack.channel_unlinked');
    await page.screenshot({ path: `${OUT}console-audit.png`, fullPage: true });
    await page.getByRole('link', { name: 'Members' }).click();
    await page.getByText('this session').waitFor();
    await page.screenshot({ path: `${OUT}console-members.png`, fullPage: true });
    // The isolation report, one link away.
    await page.setViewportSize({ width: 900, height: 800 });
    await page.getByRole('link', { name: 'Isolation' }).click();
    await page.getByRole('heading', { name: 'Escape probes' }).waitFor();
    expect(await page.getByText(/\d+ of \d+ held/).count()).toBe(1);
    await page.screenshot({ path: `${OUT}console-isolation.png`, fullPage: true });
    expect(problems.filter((p) => !p.includes('status of 400'))).toEqual([]);
    await context.close();
  }, 120_000);
});
