/**
 * Context loading overhead: how long after the slowest provider answers does `loadContext`
 * return? Target: within 25 ms at p50.
 *
 *   node bench/context-loading.ts [iterations]
 *
 * A) six synthetic providers answering in 100-300 ms (timers): the loader's own overhead.
 * B) the real providers on an in-memory PGlite database with msw answering the network: Zendesk
 *    (two calls, 100-250 ms), catalog (database: catalog, full-text KB search, playbooks), the
 *    tenant Context API (signed, secret opened from the vault, cache disabled, 300 ms), plus
 *    three synthetic providers (100, 200, 280 ms): six providers, 100-300 ms.
 * "Slowest" is the moment the last provider's promise settled, measured by a wrapper.
 */
import { delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { openDatabase } from '../src/db/client.ts';
import { catalogEntries, kbArticles, playbooks, tenantSecrets } from '../src/db/schema/index.ts';
import { withTenant } from '../src/db/tenant.ts';
import { createCatalogProvider } from '../src/pipeline/context/catalog-provider.ts';
import { createContextApiProvider } from '../src/pipeline/context/context-api.ts';
import { type ContextProvider, loadContext, type ProviderInput } from '../src/pipeline/context/loader.ts';
import { createZendeskProvider } from '../src/pipeline/context/zendesk-provider.ts';
import { contextApiSettingsSchema } from '../src/pipeline/settings.ts';
import type { ContextFact } from '../src/pipeline/types.ts';
import { createTenant } from '../src/tenancy/tenants.ts';
import { createVault, generateMasterKey } from '../src/tenancy/vault.ts';
import { createZendeskApi } from '../src/zendesk/api.ts';
import { zendeskResources } from '../src/zendesk/resources.ts';

const iterations = Number(process.argv[2] ?? 40);

function timer(source: string, ms: number): ContextProvider {
  return {
    source,
    load: (_i, signal) =>
      new Promise<ContextFact[]>((resolve, reject) => {
        const t = setTimeout(
          () =>
            resolve([
              {
                id: `${source}:x`,
                source,
                key: 'x',
                value: ms,
                fetchedAt: new Date().toISOString(),
                visibility: 'public',
              },
            ]),
          ms,
        );
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
      }),
  };
}

/** Wraps providers so the moment each one settles is recorded. */
function timed(providers: ContextProvider[]) {
  const settled: number[] = [];
  return {
    settled,
    providers: providers.map<ContextProvider>((p) => ({
      source: p.source,
      load: (input, signal) =>
        p.load(input, signal).finally(() => {
          settled.push(performance.now());
        }),
    })),
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function measure(label: string, make: () => ContextProvider[], input: ProviderInput) {
  const overhead: number[] = [];
  const total: number[] = [];
  let missing = 0;
  for (let i = 0; i < iterations + 3; i++) {
    const t = timed(make());
    const start = performance.now();
    const ctx = await loadContext({ providers: t.providers, input, deadlineMs: 800 });
    const end = performance.now();
    if (i < 3) continue; // warm-up
    missing += ctx.missing.length;
    overhead.push(end - Math.max(...t.settled));
    total.push(end - start);
  }
  const f = (n: number) => n.toFixed(2);
  console.log(
    `${label}: n=${iterations} total p50 ${f(pct(total, 50))} ms; after slowest provider p50 ${f(pct(overhead, 50))} ms, p95 ${f(pct(overhead, 95))} ms, max ${f(Math.max(...overhead))} ms; missing ${missing}`,
  );
}

const baseInput = (tenantId: string): ProviderInput => ({
  tenantId,
  now: new Date('2026-11-20T10:00:00Z'),
  ticket: {
    id: '9001',
    subject: 'Our Zap never fires',
    body: 'We connected Zapier two weeks ago but the zap never triggers when a dashboard alert fires.',
    requester: { id: '501', email: 'maya@bluefin.example', name: 'Maya Ortiz' },
    organization: { id: '601', name: 'Blue Fin Studio', fields: { account_id: 'acc_4411' } },
    brand: 'Northwind',
    recipient: null,
    via: 'email',
    createdAt: null,
  },
  route: {
    level: 'account',
    accountId: 'acc_4411',
    endUserEmail: null,
    endUserId: null,
    reason: 'org_field',
  },
});

// A) synthetic
await measure(
  'A synthetic x6 (100..300 ms)',
  () => [100, 140, 180, 220, 260, 300].map((ms, i) => timer(`p${i}`, ms)),
  baseInput('tn_benchbenchbenchbench'),
);

// B) real providers
const server = setupServer(
  http.get('https://bench.zendesk.com/api/v2/users/501/tickets/requested.json', async () => {
    await delay(150);
    return HttpResponse.json({
      tickets: [{ id: 1, subject: 'old', status: 'solved', created_at: '2026-10-01T00:00:00Z' }],
    });
  }),
  http.get('https://bench.zendesk.com/api/v2/organizations/601/tickets.json', async () => {
    await delay(250);
    return HttpResponse.json({ tickets: [] });
  }),
  http.post('https://ctx.bench.example/copilot', async () => {
    await delay(300);
    return HttpResponse.json({
      facts: [
        { key: 'plan', value: 'starter', visibility: 'account', ttlSeconds: 0 },
        {
          key: 'integrations',
          value: { zapier: { status: 'connected' } },
          visibility: 'account',
          ttlSeconds: 0,
        },
      ],
    });
  }),
);
server.listen({ onUnhandledFrame: 'error' });
const database = await openDatabase({ dataDir: 'memory://' });
await database.migrate();
const vault = createVault([{ version: 1, key: generateMasterKey() }]);
const { id: tenantId } = await createTenant(database.db, {
  name: 'Bench',
  actor: { type: 'cli', name: 'bench' },
});
await withTenant(database.db, tenantId, async (tx) => {
  await tx.insert(tenantSecrets).values({
    tenantId,
    purpose: 'context_api_secret',
    sealed: await vault.seal(tenantId, 'context_api_secret', 'bench-secret'),
  });
  await tx.insert(catalogEntries).values([
    { tenantId, kind: 'plan', key: 'starter', data: { name: 'Starter', monthlyPrice: 99 } },
    { tenantId, kind: 'plan', key: 'enterprise', data: { name: 'Enterprise', monthlyPrice: 4000 } },
    { tenantId, kind: 'feature', key: 'zapier', data: { name: 'Zapier integration', plans: ['enterprise'] } },
    { tenantId, kind: 'link', key: 'trial', data: { url: 'https://app.example/trial?plan=enterprise' } },
    {
      tenantId,
      kind: 'changelog',
      key: 'c1',
      data: { date: '2026-10-02', title: 'Zapier triggers', body: 'x' },
    },
  ]);
  for (let i = 0; i < 200; i++)
    await tx.insert(kbArticles).values({
      tenantId,
      id: `kb-${i}`,
      title: `Article ${i} about ${i % 3 ? 'billing' : 'Zapier triggers'}`,
      body: `Body ${i}: dashboards, alerts, exports and integrations. ${'lorem ipsum '.repeat(40)}`,
    });
  await tx
    .insert(playbooks)
    .values({ tenantId, key: 'pg', whenText: 'feature not in plan', steps: ['Name the plan'] });
});
const api = zendeskResources(
  createZendeskApi({ tenantId, subdomain: 'bench', tokens: { getAccessToken: async () => 'tok' } }),
);
const ctxSettings = contextApiSettingsSchema.parse({
  url: 'https://ctx.bench.example/copilot',
  attemptTimeoutMs: 700,
});
await measure(
  'B real providers (zendesk 150/250 ms, catalog+KB on PGlite, Context API 300 ms) + 3 timers',
  () => [
    createZendeskProvider(api, { recentTickets: 5 }),
    createCatalogProvider({ db: database.db, kbLimit: 3 }),
    createContextApiProvider(
      {
        db: database.db,
        vault,
        now: () => new Date(),
        allowPrivate: false,
        resolver: async () => ['93.184.216.34'],
      },
      ctxSettings,
    ),
    timer('t100', 100),
    timer('t200', 200),
    timer('t280', 280),
  ],
  baseInput(tenantId),
);
server.close();
await database.close();
