import { eq } from 'drizzle-orm';
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, drafts, draftVersions, sidebarCredentials } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import {
  forgedToken,
  type SeededTenant,
  seedSidebarTenant,
  sidebarConfig,
  sidebarZendeskFake,
  signSidebarToken,
  tokenManager,
} from './sidebar-fixture.ts';

const acme = await sidebarZendeskFake('acme');
const initech = await sidebarZendeskFake('initech');
useMsw(...acme.handlers, ...initech.handlers);

describe.each(backends())('Zendesk sidebar sign-in on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  let a: SeededTenant;
  let b: SeededTenant;
  let app: ReturnType<typeof testApp>['app'];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
    a = await seedSidebarTenant(database.db, vault, acme, { ticketId: '4242' });
    b = await seedSidebarTenant(database.db, vault, initech, { ticketId: '5151' });
    app = testApp(database, { config: sidebarConfig, vault, tokens: tokenManager(database.db, vault) }).app;
  });
  afterAll(() => database?.close());

  const open = (token: string | undefined) =>
    app.request('/zendesk/sidebar?origin=https%3A%2F%2Facme.zendesk.com&app_guid=abc-123', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: token === undefined ? '' : new URLSearchParams({ token }).toString(),
    });
  const credentialOf = (page: string) => /data-credential="([^"]+)"/.exec(page)?.[1];
  const counts = async (tenantId: string) =>
    withTenant(database.db, tenantId, async (tx) => ({
      credentials: (await tx.select().from(sidebarCredentials)).length,
      audit: (await tx.select().from(auditEvents)).length,
    }));

  it('a valid token opens the page: CSP allows Zendesk framing and its SDK only, and a bearer credential is minted', async () => {
    const before = await counts(a.tenantId);
    const res = await open(await signSidebarToken(acme, { agentId: '9001' }));
    expect(res.status).toBe(200);
    const page = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain('frame-ancestors https://*.zendesk.com');
    expect(csp).toContain(
      "script-src 'self' https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js",
    );
    expect(csp).toContain("connect-src 'self'");
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
    const credential = credentialOf(page);
    expect(credential).toMatch(new RegExp(`^sbc\\.${a.tenantId}\\.`));
    const after = await counts(a.tenantId);
    expect(after.credentials).toBe(before.credentials + 1);
    const [row] = await withTenant(database.db, a.tenantId, (tx) =>
      tx.select().from(sidebarCredentials).orderBy(sidebarCredentials.createdAt),
    );
    expect(row?.agentId).toBe('9001');
    expect(row?.installationId).toBe(acme.installationId);

    const view = await app.request(`/zendesk/sidebar/api/tickets/${a.ticketId}`, {
      headers: { authorization: `Bearer ${credential}` },
    });
    expect(view.status).toBe(200);
    const body = (await view.json()) as {
      draft: { id: string; citations: { fact: string }[]; accountName: string };
    };
    expect(body.draft.id).toBe(a.draftId);
    expect(body.draft.accountName).toBe('Globex Corp');
    expect(body.draft.citations.map((c) => c.fact)).toContain('Settings > Security > Single sign-on');
  });

  it('caches the public key: a second page load fetches nothing', async () => {
    const fetches = acme.publicKeyFetches;
    expect((await open(await signSidebarToken(acme))).status).toBe(200);
    expect(acme.publicKeyFetches).toBe(fetches);
  });

  const refusals: [string, () => Promise<string | undefined>, RegExp][] = [
    ['no token', async () => undefined, /did not send a signed token/],
    [
      'a token signed with another key',
      async () => signSidebarToken(acme, { key: (await generateKeyPair('RS256')).privateKey }),
      /signature does not match/,
    ],
    [
      'a wrong aud (another installation)',
      async () =>
        signSidebarToken(acme, {
          claims: { aud: 'https://acme.zendesk.com/api/v2/apps/installations/1.json' },
        }),
      /not registered/,
    ],
    [
      "another subdomain's installation in aud",
      async () =>
        signSidebarToken(acme, {
          claims: {
            aud: `https://initech.zendesk.com/api/v2/apps/installations/${initech.installationId}.json`,
          },
        }),
      /another app installation/,
    ],
    [
      'another account as issuer with this installation',
      async () => signSidebarToken(acme, { claims: { iss: 'initech.zendesk.com' } }),
      /another app installation/,
    ],
    ['an expired token', async () => signSidebarToken(acme, { expSeconds: -120 }), /expired/],
    ['alg: none', async () => forgedToken(acme, 'none'), /only algorithm/],
    ['HS256 signed with the public key', async () => forgedToken(acme, 'HS256'), /only algorithm/],
    ['an unknown account', async () => signSidebarToken({ ...acme, subdomain: 'umbrella' }), /not connected/],
    ['garbage', async () => 'not.a.jwt', /could not be read/],
  ];

  it.each(refusals)('refuses %s with a page that says why, and changes nothing', async (_name, make, why) => {
    const before = [await counts(a.tenantId), await counts(b.tenantId)];
    const res = await open(await make());
    expect(res.status).toBe(401);
    const page = await res.text();
    expect(page).toMatch(why);
    expect(credentialOf(page)).toBeUndefined();
    expect([await counts(a.tenantId), await counts(b.tenantId)]).toEqual(before);
  });

  it('the API refuses a missing, malformed or forged credential (401)', async () => {
    for (const auth of [undefined, 'Bearer nope', `Bearer sbc.${a.tenantId}.${'x'.repeat(43)}`]) {
      const res = await app.request(`/zendesk/sidebar/api/tickets/${a.ticketId}`, {
        headers: auth ? { authorization: auth } : {},
      });
      expect(res.status).toBe(401);
    }
  });

  it("an agent of tenant A with tenant B's draft id, or another ticket's, gets 404 and nothing changes", async () => {
    const credential = credentialOf(await (await open(await signSidebarToken(acme))).text())!;
    const auth = { authorization: `Bearer ${credential}`, 'content-type': 'application/json' };
    const replies = acme.replies.length + initech.replies.length;
    const attempts = [
      // B's draft on B's ticket, B's draft under A's ticket, A's draft under another ticket.
      `/zendesk/sidebar/api/tickets/${b.ticketId}/drafts/${b.draftId}`,
      `/zendesk/sidebar/api/tickets/${a.ticketId}/drafts/${b.draftId}`,
      `/zendesk/sidebar/api/tickets/9999/drafts/${a.draftId}`,
    ];
    for (const base of attempts) {
      for (const [verb, body] of [
        ['send', { body: 'hijacked' }],
        ['edit', { body: 'hijacked' }],
        ['reject', { reason: 'hijacked' }],
      ] as const) {
        const res = await app.request(`${base}/${verb}`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify(body),
        });
        expect(res.status, `${base}/${verb}`).toBe(404);
      }
    }
    // B's ticket view through A's credential shows A's tenant only: no draft.
    const view = await app.request(`/zendesk/sidebar/api/tickets/${b.ticketId}`, { headers: auth });
    expect(((await view.json()) as { draft: unknown }).draft).toBeNull();
    expect(acme.replies.length + initech.replies.length).toBe(replies);
    for (const t of [a, b]) {
      const [d] = await withTenant(database.db, t.tenantId, (tx) =>
        tx.select().from(drafts).where(eq(drafts.id, t.draftId)),
      );
      expect(d?.status).toBe('pending');
      expect(await withTenant(database.db, t.tenantId, (tx) => tx.select().from(draftVersions))).toEqual([]);
    }
  });
});
