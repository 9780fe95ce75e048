import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, drafts } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { type SeededDrafts, seedDrafts } from './drafts-fixture.ts';

/**
 * The console's drafts (`/admin/drafts`, `/admin/drafts/:id`, the JSON twin under /admin/api):
 * drafts made by the real pipeline (Zendesk and the Context API mocked with msw), filters that
 * filter (checked against the rows themselves), keyset paging through ties, another tenant's
 * draft id answered 404 without its content, bad filters 400 with the field named, members
 * reading the pages but not the API.
 */
const server = useMsw();
const COPIES = 55;

describe.each(backends())('console drafts on %s', (backend) => {
  let database: TestDatabase;
  let seeded: SeededDrafts;
  let other: SeededDrafts;
  let admin: string;
  let member: string;
  let emptyAdmin: string;
  let all: (typeof drafts.$inferSelect)[];

  const app = () => testApp(database, { vault: seeded.setup.vault }).app;
  const get = (path: string, cookie = admin) => app().request(path, { headers: cookie ? { cookie } : {} });
  const idsOf = (html: string) =>
    [...html.matchAll(/<a href="\/admin\/drafts\/(dr_[^"]+)">/g)].map((m) => m[1]!);
  /** Every draft id the list shows for `query`, following "Older drafts" to the end. */
  async function allPages(query: string): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let next: string | null = `/admin/drafts${query}`;
    let pages = 0;
    while (next) {
      const res = await get(next);
      expect(res.status, next).toBe(200);
      const html = await res.text();
      ids.push(...idsOf(html));
      pages++;
      const m = /<a href="(\/admin\/drafts\?[^"]*)">Older drafts<\/a>/.exec(html);
      next = m ? m[1]!.replace(/&amp;/g, '&') : null;
    }
    return { ids, pages };
  }
  const newestFirst = (rows: typeof all) =>
    [...rows]
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .map((r) => r.id);

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    seeded = await seedDrafts(database, server, { subdomain: `helio-drafts-${backend}`, copies: COPIES });
    other = await seedDrafts(database, server, { subdomain: `helio-other-${backend}` });
    all = await withTenant(database.db, seeded.tenantId, (tx) => tx.select().from(drafts));
    const session = (tenantId: string, role: 'admin' | 'member') =>
      createSession(database.db, { tenantId, userId: `U_${role}`, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session(seeded.tenantId, 'admin');
    member = await session(seeded.tenantId, 'member');
    const empty = await createTenant(database.db, { name: 'Empty', actor: { type: 'system', name: 'test' } });
    emptyAdmin = await session(empty.id, 'admin');
  }, 300_000);
  afterAll(() => database?.close());

  it('the pipeline stored what the page needs: routes, accounts, the ticket text and per-provider timings', () => {
    const byId = new Map(all.map((d) => [d.id, d]));
    expect(byId.get(seeded.byTicket['31001'])).toMatchObject({ route: 'account', accountId: 'hc-0917' });
    expect(byId.get(seeded.byTicket['31002'])).toMatchObject({
      route: 'account',
      accountId: 'hc-0420',
      status: 'rejected',
    });
    expect(byId.get(seeded.byTicket['31003'])).toMatchObject({ route: 'unknown', accountId: null });
    const snap = byId.get(seeded.byTicket['31001'])!.contextSnapshot as {
      ticket: { subject: string };
      providers: { source: string; elapsedMs: number }[];
    };
    expect(snap.ticket.subject).toBe('Leads not syncing to Salesforce');
    expect(snap.providers.map((p) => p.source).sort()).toEqual(['catalog', 'context_api', 'zendesk']);
  });

  it('lists every draft newest first, 50 a page, through ties in created_at, and only this tenant\u2019s', async () => {
    const { ids, pages } = await allPages('');
    expect(pages).toBe(2);
    expect(ids).toHaveLength(all.length);
    expect(ids).toEqual(newestFirst(all));
    for (const id of Object.values(other.byTicket)) expect(ids).not.toContain(id);
  });

  it('each filter returns exactly the drafts it names (compared with the rows), and filters combine with paging', async () => {
    const cases: [string, (d: (typeof all)[number]) => boolean][] = [
      ['?status=rejected', (d) => d.status === 'rejected'],
      ['?status=pending', (d) => d.status === 'pending'],
      ['?route=account', (d) => d.route === 'account'],
      ['?route=unknown', (d) => d.route === 'unknown'],
      ['?account=hc-0917', (d) => d.accountId === 'hc-0917'],
      ['?from=2026-12-02&to=2026-12-02', (d) => d.createdAt.toISOString().startsWith('2026-12-02')],
      ['?from=2026-11-20', (d) => d.createdAt >= new Date('2026-11-20T00:00:00Z')],
      ['?to=2026-11-10', (d) => d.createdAt < new Date('2026-11-11T00:00:00Z')],
      [
        '?route=unknown&to=2026-11-10',
        (d) => d.route === 'unknown' && d.createdAt < new Date('2026-11-11T00:00:00Z'),
      ],
    ];
    const playbooks = [
      ...new Set(all.map((d) => (d.contextSnapshot as { playbookId?: string | null }).playbookId)),
    ];
    for (const pb of playbooks.filter((x): x is string => typeof x === 'string'))
      cases.push([
        `?playbook=${pb}`,
        (d) => (d.contextSnapshot as { playbookId?: string }).playbookId === pb,
      ]);
    expect(cases.length).toBeGreaterThan(9); // at least one playbook was matched by the drafter
    for (const [q, keep] of cases) {
      const expected = newestFirst(all.filter(keep));
      expect(expected.length, q).toBeGreaterThan(0);
      expect(expected.length, q).toBeLessThan(all.length);
      expect((await allPages(q)).ids, q).toEqual(expected);
    }
    // A filter nothing matches says so, and is not the "no drafts yet" state.
    const none = await (await get('?account=nobody'.replace('?', '/admin/drafts?'))).text();
    expect(idsOf(none)).toEqual([]);
    expect(none).toContain('No drafts match these filters.');
  });

  it('bad filter values answer 400 naming the field, on the page and in the API, and list nothing', async () => {
    for (const [q, field] of [
      ['?status=sending', 'status'],
      ['?route=vip', 'route'],
      ['?from=2026-13-40', 'from'],
      ['?from=2026-12-03&to=2026-12-01', 'from'],
      ['?account=%3Cscript%3E', 'account'],
      ['?before=%27%20or%201%3D1', 'before'],
    ] as const) {
      const res = await get(`/admin/drafts${q}`);
      expect(res.status, q).toBe(400);
      const html = await res.text();
      expect(html, q).toMatch(new RegExp(`role="alert">${field}: `));
      expect(idsOf(html), q).toEqual([]);
      expect(html).not.toContain('<script>');
      const api = await get(`/admin/api/drafts${q}`);
      expect(api.status, q).toBe(400);
      const body = (await api.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('bad_request');
      expect(body.error.message.startsWith(`${field}: `), body.error.message).toBe(true);
    }
  });

  it('a draft page shows the ticket, citations, context per provider, the guard verdict, the feedback history and links the ticket in Zendesk', async () => {
    const id = seeded.byTicket['31001'];
    const res = await get(`/admin/drafts/${id}`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`href="https://${seeded.subdomain}.zendesk.com/agent/tickets/31001"`);
    expect(html).toContain('Leads not syncing to Salesforce');
    expect(html).toContain('Since Monday no new leads show up in Salesforce.');
    const d = all.find((x) => x.id === id)!;
    expect(d.citations.length).toBeGreaterThan(0);
    for (const c of d.citations) expect(html).toContain(`<code>${c}</code>`);
    for (const source of ['catalog', 'context_api', 'zendesk'])
      expect(html).toMatch(new RegExp(`<tr><td>${source}</td><td>[\\d.]+ ms</td>`));
    expect(html).toContain('<strong class="badge">pass</strong>');
    expect(html).toMatch(/edited \(version 1\) by agent 9001 in the sidebar, edit distance \d+ characters/);
    expect(html).toContain('Best, Avery');

    const rejected = await (await get(`/admin/drafts/${seeded.byTicket['31002']}`)).text();
    expect(rejected).toContain('rejected by agent 9001: “Wrong workspace settings page”');

    const viewed = await withTenant(database.db, seeded.tenantId, (tx) =>
      tx
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.action, 'draft.viewed'), eq(auditEvents.target, id))),
    );
    expect(viewed.at(-1)?.detail).toMatchObject({ via: 'console', role: 'admin' });
  });

  it("another tenant's draft id is 404 on the page and in the API, without any of its content; so is a malformed id", async () => {
    const foreign = other.byTicket['31001'];
    for (const path of [`/admin/drafts/${foreign}`, `/admin/api/drafts/${foreign}`, '/admin/drafts/%27--']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      const text = await res.text();
      expect(text).not.toContain('Salesforce');
      expect(text).not.toContain(other.subdomain);
      expect(text).not.toContain(other.tenantId);
    }
  });

  it('the JSON twin lists with the same filters and pages by nextBefore; one draft carries its ticket and history', async () => {
    const first = (await (await get('/admin/api/drafts?route=unknown')).json()) as {
      drafts: { id: string; route: string }[];
      nextBefore: string | null;
    };
    expect(first.drafts).toHaveLength(50);
    expect(new Set(first.drafts.map((d) => d.route))).toEqual(new Set(['unknown']));
    const second = (await (
      await get(`/admin/api/drafts?route=unknown&before=${first.nextBefore}`)
    ).json()) as typeof first;
    expect([...first.drafts, ...second.drafts].map((d) => d.id)).toEqual(
      newestFirst(all.filter((d) => d.route === 'unknown')),
    );
    expect(second.nextBefore).toBeNull();
    const one = (await (await get(`/admin/api/drafts/${seeded.byTicket['31001']}`)).json()) as {
      ticket: { subject: string };
      zendeskUrl: string;
      versions: { version: number }[];
    };
    expect(one.ticket.subject).toBe('Leads not syncing to Salesforce');
    expect(one.zendeskUrl).toBe(`https://${seeded.subdomain}.zendesk.com/agent/tickets/31001`);
    expect(one.versions.map((v) => v.version)).toEqual([1]);
  });

  it('members read the pages (they are the support reps) but not the admin API; signed out is sent to sign in', async () => {
    expect((await get('/admin/drafts', member)).status).toBe(200);
    expect((await get(`/admin/drafts/${seeded.byTicket['31001']}`, member)).status).toBe(200);
    expect((await get('/admin/api/drafts', member)).status).toBe(403);
    expect((await get(`/admin/api/drafts/${seeded.byTicket['31001']}`, member)).status).toBe(403);
    const out = await get('/admin/drafts', '');
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/admin');
    expect((await get('/admin/api/drafts', '')).status).toBe(401);
  });

  it('a tenant without drafts sees the empty state', async () => {
    const html = await (await get('/admin/drafts', emptyAdmin)).text();
    expect(html).toContain('No drafts yet: drafts appear here when a ticket arrives');
  });
});
