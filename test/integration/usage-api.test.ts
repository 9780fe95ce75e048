import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drafts, llmUsage } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { BREAKER, createUpstreamLimiter } from '../../src/limits/upstream.ts';
import { estimateCostMicroUsd } from '../../src/pipeline/drafting/openai.ts';
import { updatePipelineSettings } from '../../src/pipeline/settings.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * GET /admin/api/usage: a tenant's drafts and model cost per day or month, failed model answers
 * counted, only its own rows, bad periods refused with a code.
 */
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('usage API on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  const vault = testVault();
  const get = (query: string, cookie = admin) =>
    testApp(database, { vault }).app.request(`/admin/api/usage?${query}`, { headers: { cookie } });

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'O', actor: system })).id;
    const session = (t: string, role: 'admin' | 'member') =>
      createSession(database.db, { tenantId: t, userId: `U${role}`, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session(tenantId, 'admin');
    member = await session(tenantId, 'member');
    const draft = (t: string, id: string, at: string, over: Partial<typeof drafts.$inferInsert> = {}) => ({
      tenantId: t,
      id,
      source: 'zendesk' as const,
      route: 'account' as const,
      body: 'b',
      drafter: 'openai',
      createdAt: new Date(at),
      ...over,
    });
    const usage = (
      t: string,
      id: string,
      at: string,
      model: string,
      p: number,
      c: number,
      draftId: string | null,
    ) => ({
      tenantId: t,
      id,
      draftId,
      model,
      promptTokens: p,
      completionTokens: c,
      costMicroUsd: estimateCostMicroUsd(model, p, c),
      createdAt: new Date(at),
    });
    await withTenant(database.db, tenantId, async (tx) => {
      await tx
        .insert(drafts)
        .values([
          draft(tenantId, 'd1', '2026-11-01T08:00:00Z'),
          draft(tenantId, 'd2', '2026-11-01T23:59:59Z', { status: 'sent', route: 'end_user' }),
          draft(tenantId, 'd3', '2026-11-02T00:00:00Z', { source: 'slack', drafter: 'offline' }),
          draft(tenantId, 'd4', '2026-12-01T12:00:00Z', { status: 'blocked' }),
        ]);
      await tx.insert(llmUsage).values([
        usage(tenantId, 'u1', '2026-11-01T08:00:00Z', 'gpt-4.1-mini', 1000, 200, 'd1'),
        usage(tenantId, 'u2', '2026-11-01T23:59:59Z', 'gpt-4.1-mini', 3000, 100, 'd2'),
        // An answer that produced no draft: tokens spent, counted as failed.
        usage(tenantId, 'u3', '2026-11-01T09:00:00Z', 'gpt-4.1-mini', 500, 50, null),
        usage(tenantId, 'u4', '2026-11-02T10:00:00Z', 'my-local-model', 700, 70, 'd3'),
        usage(tenantId, 'u5', '2026-12-01T12:00:00Z', 'gpt-4.1-2025-04-14', 1_000_000, 0, 'd4'),
      ]);
    });
    await withTenant(database.db, otherTenant, async (tx) => {
      await tx.insert(drafts).values(draft(otherTenant, 'x1', '2026-11-01T10:00:00Z'));
      await tx
        .insert(llmUsage)
        .values(usage(otherTenant, 'x1u', '2026-11-01T10:00:00Z', 'gpt-4.1', 9_999, 9_999, 'x1'));
    });
  });
  afterAll(() => database?.close());

  it('per day: drafts by source, status, drafter and route; tokens and cost per model, failed answers counted', async () => {
    const res = await get('from=2026-11-01&to=2026-11-03');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      buckets: {
        start: string;
        drafts: { total: number; bySource: Record<string, number>; byStatus: Record<string, number> };
        models: {
          model: string;
          calls: number;
          failedCalls: number;
          promptTokens: number;
          costMicroUsd: number;
          unpriced: boolean;
        }[];
        costMicroUsd: number;
      }[];
      totals: Record<string, number>;
    };
    expect(body.buckets.map((b) => b.start)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03']);
    const [d1, d2, d3] = body.buckets;
    expect(d1!.drafts).toMatchObject({
      total: 2,
      bySource: { zendesk: 2 },
      byStatus: { pending: 1, sent: 1 },
    });
    expect(d1!.models).toEqual([
      {
        model: 'gpt-4.1-mini',
        calls: 3,
        failedCalls: 1,
        promptTokens: 4500,
        completionTokens: 350,
        costMicroUsd: estimateCostMicroUsd('gpt-4.1-mini', 4500, 350),
        unpriced: false,
      },
    ]);
    expect(d2!.drafts).toMatchObject({ total: 1, bySource: { slack: 1 }, byDrafter: { offline: 1 } });
    expect(d2!.models[0]).toMatchObject({ model: 'my-local-model', costMicroUsd: 0, unpriced: true });
    expect(d3!.drafts.total).toBe(0);
    // Only this tenant's rows: the other tenant's 9,999-token call is nowhere.
    expect(body.totals).toEqual({
      drafts: 3,
      modelCalls: 4,
      failedModelCalls: 1,
      promptTokens: 5200,
      completionTokens: 420,
      costMicroUsd: estimateCostMicroUsd('gpt-4.1-mini', 4500, 350),
      upstream: {},
    });
  });

  it('upstream calls, deferrals, 429s, failures and breaker openings per day, from the shared limiter; the breaker and quota state as they stand', async () => {
    const clock = { t: Date.parse('2026-11-03T10:00:00Z') };
    const limiter = createUpstreamLimiter({ db: database.db, now: () => new Date(clock.t), maxWaitMs: 0 });
    for (let i = 0; i < 3; i++) await (await limiter.acquire(tenantId, { upstream: 'zendesk' })).ok();
    await (await limiter.acquire(tenantId, { upstream: 'zendesk' })).throttled(new Date(clock.t + 60_000));
    await limiter.acquire(tenantId, { upstream: 'zendesk' }).catch(() => {}); // deferred: paused
    for (let i = 0; i < BREAKER.threshold; i++)
      await (await limiter.acquire(tenantId, { upstream: 'model', cost: 100 })).failed('503');
    // Another tenant's calls are not this tenant's usage.
    await (await limiter.acquire(otherTenant, { upstream: 'zendesk' })).ok();
    await withTenant(database.db, tenantId, (tx) =>
      updatePipelineSettings(tx, tenantId, { limits: { draftsPerDay: 500 } }),
    );
    const res = await testApp(database, { vault, now: () => new Date(clock.t) }).app.request(
      '/admin/api/usage?from=2026-11-03&to=2026-11-04',
      { headers: { cookie: admin } },
    );
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.buckets[0].upstream).toEqual({
      zendesk: { calls: 4, deferred: 1, throttled: 1, failures: 0, breakerOpenings: 0 },
      model: {
        calls: BREAKER.threshold,
        deferred: 0,
        throttled: 0,
        failures: BREAKER.threshold,
        breakerOpenings: 1,
      },
    });
    expect(body.buckets[1].upstream).toEqual({});
    expect(body.totals.upstream.zendesk.calls).toBe(4);
    const model = body.limits.find((l: { upstream: string }) => l.upstream === 'model');
    expect(model).toMatchObject({ breaker: 'open', failures: BREAKER.threshold });
    expect(Date.parse(model.probeAt)).toBe(clock.t + BREAKER.cooldownMs);
    const zendesk = body.limits.find((l: { upstream: string }) => l.upstream === 'zendesk');
    expect(Date.parse(zendesk.pausedUntil)).toBe(clock.t + 60_000);
    expect(body.quota).toMatchObject({ limits: { draftsPerDay: 500 }, reached: null });
  });

  it('per month, with a dated model snapshot priced as its model', async () => {
    const body = (await (await get('from=2026-11-15&to=2026-12-31&granularity=month')).json()) as {
      buckets: { start: string; drafts: { total: number }; costMicroUsd: number }[];
    };
    expect(body.buckets.map((b) => b.start)).toEqual(['2026-11-01', '2026-12-01']);
    // November counts only from the 15th on (nothing then); December has the 1M-token call.
    expect(body.buckets[0]!.drafts.total).toBe(0);
    expect(body.buckets[1]!).toMatchObject({ drafts: { total: 1 }, costMicroUsd: 2_000_000 });
  });

  it('refuses a bad period with 400 invalid_body naming the parameter; members and the signed-out read nothing', async () => {
    for (const [q, field] of [
      ['from=2026-11-03&to=2026-11-01', 'from'],
      ['from=2025-01-01&to=2026-12-01', 'to'],
      ['from=yesterday&to=2026-11-01', 'from'],
      ['from=2026-11-01', 'to'],
      ['from=2026-11-01&to=2026-11-02&granularity=hour', 'granularity'],
      ['from=2026-11-01&to=2026-11-02&tenant=x', 'query'],
    ] as const) {
      const res = await get(q);
      expect(res.status, q).toBe(400);
      const b = (await res.json()) as { error: { code: string; message: string } };
      expect(b.error.code, q).toBe('invalid_body');
      expect(b.error.message.startsWith(field === 'query' ? '' : field), `${q}: ${b.error.message}`).toBe(
        true,
      );
    }
    expect((await get('from=2026-11-01&to=2026-11-02', member)).status).toBe(403);
    expect((await get('from=2026-11-01&to=2026-11-02', '')).status).toBe(401);
  });
});
