import { eq } from 'drizzle-orm';
import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditEvents,
  drafts,
  draftVersions,
  externalEffects,
  jobs,
  llmUsage,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createFallbackDrafter } from '../../src/pipeline/drafting/fallback.ts';
import { createOfflineDrafter } from '../../src/pipeline/drafting/offline.ts';
import { createOpenAiDrafter } from '../../src/pipeline/drafting/openai.ts';
import type { Drafter } from '../../src/pipeline/drafting/types.ts';
import { updateSettings } from '../../src/pipeline/tenant-config.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { testApp } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { chatCompletion } from '../helpers/openai-answer.ts';
import { setupScenarioPipeline } from '../scenario/run.ts';
import { fixture } from './drafts-fixture.ts';

/**
 * The console's playground: a typed ticket goes through routing, context (catalog, directory and
 * the tenant's Context API, mocked with msw; never Zendesk), the tenant's drafter within its quota
 * and the leak guard. Every request that leaves the process is recorded: none may go to Zendesk,
 * and no job, draft, usage or effect row appears; `playground.run` is audited. Invalid input is
 * 400 with the error beside its field and nothing recorded; members and cross-site posts are refused.
 */
const server = useMsw();
const LLM = 'https://llm.playground.test/v1';
const ORIGIN = 'https://copilot.test';
const sameOrigin = { origin: ORIGIN, 'sec-fetch-site': 'same-origin' };

describe.each(backends())('console playground on %s', (backend) => {
  let database: TestDatabase;
  let p: Awaited<ReturnType<typeof setupScenarioPipeline>>;
  let admin: string;
  let member: string;
  const outbound: string[] = [];

  const app = (drafter: Drafter = createOfflineDrafter()) =>
    testApp(database, {
      vault: p.vault,
      tokens: p.tokens,
      queue: createJobQueue(),
      drafter,
      contextApiResolver: async () => ['93.184.216.34'],
    }).app;
  const run = (
    form: Record<string, string>,
    opts: { cookie?: string; drafter?: Drafter; headers?: Record<string, string> } = {},
  ) =>
    app(opts.drafter).request('/admin/playground', {
      method: 'POST',
      headers: {
        cookie: opts.cookie ?? admin,
        'content-type': 'application/x-www-form-urlencoded',
        ...(opts.headers ?? sameOrigin),
      },
      body: new URLSearchParams(form).toString(),
    });
  const rows = () =>
    withTenant(database.db, p.tenantId, async (tx) => ({
      drafts: (await tx.select().from(drafts)).length,
      versions: (await tx.select().from(draftVersions)).length,
      jobs: (await tx.select().from(jobs)).length,
      usage: (await tx.select().from(llmUsage)).length,
      effects: (await tx.select().from(externalEffects)).length,
      runs: (await tx.select().from(auditEvents).where(eq(auditEvents.action, 'playground.run'))).map(
        (e) => e.detail,
      ),
    }));
  const TICKET = {
    subject: 'Leads not syncing to Salesforce',
    body: 'Since Monday no new leads show up in Salesforce. Did something change?',
    email: 'ops@brightwater-dental.example',
    brand: 'Helio Cloud',
  };

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    const base = fixture('domain-routed-integration');
    p = await setupScenarioPipeline(
      { ...base, tenant: { ...base.tenant, zendeskSubdomain: `helio-play-${backend}` } },
      { database, server },
    );
    server.events.on('request:start', ({ request }) => {
      outbound.push(new URL(request.url).host);
    });
    const session = (role: 'admin' | 'member') =>
      createSession(database.db, { tenantId: p.tenantId, userId: `U_${role}`, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session('admin');
    member = await session('member');
  }, 300_000);
  afterAll(() => database?.close());

  it('shows the route, each provider with its time (Zendesk marked not loaded), the draft and the guard verdict; calls no Zendesk and stores nothing but the audit event', async () => {
    const before = await rows();
    outbound.length = 0;
    const res = await run(TICKET);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<strong>account</strong> (requester email), account <code>hc-0917</code>');
    expect(html).toMatch(/<tr><td>catalog<\/td><td>[\d.]+ ms<\/td><td>[1-9]\d*<\/td><td>loaded<\/td><\/tr>/);
    expect(html).toMatch(
      /<tr><td>context_api<\/td><td>[\d.]+ ms<\/td><td>[1-9]\d*<\/td><td>loaded<\/td><\/tr>/,
    );
    expect(html).toContain(
      '<tr><td>zendesk</td><td>-</td><td>0</td><td>not loaded in the playground (no Zendesk calls)</td></tr>',
    );
    expect(html).toContain('Drafter: <strong>offline</strong>');
    expect(html).toContain('https://console.helio.example/a/hc-0917/integrations/salesforce/connect');
    expect(html).toContain('<strong class="badge">pass</strong>');
    expect(html).toContain('Quota: no limits set');
    // The form keeps what was typed.
    expect(html).toContain(`value="${TICKET.email}"`);

    expect(outbound.some((h) => h.endsWith('zendesk.com'))).toBe(false);
    expect(outbound).toContain(new URL(p.contextUrl).host);
    const after = await rows();
    expect({ ...after, runs: undefined }).toEqual({ ...before, runs: undefined });
    expect(after.runs).toHaveLength(before.runs.length + 1);
    expect(after.runs.at(-1)).toMatchObject({
      route: 'account',
      accountId: 'hc-0917',
      drafter: 'offline',
      guard: 'pass',
    });
    // Metadata only: the typed text is not in the audit trail.
    expect(JSON.stringify(after.runs.at(-1))).not.toContain('Salesforce');
  });

  it('an unknown requester routes unknown and loads no account context; the draft asks who they are', async () => {
    const html = await (
      await run({
        subject: 'Hello',
        body: 'Our leads stopped syncing.',
        email: 'someone@gmail.com',
        brand: '',
      })
    ).text();
    expect(html).toContain('<strong>unknown</strong> (no match)');
    expect(html).not.toContain('hc-0917');
    expect(html).not.toContain('INVALID_SESSION_ID');
  });

  it("the tenant's model drafter writes the draft (OpenAI mocked at the network); at the tenant's quota the offline drafter does, with no model call", async () => {
    let calls = 0;
    server.use(
      http.post(`${LLM}/chat/completions`, () => {
        calls++;
        return HttpResponse.json(
          chatCompletion(
            {
              reply: 'Hi Priya, your Salesforce sync stopped with INVALID_SESSION_ID; please reconnect it.',
              citedFactIds: ['ctx:integrations'],
            },
            { id: 'chatcmpl-play', completionTokens: 100 },
          ),
        );
      }),
    );
    const model = createFallbackDrafter(createOpenAiDrafter({ apiKey: 'sk-play', baseURL: LLM }));
    const before = await rows();
    const html = await (await run(TICKET, { drafter: model })).text();
    expect(calls).toBe(1);
    expect(html).toContain('Drafter: <strong>openai</strong> (gpt-4.1-mini)');
    expect(html).toContain('1000 model tokens');
    expect(html).toContain('your Salesforce sync stopped with INVALID_SESSION_ID');
    expect((await rows()).usage).toBe(before.usage);

    await withTenant(database.db, p.tenantId, (tx) =>
      updateSettings(
        { tenantId: p.tenantId, tx, actor: { type: 'system', name: 'test' } },
        { limits: { modelTokensPerMonth: 0 } },
      ),
    );
    try {
      const capped = await (await run(TICKET, { drafter: model })).text();
      expect(calls).toBe(1);
      expect(capped).toContain('Drafter: <strong>offline</strong>');
      expect(capped).toContain('<small>instead of openai</small>');
      expect(capped).toMatch(/Quota: <strong>reached<\/strong>: the tenant.s monthly model token limit/);
      expect((await rows()).runs.at(-1)).toMatchObject({ quota: 'modelTokensPerMonth', drafter: 'offline' });
    } finally {
      await withTenant(database.db, p.tenantId, (tx) =>
        updateSettings({ tenantId: p.tenantId, tx, actor: { type: 'system', name: 'test' } }, { limits: {} }),
      );
    }
  });

  it('invalid input is 400 with each error beside its field, and nothing is run or audited', async () => {
    const before = await rows();
    outbound.length = 0;
    const res = await run({ subject: 'x'.repeat(301), body: '   ', email: 'not-an-email', brand: '' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toMatch(
      /<textarea id="body"[^>]*aria-describedby="body-hint body-error"[^>]*aria-invalid="true"/,
    );
    expect(html).toContain(
      '<p class="error" id="body-error" role="alert">write the message the requester sent</p>',
    );
    expect(html).toContain(
      '<p class="error" id="email-error" role="alert">an email address (name@example.com), or empty</p>',
    );
    expect(html).toContain('<p class="error" id="subject-error" role="alert">at most 300 characters</p>');
    expect(html).not.toContain('id="result"');
    expect(outbound).toEqual([]);
    expect(await rows()).toEqual(before);
  });

  it('members are refused (a run can spend model tokens), signed out goes to sign in, cross-site posts are refused', async () => {
    const before = await rows();
    expect((await app().request('/admin/playground', { headers: { cookie: member } })).status).toBe(403);
    expect((await run(TICKET, { cookie: member })).status).toBe(403);
    const out = await run(TICKET, { cookie: '' });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/admin');
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } as Record<string, string>,
      { 'sec-fetch-site': 'cross-site' },
    ])
      expect((await run(TICKET, { headers })).status).toBe(403);
    expect(await rows()).toEqual(before);
    const page = await app().request('/admin/playground', { headers: { cookie: admin } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<label for="body">Message</label>');
  });
});
