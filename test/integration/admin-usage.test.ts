import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftDeliveries, drafts, llmUsage } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { estimateCostMicroUsd } from '../../src/pipeline/drafting/openai.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The usage page and its CSV: acceptance and edit rates from what the sidebar and Slack recorded,
 * the CSV carrying exactly the API's numbers, bad periods refused with a code, an empty state, and
 * upstream counts reported as not recorded (never invented). Only the tenant's own rows.
 */
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('usage page and CSV on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  let otherAdmin: string;
  const vault = testVault();
  const get = (path: string, cookie = admin) =>
    testApp(database, { vault, now: () => new Date('2026-11-03T12:00:00Z') }).app.request(path, {
      headers: { cookie },
    });

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
    otherAdmin = await session(otherTenant, 'admin');
    const draft = (t: string, id: string, at: string, over: Partial<typeof drafts.$inferInsert> = {}) => ({
      tenantId: t,
      id,
      source: 'zendesk' as const,
      route: 'account' as const,
      body: 'b',
      drafter: 'openai',
      ticketId: '1',
      createdAt: new Date(at),
      ...over,
    });
    const delivery = (
      t: string,
      draftId: string,
      status: 'sent' | 'rejected' | 'approved',
      editDistance: number | null,
    ) => ({
      tenantId: t,
      draftId,
      ticketId: '1',
      version: 0,
      status,
      mode: 'sidebar' as const,
      editDistance,
    });
    await withTenant(database.db, tenantId, async (tx) => {
      await tx.insert(drafts).values([
        draft(tenantId, 'd1', '2026-11-01T08:00:00Z', { status: 'sent' }),
        draft(tenantId, 'd2', '2026-11-01T09:00:00Z', { status: 'sent' }),
        draft(tenantId, 'd3', '2026-11-01T10:00:00Z', { status: 'sent' }),
        draft(tenantId, 'd4', '2026-11-01T11:00:00Z', { status: 'rejected' }),
        // Rejected in Slack: only the draft's status records it.
        draft(tenantId, 'd5', '2026-11-02T08:00:00Z', { status: 'rejected', source: 'slack' }),
        draft(tenantId, 'd6', '2026-11-02T09:00:00Z', { source: 'slack' }),
      ]);
      await tx
        .insert(draftDeliveries)
        .values([
          delivery(tenantId, 'd1', 'sent', 0),
          delivery(tenantId, 'd2', 'sent', 0),
          delivery(tenantId, 'd3', 'sent', 12),
          delivery(tenantId, 'd4', 'rejected', null),
        ]);
      await tx.insert(llmUsage).values({
        tenantId,
        id: 'u1',
        draftId: 'd1',
        model: '=cmd()',
        promptTokens: 100,
        completionTokens: 10,
        costMicroUsd: 0,
        createdAt: new Date('2026-11-01T08:00:00Z'),
      });
      await tx.insert(llmUsage).values({
        tenantId,
        id: 'u2',
        draftId: 'd2',
        model: 'gpt-4.1-mini',
        promptTokens: 1000,
        completionTokens: 200,
        costMicroUsd: estimateCostMicroUsd('gpt-4.1-mini', 1000, 200),
        createdAt: new Date('2026-11-01T09:00:00Z'),
      });
    });
    await withTenant(database.db, otherTenant, async (tx) => {
      await tx.insert(drafts).values(draft(otherTenant, 'x1', '2026-11-01T10:00:00Z', { status: 'sent' }));
      await tx.insert(draftDeliveries).values(delivery(otherTenant, 'x1', 'sent', 5));
    });
  });
  afterAll(() => database?.close());

  it('the report counts sent unchanged, sent edited and rejected (sidebar and Slack) per bucket, with the rates', async () => {
    const res = await get('/admin/api/usage?from=2026-11-01&to=2026-11-03');
    const body = (await res.json()) as { buckets: { feedback: Record<string, unknown> }[] };
    expect(body.buckets.map((b) => b.feedback)).toEqual([
      { sent: 3, sentUnchanged: 2, sentEdited: 1, rejected: 1, acceptanceRate: 0.5, editRate: 1 / 3 },
      { sent: 0, sentUnchanged: 0, sentEdited: 0, rejected: 1, acceptanceRate: 0, editRate: null },
      { sent: 0, sentUnchanged: 0, sentEdited: 0, rejected: 0, acceptanceRate: null, editRate: null },
    ]);
  });

  it('the page draws a chart with a table for each series, the rates, and says no upstream calls were recorded', async () => {
    const res = await get('/admin/usage?from=2026-11-01&to=2026-11-03&granularity=day');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    for (const id of ['chart-drafts', 'chart-rates', 'chart-tokens', 'chart-cost', 'chart-models'])
      expect(page, id).toMatch(new RegExp(`<svg [^>]*aria-labelledby="${id}-title ${id}-desc"`));
    expect(page.match(/<table>/g)!.length).toBeGreaterThanOrEqual(6);
    expect(page).not.toMatch(/ style=/);
    expect(page).toContain(
      '<tr><th scope="row">2026-11-01</th><td>4</td><td>2</td><td>1</td><td>1</td><td>50%</td><td>33.3%</td></tr>',
    );
    expect(page).toContain('No calls to Zendesk, Slack or the model were recorded in this period.');
    // The tenant-chosen model name is escaped text, never markup.
    expect(page).toContain('=cmd()');
    expect(page).toContain(
      '<a href="/admin/usage.csv?from=2026-11-01&amp;to=2026-11-03&amp;granularity=day">',
    );
    expect(page).toContain('<a href="/admin/usage">Usage</a>');
  });

  it('the page defaults to the last 30 days (the injected clock) and shows an empty state when nothing happened', async () => {
    const def = await (await get('/admin/usage')).text();
    expect(def).toContain('value="2026-10-05"');
    expect(def).toContain('value="2026-11-03"');
    const empty = await get('/admin/usage?from=2025-01-01&to=2025-01-31&granularity=day');
    expect(empty.status).toBe(200);
    const text = await empty.text();
    expect(text).toContain('No drafts and no model calls from 2025-01-01 to 2025-01-31');
    expect(text).not.toContain('<svg class="chart"');
  });

  it('the CSV has the same numbers as the API, formula-looking names defused', async () => {
    const res = await get('/admin/usage.csv?from=2026-11-01&to=2026-11-03&granularity=day');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain('usage-2026-11-01-2026-11-03-day.csv');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('period_start,granularity,metric,series,value');
    const api = (await (await get('/admin/api/usage?from=2026-11-01&to=2026-11-03')).json()) as {
      buckets: {
        start: string;
        drafts: { total: number };
        models: { model: string; costMicroUsd: number; promptTokens: number }[];
      }[];
    };
    for (const b of api.buckets) {
      expect(lines).toContain(`${b.start},day,drafts,,${b.drafts.total}`);
      for (const m of b.models) {
        const name = m.model.startsWith('=') ? `'${m.model}` : m.model;
        expect(lines).toContain(`${b.start},day,cost_micro_usd,${name},${m.costMicroUsd}`);
        expect(lines).toContain(`${b.start},day,prompt_tokens,${name},${m.promptTokens}`);
      }
    }
    expect(lines).toContain('2026-11-01,day,acceptance_rate,,0.5');
    expect(lines).toContain('2026-11-02,day,drafts_rejected,,1');
    expect(lines).toContain("2026-11-01,day,prompt_tokens,'=cmd(),100");
    expect(lines.some((l) => l.includes('upstream'))).toBe(false);
  });

  it('refuses a bad period (page: 400 with the reason; CSV: 400 invalid_body); members and the signed-out get nothing', async () => {
    const page = await get('/admin/usage?from=2026-11-05&to=2026-11-01&granularity=day');
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('<p class="error" role="alert">from: must not be after to</p>');
    for (const q of [
      'from=2026-11-05&to=2026-11-01',
      'from=2025-01-01&to=2026-11-01',
      'from=x&to=2026-11-01',
      '',
    ]) {
      const res = await get(`/admin/usage.csv?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, q).toBe('invalid_body');
    }
    expect((await get('/admin/usage', member)).status).toBe(403);
    expect((await get('/admin/usage.csv?from=2026-11-01&to=2026-11-02', member)).status).toBe(403);
    expect((await get('/admin/usage.csv?from=2026-11-01&to=2026-11-02', '')).status).toBe(401);
    const signedOut = await get('/admin/usage', '');
    expect(signedOut.status).toBe(303);
  });

  it("another tenant's admin sees only that tenant's numbers", async () => {
    const lines = (
      await (await get('/admin/usage.csv?from=2026-11-01&to=2026-11-01', otherAdmin)).text()
    ).split('\r\n');
    expect(lines).toContain('2026-11-01,day,drafts,,1');
    expect(lines).toContain('2026-11-01,day,drafts_sent_edited,,1');
    expect(lines.some((l) => l.includes('cmd'))).toBe(false);
  });
});
