import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { auditEvents, slackInstallations, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { AppError } from '../../src/lib/errors.ts';
import { randomToken } from '../../src/lib/ids.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { sweepExpiringTokens } from '../../src/oauth/sweep.ts';
import { CACHE_TTL_MS, createTokenManager, type TokenManager } from '../../src/oauth/token-manager.ts';
import type { Provider } from '../../src/oauth/token-provider.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import type { Vault } from '../../src/tenancy/vault.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { fakeSlackOAuth } from '../helpers/msw-slack-oauth.ts';
import { fakeZendesk } from '../helpers/msw-zendesk.ts';

const slackCreds = { clientId: 'slack-client-1', clientSecret: 'slack-secret-1' };
const zdCreds = { clientId: 'zdg-copilot', clientSecret: 'zd-secret-1' };
const slack = fakeSlackOAuth(slackCreds);
const zd = fakeZendesk({ subdomain: 'tokens', ...zdCreds });
useMsw(...slack.handlers, ...zd.handlers);

const config = testConfig({
  SLACK_CLIENT_ID: slackCreds.clientId,
  SLACK_CLIENT_SECRET: slackCreds.clientSecret,
  ZENDESK_CLIENT_ID: zdCreds.clientId,
  ZENDESK_CLIENT_SECRET: zdCreds.clientSecret,
});
const system = { type: 'system', name: 'test' } as const;
const MIN = 60_000;

describe.each(backends())('token manager on %s', (backend) => {
  let database: TestDatabase;
  let vault: Vault;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    vault = testVault();
    slack.reset();
    zd.reset();
  });
  afterAll(() => database?.close());

  const manager = (db = database.db): TokenManager =>
    createTokenManager({ db, vault, config, logger: createLogger('silent') });

  /** A tenant with one connection of `provider` whose access token expires at `accessExpiresAt`. */
  async function seed(
    provider: Provider,
    opts: { accessExpiresAt: Date; refreshExpiresAt?: Date; liveRefresh?: boolean },
  ): Promise<{ tenantId: string; access: string; refresh: string }> {
    const tenantId = (await createTenant(database.db, { name: `T ${provider}`, actor: system })).id;
    let access: string;
    let refresh: string;
    if (provider === 'slack') {
      access = `xoxe.xoxb-old-${randomToken(6)}`;
      refresh = opts.liveRefresh === false ? 'xoxe-1-dead' : slack.issueRefreshToken();
    } else {
      const pair = zd.issuePair();
      access = pair.accessToken;
      refresh = opts.liveRefresh === false ? 'zrt-dead' : pair.refreshToken;
      // Zendesk links the connection to a subdomain that is unique across tenants.
    }
    const sealed = {
      accessToken: await vault.seal(tenantId, `${provider}_access_token`, access),
      refreshToken: await vault.seal(tenantId, `${provider}_refresh_token`, refresh),
      accessExpiresAt: opts.accessExpiresAt,
    };
    await withTenant(database.db, tenantId, async (tx) => {
      if (provider === 'slack') {
        await tx
          .insert(slackInstallations)
          .values({ tenantId, id: `si_${randomToken(8)}`, teamId: `T${randomToken(6)}`, ...sealed });
      } else {
        await tx.insert(zendeskConnections).values({
          tenantId,
          id: `zc_${randomToken(8)}`,
          // Each tenant needs its own subdomain; the fake answers only for "tokens", so the
          // token endpoint is reached through that name for the connection under test.
          subdomain: subdomainFor(tenantId),
          hookId: randomToken(24),
          refreshExpiresAt: opts.refreshExpiresAt ?? new Date(Date.now() + 30 * 86_400_000),
          ...sealed,
        });
      }
    });
    return { tenantId, access, refresh };
  }

  // Only one Zendesk connection may use the fake's subdomain at a time; others get unique names
  // that are never refreshed.
  let zendeskSubdomainTaken = false;
  function subdomainFor(_tenantId: string) {
    void _tenantId;
    if (!zendeskSubdomainTaken) {
      zendeskSubdomainTaken = true;
      return 'tokens';
    }
    return `unused-${randomToken(4)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`;
  }
  async function releaseZendesk(tenantId: string) {
    await withTenant(database.db, tenantId, (tx) => tx.delete(zendeskConnections));
    zendeskSubdomainTaken = false;
  }

  const row = async (tenantId: string, provider: Provider) =>
    provider === 'slack'
      ? (await withTenant(database.db, tenantId, (tx) => tx.select().from(slackInstallations)))[0]!
      : (await withTenant(database.db, tenantId, (tx) => tx.select().from(zendeskConnections)))[0]!;
  const events = (tenantId: string) =>
    withTenant(database.db, tenantId, (tx) => tx.select().from(auditEvents));
  const refreshCalls = (p: Provider) => (p === 'slack' ? slack.calls.refresh : zd.calls.refresh);

  for (const provider of ['slack', 'zendesk'] as const) {
    it(`${provider}: 50 concurrent callers over two database connections cause exactly one refresh`, async () => {
      const { tenantId, access: old } = await seed(provider, { accessExpiresAt: new Date(Date.now() - MIN) });
      // A second, independent connection pool on PostgreSQL; PGlite has one connection, so there
      // the two managers (two "processes") share it and its transaction lock.
      const second: Database | undefined = database.url
        ? await openDatabase({ url: database.url, maxConnections: 3 })
        : undefined;
      try {
        const a = manager(database.db);
        const b = manager(second?.db ?? database.db);
        const before = refreshCalls(provider);
        if (provider === 'slack') slack.delayMs = 60;
        else zd.delayMs = 60;
        const tokens = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).getAccessToken(tenantId, provider)),
        );
        expect(refreshCalls(provider) - before).toBe(1);
        const r = await row(tenantId, provider);
        const stored = await vault.open(tenantId, `${provider}_access_token`, r.accessToken!);
        expect(stored).not.toBe(old);
        expect(new Set(tokens)).toEqual(new Set([stored]));
        expect(r.tokenVersion).toBe(1);
        expect(r.accessExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 60 * MIN);
        // The stored refresh token is the live one the provider just issued.
        const refresh = await vault.open(tenantId, `${provider}_refresh_token`, r.refreshToken!);
        expect((provider === 'slack' ? slack.liveRefreshTokens : zd.liveRefreshTokens).has(refresh)).toBe(
          true,
        );
        const refreshed = (await events(tenantId)).filter((e) => e.action === `${provider}.token.refreshed`);
        expect(refreshed).toHaveLength(1);
      } finally {
        slack.delayMs = 0;
        zd.delayMs = 0;
        await second?.close();
        if (provider === 'zendesk') await releaseZendesk(tenantId);
      }
    });

    it(`${provider}: a refused refresh marks the connection needs_reauth, audits it and throws`, async () => {
      const { tenantId } = await seed(provider, {
        accessExpiresAt: new Date(Date.now() - MIN),
        liveRefresh: false,
      });
      try {
        const m = manager();
        const err = await m.getAccessToken(tenantId, provider).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(AppError);
        expect(err).toMatchObject({ code: 'forbidden', detail: { status: 'needs_reauth' } });
        const r = await row(tenantId, provider);
        expect(r.status).toBe('needs_reauth');
        expect(r.statusDetail).toContain(provider === 'slack' ? 'invalid_refresh_token' : 'invalid_grant');
        const ev = (await events(tenantId)).find((e) => e.action === `${provider}.token.needs_reauth`);
        expect(ev?.outcome).toBe('failure');
        // Never silent, and no more calls to the provider once it is known dead.
        const before = refreshCalls(provider);
        await expect(manager().getAccessToken(tenantId, provider)).rejects.toMatchObject({
          detail: { status: 'needs_reauth' },
        });
        expect(refreshCalls(provider)).toBe(before);
      } finally {
        if (provider === 'zendesk') await releaseZendesk(tenantId);
      }
    });
  }

  it('a transient failure (5xx) is retryable and changes nothing; the next call refreshes', async () => {
    const { tenantId, refresh } = await seed('zendesk', { accessExpiresAt: new Date(Date.now() - MIN) });
    try {
      const before = await row(tenantId, 'zendesk');
      zd.queue.push({ status: 503, body: { error: 'unavailable' } });
      const err = await manager()
        .getAccessToken(tenantId, 'zendesk')
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'upstream_error', retryable: true });
      const after = await row(tenantId, 'zendesk');
      expect(after.status).toBe('active');
      expect(after.refreshToken).toBe(before.refreshToken);
      expect(after.tokenVersion).toBe(before.tokenVersion);
      expect(zd.liveRefreshTokens.has(refresh)).toBe(true);
      expect((await events(tenantId)).some((e) => e.action === 'zendesk.token.refresh_failed')).toBe(true);
      const token = await manager().getAccessToken(tenantId, 'zendesk');
      expect(zd.liveAccessTokens.has(token)).toBe(true);
    } finally {
      await releaseZendesk(tenantId);
    }
  });

  it("Slack's 429 with Retry-After and its 200 ok:false ratelimited are retryable, status unchanged", async () => {
    const { tenantId } = await seed('slack', { accessExpiresAt: new Date(Date.now() - MIN) });
    slack.queue.push({
      status: 429,
      body: { ok: false, error: 'ratelimited' },
      headers: { 'retry-after': '30' },
    });
    await expect(manager().getAccessToken(tenantId, 'slack')).rejects.toMatchObject({
      code: 'rate_limited',
      retryable: true,
      detail: { retryAfterMs: 30_000 },
    });
    slack.queue.push({ status: 200, body: { ok: false, error: 'ratelimited' } });
    await expect(manager().getAccessToken(tenantId, 'slack')).rejects.toMatchObject({ retryable: true });
    expect((await row(tenantId, 'slack')).status).toBe('active');
    await expect(manager().getAccessToken(tenantId, 'slack')).resolves.toMatch(/^xoxe\.xoxb-/);
  });

  it('returns a still-valid token without calling the provider; invalidate forces one refresh', async () => {
    const { tenantId, access } = await seed('slack', { accessExpiresAt: new Date(Date.now() + 30 * MIN) });
    const m = manager();
    const before = slack.calls.refresh;
    expect(await m.getAccessToken(tenantId, 'slack')).toBe(access);
    expect(slack.calls.refresh).toBe(before);
    m.invalidate(tenantId, 'slack');
    const fresh = await m.getAccessToken(tenantId, 'slack');
    expect(fresh).not.toBe(access);
    expect(slack.calls.refresh).toBe(before + 1);
    expect(await m.getAccessToken(tenantId, 'slack')).toBe(fresh);
    expect(slack.calls.refresh).toBe(before + 1);
  });

  /**
   * The real database and the real vault, with counters: every withTenant / look-up is one
   * `db.transaction`, every decryption one `vault.open`.
   */
  function counted() {
    const n = { tx: 0, opens: 0 };
    const db = new Proxy(database.db, {
      get(target, prop, receiver) {
        if (prop === 'transaction') {
          return (...args: Parameters<typeof target.transaction>) => {
            n.tx++;
            return target.transaction(...args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const countingVault: Vault = {
      seal: (...a) => vault.seal(...a),
      open: (...a) => {
        n.opens++;
        return vault.open(...a);
      },
      keyVersionOf: (s) => vault.keyVersionOf(s),
      currentVersion: vault.currentVersion,
    };
    return { n, db, vault: countingVault };
  }

  /** A manager on the counted database and vault; `t` is its clock (ms), movable by the test. */
  function countedManager(opts: Partial<Parameters<typeof createTokenManager>[0]> = {}) {
    const c = counted();
    const clock = { t: Date.now() };
    const m = createTokenManager({
      db: c.db,
      vault: c.vault,
      config,
      logger: createLogger('silent'),
      now: () => new Date(clock.t),
      ...opts,
    });
    return { m, n: c.n, clock };
  }

  it('a cached token costs no database read and no decryption, until its TTL; then a revocation shows', async () => {
    const { tenantId, access } = await seed('slack', { accessExpiresAt: new Date(Date.now() + 60 * MIN) });
    const { m, n, clock } = countedManager();
    const c = { n };
    expect(await m.getAccessToken(tenantId, 'slack')).toBe(access);
    expect(c.n.opens).toBe(1);
    const txAfterFirst = c.n.tx;
    expect(txAfterFirst).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) expect(await m.getAccessToken(tenantId, 'slack')).toBe(access);
    expect(c.n).toEqual({ tx: txAfterFirst, opens: 1 });

    // Uninstalled elsewhere (another process): within the TTL the cache still answers...
    await withTenant(database.db, tenantId, (tx) =>
      tx.update(slackInstallations).set({ status: 'revoked', accessToken: null, refreshToken: null }),
    );
    clock.t += CACHE_TTL_MS - 1000;
    expect(await m.getAccessToken(tenantId, 'slack')).toBe(access);
    expect(c.n.tx).toBe(txAfterFirst);
    // ...and never past it.
    clock.t += 2000;
    await expect(m.getAccessToken(tenantId, 'slack')).rejects.toMatchObject({ code: 'not_found' });
    expect(c.n.tx).toBeGreaterThan(txAfterFirst);
  });

  it('a cached token is not served within a minute of its expiry', async () => {
    const { m, n, clock } = countedManager({ cache: { ttlMs: 60 * MIN } });
    const c = { n };
    const { tenantId, access } = await seed('slack', { accessExpiresAt: new Date(clock.t + 3 * MIN) });
    expect(await m.getAccessToken(tenantId, 'slack')).toBe(access);
    clock.t += MIN;
    expect(await m.getAccessToken(tenantId, 'slack')).toBe(access);
    expect(c.n.opens).toBe(1);
    // 59 s left: no longer served from the cache (kept only until a minute before expiry); the
    // manager refreshes instead of handing out a token about to expire.
    clock.t += 61_000;
    const before = slack.calls.refresh;
    const fresh = await m.getAccessToken(tenantId, 'slack');
    expect(fresh).not.toBe(access);
    expect(slack.calls.refresh).toBe(before + 1);
  });

  it('the cache is bounded: the least recently used tenant is read again', async () => {
    const a = await seed('slack', { accessExpiresAt: new Date(Date.now() + 60 * MIN) });
    const b = await seed('slack', { accessExpiresAt: new Date(Date.now() + 60 * MIN) });
    const d = await seed('slack', { accessExpiresAt: new Date(Date.now() + 60 * MIN) });
    const { m, n } = countedManager({ cache: { maxEntries: 2 } });
    const c = { n };
    await m.getAccessToken(a.tenantId, 'slack');
    await m.getAccessToken(b.tenantId, 'slack');
    await m.getAccessToken(a.tenantId, 'slack'); // a is now the most recent
    expect(c.n.opens).toBe(2);
    await m.getAccessToken(d.tenantId, 'slack'); // evicts b
    await m.getAccessToken(a.tenantId, 'slack');
    expect(c.n.opens).toBe(3);
    await m.getAccessToken(b.tenantId, 'slack');
    expect(c.n.opens).toBe(4);
  });

  it('a 401 report refreshes once; a late report about the replaced token changes nothing', async () => {
    const { tenantId, access } = await seed('slack', { accessExpiresAt: new Date(Date.now() + 60 * MIN) });
    const { m, n } = countedManager();
    const c = { n };
    expect(await m.getAccessToken(tenantId, 'slack')).toBe(access);
    const before = slack.calls.refresh;
    m.invalidate(tenantId, 'slack', access);
    const fresh = await m.getAccessToken(tenantId, 'slack');
    expect(fresh).not.toBe(access);
    expect(slack.calls.refresh).toBe(before + 1);
    expect((await row(tenantId, 'slack')).tokenVersion).toBe(1);
    // A second caller that also got a 401 with the old token reports it after the refresh.
    m.invalidate(tenantId, 'slack', access);
    const tx = c.n.tx;
    expect(await m.getAccessToken(tenantId, 'slack')).toBe(fresh);
    expect(c.n.tx).toBe(tx);
    expect(slack.calls.refresh).toBe(before + 1);
  });

  it('a token version moved on by another process: a 401 reads the new token, no second refresh', async () => {
    const { tenantId, access } = await seed('slack', { accessExpiresAt: new Date(Date.now() + 60 * MIN) });
    const a = manager();
    const b = manager();
    expect(await a.getAccessToken(tenantId, 'slack')).toBe(access);
    expect(await b.getAccessToken(tenantId, 'slack')).toBe(access);
    const before = slack.calls.refresh;
    // Process B is refused first and refreshes (version 0 -> 1; the provider revokes the old pair).
    b.invalidate(tenantId, 'slack', access);
    const v1 = await b.getAccessToken(tenantId, 'slack');
    expect(slack.calls.refresh).toBe(before + 1);
    // Process A still holds version 0 in its cache until its own call is refused.
    expect(await a.getAccessToken(tenantId, 'slack')).toBe(access);
    a.invalidate(tenantId, 'slack', access);
    expect(await a.getAccessToken(tenantId, 'slack')).toBe(v1);
    expect(slack.calls.refresh).toBe(before + 1);
    expect((await row(tenantId, 'slack')).tokenVersion).toBe(1);
  });

  it('a hung provider is cut off: the refresh times out, the row lock is released, nothing changes', async () => {
    const { tenantId, refresh } = await seed('slack', { accessExpiresAt: new Date(Date.now() - MIN) });
    let release!: () => void;
    slack.hold = new Promise<void>((r) => {
      release = r;
    });
    try {
      const m = createTokenManager({
        db: database.db,
        vault,
        config,
        logger: createLogger('silent'),
        refreshTimeoutMs: 200,
      });
      const err = await m.getAccessToken(tenantId, 'slack').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'upstream_error', retryable: true, detail: { timeout: true } });
      // The transaction that held FOR UPDATE is over: the row can be locked at once (NOWAIT fails
      // with 55P03 while another transaction holds it).
      const locked = await withTenant(database.db, tenantId, (tx) =>
        tx.select({ id: slackInstallations.id }).from(slackInstallations).for('update', { noWait: true }),
      );
      expect(locked).toHaveLength(1);
      const r = await row(tenantId, 'slack');
      expect(r.tokenVersion).toBe(0);
      expect(r.status).toBe('active');
      expect(await vault.open(tenantId, 'slack_refresh_token', r.refreshToken!)).toBe(refresh);
      expect(slack.liveRefreshTokens.has(refresh)).toBe(true);
      expect((await events(tenantId)).some((e) => e.action === 'slack.token.refresh_failed')).toBe(true);
    } finally {
      slack.hold = null;
      release();
    }
    // The provider answers again: the next call refreshes.
    await expect(manager().getAccessToken(tenantId, 'slack')).resolves.toMatch(/^xoxe\.xoxb-/);
  });

  it('a token expiring within the minute is refreshed before it is handed out', async () => {
    const { tenantId, access } = await seed('slack', { accessExpiresAt: new Date(Date.now() + 30_000) });
    const token = await manager().getAccessToken(tenantId, 'slack');
    expect(token).not.toBe(access);
  });

  it("after Zendesk's 401 the API client invalidates, the manager refreshes once and the call succeeds", async () => {
    const { tenantId, access } = await seed('zendesk', { accessExpiresAt: new Date(Date.now() + 60 * MIN) });
    try {
      // Zendesk deleted this access token (e.g. another refresh): it looks valid to us but is not.
      zd.liveAccessTokens.delete(access);
      const before = zd.calls.refresh;
      const { createZendeskApi } = await import('../../src/zendesk/api.ts');
      const { z } = await import('zod');
      const api = createZendeskApi({ tenantId, subdomain: 'tokens', tokens: manager() });
      const res = await api.request('GET', '/api/v2/webhooks', {
        schema: z.object({ webhooks: z.array(z.unknown()) }),
      });
      expect(res.webhooks).toEqual([]);
      expect(zd.calls.refresh - before).toBe(1);
      expect((await row(tenantId, 'zendesk')).tokenVersion).toBe(1);
    } finally {
      await releaseZendesk(tenantId);
    }
  });

  it('a Slack install without rotation (no refresh token, no expiry) keeps using its token', async () => {
    const tenantId = (await createTenant(database.db, { name: 'Legacy', actor: system })).id;
    await withTenant(database.db, tenantId, async (tx) =>
      tx.insert(slackInstallations).values({
        tenantId,
        id: `si_${randomToken(8)}`,
        teamId: `T${randomToken(6)}`,
        accessToken: await vault.seal(tenantId, 'slack_access_token', 'xoxb-legacy'),
      }),
    );
    const before = slack.calls.refresh;
    expect(await manager().getAccessToken(tenantId, 'slack')).toBe('xoxb-legacy');
    expect(slack.calls.refresh).toBe(before);
  });

  it('no connection: not_found', async () => {
    const tenantId = (await createTenant(database.db, { name: 'Empty', actor: system })).id;
    await expect(manager().getAccessToken(tenantId, 'slack')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('the sweep refreshes tokens nearing expiry (incl. Zendesk refresh tokens) and leaves fresh ones', async () => {
    const soon = await seed('slack', { accessExpiresAt: new Date(Date.now() + 5 * MIN) });
    const fresh = await seed('slack', { accessExpiresAt: new Date(Date.now() + 10 * 60 * MIN) });
    const zdOld = await seed('zendesk', {
      accessExpiresAt: new Date(Date.now() + 90 * MIN),
      refreshExpiresAt: new Date(Date.now() + 3 * 86_400_000),
    });
    try {
      const m = manager();
      const result = await sweepExpiringTokens(
        { db: database.db, tokens: m, logger: createLogger('silent') },
        { within: 15 * MIN, refreshWithin: 7 * 86_400_000 },
      );
      expect(result.refreshed).toEqual(
        expect.arrayContaining([
          { tenantId: soon.tenantId, provider: 'slack' },
          { tenantId: zdOld.tenantId, provider: 'zendesk' },
        ]),
      );
      expect(result.refreshed.some((r) => r.tenantId === fresh.tenantId)).toBe(false);
      expect((await row(soon.tenantId, 'slack')).tokenVersion).toBe(1);
      expect((await row(fresh.tenantId, 'slack')).tokenVersion).toBe(0);
      const z = (await row(zdOld.tenantId, 'zendesk')) as typeof zendeskConnections.$inferSelect;
      expect(z.tokenVersion).toBe(1);
      expect(z.refreshExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
      // A second sweep right after finds nothing due for these tenants.
      const again = await sweepExpiringTokens({ db: database.db, tokens: m, logger: createLogger('silent') });
      expect(again.refreshed.filter((r) => [soon.tenantId, zdOld.tenantId].includes(r.tenantId))).toEqual([]);
    } finally {
      await releaseZendesk(zdOld.tenantId);
    }
  });

  it('/readyz counts connections needing re-authorization (no tenant ids) but stays ready', async () => {
    const { tenantId } = await seed('slack', {
      accessExpiresAt: new Date(Date.now() - MIN),
      liveRefresh: false,
    });
    await manager()
      .getAccessToken(tenantId, 'slack')
      .catch(() => {});
    const { app } = testApp(database, { config, vault });
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      ok: boolean;
      checks: {
        connections: { ok: boolean; detail: { needsReauth: { slack: number; zendesk: number } } };
      };
    };
    expect(body.ok).toBe(true);
    expect(body.checks.connections.ok).toBe(true);
    expect(body.checks.connections.detail.needsReauth.slack).toBeGreaterThanOrEqual(1);
    expect(body.checks.connections.detail.needsReauth.zendesk).toEqual(expect.any(Number));
    // Anonymous callers get counts only: which tenants is for operators (npm run tenant -- needs-reauth).
    expect(JSON.stringify(body)).not.toContain(tenantId);
  });
});
