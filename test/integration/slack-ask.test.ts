import { readFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { HttpResponse, http } from 'msw';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  auditEvents,
  drafts,
  jobs,
  slackInstallations,
  webhookDeliveries,
} from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createWorker } from '../../src/jobs/worker.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { createUpstreamLimiter, UNLIMITED } from '../../src/limits/upstream.ts';
import { processTicketJob } from '../../src/pipeline/process-ticket.ts';
import { updateSettings } from '../../src/pipeline/tenant-config.ts';
import { createActionHandler } from '../../src/slack/actions.ts';
import { createAskHandler, type SlackJobDeps } from '../../src/slack/ask.ts';
import { SLACK_ACTION_JOB_KIND, SLACK_ASK_JOB_KIND } from '../../src/slack/ask-job.ts';
import { createSlackBolt } from '../../src/slack/bolt.ts';
import { registerSlackListeners } from '../../src/slack/listeners.ts';
import { readSlackSettings, updateSlackSettings } from '../../src/slack/settings.ts';
import { postTicketDraftToChannel } from '../../src/slack/ticket-drafts.ts';
import { createSlackWeb } from '../../src/slack/web.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { fakeSlackApi } from '../helpers/msw-slack-api.ts';
import { eventEnvelope, signedSlackRequest } from '../helpers/slack-sign.ts';
import { parseScenario } from '../scenario/format.ts';
import { contextApiHandler, setupScenarioPipeline, zendeskHandlers } from '../scenario/run.ts';

const SECRET = 'slack-ask-signing-secret';
const slack = fakeSlackApi();
const server = useMsw(...slack.handlers);
const scenario = parseScenario(
  readFileSync(new URL('../fixtures/scenarios/domain-routed-integration.json', import.meta.url), 'utf8'),
  'domain-routed-integration',
);
const ZD = `https://${scenario.tenant.zendeskSubdomain}.zendesk.com`;
const LINKED = 'CLINKED01';
const SHARED = 'CSHARED01';
const PLAIN = 'CPLAIN001';
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('Ask in Slack on %s', (backend) => {
  let database: TestDatabase;
  let p: Awaited<ReturnType<typeof setupScenarioPipeline>>;
  let app: ReturnType<typeof testApp>['app'];
  let worker: ReturnType<typeof createWorker>;
  let ts: number;
  let tenantB: string;
  let jobDeps: SlackJobDeps;
  const zendeskUsersSearched: string[] = [];

  const send = (
    path: string,
    body: string,
    extra: { contentType?: string; headers?: Record<string, string> } = {},
  ) => app.request(path, signedSlackRequest(SECRET, body, ts, extra));
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const interaction = (payload: Record<string, unknown>) =>
    send('/slack/interactions', form({ payload: JSON.stringify(payload) }), {
      contentType: 'application/x-www-form-urlencoded',
    });
  const mention = (
    channel: string,
    text: string,
    extra: Record<string, unknown> = {},
    event: Record<string, unknown> = {},
  ) =>
    eventEnvelope(
      'TAAA',
      {
        type: 'app_mention',
        user: 'UREP',
        user_team: 'TAAA',
        text: `<@UBOTA> ${text}`,
        channel,
        ts: `1700000000.${Math.floor(Math.random() * 1e6)}`,
        ...event,
      },
      extra,
    );
  const ofTenant = async (tenantId: string) =>
    withTenant(database.db, tenantId, async (tx) => ({
      drafts: await tx.select().from(drafts),
      jobs: await tx.select().from(jobs),
    }));

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    p = await setupScenarioPipeline(scenario, { database, server });
    ts = Math.floor(p.now.getTime() / 1000);
    const installed = new Date(p.now.getTime() - 86_400_000);
    const sealed = await p.vault.seal(p.tenantId, 'slack_access_token', 'xoxb-tenant-a');
    await withTenant(database.db, p.tenantId, async (tx) => {
      await tx.insert(slackInstallations).values({
        tenantId: p.tenantId,
        id: 'si_a',
        teamId: 'TAAA',
        botUserId: 'UBOTA',
        botId: 'BBOTA',
        accessToken: sealed,
        updatedAt: installed,
      });
      await updateSlackSettings(tx, p.tenantId, (s) => ({
        ...s,
        channels: { [LINKED]: 'hc-0917', [SHARED]: 'hc-0917' },
      }));
    });
    // Two more accounts claiming one domain: "twins.example" is ambiguous.
    await withTenant(database.db, p.tenantId, async (tx) => {
      const { accounts } = await import('../../src/db/schema/index.ts');
      await tx.insert(accounts).values([
        { tenantId: p.tenantId, id: 'tw-1', name: 'Twin One', domains: ['twins.example'] },
        { tenantId: p.tenantId, id: 'tw-2', name: 'Twin Two', domains: ['twins.example'] },
      ]);
    });
    tenantB = (await createTenant(database.db, { name: 'B', actor: system })).id;
    const sealedB = await p.vault.seal(tenantB, 'slack_access_token', 'xoxb-tenant-b');
    await withTenant(database.db, tenantB, (tx) =>
      tx.insert(slackInstallations).values({
        tenantId: tenantB,
        id: 'si_b',
        teamId: 'TBBB',
        botUserId: 'UBOTB',
        botId: 'BBOTB',
        accessToken: sealedB,
        updatedAt: installed,
      }),
    );

    const queue = createJobQueue();
    const logger = createLogger('silent');
    const limiter = UNLIMITED;
    jobDeps = { ...p.deps, limiter, queue, publicUrl: 'https://copilot.test' };
    worker = createWorker({
      database,
      logger,
      now: p.clock,
      handlers: {
        [SLACK_ASK_JOB_KIND]: createAskHandler(jobDeps),
        [SLACK_ACTION_JOB_KIND]: createActionHandler(jobDeps),
      },
    });
    const bolt = createSlackBolt({ db: database.db, tokens: p.tokens, logger });
    registerSlackListeners(bolt.app, { database, queue });
    app = testApp(database, {
      config: testConfig({ SLACK_SIGNING_SECRET: SECRET }),
      vault: p.vault,
      now: p.clock,
      tokens: p.tokens,
      queue,
      drafter: p.deps.drafter,
      slackBolt: bolt,
      slackLimiter: limiter,
    }).app;
  });
  afterAll(() => database?.close());
  beforeEach(() => {
    slack.reset();
    slack.users.clear();
    slack.sharedChannels.clear();
    slack.sharedChannels.add(SHARED);
    slack.users.set('UREP', {
      id: 'UREP',
      team_id: 'TAAA',
      email: 'rep@helio.example',
      is_email_confirmed: true,
    });
    slack.users.set('UAGENT', {
      id: 'UAGENT',
      team_id: 'TAAA',
      email: 'agent@helio.example',
      is_email_confirmed: true,
      is_admin: true,
    });
    zendeskUsersSearched.length = 0;
    // The fake Zendesk and Context API of the scenario (msw resets handlers after every test).
    server.use(
      ...zendeskHandlers(scenario, p.notes),
      contextApiHandler(scenario, p.contextUrl, p.contextSecret, p.contextCalls),
    );
    server.use(
      http.get(`${ZD}/api/v2/users/search.json`, ({ request }) => {
        const q = new URL(request.url).searchParams.get('query') ?? '';
        zendeskUsersSearched.push(q);
        const users =
          q === 'email:agent@helio.example'
            ? [{ id: 777, email: 'agent@helio.example', role: 'agent', active: true }]
            : [];
        return HttpResponse.json({ users });
      }),
      http.get(`${ZD}/api/v2/users/777.json`, () =>
        HttpResponse.json({
          user: { id: 777, name: 'Ada Agent', email: 'agent@helio.example', role: 'agent' },
        }),
      ),
    );
  });

  it('a mention in a linked channel is acked at once, then streamed into its thread with task updates whose sources are the citations', async () => {
    const env = mention(LINKED, 'why is salesforce not syncing?');
    const res = await send('/slack/events', JSON.stringify(env));
    expect(res.status).toBe(200);
    // Ack first: nothing was posted yet, one job is queued.
    expect(slack.calls).toEqual([]);
    await worker.runUntilIdle({ timeoutMs: 20_000 });

    const [start] = slack.of('chat.startStream');
    expect(start?.auth).toBe('Bearer xoxb-tenant-a');
    const event = env.event as { ts: string };
    expect(start?.args).toMatchObject({
      channel: LINKED,
      thread_ts: event.ts,
      recipient_user_id: 'UREP',
      recipient_team_id: 'TAAA',
    });
    const appends = slack.of('chat.appendStream');
    const tasks = appends.flatMap((c) =>
      (c.args.chunks as { type: string }[]).filter((x) => x.type === 'task_update'),
    ) as unknown as {
      status: string;
      sources?: { type: string; url: string; text: string }[];
    }[];
    const sources = tasks.flatMap((t) => t.sources ?? []).map((s) => s.text);
    const { drafts: ds } = await ofTenant(p.tenantId);
    const d = ds.find((x) => x.source === 'slack' && x.accountId === 'hc-0917');
    expect(d?.route).toBe('account');
    expect(d?.citations.length).toBeGreaterThan(0);
    expect(sources.sort()).toEqual([...d!.citations].sort());
    const text = appends.flatMap((c) =>
      (c.args.chunks as { type: string; text?: string }[]).filter((x) => x.type === 'markdown_text'),
    );
    expect(text.map((x) => x.text).join('')).toContain('INVALID_SESSION_ID');
    const [stop] = slack.of('chat.stopStream');
    expect(stop?.args.ts).toBeTruthy();
    expect(appends.every((c) => c.args.ts === stop?.args.ts)).toBe(true);
    const stopBlocks = JSON.stringify(stop?.args.blocks);
    expect(stopBlocks).toContain('Sources:');
    expect(stopBlocks).toContain('draft_regenerate');
    expect(slack.of('chat.postMessage')).toEqual([]);
  });

  it('a duplicate delivery with retry headers gives one job and one answer', async () => {
    const body = JSON.stringify(mention(LINKED, 'is salesforce down?'));
    expect((await send('/slack/events', body)).status).toBe(200);
    expect(
      (
        await send('/slack/events', body, {
          headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
        })
      ).status,
    ).toBe(200);
    const eventId = (JSON.parse(body) as { event_id: string }).event_id;
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    const rows = await withTenant(database.db, p.tenantId, (tx) =>
      tx
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.invocationId, `slack:${eventId}`)),
    );
    expect(rows).toHaveLength(1);
    const { jobs: js } = await ofTenant(p.tenantId);
    expect(js.filter((j) => j.dedupeKey === `slack.ask:${eventId}`)).toHaveLength(1);
    expect(slack.of('chat.startStream')).toHaveLength(1);
    expect(slack.of('chat.stopStream')).toHaveLength(1);
  });

  it('Send posts exactly one public reply as the mapped agent; a second press sends nothing more; the message shows who and when', async () => {
    const env = mention(PLAIN, `please draft a reply to ${ZD}/agent/tickets/${scenario.ticket.id}`);
    await send('/slack/events', JSON.stringify(env));
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    const { drafts: ds } = await ofTenant(p.tenantId);
    const d = ds.find((x) => x.ticketId === String(scenario.ticket.id) && x.source === 'slack');
    expect(d).toMatchObject({ status: 'pending', route: 'account', accountId: 'hc-0917' });
    const stop = slack.of('chat.stopStream')[0]!;
    expect(JSON.stringify(stop.args.blocks)).toContain('draft_send');
    const before = p.notes.filter((n) => n.public).length;
    const press = (actionTs: string) =>
      interaction({
        type: 'block_actions',
        team: { id: 'TAAA' },
        user: { id: 'UAGENT', team_id: 'TAAA' },
        channel: { id: PLAIN },
        message: { ts: stop.args.ts },
        trigger_id: `trig-${actionTs}`,
        actions: [{ action_id: 'draft_send', block_id: `draft:${d!.id}`, value: d!.id, action_ts: actionTs }],
      });
    expect((await press('1700000200.1')).status).toBe(200);
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    // A second press (a double click, or another agent) finds the draft sent.
    expect((await press('1700000200.2')).status).toBe(200);
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    const replies = p.notes.filter((n) => n.public);
    expect(replies).toHaveLength(before + 1);
    expect(replies.at(-1)!.body).toBe(d!.body);
    expect(zendeskUsersSearched).toContain('email:agent@helio.example');
    const [row] = await withTenant(database.db, p.tenantId, (tx) =>
      tx.select().from(drafts).where(eq(drafts.id, d!.id)),
    );
    expect(row?.status).toBe('sent');
    const updates = slack.of('chat.update');
    expect(updates).toHaveLength(1);
    expect(JSON.stringify(updates[0]!.args.blocks)).toContain(
      `Sent to ticket #${scenario.ticket.id} by <@UAGENT>`,
    );
  });

  it('Edit opens a modal with the draft; saving stores the edited text, audits it and updates the message', async () => {
    const env = mention(PLAIN, `please draft a reply to ${ZD}/agent/tickets/${scenario.ticket.id}`);
    await send('/slack/events', JSON.stringify(env));
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    const stop = slack.of('chat.stopStream').at(-1)!;
    const d = (await ofTenant(p.tenantId)).drafts.find(
      (x) =>
        x.source === 'slack' && x.status === 'pending' && JSON.stringify(stop.args.blocks).includes(x.id),
    )!;
    const press = await interaction({
      type: 'block_actions',
      team: { id: 'TAAA' },
      user: { id: 'UREP', team_id: 'TAAA' },
      channel: { id: PLAIN },
      message: { ts: stop.args.ts },
      trigger_id: 'trig-edit-1',
      actions: [
        { action_id: 'draft_edit', block_id: `draft:${d.id}`, value: d.id, action_ts: '1700000300.1' },
      ],
    });
    expect(press.status).toBe(200);
    const [opened] = slack.of('views.open');
    expect(opened!.args.trigger_id).toBe('trig-edit-1');
    const view = opened!.args.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe('draft_edit_modal');
    expect(JSON.stringify(view)).toContain(JSON.stringify(d.body.slice(0, 40)).slice(1, -1));
    const submit = (body: string, user = 'UREP', team = 'TAAA') =>
      interaction({
        type: 'view_submission',
        team: { id: 'TAAA' },
        user: { id: user, team_id: team },
        view: {
          callback_id: 'draft_edit_modal',
          private_metadata: view.private_metadata,
          state: { values: { body: { body: { type: 'plain_text_input', value: body } } } },
        },
      });
    // An empty reply is an inline error; a user of another workspace cannot edit; nothing changes.
    expect(await (await submit('   ')).json()).toMatchObject({ response_action: 'errors' });
    expect(await (await submit('Hijacked.', 'UEXT', 'TEXT')).json()).toMatchObject({
      response_action: 'errors',
    });
    const unchanged = await withTenant(database.db, p.tenantId, (tx) =>
      tx.select().from(drafts).where(eq(drafts.id, d.id)),
    );
    expect(unchanged[0]!.body).toBe(d.body);
    const edited = 'Hi Lena, the Zapier trigger is paused on your plan; re-enable it under Integrations.';
    expect((await submit(edited)).status).toBe(200);
    const [row] = await withTenant(database.db, p.tenantId, (tx) =>
      tx.select().from(drafts).where(eq(drafts.id, d.id)),
    );
    expect(row).toMatchObject({ body: edited, status: 'pending' });
    const update = slack.of('chat.update').at(-1)!;
    expect(update.args).toMatchObject({ channel: PLAIN, ts: stop.args.ts, text: edited });
    expect(JSON.stringify(update.args.blocks)).toContain('draft_send');
    const events = await withTenant(database.db, p.tenantId, async (tx) =>
      (await tx.select().from(auditEvents)).filter((e) => e.action === 'draft.edited' && e.target === d.id),
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.actor).toMatchObject({ type: 'slack_user', userId: 'UREP' });
  });

  it("a Slack question at the tenant's daily draft limit is still answered, and the limit is audited", async () => {
    const set = (limits: Record<string, number>) =>
      withTenant(database.db, p.tenantId, (tx) =>
        updateSettings({ tenantId: p.tenantId, tx, actor: system }, { limits }),
      );
    await set({ draftsPerDay: 0 });
    try {
      await send(
        '/slack/events',
        JSON.stringify(mention(PLAIN, 'why is Zapier not firing for kestrelfreight.example?')),
      );
      await worker.runUntilIdle({ timeoutMs: 20_000 });
      const stop = slack.of('chat.stopStream').at(-1)!;
      const { drafts: ds } = await ofTenant(p.tenantId);
      const d = ds.find((x) => x.source === 'slack' && JSON.stringify(stop.args.blocks).includes(x.id))!;
      expect(d).toBeDefined();
      const events = await withTenant(database.db, p.tenantId, (tx) => tx.select().from(auditEvents));
      expect(events.find((e) => e.action === 'quota.enforced' && e.target === d.id)).toMatchObject({
        detail: { limit: 'draftsPerDay', value: 0 },
      });
    } finally {
      await set({});
    }
  });

  it('Regenerate asks the same question again as a new draft in the thread; the first draft stays as it was', async () => {
    const env = mention(PLAIN, 'why is Zapier not firing for kestrelfreight.example?');
    await send('/slack/events', JSON.stringify(env));
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    const before = (await ofTenant(p.tenantId)).drafts.filter((x) => x.source === 'slack');
    const stop = slack.of('chat.stopStream').at(-1)!;
    const first = before.find((x) => JSON.stringify(stop.args.blocks).includes(x.id))!;
    const starts = slack.of('chat.startStream').length;
    const press = (actionTs: string) =>
      interaction({
        type: 'block_actions',
        team: { id: 'TAAA' },
        user: { id: 'UREP', team_id: 'TAAA' },
        channel: { id: PLAIN },
        message: { ts: stop.args.ts },
        actions: [
          {
            action_id: 'draft_regenerate',
            block_id: `draft:${first.id}`,
            value: first.id,
            action_ts: actionTs,
          },
        ],
      });
    expect((await press('1700000400.1')).status).toBe(200);
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    const after = (await ofTenant(p.tenantId)).drafts.filter((x) => x.source === 'slack');
    expect(after).toHaveLength(before.length + 1);
    const fresh = after.find((x) => !before.some((b) => b.id === x.id))!;
    expect(fresh).toMatchObject({ accountId: first.accountId, route: first.route, status: 'pending' });
    expect(after.find((x) => x.id === first.id)).toMatchObject({ body: first.body, status: first.status });
    // Answered again in the same thread.
    const newStarts = slack.of('chat.startStream').slice(starts);
    expect(newStarts).toHaveLength(1);
    expect(newStarts[0]!.args.thread_ts).toBe(slack.of('chat.startStream')[starts - 1]!.args.thread_ts);
  });

  it('a Slack user with no Zendesk agent gets an ephemeral refusal and nothing is sent', async () => {
    const env = mention(PLAIN, `reply to ticket #${scenario.ticket.id}`);
    await send('/slack/events', JSON.stringify(env));
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    const stop = slack.of('chat.stopStream')[0]!;
    const draftId = JSON.stringify(stop.args.blocks).match(/"value":"(dr_[^"]+)"/)![1]!;
    const before = p.notes.filter((n) => n.public).length;
    await interaction({
      type: 'block_actions',
      team: { id: 'TAAA' },
      user: { id: 'UREP', team_id: 'TAAA' },
      channel: { id: PLAIN },
      message: { ts: stop.args.ts },
      actions: [{ action_id: 'draft_send', value: draftId, action_ts: '1700000300.1' }],
    });
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    expect(p.notes.filter((n) => n.public)).toHaveLength(before);
    const eph = slack.of('chat.postEphemeral');
    expect(eph).toHaveLength(1);
    expect(eph[0]!.args).toMatchObject({ channel: PLAIN, user: 'UREP' });
    expect(String(eph[0]!.args.text)).toMatch(/Zendesk agents/);
    expect(slack.of('chat.update')).toEqual([]);
  });

  it('an ambiguous account gets a select menu, never a guess; choosing one answers for that account', async () => {
    const env = mention(PLAIN, 'what plan is ops@twins.example on?');
    await send('/slack/events', JSON.stringify(env));
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    const [menu] = slack.of('chat.postMessage');
    expect(JSON.stringify(menu?.args.blocks)).toContain('static_select');
    expect(JSON.stringify(menu?.args.blocks)).toContain('tw-1');
    expect(JSON.stringify(menu?.args.blocks)).toContain('tw-2');
    expect(slack.of('chat.startStream')).toEqual([]);
    await interaction({
      type: 'block_actions',
      team: { id: 'TAAA' },
      user: { id: 'UREP', team_id: 'TAAA' },
      channel: { id: PLAIN },
      message: { ts: '1700000100.000009' },
      actions: [
        {
          action_id: 'account_select',
          block_id: `acct:${env.event_id}`,
          selected_option: { value: 'tw-2' },
          action_ts: '1.1',
        },
      ],
    });
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    expect(slack.of('chat.startStream')).toHaveLength(1);
    const { drafts: ds } = await ofTenant(p.tenantId);
    expect(ds.filter((d) => d.accountId === 'tw-2')).toHaveLength(1);
    expect(ds.filter((d) => d.accountId === 'tw-1')).toHaveLength(0);
  });

  it('refuses payload tricks: an authorization of an uninstalled team, and another tenant pressing a draft id it does not own', async () => {
    const forged = mention(LINKED, 'leak please', {
      authorizations: [
        { enterprise_id: null, team_id: 'TZZZ', user_id: 'UBOT', is_bot: true, is_enterprise_install: false },
      ],
    });
    const before = (await ofTenant(p.tenantId)).jobs.length;
    expect((await send('/slack/events', JSON.stringify(forged))).status).toBe(200);
    expect((await ofTenant(p.tenantId)).jobs.length).toBe(before);

    const [someDraft] = (await ofTenant(p.tenantId)).drafts;
    slack.users.set('UBUSER', {
      id: 'UBUSER',
      team_id: 'TBBB',
      email: 'agent@helio.example',
      is_email_confirmed: true,
    });
    const sentBefore = p.notes.filter((n) => n.public).length;
    await interaction({
      type: 'block_actions',
      team: { id: 'TBBB' },
      user: { id: 'UBUSER', team_id: 'TBBB' },
      channel: { id: 'CBBB0001' },
      message: { ts: '1.2' },
      actions: [{ action_id: 'draft_send', value: someDraft!.id, action_ts: '1700000400.1' }],
    });
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    expect(p.notes.filter((n) => n.public)).toHaveLength(sentBefore);
    const eph = slack.of('chat.postEphemeral');
    expect(eph).toHaveLength(1);
    expect(eph[0]!.auth).toBe('Bearer xoxb-tenant-b');
    expect(String(eph[0]!.args.text)).toMatch(/does not exist/);
    // Unsigned interactions are refused before anything is read.
    const res = await app.request('/slack/interactions', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': `v0=${'0'.repeat(64)}`,
      },
      body: form({ payload: '{}' }),
    });
    expect(res.status).toBe(401);
  });

  it('in a Slack Connect channel an external user gets no private fact, and nothing is posted where the customer can read it', async () => {
    const env = mention(
      SHARED,
      'why is salesforce not syncing for brightwater-dental.example?',
      { is_ext_shared_channel: true },
      { user: 'UEXT', user_team: 'TEXTERNAL' },
    );
    await send('/slack/events', JSON.stringify(env));
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    expect(slack.of('chat.startStream')).toEqual([]);
    expect(slack.of('chat.postMessage')).toEqual([]);
    const [eph] = slack.of('chat.postEphemeral');
    expect(eph?.args).toMatchObject({ channel: SHARED, user: 'UEXT' });
    const shown = JSON.stringify(eph?.args);
    for (const secret of ['INVALID_SESSION_ID', 'Priya', 'hc-0917', 'Escalated', 'Team plan'])
      expect(shown).not.toContain(secret);
    const { drafts: ds } = await ofTenant(p.tenantId);
    const d = ds.find((x) => shown.includes(x.id));
    expect(d).toMatchObject({ route: 'unknown', accountId: null });
    expect(
      (d!.contextSnapshot.facts as { visibility: string }[]).every((f) => f.visibility === 'public'),
    ).toBe(true);
  });

  it('a Slack Connect draft for an internal rep goes to the triage channel when one is set', async () => {
    await withTenant(database.db, p.tenantId, (tx) =>
      updateSlackSettings(tx, p.tenantId, (s) => ({ ...s, triageChannel: 'CTRIAGE01' })),
    );
    await send(
      '/slack/events',
      JSON.stringify(mention(SHARED, 'is salesforce failing?', { is_ext_shared_channel: true })),
    );
    await worker.runUntilIdle({ timeoutMs: 20_000 });
    await withTenant(database.db, p.tenantId, (tx) =>
      updateSlackSettings(tx, p.tenantId, ({ triageChannel: _t, ...s }) => s),
    );
    const posts = slack.of('chat.postMessage');
    expect(posts.map((c) => c.args.channel)).toEqual(['CTRIAGE01']);
    expect(slack.of('chat.startStream')).toEqual([]);
  });

  it('/copilot link: admins only; links the channel to exactly one account', async () => {
    const cmd = (user: string, text: string) =>
      send(
        '/slack/commands',
        form({ command: '/copilot', text, team_id: 'TAAA', user_id: user, channel_id: 'CNEW0001' }),
        {
          contentType: 'application/x-www-form-urlencoded',
        },
      );
    const refused = await cmd('UREP', 'link kestrelfreight.example');
    expect(((await refused.json()) as { text: string }).text).toMatch(/Only workspace admins/);
    const ambiguous = await cmd('UAGENT', 'link twins.example');
    expect(((await ambiguous.json()) as { text: string }).text).toMatch(/Several accounts/);
    const ok = await cmd('UAGENT', 'link kestrelfreight.example');
    expect(((await ok.json()) as { text: string }).text).toMatch(/hc-0420/);
    const s = await withTenant(database.db, p.tenantId, (tx) => readSlackSettings(tx));
    expect(s.channels.CNEW0001).toBe('hc-0420');
  });

  it('a new ticket draft for a linked account is posted to its channel as a thread with buttons, once', async () => {
    const job = (attempt: number) => ({
      tenantId: p.tenantId,
      jobId: `job_ticket_${attempt}`,
      kind: 'zendesk.ticket',
      attempt,
      signal: new AbortController().signal,
      payload: {
        connectionId: p.connectionId,
        ticketId: String(scenario.ticket.id),
        event: 'ticket_created',
        invocationId: 'inv-slack-1',
        eventKey: `${scenario.ticket.id}:ticket_created`,
      },
    });
    const deps = {
      ...p.deps,
      afterDraft: async (a: { tenantId: string; draftId: string }) =>
        void (await postTicketDraftToChannel(jobDeps, a)),
    };
    const first = await processTicketJob(deps, job(1));
    await processTicketJob(deps, job(2));
    const posts = slack.of('chat.postMessage');
    expect(posts).toHaveLength(2);
    expect(posts[0]!.args).toMatchObject({ channel: LINKED });
    expect(String(posts[0]!.args.text)).toContain(`#${scenario.ticket.id}`);
    expect(posts[1]!.args.channel).toBe(LINKED);
    expect(posts[1]!.args.thread_ts).toBeTruthy();
    const blocks = JSON.stringify(posts[1]!.args.blocks);
    expect(blocks).toContain(first.draftId);
    expect(blocks).toContain('draft_send');
  });

  it('a 429 with Retry-After pauses that tenant only', async () => {
    const limiter = createUpstreamLimiter({ db: database.db });
    const a = createSlackWeb({ tenantId: p.tenantId, token: 'xoxb-tenant-a', limiter });
    const b = createSlackWeb({ tenantId: tenantB, token: 'xoxb-tenant-b', limiter });
    slack.failNext.set('chat.postMessage', { status: 429, headers: { 'retry-after': '30' } });
    await expect(a.call('chat.postMessage', { channel: 'C1', text: 'x' })).rejects.toMatchObject({
      code: 'rate_limited',
      retryable: true,
    });
    await expect(a.call('chat.postMessage', { channel: 'C2', text: 'x' })).rejects.toMatchObject({
      code: 'rate_limited',
    });
    await expect(b.call('chat.postMessage', { channel: 'C1', text: 'y' })).resolves.toMatchObject({
      ok: true,
    });
    expect(slack.of('chat.postMessage').map((c) => c.auth)).toEqual([
      'Bearer xoxb-tenant-a',
      'Bearer xoxb-tenant-b',
    ]);
  });
});
