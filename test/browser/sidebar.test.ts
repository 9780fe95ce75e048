import { existsSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drafts, jobs } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { ZAF_SDK_URL } from '../../src/http/views/sidebar.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { ticketJob } from '../../src/pipeline/ticket-job.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { testApp, testVault } from '../helpers/app.ts';
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
  seedDraft,
  seedSidebarTenant,
  sidebarConfig,
  sidebarZendeskFake,
  signSidebarToken,
  tokenManager,
} from '../integration/sidebar-fixture.ts';

/**
 * The sidebar in a real headless Chromium: a stand-in for Zendesk's agent page (served by the
 * browser's request routing at https://acme.zendesk.com) posts the signed token into an iframe
 * the way Zendesk does, with `origin` and `app_guid` on the URL, and a stub of Zendesk's ZAF SDK
 * gives the ticket id and records `ticket.editor.insert`. Our server is the real app on
 * @hono/node-server; Zendesk's API is msw. Screenshots: test/.output/sidebar-*.png.
 */
const OUT = SCREENSHOTS;

const acme = await sidebarZendeskFake('acme');
useMsw(...acme.handlers);

const ZAF_STUB = `window.ZAFClient = { init: function () {
  var q = new URLSearchParams(location.search);
  if (!q.get('origin') || !q.get('app_guid')) return undefined;
  return {
    get: function (k) { return Promise.resolve(k === 'ticket.id' ? { 'ticket.id': TICKET_ID } : {}); },
    invoke: function (name, arg) { (window.__zaf = window.__zaf || []).push([name, arg]); return Promise.resolve({}); },
    on: function () {},
    context: function () { return Promise.resolve({ product: 'support', location: 'ticket_sidebar' }); }
  };
} };`;

describe.skipIf(!existsSync(CHROMIUM))('Zendesk sidebar in headless Chromium', () => {
  let database: TestDatabase;
  let vault: Vault;
  let seeded: SeededTenant;
  let browser: Browser;
  let server: TestServer;
  let origin: string;

  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    vault = testVault();
    seeded = await seedSidebarTenant(database.db, vault, acme, { ticketId: '4242' });
    const { app } = testApp(database, {
      config: sidebarConfig,
      vault,
      tokens: tokenManager(database.db, vault),
    });
    server = await startTestServer();
    server.serveApp(app);
    origin = server.origin;
    browser = await launchChromium([
      // The stand-in Zendesk page is "public" and our test server is on 127.0.0.1: without
      // this, Chromium's local-network-access checks block the iframe's form post.
      '--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests',
    ]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await database?.close();
  });

  it('opens the sidebar, expands a citation, edits, sends, and sees "Sent by ..."; one reply reaches Zendesk', async () => {
    const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
    const token = await signSidebarToken(acme, { agentId: '9001' });
    const action = `${origin}/zendesk/sidebar?origin=${encodeURIComponent('https://acme.zendesk.com')}&app_guid=g-1`;
    await page.route('https://acme.zendesk.com/agent/tickets/4242', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><title>Zendesk</title><body style="margin:0;background:#eee">
<form id="f" method="post" target="app" action="${action}"><input type="hidden" name="token" value="${token}"></form>
<iframe name="app" id="app" style="width:400px;height:880px;border:0;background:#fff"></iframe>
<script>document.getElementById('f').submit();</script></body>`,
      }),
    );
    await page.route(ZAF_SDK_URL, (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: ZAF_STUB.replace('TICKET_ID', JSON.stringify(seeded.ticketId)),
      }),
    );
    await page.goto('https://acme.zendesk.com/agent/tickets/4242');
    const frame = page.frameLocator('#app');
    await frame
      .locator('#sb-body')
      .waitFor({ timeout: 20_000 })
      .catch(async (e) => {
        await page.screenshot({ path: `${OUT}sidebar-0-failed.png` });
        throw e;
      });
    await expect(frame.locator('#sb-account').textContent()).resolves.toBe('Globex Corp');
    await page.screenshot({ path: `${OUT}sidebar-1-opened.png` });

    const card = frame.locator('.sb-citation').nth(1);
    await card.locator('summary').click();
    await expect(card.locator('.sb-fact').isVisible()).resolves.toBe(true);
    await expect(card.locator('.sb-fact').textContent()).resolves.toBe(
      'Settings > Security > Single sign-on',
    );
    await page.screenshot({ path: `${OUT}sidebar-2-citation.png` });

    await frame.locator('#sb-edit').click();
    const edited = 'Hi Hank, SSO comes with your Pro plan: Settings > Security > Single sign-on.';
    await frame.locator('#sb-body').fill(edited);
    await page.screenshot({ path: `${OUT}sidebar-3-edited.png` });
    await frame.locator('#sb-send').click();
    await frame.locator('#sb-sent').waitFor({ timeout: 20_000 });
    await expect(frame.locator('#sb-sent').textContent()).resolves.toMatch(/^Sent by Agent 9001/);
    await page.screenshot({ path: `${OUT}sidebar-4-sent.png` });

    expect(acme.replies).toEqual([{ ticketId: seeded.ticketId, authorId: 9001, body: edited }]);
    await page.close();
  }, 90_000);

  it('shows the stale mark when the requester wrote again, and Regenerate sends the typed instruction', async () => {
    const ticketId = '4343';
    const draftId = await seedDraft(database.db, seeded.tenantId, { ticketId });
    await withTenant(database.db, seeded.tenantId, async (tx) => {
      await tx
        .update(drafts)
        .set({ createdAt: new Date(Date.now() - 60_000) })
        .where(eq(drafts.id, draftId));
      await createJobQueue().enqueue(
        tx,
        seeded.tenantId,
        ticketJob({
          connectionId: seeded.connectionId,
          ticketId,
          event: 'comment_added',
          invocationId: 'inv-stale',
          eventKey: `${ticketId}:comment_added:stamp`,
        }),
      );
      await tx
        .update(jobs)
        .set({ status: 'done' })
        .where(eq(jobs.dedupeKey, `${ticketId}:comment_added:stamp`));
    });
    const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
    const token = await signSidebarToken(acme, { agentId: '9001' });
    const action = `${origin}/zendesk/sidebar?origin=${encodeURIComponent('https://acme.zendesk.com')}&app_guid=g-1`;
    await page.route(`https://acme.zendesk.com/agent/tickets/${ticketId}`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><title>Zendesk</title><body style="margin:0">
<form id="f" method="post" target="app" action="${action}"><input type="hidden" name="token" value="${token}"></form>
<iframe name="app" id="app" style="width:400px;height:880px;border:0"></iframe>
<script>document.getElementById('f').submit();</script></body>`,
      }),
    );
    await page.route(ZAF_SDK_URL, (route) =>
      route.fulfill({
        contentType: 'text/javascript',
        body: ZAF_STUB.replace('TICKET_ID', JSON.stringify(ticketId)),
      }),
    );
    await page.goto(`https://acme.zendesk.com/agent/tickets/${ticketId}`);
    const frame = page.frameLocator('#app');
    await frame.locator('#sb-stale').waitFor({ timeout: 20_000 });
    await expect(frame.locator('#sb-stale').textContent()).resolves.toMatch(
      /^The requester wrote again after this draft \(.+\)\. Check their message, or Regenerate\.$/,
    );
    await page.screenshot({ path: `${OUT}sidebar-5-stale.png` });
    await frame.locator('#sb-instruction').fill('shorter, in German');
    await frame.locator('#sb-regenerate').click();
    await frame.locator('#sb-state').waitFor({ timeout: 20_000 });
    const queued = await withTenant(database.db, seeded.tenantId, (tx) =>
      tx.select({ key: jobs.dedupeKey, payload: jobs.payload }).from(jobs),
    );
    const regen = queued.find((j) => j.key?.startsWith(`${ticketId}:sidebar:`));
    expect(regen?.payload).toMatchObject({ ticketId, instruction: 'shorter, in German' });
    await page.close();
  }, 90_000);

  it('a page opened without a valid token says why and shows no draft', async () => {
    const page = await browser.newPage({ viewport: { width: 420, height: 400 } });
    await page.route('https://acme.zendesk.com/agent/tickets/1', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><form id="f" method="post" target="app" action="${origin}/zendesk/sidebar?origin=x&app_guid=y"><input type="hidden" name="token" value="forged.token.value"></form>
<iframe name="app" id="app" style="width:400px;height:380px;border:0"></iframe><script>document.getElementById('f').submit();</script>`,
      }),
    );
    await page.goto('https://acme.zendesk.com/agent/tickets/1');
    const refusal = page.frameLocator('#app').locator('#sb-refusal');
    await refusal.waitFor({ timeout: 20_000 });
    await expect(refusal.textContent()).resolves.toMatch(/could not be read/);
    await page.screenshot({ path: `${OUT}sidebar-5-refused.png` });
    await page.close();
  }, 60_000);
});
