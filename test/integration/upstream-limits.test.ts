import { eq } from 'drizzle-orm';
import { delay, HttpResponse, http } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { jobs, upstreamLimits, upstreamUsage } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { claimAndRunOnce } from '../../src/jobs/sweep-once.ts';
import { createLogger } from '../../src/lib/logger.ts';
import {
  BREAKER,
  createUpstreamLimiter,
  isUpstreamDeferred,
  UpstreamDeferredError,
} from '../../src/limits/upstream.ts';
import { updatePipelineSettings } from '../../src/pipeline/settings.ts';
import { createSlackWeb } from '../../src/slack/web.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { createZendeskApi } from '../../src/zendesk/api.ts';
import { zendeskResources } from '../../src/zendesk/resources.ts';
import { testApp } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';

/**
 * The shared per-tenant limits (src/limits/upstream.ts, migration 0014) on a real database, with a
 * hand-driven clock: token buckets exact across connections, a 429 pausing one tenant only, the
 * breaker opening, probing and closing, and deferred jobs keeping their attempts.
 */
const system = { type: 'system', name: 'test' } as const;
const server = useMsw();
const tokens = { getAccessToken: async () => 'zd-token', invalidate: () => {} };

describe.each(backends())('upstream limits on %s', (backend) => {
  let database: TestDatabase;
  let t = Date.parse('2026-12-02T10:00:00Z');
  const now = () => new Date(t);
  const noSleep = async () => {};
  let a: string;
  let b: string;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(async () => {
    await database.close();
  });
  const fresh = async () => {
    a = (await createTenant(database.db, { name: 'A', actor: system })).id;
    b = (await createTenant(database.db, { name: 'B', actor: system })).id;
  };
  const row = (tenantId: string, upstream: 'zendesk' | 'slack' | 'model', key = '') =>
    withTenant(database.db, tenantId, async (tx) =>
      (await tx.select().from(upstreamLimits)).find((r) => r.upstream === upstream && r.key === key),
    );
  const usage = (tenantId: string) =>
    withTenant(database.db, tenantId, (tx) => tx.select().from(upstreamUsage));

  it('a bucket grants exactly its size at once, then refills at the tenant rate; the tenant setting and Zendesk’s stated limit set the rate', async () => {
    await fresh();
    const limiter = createUpstreamLimiter({ db: database.db, now, sleep: noSleep, maxWaitMs: 0 });
    // Default: 200 a minute (the smallest Zendesk plan) times 0.8 headroom = 160/min; 10 s burst = 26.67.
    let granted = 0;
    for (let i = 0; i < 40; i++) {
      try {
        await limiter.acquire(a, { upstream: 'zendesk' });
        granted++;
      } catch (e) {
        expect(isUpstreamDeferred(e)).toBe(true);
        expect((e as UpstreamDeferredError).reason).toBe('rate_limit');
        expect((e as UpstreamDeferredError).keepsAttempt).toBe(true);
      }
    }
    expect(granted).toBe(26);
    // Another tenant's bucket is its own.
    await limiter.acquire(b, { upstream: 'zendesk' });
    // 3 s later: 160/60*3 = 8 more.
    t += 3000;
    granted = 0;
    for (let i = 0; i < 20; i++) {
      await limiter
        .acquire(a, { upstream: 'zendesk' })
        .then(() => granted++)
        .catch(() => {});
    }
    expect(granted).toBe(8);
    // Zendesk said its plan allows 700 a minute: 560/min for us from now on.
    const p = await limiter.acquire(b, { upstream: 'zendesk' });
    await p.ok({ limitPerMinute: 700, remaining: 690 });
    expect((await row(b, 'zendesk'))!.learnedPerMinute).toBe(700);
    // The tenant's own setting wins when lower.
    await withTenant(database.db, a, (tx) =>
      updatePipelineSettings(tx, a, { limits: { zendeskRequestsPerMinute: 60 } }),
    );
    t += 60_000;
    granted = 0;
    for (let i = 0; i < 30; i++) {
      await limiter
        .acquire(a, { upstream: 'zendesk' })
        .then(() => granted++)
        .catch(() => {});
    }
    expect(granted).toBe(10); // 60/min, 10 s burst
    const [u] = await usage(a);
    expect(u).toMatchObject({ upstream: 'zendesk', calls: 26 + 8 + 10 });
    expect(u!.deferred).toBeGreaterThan(0);
  });

  it('X-Rate-Limit-Remaining lowers the bucket to what the account has left after the other integrations’ share', async () => {
    await fresh();
    const limiter = createUpstreamLimiter({ db: database.db, now, sleep: noSleep, maxWaitMs: 0 });
    const p = await limiter.acquire(a, { upstream: 'zendesk' });
    // 400 a minute, 85 left: keep 20% of 400 = 80 for the others, so 5 for us.
    await p.ok({ limitPerMinute: 400, remaining: 85 });
    expect((await row(a, 'zendesk'))!.tokens).toBeCloseTo(5, 6);
  });

  it('two connection pools (as two processes) never grant more than the bucket holds', async () => {
    await fresh();
    const second =
      backend === 'postgres' && database.url
        ? await openDatabase({ url: database.url, maxConnections: 5 })
        : null;
    const l1 = createUpstreamLimiter({ db: database.db, now, sleep: noSleep, maxWaitMs: 0 });
    const l2 = createUpstreamLimiter({ db: (second ?? database).db, now, sleep: noSleep, maxWaitMs: 0 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) => (i % 2 ? l1 : l2).acquire(a, { upstream: 'zendesk' })),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(26);
    } finally {
      await second?.close();
    }
  });

  it('a 429 from Zendesk pauses that tenant’s Zendesk calls until Retry-After, in every client; another tenant keeps calling', async () => {
    await fresh();
    const limiter = createUpstreamLimiter({ db: database.db, now, sleep: noSleep });
    let calls = 0;
    server.use(
      http.get('https://acme-a.zendesk.com/api/v2/tickets/1.json', () => {
        calls++;
        return new HttpResponse(null, { status: 429, headers: { 'retry-after': '30' } });
      }),
      http.get('https://acme-b.zendesk.com/api/v2/users/me.json', () =>
        HttpResponse.json({ user: { id: 7, name: 'B', role: 'admin', email: 'b@b.test', active: true } }),
      ),
    );
    const za = (l = limiter) =>
      zendeskResources(
        createZendeskApi({ tenantId: a, subdomain: 'acme-a', tokens, limiter: l, now, sleep: noSleep }),
      );
    const err = await za()
      .getTicket('1')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamDeferredError);
    expect((err as UpstreamDeferredError).retryAt.getTime()).toBe(t + 30_000);
    expect(calls).toBe(1);
    // Another process (another limiter object) does not call Zendesk for A until then.
    const other = createUpstreamLimiter({ db: database.db, now, sleep: noSleep });
    const again = await za(other)
      .getTicket('1')
      .catch((e: unknown) => e);
    expect((again as UpstreamDeferredError).reason).toBe('paused');
    expect(calls).toBe(1);
    // B is not paused.
    const zb = zendeskResources(
      createZendeskApi({ tenantId: b, subdomain: 'acme-b', tokens, limiter: other, now, sleep: noSleep }),
    );
    expect((await zb.getCurrentUser()).id).toBe('7');
    expect((await usage(a))[0]).toMatchObject({ calls: 1, throttled: 1 });
    // After the pause, A's calls go again.
    t += 30_000;
    await za()
      .getTicket('1')
      .catch(() => {});
    expect(calls).toBe(2);
  });

  it('consecutive 5xx open the breaker; it refuses until the cool-down, then one probe goes; success closes it', async () => {
    await fresh();
    const limiter = createUpstreamLimiter({ db: database.db, now, sleep: noSleep });
    let status = 503;
    let calls = 0;
    server.use(
      http.get('https://acme-a.zendesk.com/api/v2/users/me.json', () => {
        calls++;
        return status === 200
          ? HttpResponse.json({ user: { id: 1, name: 'A', role: 'admin', email: 'a@a.test', active: true } })
          : new HttpResponse(null, { status });
      }),
    );
    const za = zendeskResources(
      createZendeskApi({ tenantId: a, subdomain: 'acme-a', tokens, limiter, now, sleep: noSleep }),
    );
    for (let i = 0; i < BREAKER.threshold; i++) await za.getCurrentUser().catch(() => {});
    expect(calls).toBe(BREAKER.threshold);
    expect(await row(a, 'zendesk')).toMatchObject({ breaker: 'open', failures: BREAKER.threshold });
    const refused = await za.getCurrentUser().catch((e: unknown) => e);
    expect((refused as UpstreamDeferredError).reason).toBe('breaker_open');
    expect((refused as UpstreamDeferredError).retryAt.getTime()).toBe(t + BREAKER.cooldownMs);
    expect(calls).toBe(BREAKER.threshold);
    // After the cool-down, one probe: it fails, so the breaker opens again at once.
    t += BREAKER.cooldownMs;
    await za.getCurrentUser().catch(() => {});
    expect(calls).toBe(BREAKER.threshold + 1);
    expect((await row(a, 'zendesk'))!.breaker).toBe('open');
    // Next cool-down: while the probe is out, nobody else calls; its success closes the breaker.
    t += BREAKER.cooldownMs;
    status = 200;
    const probe = await limiter.acquire(a, { upstream: 'zendesk' });
    expect(probe.probe).toBe(true);
    const meanwhile = await za.getCurrentUser().catch((e: unknown) => e);
    expect((meanwhile as UpstreamDeferredError).reason).toBe('breaker_half_open');
    await probe.ok();
    expect(await row(a, 'zendesk')).toMatchObject({ breaker: 'closed', failures: 0 });
    expect((await za.getCurrentUser()).id).toBe('1');
    const [u] = await usage(a);
    expect(u).toMatchObject({ failures: BREAKER.threshold + 1, breakerOpenings: 2 });
    // Another tenant's breaker never moved.
    expect(await row(b, 'zendesk')).toBeUndefined();
  });

  it('a timeout counts toward the breaker, except on a client whose timeout is our own deadline (the context loader’s)', async () => {
    await fresh();
    const limiter = createUpstreamLimiter({ db: database.db, now, sleep: noSleep });
    server.use(http.get('https://acme-a.zendesk.com/api/v2/users/me.json', () => delay('infinite')));
    const client = (timeoutIsFailure?: boolean) =>
      zendeskResources(
        createZendeskApi({
          tenantId: a,
          subdomain: 'acme-a',
          tokens,
          limiter,
          now,
          sleep: noSleep,
          timeoutMs: 20,
          ...(timeoutIsFailure === undefined ? {} : { timeoutIsFailure }),
        }),
      );
    await expect(client(false).getCurrentUser()).rejects.toMatchObject({ code: 'upstream_error' });
    expect((await row(a, 'zendesk'))!.failures).toBe(0);
    await expect(client().getCurrentUser()).rejects.toMatchObject({ code: 'upstream_error' });
    expect((await row(a, 'zendesk'))!.failures).toBe(1);
  });

  it('/readyz counts tenants with an open breaker or a pause per upstream (never which), without failing readiness', async () => {
    await fresh();
    const limiter = createUpstreamLimiter({ db: database.db, now, sleep: noSleep });
    for (let i = 0; i < BREAKER.threshold; i++)
      await (await limiter.acquire(a, { upstream: 'model', cost: 10 })).failed('503');
    await (await limiter.acquire(b, { upstream: 'slack', key: 'tier3' })).throttled(new Date(t + 10_000));
    const res = await testApp(database, { now }).app.request('/readyz');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.checks.upstreams.ok).toBe(true);
    // Earlier tests of this file left their own tenants' breakers and pauses: at least these.
    expect(body.checks.upstreams.detail.breakers.model.open).toBeGreaterThanOrEqual(1);
    expect(body.checks.upstreams.detail.breakers.slack.paused).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(body)).not.toContain(a);
    expect(JSON.stringify(body)).not.toContain(b);
  });

  it('a job held back by its tenant’s limits is rescheduled for then and keeps its attempt, even on its last one', async () => {
    await fresh();
    const limiter = createUpstreamLimiter({ db: database.db, now, sleep: noSleep, maxWaitMs: 0 });
    const queue = createJobQueue();
    const probe = await limiter.acquire(a, { upstream: 'model' });
    await probe.throttled(new Date(t + 45_000));
    await withTenant(database.db, a, (tx) =>
      queue.enqueue(tx, a, { kind: 'm', payload: {}, maxAttempts: 1 }),
    );
    const stats = await claimAndRunOnce({
      database,
      logger: createLogger('silent'),
      now,
      handlers: {
        m: async (job) => {
          await limiter.acquire(job.tenantId, { upstream: 'model', cost: 500 });
        },
      },
    });
    expect(stats).toMatchObject({ claimed: 1, deferred: 1, dead: 0, retried: 0 });
    const [j] = await withTenant(database.db, a, (tx) => tx.select().from(jobs).where(eq(jobs.tenantId, a)));
    expect(j).toMatchObject({ status: 'queued', attempts: 0 });
    expect(j!.runAt.getTime()).toBe(t + 45_000);
  });

  it('Slack: posts in one channel are spaced about a second apart per tenant; a 429 pauses that tenant’s tier only', async () => {
    await fresh();
    const slept: number[] = [];
    const limiter = createUpstreamLimiter({
      db: database.db,
      now,
      sleep: async (ms) => {
        slept.push(ms);
        t += ms;
      },
    });
    let posts = 0;
    let limited = false;
    server.use(
      http.post('https://slack.com/api/chat.postMessage', () => {
        posts++;
        return limited
          ? new HttpResponse(null, { status: 429, headers: { 'retry-after': '20' } })
          : HttpResponse.json({ ok: true, ts: '1.1' });
      }),
    );
    const web = (tenantId: string) => createSlackWeb({ tenantId, token: 'xoxb', limiter, now: () => t });
    // Burst of 3 in a channel, then a second apart.
    for (let i = 0; i < 5; i++) await web(a).call('chat.postMessage', { channel: 'C1', text: 'x' });
    expect(posts).toBe(5);
    expect(slept).toEqual([1000, 1000]);
    slept.length = 0;
    await web(a).call('chat.postMessage', { channel: 'C2', text: 'x' });
    await web(b).call('chat.postMessage', { channel: 'C1', text: 'x' });
    expect(slept).toEqual([]);
    limited = true;
    const e = await web(a)
      .call('chat.postMessage', { channel: 'C3', text: 'x' })
      .catch((x: unknown) => x);
    expect((e as UpstreamDeferredError).reason).toBe('paused');
    limited = false;
    const held = await web(a)
      .call('chat.postMessage', { channel: 'C4', text: 'x' })
      .catch((x: unknown) => x);
    expect(isUpstreamDeferred(held)).toBe(true);
    await web(b).call('chat.postMessage', { channel: 'C4', text: 'x' });
    expect(posts).toBe(9);
  });
});
