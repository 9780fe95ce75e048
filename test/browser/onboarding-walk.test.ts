import { existsSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { HttpResponse, http, passthrough } from 'msw';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drafts,
  sidebarAppProvisioning,
  sidebarInstallations,
  slackInstallations,
  tenantSettings,
  zendeskConnections,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import type { JobHandler } from '../../src/jobs/types.ts';
import { createWorker, type Worker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createUpstreamLimiter } from '../../src/limits/upstream.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import { drafterFromConfig } from '../../src/pipeline/drafting/openai.ts';
import { createTicketHandler, TICKET_JOB_KIND } from '../../src/pipeline/process-ticket.ts';
import { createLocalLoginLinks, ensureLocalTenant } from '../../src/tenancy/sessions.ts';
import { buildZendeskAppZip } from '../../src/zendesk/app-package.ts';
import { autoSendDraft } from '../../src/zendesk/sidebar-auto-send.ts';
import { withAgentReplyMatching } from '../../src/zendesk/sidebar-reply-match.ts';
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
import { fakeSlackOAuth } from '../helpers/msw-slack-oauth.ts';
import { fakeZendesk } from '../helpers/msw-zendesk.ts';
import { signedZendeskHeaders } from '../helpers/zendesk-sign.ts';

/**
 * The admin console's "Done when": a newcomer on the embedded database (PGlite) sets a tenant up
 * with nothing but a browser (headless Chromium, the real app on @hono/node-server). The one-time
 * local admin link, Slack and Zendesk OAuth (the browser's trips to slack.com and
 * <sub>.zendesk.com answered by Playwright's page.route; the server's token exchanges and Zendesk
 * API calls by msw in this process), routing from the tenant's Zendesk lists, the catalog and
 * directory, the playground, a signed Zendesk webhook drafted by the worker with the real ticket
 * handler, the drafts list, the audit trail, and the usage page when it exists.
 * Each step is one test, in order, on one browser page. Screenshots:
 * test/.output/onboarding-walk-NN-*.png.
 */
const SUB = 'walkco';
const ZD = `https://${SUB}.zendesk.com`;
const slackCreds = { clientId: 'walk-slack-client', clientSecret: 'walk-slack-secret' };
const zdCreds = { clientId: 'walk-zd-client', clientSecret: 'walk-zd-secret' };
const slack = fakeSlackOAuth(slackCreds);
const zd = fakeZendesk({ subdomain: SUB, ...zdCreds });

const TICKET_ID = 50123;
const REQUESTER = { id: 880001, name: 'Hank Scorpio', email: 'hank@globex.example' };
const ORG_ID = 770001;
/** Internal notes the pipeline left on tickets (PUT /api/v2/tickets/:id.json). */
const notes: { ticketId: string; body: string; public: boolean }[] = [];

/** The tenant's Zendesk beyond OAuth and webhooks/triggers (those are fakeZendesk's). */
function zendeskAccountHandlers() {
  const authed = (r: Request) => {
    const m = /^Bearer (.+)$/.exec(r.headers.get('authorization') ?? '');
    return !!m && zd.liveAccessTokens.has(m[1]!);
  };
  const get = (path: string, body: (params: Record<string, unknown>) => Record<string, unknown>) =>
    http.get(`${ZD}${path}`, ({ request, params }) =>
      authed(request) ? HttpResponse.json(body(params)) : HttpResponse.json({}, { status: 401 }),
    );
  return [
    // Routing choices on /admin/settings.
    get('/api/v2/organization_fields.json', () => ({
      organization_fields: [
        { id: 1, key: 'workspace_id', title: 'Workspace ID', type: 'text', active: true },
        { id: 3, key: 'tier', title: 'Tier', type: 'dropdown', active: true },
      ],
      meta: { has_more: false },
    })),
    get('/api/v2/brands.json', () => ({
      brands: [
        { id: 10, name: 'Acme Support', active: true, default: true },
        { id: 11, name: 'Moss & Fern', active: true },
      ],
      meta: { has_more: false },
    })),
    // Provisioning looks for its sidebar app among the account's apps before building the package.
    get('/api/v2/apps/owned.json', () => ({
      apps: [{ id: 1, name: 'Someone else’s app' }],
      next_page: null,
    })),
    // The ticket the webhook names, its requester and organization, as the pipeline reads them.
    get(`/api/v2/tickets/${TICKET_ID}.json`, () => ({
      ticket: {
        id: TICKET_ID,
        subject: 'How do we turn on SSO?',
        description:
          'Hi, we would like our team to sign in with SSO. Is it in our plan, and where do we enable it?',
        requester_id: REQUESTER.id,
        organization_id: ORG_ID,
        brand_id: 10,
        recipient: 'support@acme.example',
        via: { channel: 'email' },
        created_at: new Date().toISOString(),
      },
      users: [{ ...REQUESTER, role: 'end-user' }],
      organizations: [
        { id: ORG_ID, name: 'Globex Corp', organization_fields: { workspace_id: 'acc_globex', tier: null } },
      ],
    })),
    get('/api/v2/brands/10.json', () => ({ brand: { id: 10, name: 'Acme Support' } })),
    get(`/api/v2/users/${REQUESTER.id}/tickets/requested.json`, () => ({ tickets: [] })),
    get(`/api/v2/organizations/${ORG_ID}/tickets.json`, () => ({ tickets: [] })),
    http.put(`${ZD}/api/v2/tickets/:id.json`, async ({ request, params }) => {
      if (!authed(request)) return HttpResponse.json({}, { status: 401 });
      const body = (await request.json()) as { ticket?: { comment?: { body?: string; public?: boolean } } };
      notes.push({
        ticketId: String(params.id),
        body: body.ticket?.comment?.body ?? '',
        public: body.ticket?.comment?.public ?? true,
      });
      return HttpResponse.json({ ticket: { id: Number(params.id) } });
    }),
    get('/api/v2/tickets/:id/comments.json', () => ({
      comments: notes.map((n, i) => ({ id: i + 1, body: n.body, public: n.public })),
    })),
  ];
}

useMsw(
  ...slack.handlers,
  ...zd.handlers,
  ...zendeskAccountHandlers(),
  // The webhook below goes from this process to our own server on 127.0.0.1: not an upstream.
  http.all(/^http:\/\/127\.0\.0\.1:\d+\//, () => passthrough()),
);

/** Answers the browser's trip to a provider's authorize page: straight back to our callback. */
async function providerRedirect(route: Route, code: (authorizeUrl: string) => string, callback: string) {
  const url = new URL(route.request().url());
  const back = new URL(url.searchParams.get('redirect_uri') ?? '');
  expect(back.toString()).toBe(callback);
  back.searchParams.set('code', code(url.toString()));
  back.searchParams.set('state', url.searchParams.get('state') ?? '');
  await route.fulfill({ status: 302, headers: { location: back.toString() } });
}

/** The checklist item titled `title` on /admin, and its state badge ("Done", "To do", ...). */
function checklistStep(page: Page, title: string) {
  const item = page
    .getByRole('region', { name: 'Set-up' })
    .getByRole('listitem')
    .filter({ has: page.getByText(title, { exact: true }) });
  return { item, badge: item.locator('.badge') };
}

/**
 * Step 5: the tenant's catalog and account directory, as a newcomer does it: a JSON file each,
 * imported on /admin/catalog (preview with its differences, then applied) and uploaded on
 * /admin/directory (the validation report, then applied).
 */
async function configureCatalogAndDirectory(page: Page) {
  const catalog = {
    plans: [
      { key: 'basic', name: 'Basic', monthlyPrice: 29 },
      { key: 'pro', name: 'Pro', monthlyPrice: 99 },
    ],
    features: [{ key: 'sso', name: 'Single sign-on (SSO)', plans: ['pro'] }],
    links: { ssoSettings: 'https://app.acme.example/a/{account.id}/settings/security' },
    kb: [
      {
        id: 'kb-sso',
        title: 'Turning on single sign-on',
        body: 'Admins on the Pro plan enable SSO under Settings, Security, then add their identity provider.',
      },
    ],
    changelog: [{ date: '2026-11-20', title: 'SSO for Pro', body: 'SSO is now part of the Pro plan.' }],
    playbooks: [
      {
        key: 'plan-gated-feature',
        when: 'a customer asks about a feature that depends on their plan',
        steps: ['Check the account plan', 'Say whether the feature is included', 'Give the settings link'],
      },
    ],
  };
  const directory = {
    mode: 'upsert',
    accounts: [
      {
        id: 'acc_globex',
        name: 'Globex Corp',
        plan: 'pro',
        domains: ['globex.example'],
        users: [{ email: REQUESTER.email, name: REQUESTER.name, role: 'admin' }],
      },
      { id: 'acc_mossfern', name: 'Moss & Fern', plan: 'basic', domains: ['mossfern.example'] },
    ],
  };
  // The catalog: a JSON file, previewed with its differences, then applied.
  await page.getByRole('navigation').getByRole('link', { name: 'Catalog' }).click();
  await page.getByLabel('What you import').selectOption('json');
  await page.getByLabel('File').setInputFiles({
    name: 'catalog.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(catalog, null, 2)),
  });
  await page.getByRole('button', { name: 'Preview import' }).click();
  await page.getByRole('heading', { name: 'Catalog import: preview' }).waitFor();
  expect((await page.locator('ul.changes').allTextContents()).join(' ')).toMatch(/Added: basic, pro/);
  await page.getByRole('button', { name: 'Apply this import' }).click();
  await page.getByRole('status').filter({ hasText: 'The import was applied.' }).waitFor();
  // The directory: a JSON file, checked (the report), then applied.
  await page.getByRole('navigation').getByRole('link', { name: 'Directory' }).click();
  await page.getByLabel('File').setInputFiles({
    name: 'directory.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(directory)),
  });
  await page.getByRole('button', { name: 'Check upload' }).click();
  await page.getByRole('heading', { name: 'Directory upload: report' }).waitFor();
  await page.getByRole('button', { name: 'Confirm and apply' }).click();
  await page.getByRole('status').filter({ hasText: 'The upload was applied.' }).waitFor();
}

describe.skipIf(!existsSync(CHROMIUM))(
  'onboarding walk: a newcomer on the embedded database, in the browser',
  () => {
    let database: TestDatabase;
    let testServer: TestServer;
    let origin: string;
    let browser: Browser;
    let page: Page;
    let tenantId: string;
    let localLink: string;
    let worker: Worker;
    const vault = testVault();
    let step = 0;
    const shoot = (name: string) =>
      page.screenshot({
        path: `${SCREENSHOTS}onboarding-walk-${String(++step).padStart(2, '0')}-${name}.png`,
        fullPage: true,
      });
    const connections = () =>
      withTenant(database.db, tenantId, async (tx) => ({
        slack: await tx.select().from(slackInstallations),
        zendesk: await tx.select().from(zendeskConnections),
        sidebar: await tx.select().from(sidebarInstallations),
      }));

    beforeAll(async () => {
      database = await createTestDatabase('pglite');
      testServer = await startTestServer();
      origin = testServer.origin;
      const config = testConfig({
        PUBLIC_URL: origin,
        SLACK_CLIENT_ID: slackCreds.clientId,
        SLACK_CLIENT_SECRET: slackCreds.clientSecret,
        ZENDESK_CLIENT_ID: zdCreds.clientId,
        ZENDESK_CLIENT_SECRET: zdCreds.clientSecret,
      });
      const logger = createLogger('silent');
      // Wired as src/entry/node.ts wires them (no OPENAI_API_KEY: the offline drafter).
      const tokens = createTokenManager({ db: database.db, vault, config, logger });
      const drafter = drafterFromConfig(config);
      const localLogin = createLocalLoginLinks();
      testServer.serveApp(
        testApp(database, {
          config,
          vault,
          logger,
          tokens,
          drafter,
          localLogin,
          queue: createJobQueue(),
          contextApiResolver: async () => ['93.184.216.34'],
          sidebarAppPackage: () => buildZendeskAppZip(config.PUBLIC_URL),
        }).app,
      );
      const pipelineDeps = {
        database,
        vault,
        tokens,
        drafter,
        logger,
        limits: createUpstreamLimiter({ db: database.db }),
      };
      const handlers: Record<string, JobHandler> = {
        [TICKET_JOB_KIND]: withAgentReplyMatching(
          createTicketHandler({
            ...pipelineDeps,
            afterDraft: async (a) => {
              await autoSendDraft({ database, tokens, now: () => new Date(), requestId: a.jobId }, a);
            },
          }),
          { database, tokens },
        ),
      };
      worker = createWorker({ database, handlers, logger });
      // The link the Node entry prints on start (printLocalLoginLink in src/entry/node.ts).
      tenantId = await ensureLocalTenant(database.db);
      localLink = `${origin}/admin/local-login?token=${await localLogin.issue(tenantId)}`;
      browser = await launchChromium();
      page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
    }, 300_000);
    afterAll(async () => {
      await worker?.stop({ timeoutMs: 5_000 });
      await browser?.close();
      await testServer?.close();
      await database?.close();
    });

    it('1. opens the local admin link and lands on /admin with the set-up checklist', async () => {
      await page.goto(localLink);
      expect(new URL(page.url()).pathname).toBe('/admin');
      await page.getByRole('heading', { name: 'Set-up' }).waitFor();
      expect(await page.getByText(/0 of \d+ steps done/).count()).toBe(1);
      expect(await checklistStep(page, 'Connect Slack').badge.textContent()).toBe('To do');
      expect(await checklistStep(page, 'Connect Zendesk').badge.textContent()).toBe('To do');
      expect(await checklistStep(page, 'First draft').badge.textContent()).toBe('To do');
      await shoot('checklist');
      // The link is one use: a second visit is refused.
      const again = await (await browser.newContext()).newPage();
      const res = await again.goto(localLink);
      expect(res?.status()).toBe(401);
      expect(await again.getByText('already used or has expired').count()).toBe(1);
      await again.context().close();
    });

    it('2. connects Slack through its OAuth page and sees Slack connected', async () => {
      await page.route('https://slack.com/**', (route) =>
        providerRedirect(
          route,
          (u) => slack.authorize(u, { team: { id: 'T_WALK', name: 'Walk & Co' } }),
          `${origin}/slack/oauth/callback`,
        ),
      );
      await checklistStep(page, 'Connect Slack').item.getByRole('link', { name: 'Add to Slack' }).click();
      await page.waitForURL(`${origin}/slack/install`);
      await shoot('slack-start');
      await page.getByRole('button', { name: 'Add to Slack' }).click();
      await page.waitForURL((u) => u.pathname === '/slack/oauth/callback');
      await page.getByRole('heading', { name: 'Installed into Walk & Co' }).waitFor();
      await shoot('slack-installed');
      expect(slack.calls.exchange).toBe(1);
      const { slack: rows } = await connections();
      expect(rows).toEqual([expect.objectContaining({ teamId: 'T_WALK', status: 'active' })]);

      await page.goto(`${origin}/admin`);
      expect(await checklistStep(page, 'Connect Slack').badge.textContent()).toBe('Done');
      expect(await checklistStep(page, 'Connect Slack').item.textContent()).toContain(
        'Installed in Walk & Co.',
      );
    });

    it('3. connects Zendesk with its subdomain and sees it connected and provisioned', async () => {
      await page.route(`${ZD}/**`, (route) =>
        providerRedirect(route, (u) => zd.authorize(u), `${origin}/zendesk/oauth/callback`),
      );
      await checklistStep(page, 'Connect Zendesk')
        .item.getByRole('link', { name: 'Connect Zendesk' })
        .click();
      await page.waitForURL(`${origin}/zendesk/connect`);
      await page.getByLabel(/Your Zendesk subdomain/).fill(SUB);
      await shoot('zendesk-start');
      await page.getByRole('button', { name: 'Connect Zendesk' }).click();
      await page.getByRole('heading', { name: `Connected ${SUB}.zendesk.com` }).waitFor();
      await shoot('zendesk-connected');
      const { zendesk: rows, sidebar } = await connections();
      expect(rows).toEqual([
        expect.objectContaining({ subdomain: SUB, status: 'active', zendeskWebhookId: expect.any(String) }),
      ]);
      expect(rows[0]!.provisionedAt).toBeInstanceOf(Date);
      expect(zd.webhooks.size).toBe(1);
      expect(zd.triggers.size).toBe(3);
      // The sidebar app is not provisioned on a http:// PUBLIC_URL (Zendesk loads it over https),
      // as on `npm start` on a laptop: recorded after looking for the app, nothing uploaded.
      expect(sidebar).toEqual([]);
      const [app] = await withTenant(database.db, tenantId, (tx) => tx.select().from(sidebarAppProvisioning));
      expect(app).toMatchObject({
        status: 'failed',
        detail: expect.stringContaining('PUBLIC_URL must be https'),
      });

      await page.goto(`${origin}/admin`);
      expect(await checklistStep(page, 'Connect Zendesk').badge.textContent()).toBe('Done');
      expect(await checklistStep(page, 'Connect Zendesk').item.textContent()).toContain(`${SUB}.zendesk.com`);
      expect(await checklistStep(page, 'Zendesk webhook and triggers').badge.textContent()).toBe('Done');
      expect(await checklistStep(page, 'Zendesk sidebar app').badge.textContent()).toBe('To do');
      await shoot('checklist-connected');
    });

    it('4. sets routing on /admin/settings from the lists read from Zendesk', async () => {
      await page.getByRole('navigation').getByRole('link', { name: 'Settings' }).click();
      await page.waitForURL(`${origin}/admin/settings`);
      await page
        .getByLabel('Organization field holding the account id')
        .selectOption({ label: 'Workspace ID (workspace_id, text)' });
      await page.getByLabel('Account id for brand “Moss & Fern”').fill('acc_mossfern');
      await page.getByRole('button', { name: 'Save routing' }).click();
      await page.getByRole('status').filter({ hasText: 'Routing saved.' }).waitFor();
      // A generous context deadline: a loaded machine must not turn a slow answer into "missing".
      await page.getByLabel('Context deadline (ms)').fill('30000');
      await page.getByRole('button', { name: 'Save context', exact: true }).click();
      await page.getByRole('status').filter({ hasText: 'Context saved.' }).waitFor();
      await shoot('settings');
      const [row] = await withTenant(database.db, tenantId, (tx) => tx.select().from(tenantSettings));
      expect(row?.settings).toMatchObject({
        routing: { orgField: 'workspace_id', brands: { 'Moss & Fern': 'acc_mossfern' } },
        context: { deadlineMs: 30000 },
      });
    });

    it('5. sets up the catalog and the account directory', async () => {
      await page.goto(`${origin}/admin`);
      expect(await checklistStep(page, 'Account directory').badge.textContent()).toBe('To do');
      await configureCatalogAndDirectory(page);
      await page.goto(`${origin}/admin`);
      expect(await checklistStep(page, 'Account directory').badge.textContent()).toBe('Done');
      expect(await checklistStep(page, 'Account directory').item.textContent()).toContain('2 accounts');
      await shoot('checklist-directory');
    });

    it("6. runs the playground with a directory user's ticket: route, draft and verdict", async () => {
      await page.getByRole('navigation').getByRole('link', { name: 'Playground' }).click();
      await page.waitForURL(`${origin}/admin/playground`);
      await page.getByLabel('Subject').fill('SSO for our team');
      await page.getByLabel('Message').fill('Can our team sign in with SSO? Where do we turn it on?');
      await page.getByLabel('Requester email').fill(REQUESTER.email);
      await page.getByRole('button', { name: 'Run' }).click();
      await page.getByRole('heading', { name: 'Result' }).waitFor();
      const result = page.getByRole('region', { name: 'Result' });
      const route = (await result.locator('h3:has-text("Route") + p').textContent()) ?? '';
      // Routed by the directory user's email to its account; drafted from the catalog just set up.
      expect(route).toBe('account (requester email), account acc_globex.');
      const text = (await page.locator('#draft-text').textContent()) ?? '';
      expect(text).toContain('Single sign-on (SSO) is included in the Pro plan');
      expect(text).toContain('enable SSO under Settings, Security');
      const cites = (await result.locator('p', { hasText: /^Cites:/ }).textContent()) ?? '';
      expect(cites).toContain('catalog:plan:pro');
      expect(cites).toContain('kb:kb-sso');
      expect(await result.getByRole('heading', { name: 'Leak guard' }).count()).toBe(1);
      expect(await result.locator('.badge').first().textContent()).toBe('pass');
      await shoot('playground');
      // Nothing stored by a playground run.
      const stored = await withTenant(database.db, tenantId, (tx) => tx.select().from(drafts));
      expect(stored).toEqual([]);
    });

    it('7. a signed Zendesk webhook becomes a draft the newcomer opens; "First draft" is done', async () => {
      const [conn] = (await connections()).zendesk;
      // The hook id and signing secret provisioning stored (the secret sealed in the row).
      const secret = await vault.open(tenantId, 'zendesk_webhook_secret', conn!.webhookSecret!);
      expect(secret).toBe(zd.webhooks.get(conn!.zendeskWebhookId!)!.secret);
      const body = JSON.stringify({
        ticket_id: String(TICKET_ID),
        event: 'ticket_created',
        updated_at: new Date().toISOString(),
      });
      const res = await fetch(`${origin}/webhooks/zendesk/${conn!.hookId}`, {
        method: 'POST',
        body,
        headers: await signedZendeskHeaders(secret, body, { invocationId: 'inv-walk-1' }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ ok: true, duplicate: false });
      const stats = await worker.runUntilIdle({ timeoutMs: 90_000 });
      expect(stats.succeeded).toBe(1);

      const [draft, ...more] = await withTenant(database.db, tenantId, (tx) =>
        tx
          .select()
          .from(drafts)
          .where(eq(drafts.ticketId, String(TICKET_ID))),
      );
      expect(more).toEqual([]);
      expect(draft).toMatchObject({
        source: 'zendesk',
        route: 'account',
        accountId: 'acc_globex',
        status: 'pending',
        drafter: 'offline',
        guardVerdict: expect.objectContaining({ action: 'pass' }),
      });
      expect(notes).toEqual([expect.objectContaining({ ticketId: String(TICKET_ID), public: false })]);

      await page.getByRole('navigation').getByRole('link', { name: 'Drafts' }).click();
      await page.waitForURL(`${origin}/admin/drafts`);
      await shoot('drafts');
      await page.getByRole('link', { name: `Ticket #${TICKET_ID}` }).click();
      await page.getByRole('heading', { name: `Draft for ticket #${TICKET_ID}` }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/admin/drafts/${draft!.id}`);
      expect(await page.getByText('How do we turn on SSO?').count()).toBeGreaterThan(0);
      // Routed by the organization field chosen on the settings page (step 4).
      expect(await page.getByText('(org field)').count()).toBe(1);
      expect(await page.getByText('Hi Hank,').count()).toBe(1);
      expect(await page.locator('.badge').first().textContent()).toBe('pass');
      await shoot('draft');

      await page.getByRole('navigation').getByRole('link', { name: 'Admin' }).click();
      expect(await checklistStep(page, 'First draft').badge.textContent()).toBe('Done');
      // Everything but the sidebar app, which Zendesk cannot load from a http:// PUBLIC_URL.
      expect(await page.getByText('5 of 6 steps done.').count()).toBe(1);
      await shoot('checklist-first-draft');
    });

    it('8. reads the audit trail filtered by the prefix "settings.", then finds each thing done by its action', async () => {
      await page.getByRole('navigation').getByRole('link', { name: 'Audit trail' }).click();
      await page.waitForURL(`${origin}/admin/audit`);
      await page.getByLabel('Action').fill('settings.');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/action=settings\./);
      const table = page.getByRole('table', { name: 'Audit events, newest first' });
      const actions = await table.locator('tr td:nth-child(3)').allTextContents();
      expect(actions.length).toBeGreaterThanOrEqual(2); // routing, then the context deadline
      expect(new Set(actions)).toEqual(new Set(['settings.updated']));
      const actors = await table.locator('tr td:nth-child(4)').allTextContents();
      expect(new Set(actors)).toEqual(new Set(['admin: local-admin']));
      await shoot('audit');
      // And one event for each thing the newcomer did, found by its exact action.
      for (const action of [
        'admin.signed_in',
        'slack.installed',
        'zendesk.connected',
        'zendesk.provisioned',
        'catalog.replaced',
        'directory.synced',
        'playground.run',
        'draft.created',
        'draft.viewed',
      ]) {
        await page.getByLabel('Action').fill(action);
        await page.getByRole('button', { name: 'Filter' }).click();
        await page.waitForURL((u) => u.searchParams.get('action') === action);
        const cells = await table.locator('tr td:nth-child(3)').allTextContents();
        expect(cells.length, action).toBeGreaterThanOrEqual(1);
        expect(new Set(cells), action).toEqual(new Set([action]));
      }
    });

    it('9. opens the usage page and sees the draft in its chart and table', async () => {
      await page.getByRole('navigation').getByRole('link', { name: 'Usage' }).click();
      await page.waitForURL(/\/admin\/usage/);
      expect(await page.locator('svg#chart-drafts, svg[aria-labelledby^="chart-drafts"]').count()).toBe(1);
      expect(await page.locator('body').textContent()).not.toContain('No drafts and no model calls');
      await shoot('usage');
    });
  },
);
