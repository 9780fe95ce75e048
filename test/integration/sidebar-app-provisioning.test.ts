import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  auditEvents,
  sidebarAppProvisioning,
  sidebarInstallations,
  zendeskConnections,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { randomToken } from '../../src/lib/ids.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { buildZendeskAppZip } from '../../src/zendesk/app-package.ts';
import { disconnectZendesk, provisionZendesk } from '../../src/zendesk/provisioning.ts';
import { MANUAL_UPLOAD_HINT, SIDEBAR_APP_NAME } from '../../src/zendesk/sidebar-app.ts';
import { testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { fakeZendesk } from '../helpers/msw-zendesk.ts';

const creds = { clientId: 'zdg-copilot', clientSecret: 'zd-secret-1' };
const zd = fakeZendesk({ subdomain: 'piedpiper', ...creds });
const base = 'https://piedpiper.zendesk.com';

/** The Apps API of the fake account: uploads, asynchronous app builds, installations. */
const apps = {
  owned: new Map<string, { id: string; name: string }>(),
  installations: new Map<string, { id: string; app_id: string }>(),
  jobs: new Map<string, { name: string; polls: number }>(),
  uploads: [] as Uint8Array[],
  /** The plan does not allow private apps: uploads answer 403. */
  refuse: false,
  seq: 800,
  reset() {
    this.owned.clear();
    this.installations.clear();
    this.jobs.clear();
    this.uploads.length = 0;
    this.refuse = false;
  },
};
const authed = (r: Request) => {
  const m = /^Bearer (.+)$/.exec(r.headers.get('authorization') ?? '');
  return !!m && zd.liveAccessTokens.has(m[1]!);
};
const unauthorized = () => HttpResponse.json({ error: 'Couldn’t authenticate you' }, { status: 401 });
const notFound = () => HttpResponse.json({ error: 'RecordNotFound' }, { status: 404 });
const appsHandlers = [
  http.post(`${base}/api/v2/apps/uploads.json`, async ({ request }) => {
    if (!authed(request)) return unauthorized();
    if (apps.refuse)
      return HttpResponse.json(
        { error: 'Forbidden', description: 'You do not have access to this page.' },
        { status: 403 },
      );
    const file = (await request.formData()).get('uploaded_data') as File;
    apps.uploads.push(new Uint8Array(await file.arrayBuffer()));
    return HttpResponse.json({ id: ++apps.seq });
  }),
  http.post(`${base}/api/v2/apps.json`, async ({ request }) => {
    if (!authed(request)) return unauthorized();
    const body = (await request.json()) as { name: string; upload_id: number };
    const jobId = `job_${++apps.seq}`;
    apps.jobs.set(jobId, { name: body.name, polls: 0 });
    return HttpResponse.json({ job_id: jobId });
  }),
  http.get(`${base}/api/v2/apps/job_statuses/:id`, ({ request, params }) => {
    if (!authed(request)) return unauthorized();
    const job = apps.jobs.get(String(params.id));
    if (!job) return notFound();
    // The build takes one poll to finish, as Zendesk's asynchronous build does.
    if (job.polls++ === 0) return HttpResponse.json({ status: 'working' });
    const existing = [...apps.owned.values()].find((a) => a.name === job.name);
    const app = existing ?? { id: String(++apps.seq), name: job.name };
    apps.owned.set(app.id, app);
    return HttpResponse.json({ status: 'completed', app_id: Number(app.id) });
  }),
  http.get(`${base}/api/v2/apps/owned.json`, ({ request }) => {
    if (!authed(request)) return unauthorized();
    return HttpResponse.json({
      apps: [
        { id: 1, name: 'Someone else’s app' },
        ...[...apps.owned.values()].map((a) => ({ ...a, id: Number(a.id) })),
      ],
      next_page: null,
    });
  }),
  http.get(`${base}/api/v2/apps/installations.json`, ({ request }) => {
    if (!authed(request)) return unauthorized();
    return HttpResponse.json({
      installations: [...apps.installations.values()].map((i) => ({
        id: Number(i.id),
        app_id: Number(i.app_id),
        enabled: true,
      })),
    });
  }),
  http.get(`${base}/api/v2/apps/installations/:id.json`, ({ request, params }) => {
    if (!authed(request)) return unauthorized();
    const i = apps.installations.get(String(params.id));
    return i ? HttpResponse.json({ id: Number(i.id), app_id: Number(i.app_id), enabled: true }) : notFound();
  }),
  http.post(`${base}/api/v2/apps/installations.json`, async ({ request }) => {
    if (!authed(request)) return unauthorized();
    const body = (await request.json()) as { app_id: number };
    if (!apps.owned.has(String(body.app_id))) return notFound();
    const i = { id: String(++apps.seq), app_id: String(body.app_id) };
    apps.installations.set(i.id, i);
    return HttpResponse.json({ id: Number(i.id), app_id: body.app_id, enabled: true });
  }),
  http.delete(`${base}/api/v2/apps/installations/:id.json`, ({ request, params }) => {
    if (!authed(request)) return unauthorized();
    return apps.installations.delete(String(params.id))
      ? new HttpResponse(null, { status: 204 })
      : notFound();
  }),
  http.delete(`${base}/api/v2/apps/:id.json`, ({ request, params }) => {
    if (!authed(request)) return unauthorized();
    return apps.owned.delete(String(params.id)) ? new HttpResponse(null, { status: 204 }) : notFound();
  }),
];
useMsw(...appsHandlers, ...zd.handlers);

const config = testConfig({ ZENDESK_CLIENT_ID: creds.clientId, ZENDESK_CLIENT_SECRET: creds.clientSecret });
const system = { type: 'system', name: 'test' } as const;
const zip = buildZendeskAppZip('https://copilot.example.com');

describe.each(backends())('Sidebar app provisioning through the Apps API on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  let tenantId: string;
  let connectionId: string;
  const deps = (withPackage = true) => ({
    db: database.db,
    vault,
    tokens: createTokenManager({ db: database.db, vault, config, logger: createLogger('silent') }),
    publicUrl: config.PUBLIC_URL,
    actor: system,
    maxInlineWaitMs: 50,
    appJobPollMs: 1,
    ...(withPackage ? { sidebarAppPackage: () => zip } : {}),
  });
  const installations = () =>
    withTenant(database.db, tenantId, (tx) => tx.select().from(sidebarInstallations));
  const state = async () =>
    (await withTenant(database.db, tenantId, (tx) => tx.select().from(sidebarAppProvisioning)))[0];
  const actions = async () =>
    (await withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents))).map((e) => e.action);

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
    tenantId = (await createTenant(database.db, { name: 'Pied Piper', actor: system })).id;
  });
  afterAll(() => database?.close());
  beforeEach(async () => {
    zd.reset();
    apps.reset();
    const pair = zd.issuePair();
    connectionId = `zc_${randomToken(8)}`;
    await withTenant(database.db, tenantId, async (tx) => {
      await tx.delete(sidebarInstallations);
      await tx.delete(sidebarAppProvisioning);
      await tx.delete(zendeskConnections);
      await tx.insert(zendeskConnections).values({
        tenantId,
        id: connectionId,
        subdomain: 'piedpiper',
        hookId: randomToken(24),
        accessToken: await vault.seal(tenantId, 'zendesk_access_token', pair.accessToken),
        refreshToken: await vault.seal(tenantId, 'zendesk_refresh_token', pair.refreshToken),
        accessExpiresAt: new Date(Date.now() + 3_600_000),
        refreshExpiresAt: new Date(Date.now() + 30 * 86_400_000),
      });
    });
  });

  it('uploads, builds and installs the app once, records the installation, and reuses it when run again', async () => {
    const first = await provisionZendesk(deps(), tenantId);
    expect(first.sidebarApp.status).toBe('installed');
    expect(first.created).toEqual(expect.arrayContaining(['webhook', 'sidebar_app', 'sidebar_installation']));
    // The uploaded package is the zip built for PUBLIC_URL.
    expect(apps.uploads).toHaveLength(1);
    expect(Buffer.from(apps.uploads[0]!).equals(Buffer.from(zip))).toBe(true);
    expect([...apps.owned.values()].filter((a) => a.name === SIDEBAR_APP_NAME)).toHaveLength(1);
    expect(apps.installations.size).toBe(1);
    const [inst] = [...apps.installations.values()];
    expect(await installations()).toEqual([
      expect.objectContaining({
        installationId: inst!.id,
        appId: inst!.app_id,
        connectionId,
        origin: 'provisioned',
        status: 'active',
      }),
    ]);
    expect(await state()).toMatchObject({ status: 'installed', installationId: inst!.id });

    const second = await provisionZendesk(deps(), tenantId);
    expect(second.sidebarApp).toMatchObject({ status: 'installed', installationId: inst!.id, created: [] });
    expect(apps.uploads).toHaveLength(1);
    expect(apps.installations.size).toBe(1);
    expect(await actions()).toEqual(
      expect.arrayContaining(['zendesk.sidebar_app.created', 'zendesk.sidebar_app.installed']),
    );
  });

  it('after a crash that lost our record, finds the app by name and its installation by app id', async () => {
    await provisionZendesk(deps(), tenantId);
    await withTenant(database.db, tenantId, (tx) => tx.delete(sidebarInstallations));
    const again = await provisionZendesk(deps(), tenantId);
    expect(again.sidebarApp).toMatchObject({
      status: 'installed',
      created: [],
      reused: ['app', 'installation'],
    });
    expect(apps.uploads).toHaveLength(1);
    expect(apps.installations.size).toBe(1);
    expect(await installations()).toHaveLength(1);
  });

  it('reinstalls when an admin uninstalled the app in Zendesk', async () => {
    await provisionZendesk(deps(), tenantId);
    apps.installations.clear();
    const again = await provisionZendesk(deps(), tenantId);
    expect(again.sidebarApp).toMatchObject({ status: 'installed', created: ['installation'] });
    const rows = await installations();
    expect(rows.filter((r) => r.status === 'active')).toHaveLength(1);
    expect(rows.filter((r) => r.status === 'removed')).toHaveLength(1);
  });

  it('records a plan that refuses private apps, with the manual upload, and still provisions the webhook', async () => {
    apps.refuse = true;
    const r = await provisionZendesk(deps(), tenantId);
    expect(r.sidebarApp).toEqual({ status: 'plan_refused', detail: MANUAL_UPLOAD_HINT });
    expect(r.webhookId).toBeTruthy();
    expect(zd.triggers.size).toBe(3);
    expect(await state()).toMatchObject({ status: 'plan_refused', detail: MANUAL_UPLOAD_HINT });
    expect(await installations()).toEqual([]);
    expect(await actions()).toContain('zendesk.sidebar_app.plan_refused');
  });

  it('without a package (a deployment that cannot build one) calls no Apps API and records why', async () => {
    const r = await provisionZendesk(deps(false), tenantId);
    expect(r.sidebarApp.status).toBe('failed');
    expect(zd.calls.api.some((c) => c.includes('/apps'))).toBe(false);
    expect(apps.uploads).toHaveLength(0);
    expect((await state())?.status).toBe('failed');
  });

  it('disconnect uninstalls and deletes the app we provisioned and marks its installation removed', async () => {
    await provisionZendesk(deps(), tenantId);
    const result = await disconnectZendesk(deps(), tenantId);
    expect(result.failed).toEqual([]);
    expect(result.removed).toEqual(expect.arrayContaining(['sidebar_installation', 'sidebar_app']));
    expect(apps.installations.size).toBe(0);
    expect([...apps.owned.values()].some((a) => a.name === SIDEBAR_APP_NAME)).toBe(false);
    expect((await installations()).map((r) => r.status)).toEqual(['removed']);
    expect((await state())?.status).toBe('removed');
    expect(await actions()).toEqual(
      expect.arrayContaining(['zendesk.sidebar_app.uninstalled', 'zendesk.sidebar_app.deleted']),
    );
  });
});
