import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, drafts } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { BREAKER, createUpstreamLimiter } from '../../src/limits/upstream.ts';
import { readPipelineSettings } from '../../src/pipeline/settings.ts';
import { createSession, SESSION_COOKIE } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The console's limits page: quotas against usage, each upstream's breaker and pause as the
 * shared limiter recorded them, and the form that sets quotas and rates through the settings verb
 * (validated by its schema; a refused value is shown beside its field and changes nothing).
 */
const system = { type: 'system', name: 'test' } as const;
const ORIGIN = 'https://copilot.test';

describe.each(backends())('limits page on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let admin: string;
  const at = Date.parse('2026-12-02T09:00:00Z');
  const now = () => new Date(at);
  const app = () => testApp(database, { now }).app;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'Lim', actor: system })).id;
    admin = `${SESSION_COOKIE}=${(await createSession(database.db, { tenantId, userId: 'U_A', role: 'admin', via: 'local_link' })).token}`;
  });
  afterAll(() => database?.close());
  const page = () => app().request('/admin/limits', { headers: { cookie: admin } });
  const save = (fields: Record<string, string>) =>
    app().request('/admin/limits', {
      method: 'POST',
      headers: { cookie: admin, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });

  it('says so when nothing was called yet, and no quota is set', async () => {
    const html = await (await page()).text();
    expect(html).toContain('No calls to Zendesk, Slack or the model yet');
    expect(html).toMatch(/<td>Drafts today<\/td><td>none<\/td>/);
  });

  it('shows an open breaker with its next probe, a pause, and the rate Zendesk stated', async () => {
    const limiter = createUpstreamLimiter({ db: database.db, now });
    for (let i = 0; i < BREAKER.threshold; i++)
      await (await limiter.acquire(tenantId, { upstream: 'model', cost: 10 })).failed(
        '503 to /chat/completions',
      );
    const z = await limiter.acquire(tenantId, { upstream: 'zendesk' });
    await z.throttled(new Date(at + 30_000), { limitPerMinute: 700 });
    const html = await (await page()).text();
    expect(html).toContain(`breaker open: calls wait; next probe at 2026-12-02 09:00:30 UTC`);
    expect(html).toContain('last failure: 503 to /chat/completions');
    expect(html).toContain('paused until 2026-12-02 09:00:30 UTC (the upstream answered 429)');
    expect(html).toContain('(stated limit 700)');
  });

  it('saves quotas and rates through the settings verb, audited; the page then shows usage against them', async () => {
    const res = await save({
      draftsPerDay: '2',
      modelTokensPerMonth: '1,000,000',
      zendeskHeadroomPercent: '30',
    });
    expect(res.status).toBe(303);
    const settings = await withTenant(database.db, tenantId, (tx) => readPipelineSettings(tx));
    expect(settings.limits).toEqual({
      draftsPerDay: 2,
      modelTokensPerMonth: 1_000_000,
      zendeskHeadroomPercent: 30,
    });
    const events = await withTenant(database.db, tenantId, (tx) =>
      tx.select().from(auditEvents).where(eq(auditEvents.action, 'settings.updated')),
    );
    expect(events).toHaveLength(1);
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(drafts).values(
        ['d1', 'd2'].map((id) => ({
          tenantId,
          id,
          source: 'zendesk' as const,
          route: 'account' as const,
          body: 'b',
          drafter: 'openai',
          createdAt: new Date(at - 3600_000),
        })),
      ),
    );
    const html = await (await page()).text();
    expect(html).toMatch(/<td>Drafts today<\/td><td>2<\/td><td>2<\/td>/);
    expect(html).toContain('At a limit:');
    expect(html).toContain('value="30"');
  });

  it('refuses a value out of range beside its field and changes nothing', async () => {
    for (const [fields, field] of [
      [{ zendeskHeadroomPercent: '95' }, 'zendeskHeadroomPercent'],
      [{ draftsPerDay: 'lots' }, 'draftsPerDay'],
      [{ modelTokensPerMinute: '10' }, 'modelTokensPerMinute'],
    ] as const) {
      const res = await save(fields);
      expect(res.status).toBe(400);
      const html = await res.text();
      expect(html).toContain(`id="${field}-error" role="alert"`);
      expect(html).toContain(`aria-describedby="${field}-hint ${field}-error"`);
    }
    const settings = await withTenant(database.db, tenantId, (tx) => readPipelineSettings(tx));
    expect(settings.limits).toEqual({
      draftsPerDay: 2,
      modelTokensPerMonth: 1_000_000,
      zendeskHeadroomPercent: 30,
    });
  });

  it('is for owners and admins only', async () => {
    const member = `${SESSION_COOKIE}=${(await createSession(database.db, { tenantId, userId: 'U_M', role: 'member', via: 'local_link' })).token}`;
    expect((await app().request('/admin/limits', { headers: { cookie: member } })).status).toBe(403);
  });
});
