import { eq } from 'drizzle-orm';
import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slackInstallations } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { AppError } from '../../src/lib/errors.ts';
import { createLogger } from '../../src/lib/logger.ts';
import type { TokenProvider } from '../../src/oauth/token-provider.ts';
import { createSlackBolt } from '../../src/slack/bolt.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { eventEnvelope, signedSlackRequest } from '../helpers/slack-sign.ts';

const SECRET = 'bolt-signing-secret';
const NOW = new Date('2026-11-23T05:00:00Z');
const TS = Math.floor(NOW.getTime() / 1000);
const system = { type: 'system', name: 'test' } as const;

const posted: { auth: string | null; body: Record<string, unknown> }[] = [];
useMsw(
  http.post('https://slack.com/api/chat.postMessage', async ({ request }) => {
    const text = await request.text();
    const body = request.headers.get('content-type')?.includes('json')
      ? (JSON.parse(text) as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(text));
    posted.push({ auth: request.headers.get('authorization'), body });
    return HttpResponse.json({ ok: true, channel: body.channel, ts: '1.2' });
  }),
);

describe.each(backends())('Bolt behind POST /slack/events on %s', (backend) => {
  let database: TestDatabase;
  const vault = testVault();
  let a: string;
  let app: ReturnType<typeof testApp>['app'];
  const seen: { tenantId: unknown; text: unknown; botUserId: unknown }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    a = (await createTenant(database.db, { name: 'A', actor: system })).id;
    const sealed = await vault.seal(a, 'slack_access_token', 'xoxe.xoxb-TAAA-bot');
    await withTenant(database.db, a, (tx) =>
      tx.insert(slackInstallations).values({
        tenantId: a,
        id: 'si_a',
        teamId: 'TAAA',
        botUserId: 'UBOTA',
        botId: 'BBOTA',
        accessToken: sealed,
        // Installed before the (fixed) test clock: a later install would make the event stale.
        updatedAt: new Date('2023-01-01T00:00:00Z'),
      }),
    );
    // A tiny real token provider over the stored sealed token (the token manager is another module).
    const tokens: TokenProvider = {
      async getAccessToken(tenantId) {
        const [row] = await withTenant(database.db, tenantId, (tx) =>
          tx.select().from(slackInstallations).where(eq(slackInstallations.status, 'active')),
        );
        if (!row?.accessToken) throw new AppError('not_found', 'no Slack installation');
        return vault.open(tenantId, 'slack_access_token', row.accessToken);
      },
    };
    const bolt = createSlackBolt({ db: database.db, tokens, logger: createLogger('silent') });
    bolt.app.event('app_mention', async ({ event, context, client }) => {
      seen.push({ tenantId: context.tenantId, text: event.text, botUserId: context.botUserId });
      await client.chat.postMessage({ channel: event.channel, text: 'On it.' });
    });
    app = testApp(database, {
      config: testConfig({ SLACK_SIGNING_SECRET: SECRET }),
      vault,
      now: () => NOW,
      slackBolt: bolt,
    }).app;
  });
  afterAll(() => database?.close());

  it('delivers a verified event to Bolt listeners with the tenant and its bot token', async () => {
    seen.length = 0;
    posted.length = 0;
    const body = JSON.stringify(
      eventEnvelope('TAAA', {
        type: 'app_mention',
        user: 'U1',
        text: '<@UBOTA> help',
        channel: 'C1',
        ts: '1.1',
      }),
    );
    const res = await app.request('/slack/events', signedSlackRequest(SECRET, body, TS));
    expect(res.status).toBe(200);
    expect(seen).toEqual([{ tenantId: a, text: '<@UBOTA> help', botUserId: 'UBOTA' }]);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.auth).toBe('Bearer xoxe.xoxb-TAAA-bot');
    expect(posted[0]?.body.channel).toBe('C1');
  });

  it('never reaches Bolt for an unsigned event or a workspace with no tenant', async () => {
    seen.length = 0;
    const body = JSON.stringify(eventEnvelope('TAAA', { type: 'app_mention', text: 'x', channel: 'C1' }));
    const forged = await app.request('/slack/events', signedSlackRequest('wrong-secret', body, TS));
    expect(forged.status).toBe(401);
    const stranger = JSON.stringify(eventEnvelope('TZZZ', { type: 'app_mention', text: 'x', channel: 'C9' }));
    const res = await app.request('/slack/events', signedSlackRequest(SECRET, stranger, TS));
    expect(res.status).toBe(200);
    expect(seen).toEqual([]);
  });

  it('uninstall events stay with our idempotent handler, then Bolt no longer gets the workspace', async () => {
    seen.length = 0;
    const body = JSON.stringify(eventEnvelope('TAAA', { type: 'app_uninstalled' }, { event_time: TS }));
    expect((await app.request('/slack/events', signedSlackRequest(SECRET, body, TS))).status).toBe(200);
    const [row] = await withTenant(database.db, a, (tx) => tx.select().from(slackInstallations));
    expect(row).toMatchObject({ status: 'revoked', accessToken: null });
    const mention = JSON.stringify(eventEnvelope('TAAA', { type: 'app_mention', text: 'x', channel: 'C1' }));
    expect((await app.request('/slack/events', signedSlackRequest(SECRET, mention, TS))).status).toBe(200);
    expect(seen).toEqual([]);
  });
});
