import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { delay, HttpResponse, http, type RequestHandler } from 'msw';
import type { Db } from '../../src/db/client.ts';
import { accounts, drafts, sidebarInstallations, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { randomToken } from '../../src/lib/ids.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { testConfig } from '../helpers/app.ts';

/**
 * Shared setup of the sidebar suites: a tenant with a live Zendesk connection, the sidebar app
 * installed (app id, installation id), an RS256 key pair made here whose public key the fake
 * Zendesk serves from the Apps API, a stored draft with citations, and a fake Zendesk (msw)
 * that records public replies and serves the ticket's comments.
 */
export const zdCreds = { clientId: 'zdg-copilot', clientSecret: 'zd-secret-1' };
export const sidebarConfig = testConfig({
  ZENDESK_CLIENT_ID: zdCreds.clientId,
  ZENDESK_CLIENT_SECRET: zdCreds.clientSecret,
});

export interface FakeComment {
  id: number;
  author_id: number;
  body: string;
  public: boolean;
  created_at: string;
}

export interface SidebarZendeskFake {
  subdomain: string;
  appId: string;
  installationId: string;
  publicKeyPem: string;
  privateKey: CryptoKey;
  accessToken: string;
  comments: Map<string, FakeComment[]>;
  /** Every public reply request Zendesk received (ticket id, author, body). */
  replies: { ticketId: string; authorId: number; body: string }[];
  statusUpdates: { ticketId: string; ticket: Record<string, unknown> }[];
  publicKeyFetches: number;
  /** Next reply answers with this status instead (once). */
  failNext: { status: number; headers?: Record<string, string> }[];
  replyDelayMs: number;
  handlers: RequestHandler[];
}

let commentSeq = 5000;
/** The Zendesk user id the fake account's OAuth token acts as (`users/me`). */
export const CONNECTION_USER_ID = 7001;

export async function sidebarZendeskFake(subdomain: string): Promise<SidebarZendeskFake> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const base = `https://${subdomain}.zendesk.com`;
  const fake: SidebarZendeskFake = {
    subdomain,
    appId: String(100 + Math.floor(Math.random() * 900)),
    installationId: String(360000 + Math.floor(Math.random() * 9999)),
    publicKeyPem: await exportSPKI(publicKey),
    privateKey,
    accessToken: `zat_${randomToken(12)}`,
    comments: new Map(),
    replies: [],
    statusUpdates: [],
    publicKeyFetches: 0,
    failNext: [],
    replyDelayMs: 0,
    handlers: [],
  };
  const authorized = (req: Request) => req.headers.get('authorization') === `Bearer ${fake.accessToken}`;
  fake.handlers = [
    http.get(`${base}/api/v2/apps/:appId/public_key.pem`, ({ request, params }) => {
      if (!authorized(request)) return new HttpResponse(null, { status: 401 });
      if (params.appId !== fake.appId) return HttpResponse.json({ error: 'RecordNotFound' }, { status: 404 });
      fake.publicKeyFetches++;
      return new HttpResponse(fake.publicKeyPem, { headers: { 'content-type': 'application/x-pem-file' } });
    }),
    http.put(`${base}/api/v2/tickets/:ticketId.json`, async ({ request, params }) => {
      if (!authorized(request)) return new HttpResponse(null, { status: 401 });
      const ticketId = String(params.ticketId);
      const body = (await request.json()) as {
        ticket: { comment?: { body: string; public: boolean; author_id: number } } & Record<string, unknown>;
      };
      const comment = body.ticket.comment;
      if (!comment) {
        fake.statusUpdates.push({ ticketId, ticket: body.ticket });
        return HttpResponse.json({ ticket: { id: Number(ticketId) } });
      }
      fake.replies.push({ ticketId, authorId: comment.author_id, body: comment.body });
      if (fake.replyDelayMs) await delay(fake.replyDelayMs);
      const fail = fake.failNext.shift();
      if (fail)
        return HttpResponse.json({ error: 'refused' }, { status: fail.status, headers: fail.headers ?? {} });
      const c: FakeComment = {
        id: ++commentSeq,
        author_id: comment.author_id,
        body: comment.body,
        public: comment.public,
        created_at: new Date().toISOString(),
      };
      fake.comments.set(ticketId, [...(fake.comments.get(ticketId) ?? []), c]);
      return HttpResponse.json({
        ticket: { id: Number(ticketId) },
        audit: { id: c.id + 1, events: [{ id: c.id, type: 'Comment' }] },
      });
    }),
    http.get(`${base}/api/v2/tickets/:ticketId/comments.json`, ({ request, params }) => {
      if (!authorized(request)) return new HttpResponse(null, { status: 401 });
      const list = [...(fake.comments.get(String(params.ticketId)) ?? [])].reverse();
      return HttpResponse.json({ comments: list });
    }),
    // The account's ticket statuses (custom statuses on): one inactive, one custom pending.
    http.get(`${base}/api/v2/custom_statuses.json`, ({ request }) => {
      if (!authorized(request)) return new HttpResponse(null, { status: 401 });
      return HttpResponse.json({
        custom_statuses: [
          { id: 1, agent_label: 'Open', status_category: 'open', active: true },
          { id: 8812, agent_label: 'Awaiting Vendor', status_category: 'pending', active: true },
          { id: 8813, agent_label: 'Retired status', status_category: 'hold', active: false },
        ],
      });
    }),
    // The connection's own user (the admin who connected Zendesk): auto-send's author.
    http.get(`${base}/api/v2/users/me.json`, ({ request }) => {
      if (!authorized(request)) return new HttpResponse(null, { status: 401 });
      return HttpResponse.json({ user: { id: CONNECTION_USER_ID, name: 'Connection Admin' } });
    }),
    http.get(`${base}/api/v2/users/:userId.json`, ({ request, params }) => {
      if (!authorized(request)) return new HttpResponse(null, { status: 401 });
      return HttpResponse.json({ user: { id: Number(params.userId), name: `Agent ${params.userId}` } });
    }),
  ];
  return fake;
}

export interface SeededTenant {
  tenantId: string;
  connectionId: string;
  draftId: string;
  ticketId: string;
}

/** A tenant connected to `fake`'s account with the sidebar app installed and one pending draft. */
export async function seedSidebarTenant(
  db: Db,
  vault: Vault,
  fake: SidebarZendeskFake,
  opts: { ticketId?: string; status?: 'pending' | 'blocked' } = {},
): Promise<SeededTenant> {
  const system = { type: 'system', name: 'test' } as const;
  const tenantId = (await createTenant(db, { name: `Tenant ${fake.subdomain}`, actor: system })).id;
  const connectionId = `zc_${randomToken(8)}`;
  const ticketId = opts.ticketId ?? '4242';
  const draftId = `dr_${randomToken(12)}`;
  await withTenant(db, tenantId, async (tx) => {
    await tx.insert(zendeskConnections).values({
      tenantId,
      id: connectionId,
      subdomain: fake.subdomain,
      hookId: randomToken(24),
      accessToken: await vault.seal(tenantId, 'zendesk_access_token', fake.accessToken),
      refreshToken: await vault.seal(tenantId, 'zendesk_refresh_token', `zrt_${randomToken(8)}`),
      accessExpiresAt: new Date(Date.now() + 3_600_000),
      refreshExpiresAt: new Date(Date.now() + 30 * 86_400_000),
    });
    await tx.insert(sidebarInstallations).values({
      tenantId,
      installationId: fake.installationId,
      appId: fake.appId,
      connectionId,
      origin: 'provisioned',
    });
    await tx.insert(accounts).values({ tenantId, id: 'acc_globex', name: 'Globex Corp', plan: 'pro' });
  });
  await seedDraft(db, tenantId, { ticketId, draftId, status: opts.status ?? 'pending' });
  return { tenantId, connectionId, draftId, ticketId };
}

/** One more stored draft for `ticketId` in the tenant. */
export async function seedDraft(
  db: Db,
  tenantId: string,
  opts: { ticketId: string; draftId?: string; status?: 'pending' | 'blocked' },
): Promise<string> {
  const draftId = opts.draftId ?? `dr_${randomToken(12)}`;
  await withTenant(db, tenantId, async (tx) => {
    await tx.insert(drafts).values({
      tenantId,
      id: draftId,
      source: 'zendesk',
      ticketId: opts.ticketId,
      route: 'account',
      accountId: 'acc_globex',
      status: opts.status ?? 'pending',
      body: 'Hello Hank, SSO is included in your Pro plan. Enable it under Settings > Security.',
      citations: ['catalog:plan:pro', 'kb:sso'],
      confidence: 0.82,
      contextSnapshot: {
        facts: [
          {
            id: 'catalog:plan:pro',
            source: 'catalog',
            key: 'plan',
            value: { name: 'Pro', features: ['sso'] },
            fetchedAt: '2026-12-01T10:00:00.000Z',
            visibility: 'account',
          },
          {
            id: 'kb:sso',
            source: 'kb',
            key: 'Setting up SSO',
            value: 'Settings > Security > Single sign-on',
            fetchedAt: '2026-12-01T10:00:01.000Z',
            visibility: 'public',
          },
        ],
      },
      guardVerdict:
        opts.status === 'blocked'
          ? { action: 'blocked', findings: [{ kind: 'other_account', match: 'I*****h' }], checked: 10 }
          : { action: 'pass', findings: [], checked: 10 },
      drafter: 'offline',
    });
  });
  return draftId;
}

export function tokenManager(db: Db, vault: Vault) {
  return createTokenManager({ db, vault, config: sidebarConfig, logger: createLogger('silent') });
}

/** A signed-URL token as Zendesk makes it; `claims` and `alg` override the defaults. */
export async function signSidebarToken(
  fake: SidebarZendeskFake,
  opts: { agentId?: string; claims?: Record<string, unknown>; key?: CryptoKey; expSeconds?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: `${fake.subdomain}.zendesk.com`,
    aud: `https://${fake.subdomain}.zendesk.com/api/v2/apps/installations/${fake.installationId}.json`,
    sub: `https://${fake.subdomain}.zendesk.com/api/v2/users/${opts.agentId ?? '9001'}.json`,
    context: { product: 'support', location: 'ticket_sidebar' },
    iat: now,
    exp: now + (opts.expSeconds ?? 300),
    ...opts.claims,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .sign(opts.key ?? fake.privateKey);
}

/** An unsigned JWT (`alg: none`) or one signed HS256 with the public key's PEM as secret. */
export async function forgedToken(fake: SidebarZendeskFake, alg: 'none' | 'HS256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: `${fake.subdomain}.zendesk.com`,
    aud: `https://${fake.subdomain}.zendesk.com/api/v2/apps/installations/${fake.installationId}.json`,
    sub: '9001',
    iat: now,
    exp: now + 300,
  };
  if (alg === 'HS256') {
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(fake.publicKeyPem));
  }
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}
