import { createHmac, timingSafeEqual } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import { HttpResponse, http, type RequestHandler } from 'msw';
import type { setupServer } from 'msw/node';
import { createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { drafts, jobs, zendeskConnections } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createWorker } from '../../src/jobs/worker.ts';
import { newId, randomToken } from '../../src/lib/ids.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import type { TokenProvider } from '../../src/oauth/token-provider.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/pipeline/context/context-api.ts';
import { DRAFT_LANGUAGES, detectLanguage } from '../../src/pipeline/drafting/language.ts';
import { createOfflineDrafter } from '../../src/pipeline/drafting/offline.ts';
import type { Drafter } from '../../src/pipeline/drafting/types.ts';
import { createTicketHandler, TICKET_JOB_KIND } from '../../src/pipeline/process-ticket.ts';
import {
  replaceCatalog,
  setContextApi,
  syncDirectory,
  updateSettings,
} from '../../src/pipeline/tenant-config.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { createVault, generateMasterKey, type Vault } from '../../src/tenancy/vault.ts';
import {
  signZendeskWebhook,
  ZENDESK_INVOCATION_HEADER,
  ZENDESK_SIGNATURE_HEADER,
  ZENDESK_TIMESTAMP_HEADER,
} from '../../src/zendesk/webhook-verify.ts';
import type { Scenario } from './format.ts';

/**
 * Runs one scenario file end to end: a fresh in-memory database with the tenant, its settings,
 * catalog, playbooks and account directory; msw serving the tenant's Zendesk account and its
 * Context API (exactly the file's account facts, with visibilities); the ticket enqueued as a
 * `zendesk.ticket` job and run by the real worker and pipeline; then the stored draft checked
 * against the file's expectations.
 */
export interface ScenarioResult {
  id: string;
  route: string | null;
  accountId: string | null;
  draft: string | null;
  citations: string[];
  pass: boolean;
  failures: string[];
  /** The drafter that wrote the stored draft (`offline`, `openai`) and the language it is in. */
  drafter?: string | null;
  language?: string | null;
  /** Context sources that did not arrive (from the stored context snapshot). */
  missing?: { source: string; reason: string }[];
  /**
   * Milliseconds: `context` is the loader's total; `zendesk` and `context_api` are the spans from
   * the first request to the last answer that provider's upstream saw (the catalog reads our own
   * database, inside `context`); `total` is webhook to stored draft.
   */
  timings?: Record<string, number>;
}

export interface RunOptions {
  server: ReturnType<typeof setupServer>;
  drafter?: Drafter;
  /** Extra handlers registered before the scenario's own (e.g. an OpenAI mock). */
  handlers?: RequestHandler[];
  /**
   * A migrated database shared by several scenarios, one tenant each (the suite opens one: a
   * PGlite start-up costs seconds, a tenant milliseconds). Without it, the scenario gets a fresh
   * in-memory database of its own.
   */
  database?: Database;
}

/** The Zendesk access token sealed into the scenario's connection; the mock requires it. */
const ZENDESK_TOKEN = 'zd-scenario-access-token';
export const REQUESTER_ID = 9_100_001;
const ORG_ID = 9_200_001;
const BRAND_ID = 9_300_001;

/** A Context API fact for `key` from the file's account, with the visibility the README gives it. */
function contextFacts(s: Scenario, accountId: string, keys: string[], endUserEmail: string | null) {
  const account = s.accounts.find((a) => a.id === accountId);
  if (!account) return [];
  const acc = account as Record<string, unknown>;
  return keys.map((key) => {
    if (key === 'records') {
      const eu = account.endUsers.find((e) => e.email.toLowerCase() === (endUserEmail ?? '').toLowerCase());
      return { key, value: eu ? eu.records : null, visibility: 'end_user' as const, ttlSeconds: 60 };
    }
    const value = key in acc ? acc[key] : null;
    return {
      key,
      value: value === undefined || value === '' ? null : value,
      visibility: 'account' as const,
      ttlSeconds: 60,
    };
  });
}

/** First request and last answer an upstream saw, per provider (performance.now()). */
export type Spans = Record<string, { first: number; last: number }>;

function mark(spans: Spans | undefined, name: string, at: 'first' | 'last') {
  if (!spans) return;
  const now = performance.now();
  const span = spans[name];
  if (!span) spans[name] = { first: now, last: now };
  else if (at === 'last') span.last = now;
}

export function zendeskHandlers(
  s: Scenario,
  notes: { body: string; public: boolean }[],
  spans?: Spans,
): RequestHandler[] {
  const base = `https://${s.tenant.zendeskSubdomain}.zendesk.com`;
  const unauthorized = () => HttpResponse.json({ error: 'invalid_token' }, { status: 401 });
  const authorized = (request: Request) => request.headers.get('authorization') === `Bearer ${ZENDESK_TOKEN}`;
  const t = s.ticket;
  const account = s.accounts.find((a) => a.id === t.organization?.fields[s.tenant.routing.orgField]);
  const recent = (account?.recentTickets ?? [])
    .filter((x): x is Record<string, unknown> => !!x && typeof x === 'object')
    .map((x, i) => ({
      id: typeof x.id === 'number' ? x.id : 8_000_000 + i,
      subject: typeof x.subject === 'string' ? x.subject : null,
      status: typeof x.status === 'string' ? x.status : null,
      created_at: typeof x.createdAt === 'string' ? x.createdAt : null,
    }));
  return [
    http.all(`${base}/*`, ({ request }) => {
      if (request.method === 'GET') mark(spans, 'zendesk', 'first');
      return authorized(request) ? undefined : unauthorized();
    }),
    http.get(`${base}/api/v2/tickets/${t.id}.json`, () =>
      done(spans, {
        ticket: {
          id: t.id,
          subject: t.subject,
          description: t.body,
          requester_id: REQUESTER_ID,
          organization_id: t.organization ? ORG_ID : null,
          brand_id: t.brand ? BRAND_ID : null,
          recipient: t.recipient ?? null,
          via: { channel: t.via ?? 'email' },
          created_at: t.createdAt ?? s.now,
        },
        users: [
          { id: REQUESTER_ID, name: t.requester.name ?? null, email: t.requester.email, role: 'end-user' },
        ],
        organizations: t.organization
          ? [{ id: ORG_ID, name: t.organization.name, organization_fields: t.organization.fields }]
          : [],
      }),
    ),
    http.get(`${base}/api/v2/brands/${BRAND_ID}.json`, () =>
      done(spans, { brand: { id: BRAND_ID, name: t.brand } }),
    ),
    http.get(`${base}/api/v2/users/${REQUESTER_ID}/tickets/requested.json`, () =>
      done(spans, { tickets: [] }),
    ),
    http.get(`${base}/api/v2/organizations/${ORG_ID}/tickets.json`, () => done(spans, { tickets: recent })),
    http.put(`${base}/api/v2/tickets/${t.id}.json`, async ({ request }) => {
      const body = (await request.json()) as { ticket?: { comment?: { body?: string; public?: boolean } } };
      notes.push({ body: body.ticket?.comment?.body ?? '', public: body.ticket?.comment?.public ?? true });
      return HttpResponse.json({ ticket: { id: t.id } });
    }),
    http.get(`${base}/api/v2/tickets/${t.id}/comments.json`, () =>
      HttpResponse.json({ comments: notes.map((n, i) => ({ id: i + 1, body: n.body, public: n.public })) }),
    ),
  ];
}

function done(spans: Spans | undefined, body: Record<string, unknown>) {
  mark(spans, 'zendesk', 'last');
  return HttpResponse.json(body);
}

export function contextApiHandler(
  s: Scenario,
  url: string,
  secret: string,
  calls: { level: string }[],
  spans?: Spans,
): RequestHandler {
  return http.post(url, async ({ request }) => {
    mark(spans, 'context_api', 'first');
    const raw = await request.text();
    const ts = request.headers.get(TIMESTAMP_HEADER) ?? '';
    const sig = request.headers.get(SIGNATURE_HEADER) ?? '';
    const expected = `v1=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
    if (sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(expected)))
      return HttpResponse.json({ error: 'bad signature' }, { status: 401 });
    const body = JSON.parse(raw) as {
      keys: string[];
      account: { id: string };
      endUser: { email: string } | null;
      level: string;
    };
    calls.push({ level: body.level });
    mark(spans, 'context_api', 'last');
    return HttpResponse.json({
      facts: contextFacts(s, body.account.id, body.keys, body.endUser?.email ?? null),
    });
  });
}

/** Creates the scenario tenant with settings, catalog, playbooks, directory and a Zendesk connection. */
export async function seedScenario(
  database: Database,
  vault: Vault,
  s: Scenario,
  contextUrl: string,
  contextSecret: string,
) {
  const { id: tenantId } = await createTenant(database.db, {
    name: s.tenant.name,
    actor: { type: 'cli', name: 'scenario-runner' },
  });
  const connectionId = newId('zc');
  const hookId = randomToken(18);
  const webhookSecret = randomToken(32);
  await withTenant(database.db, tenantId, async (tx) => {
    // The same verbs the admin configuration API uses (src/pipeline/tenant-config.ts).
    const ctx = { tenantId, tx, actor: { type: 'cli', name: 'scenario-runner' } as const };
    // A wide context deadline: whether a draft is right must not depend on the machine's load
    // (the 800 ms default is the product's; the loader's deadline has its own tests).
    await updateSettings(ctx, {
      routing: s.tenant.routing,
      context: { deadlineMs: 15_000, kbLimit: 3, recentTickets: 5 },
    });
    await setContextApi(ctx, vault, { url: contextUrl, secret: contextSecret });
    const c = s.tenant.catalog;
    await replaceCatalog(ctx, {
      plans: c.plans.map((x) => ({ key: x.key, name: x.name, monthlyPrice: x.monthlyPrice ?? null })),
      features: c.features.map((x) => ({ key: x.key, name: x.name, plans: x.plans })),
      links: Object.fromEntries(
        Object.entries(c.links).map(([k, l]) => [
          k,
          typeof l === 'string' ? l : { url: l.url, ...(l.purpose ? { purpose: l.purpose } : {}) },
        ]),
      ),
      kb: c.kb.map((a) => ({ id: a.id, title: a.title, body: a.body })),
      changelog: c.changelog.map((e) => ({ date: e.date, title: e.title, body: e.body })),
      playbooks: s.tenant.playbooks,
    });
    await syncDirectory(ctx, {
      mode: 'replace',
      accounts: s.accounts.map((a) => ({
        id: a.id,
        name: a.name,
        plan: a.plan ?? null,
        domains: a.domains,
        users: a.users.map((u) => ({ email: u.email, name: u.name ?? null, role: u.role ?? null })),
        internalNotes: typeof a.internalNotes === 'string' && a.internalNotes ? a.internalNotes : null,
        endUsers: a.endUsers.map((e) => ({ email: e.email, name: e.name ?? null, records: e.records })),
      })),
    });
    await tx.insert(zendeskConnections).values({
      tenantId,
      id: connectionId,
      subdomain: s.tenant.zendeskSubdomain,
      hookId,
      webhookSecret: await vault.seal(tenantId, 'zendesk_webhook_secret', webhookSecret),
      accessToken: await vault.seal(tenantId, 'zendesk_access_token', ZENDESK_TOKEN),
      accessExpiresAt: new Date(Date.parse(s.now) + 8 * 3600_000),
      status: 'active',
    });
  });
  return { tenantId, connectionId, hookId, webhookSecret };
}

/**
 * A scenario's tenant seeded into `database`, msw answering for its Zendesk account and Context
 * API, and the real `zendesk.ticket` handler. Tests use it to drive the pipeline directly.
 */
export async function setupScenarioPipeline(
  s: Scenario,
  opts: {
    database: Database;
    server: RunOptions['server'];
    drafter?: Drafter;
    handlers?: RequestHandler[];
    spans?: Spans;
  },
) {
  const { database } = opts;
  const now = new Date(s.now);
  const clock = () => new Date(now);
  const vault = createVault([{ version: 1, key: generateMasterKey() }]);
  const logger = createLogger('silent');
  const contextUrl = `https://context-api.${s.tenant.zendeskSubdomain}.example/copilot/context`;
  const contextSecret = randomToken(32);
  const seeded = await seedScenario(database, vault, s, contextUrl, contextSecret);
  const notes: { body: string; public: boolean }[] = [];
  const contextCalls: { level: string }[] = [];
  opts.server.use(
    ...(opts.handlers ?? []),
    ...zendeskHandlers(s, notes, opts.spans),
    contextApiHandler(s, contextUrl, contextSecret, contextCalls, opts.spans),
  );
  // The real token manager: reads and opens the connection's sealed access token.
  const tokens: TokenProvider = createTokenManager({
    db: database.db,
    vault,
    config: parseConfig({ LOG_LEVEL: 'silent' }),
    logger,
    now: clock,
  });
  const deps = {
    database,
    vault,
    tokens,
    drafter: opts.drafter ?? createOfflineDrafter(),
    logger,
    now: clock,
    resolver: async () => ['93.184.216.34'],
  };
  return {
    ...seeded,
    deps,
    handler: createTicketHandler(deps),
    notes,
    contextCalls,
    contextUrl,
    contextSecret,
    now,
    clock,
    vault,
    logger,
    tokens,
  };
}

/**
 * The language a draft must be in when the file does not say: the ticket's, where the offline
 * drafter writes it (en, de, es, fr, pt); otherwise no check (the draft is English and flagged).
 */
function ticketLanguage(s: Scenario): string | null {
  const lang = detectLanguage(`${s.ticket.subject}\n${s.ticket.body}`);
  return lang && (DRAFT_LANGUAGES as readonly string[]).includes(lang) ? lang : null;
}

/** A ticket event as Zendesk's trigger sends it: the body signed with the hook's secret, to its hook. */
export async function postTicketEvent(
  app: { request(path: string, init: RequestInit): Response | Promise<Response> },
  hook: { hookId: string; webhookSecret: string },
  body: { ticket_id: string; event: string; updated_at?: string },
  at: Date,
  invocation = `inv_${randomToken(8)}`,
): Promise<Response> {
  const text = JSON.stringify(body);
  const timestamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return app.request(`/webhooks/zendesk/${hook.hookId}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      [ZENDESK_SIGNATURE_HEADER]: await signZendeskWebhook(hook.webhookSecret, timestamp, text),
      [ZENDESK_TIMESTAMP_HEADER]: timestamp,
      [ZENDESK_INVOCATION_HEADER]: invocation,
    },
    body: text,
  });
}

export async function runScenario(s: Scenario, opts: RunOptions): Promise<ScenarioResult> {
  const failures: string[] = [];
  const own = !opts.database;
  const database = opts.database ?? (await openDatabase({ dataDir: 'memory://' }));
  let tenantId: string | null = null;
  try {
    if (own) await database.migrate();
    const spans: Spans = {};
    const seeded = await setupScenarioPipeline(s, { ...opts, database, spans });
    tenantId = seeded.tenantId;
    const started = performance.now();
    const { now, clock, vault, logger, tokens, handler, notes } = seeded;
    // The ticket arrives as Zendesk sends it: the trigger body, signed with the hook's secret.
    const app = createApp({
      config: parseConfig({ LOG_LEVEL: 'silent', PUBLIC_URL: 'https://copilot.scenario.test' }),
      database,
      vault,
      logger,
      now: clock,
      tokens,
      queue: createJobQueue(),
    });
    const body = { ticket_id: String(s.ticket.id), event: 'ticket_created', updated_at: s.now };
    for (const invocation of [`inv_${randomToken(8)}`, `inv_${randomToken(8)}`]) {
      // Delivered twice (Zendesk may duplicate): one job, one draft, one note.
      const res = await postTicketEvent(app, seeded, body, now, invocation);
      if (res.status !== 200) failures.push(`webhook answered ${res.status}: ${await res.text()}`);
    }
    const worker = createWorker({ database, handlers: { [TICKET_JOB_KIND]: handler }, logger });
    await worker.runUntilIdle({ timeoutMs: 20_000 });

    const { draft, job, jobCount } = await withTenant(database.db, seeded.tenantId, async (tx) => ({
      draft: (
        await tx
          .select()
          .from(drafts)
          .where(eq(drafts.ticketId, String(s.ticket.id)))
      )[0],
      job: (await tx.select().from(jobs))[0],
      jobCount: (await tx.select().from(jobs)).length,
    }));
    if (!draft) {
      failures.push(
        `no draft stored (job ${job?.status ?? 'missing'}: ${job?.lastError ?? 'no error recorded'})`,
      );
      return { id: s.id, route: null, accountId: null, draft: null, citations: [], pass: false, failures };
    }
    if (jobCount !== 1) failures.push(`expected one job for the ticket event, saw ${jobCount}`);
    if (draft.route !== s.expect.route) failures.push(`route ${draft.route}, expected ${s.expect.route}`);
    if (draft.accountId !== s.expect.accountId)
      failures.push(`accountId ${draft.accountId}, expected ${s.expect.accountId}`);
    if (draft.status === 'blocked') failures.push('the leak guard blocked the draft');
    const lower = draft.body.toLowerCase();
    const detected = detectLanguage(draft.body);
    const expectedLanguage = s.expect.language ?? ticketLanguage(s);
    if (expectedLanguage && detected !== expectedLanguage)
      failures.push(`draft language ${detected ?? 'unknown'}, expected ${expectedLanguage}`);
    for (const m of s.expect.draftMentions)
      if (!lower.includes(m.toLowerCase())) failures.push(`draft does not mention "${m}"`);
    for (const m of s.expect.draftMustNotMention)
      if (lower.includes(m.toLowerCase())) failures.push(`draft mentions "${m}"`);
    const internal = notes.filter((n) => n.public === false);
    if (internal.length !== 1 || notes.length !== 1)
      failures.push(
        `expected one internal note on the ticket, saw ${notes.length} (${internal.length} internal)`,
      );
    const snapshot = draft.contextSnapshot as { missing?: ScenarioResult['missing']; elapsedMs?: number };
    const timings: Record<string, number> = { total: Math.round(performance.now() - started) };
    if (typeof snapshot.elapsedMs === 'number') timings.context = snapshot.elapsedMs;
    for (const [name, span] of Object.entries(spans))
      timings[name] = Math.round((span.last - span.first) * 10) / 10;
    return {
      id: s.id,
      route: draft.route,
      accountId: draft.accountId,
      draft: draft.body,
      citations: draft.citations,
      pass: failures.length === 0,
      failures,
      drafter: draft.drafter,
      language: detected,
      missing: snapshot.missing ?? [],
      timings,
    };
  } finally {
    if (own) await database.close();
    else if (tenantId) await retireScenarioTenant(database, tenantId);
  }
}

/**
 * Leaves a shared database ready for the next scenario: the tenant's Zendesk subdomain is freed
 * (subdomains are unique across tenants, and scenario files may reuse one), and any job it left
 * unfinished is ended, so the next scenario's worker (whose mocks serve another Zendesk) never
 * runs it. Its rows stay: later scenarios run beside other tenants' data, as production does.
 */
async function retireScenarioTenant(database: Database, tenantId: string): Promise<void> {
  await withTenant(database.db, tenantId, async (tx) => {
    await tx
      .update(zendeskConnections)
      .set({ subdomain: `retired-${tenantId.toLowerCase()}`, status: 'revoked' })
      .where(eq(zendeskConnections.tenantId, tenantId));
    await tx
      .update(jobs)
      .set({ status: 'dead', lastError: 'scenario finished' })
      .where(and(eq(jobs.tenantId, tenantId), inArray(jobs.status, ['queued', 'running'])));
  });
}
