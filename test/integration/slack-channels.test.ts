import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accounts, auditEvents, slackInstallations } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createJobQueue } from '../../src/jobs/queue.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { UNLIMITED } from '../../src/limits/upstream.ts';
import { createTokenManager } from '../../src/oauth/token-manager.ts';
import { createOfflineDrafter } from '../../src/pipeline/drafting/offline.ts';
import { resolveAccountEvidence } from '../../src/slack/resolve-account.ts';
import { readSlackSettings, updateSlackSettings } from '../../src/slack/settings.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { useMsw } from '../helpers/msw.ts';
import { fakeSlackApi } from '../helpers/msw-slack-api.ts';
import { signedSlackRequest } from '../helpers/slack-sign.ts';

/**
 * Linking a Slack channel to an account from the console page (/admin/slack/channels) and from
 * the "Link channel to account" global shortcut: the same verbs as `/copilot link`, admins only,
 * refused input changes nothing, every change audited.
 */
const SECRET = 'slack-channels-signing-secret';
const ORIGIN = 'https://copilot.test';
const slack = fakeSlackApi();
useMsw(...slack.handlers);
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('Slack channel links on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  let otherAdmin: string;
  let app: ReturnType<typeof testApp>['app'];
  const vault = testVault();

  const settingsOf = (t: string) => withTenant(database.db, t, (tx) => readSlackSettings(tx));
  const auditOf = (t: string) =>
    withTenant(database.db, t, async (tx) =>
      (await tx.select().from(auditEvents)).filter((e) => e.action.startsWith('slack.channel_')),
    );
  const page = (cookie?: string, query = '') =>
    app.request(`/admin/slack/channels${query}`, { headers: cookie ? { cookie } : {} });
  const post = (path: string, fields: Record<string, string>, cookie: string, origin = ORIGIN) =>
    app.request(path, {
      method: 'POST',
      headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  const interaction = (payload: Record<string, unknown>) =>
    app.request(
      '/slack/interactions',
      signedSlackRequest(
        SECRET,
        new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
        Math.floor(Date.now() / 1000),
        { contentType: 'application/x-www-form-urlencoded' },
      ),
    );

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'Other', actor: system })).id;
    const sealed = await vault.seal(tenantId, 'slack_access_token', 'xoxb-channels');
    await withTenant(database.db, tenantId, async (tx) => {
      await tx.insert(slackInstallations).values({
        tenantId,
        id: 'si_links',
        teamId: 'TLNK',
        botUserId: 'UBOT',
        accessToken: sealed,
      });
      await tx.insert(accounts).values([
        { tenantId, id: 'acc-kestrel', name: 'Kestrel Freight', domains: ['kestrel.example'] },
        { tenantId, id: 'tw-1', name: 'Twin One', domains: ['twins.example'] },
        { tenantId, id: 'tw-2', name: 'Twin Two', domains: ['twins.example'] },
      ]);
    });
    const session = (t: string, userId: string, role: 'admin' | 'member') =>
      createSession(database.db, { tenantId: t, userId, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session(tenantId, 'UADMIN', 'admin');
    member = await session(tenantId, 'UMEMBER', 'member');
    otherAdmin = await session(otherTenant, 'UOTHER', 'admin');
    const logger = createLogger('silent');
    const config = testConfig({ SLACK_SIGNING_SECRET: SECRET });
    app = testApp(database, {
      config,
      vault,
      tokens: createTokenManager({ db: database.db, vault, config, logger }),
      queue: createJobQueue(),
      drafter: createOfflineDrafter(),
      slackLimiter: UNLIMITED,
    }).app;
  });
  afterAll(() => database?.close());
  beforeEach(async () => {
    slack.reset();
    slack.users.clear();
    slack.users.set('UADMIN', { id: 'UADMIN', team_id: 'TLNK', is_admin: true });
    slack.users.set('UREP', { id: 'UREP', team_id: 'TLNK' });
    slack.channels.clear();
    slack.channels.set('CSUPPORT1', 'support-kestrel');
    slack.channels.set('GPRIVATE1', 'vip-escalations');
    await withTenant(database.db, tenantId, (tx) =>
      updateSlackSettings(tx, tenantId, (s) => ({ ...s, channels: {} })),
    );
  });

  it('signed out is sent to sign in; another tenant sees none of these links', async () => {
    const out = await page();
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/admin');
    await post('/admin/slack/channels/link', { channel: 'CSUPPORT1', account: 'acc-kestrel' }, admin);
    const other = await page(otherAdmin);
    expect(other.status).toBe(200);
    const html = await other.text();
    expect(html).toContain('No channel is linked yet');
    expect(html).not.toContain('acc-kestrel');
  });

  it("an admin picks a channel from the workspace's list and links it; the link is audited and shown", async () => {
    const before = await page(admin);
    const html = await before.text();
    expect(before.status).toBe(200);
    expect(slack.of('conversations.list')).toHaveLength(1);
    expect(html).toContain('<option value="CSUPPORT1">#support-kestrel</option>');
    expect(html).toContain('vip-escalations');
    const res = await post(
      '/admin/slack/channels/link',
      { channel: 'CSUPPORT1', account: 'kestrel.example' },
      admin,
    );
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/admin/slack/channels?linked=CSUPPORT1');
    expect((await settingsOf(tenantId)).channels).toEqual({ CSUPPORT1: 'acc-kestrel' });
    const events = await auditOf(tenantId);
    expect(events.at(-1)).toMatchObject({
      action: 'slack.channel_linked',
      target: 'CSUPPORT1',
      outcome: 'success',
      detail: { accountId: 'acc-kestrel' },
    });
    const after = await (await page(admin, '?linked=CSUPPORT1')).text();
    expect(after).toContain('Channel CSUPPORT1 is linked.');
    expect(after).toContain('Kestrel Freight');
    expect(after).toContain('Unlink');
  });

  it('an ambiguous or unknown account is refused beside the field, and nothing changes', async () => {
    const auditBefore = (await auditOf(tenantId)).length;
    const ambiguous = await post(
      '/admin/slack/channels/link',
      { channel: 'CSUPPORT1', account: 'twins.example' },
      admin,
    );
    expect(ambiguous.status).toBe(400);
    const html = await ambiguous.text();
    expect(html).toMatch(/id="link-account-error" role="alert">Several accounts match \(tw-1, tw-2\)/);
    // The form keeps what was typed.
    expect(html).toContain('value="twins.example"');
    const unknown = await post(
      '/admin/slack/channels/link',
      { channel: 'CSUPPORT1', account: 'Kestrel' },
      admin,
    );
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('No account matches exactly');
    const badChannel = await post(
      '/admin/slack/channels/link',
      { channel: 'D0DIRECT', account: 'acc-kestrel' },
      admin,
    );
    expect(badChannel.status).toBe(400);
    expect(await badChannel.text()).toMatch(
      /id="link-channel-error" role="alert">Choose a public or private channel/,
    );
    expect((await settingsOf(tenantId)).channels).toEqual({});
    expect(await auditOf(tenantId)).toHaveLength(auditBefore);
  });

  it('members see the links but cannot change them; a cross-site post is refused; nothing changes', async () => {
    await post('/admin/slack/channels/link', { channel: 'CSUPPORT1', account: 'acc-kestrel' }, admin);
    const view = await (await page(member)).text();
    expect(view).toContain('acc-kestrel');
    expect(view).not.toContain('action="/admin/slack/channels/link"');
    expect(view).not.toContain('Unlink');
    const byMember = await post('/admin/slack/channels/unlink', { channel: 'CSUPPORT1' }, member);
    expect(byMember.status).toBe(403);
    const crossSite = await post(
      '/admin/slack/channels/link',
      { channel: 'GPRIVATE1', account: 'acc-kestrel' },
      admin,
      'https://evil.example',
    );
    expect(crossSite.status).toBe(403);
    const byOtherTenant = await post('/admin/slack/channels/unlink', { channel: 'CSUPPORT1' }, otherAdmin);
    expect(byOtherTenant.status).toBe(400);
    expect((await settingsOf(tenantId)).channels).toEqual({ CSUPPORT1: 'acc-kestrel' });
    expect((await settingsOf(otherTenant)).channels).toEqual({});
  });

  it('an admin unlinks a channel; unlinking one that is not linked says so and changes nothing', async () => {
    await post('/admin/slack/channels/link', { channel: 'CSUPPORT1', account: 'acc-kestrel' }, admin);
    const res = await post('/admin/slack/channels/unlink', { channel: 'CSUPPORT1' }, admin);
    expect(res.status).toBe(303);
    expect((await settingsOf(tenantId)).channels).toEqual({});
    expect((await auditOf(tenantId)).at(-1)).toMatchObject({
      action: 'slack.channel_unlinked',
      target: 'CSUPPORT1',
    });
    const count = (await auditOf(tenantId)).length;
    const again = await post('/admin/slack/channels/unlink', { channel: 'CSUPPORT1' }, admin);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('was not linked; nothing changed');
    expect(await auditOf(tenantId)).toHaveLength(count);
  });

  it('when Slack cannot list channels, the page still works with a channel id field', async () => {
    slack.failNext.set('conversations.list', { status: 500 });
    const res = await page(admin);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('could not be read from Slack');
    expect(html).toMatch(/<input id="link-channel" name="channel"/);
    const linked = await post(
      '/admin/slack/channels/link',
      { channel: 'CTYPED001', account: 'acc-kestrel' },
      admin,
    );
    expect(linked.status).toBe(303);
    expect((await settingsOf(tenantId)).channels).toEqual({ CTYPED001: 'acc-kestrel' });
  });

  it('a free-mail domain is never evidence of an account (an exact email still is), also for links', async () => {
    // A directory row from before sync refused free-mail domains.
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(accounts).values({
        tenantId,
        id: 'acc-legacy',
        name: 'Legacy Co',
        domains: ['gmail.com'],
        emails: ['boss@gmail.com'],
      }),
    );
    try {
      const ev = (text: string) =>
        withTenant(database.db, tenantId, (tx) =>
          resolveAccountEvidence(tx, { text, channelAccountId: null, zendeskSubdomain: null }),
        );
      expect(await ev('why is export failing for gmail.com?')).toEqual({ kind: 'none' });
      expect(await ev('stranger@gmail.com says exports fail')).toEqual({ kind: 'none' });
      expect(await ev('boss@gmail.com says exports fail')).toEqual({ kind: 'text', accountId: 'acc-legacy' });
      expect(await ev('kestrel.example cannot export')).toEqual({ kind: 'text', accountId: 'acc-kestrel' });
      const res = await post(
        '/admin/slack/channels/link',
        { channel: 'CSUPPORT1', account: 'gmail.com' },
        admin,
      );
      expect(res.status).toBe(400);
      expect((await settingsOf(tenantId)).channels).toEqual({});
    } finally {
      await withTenant(database.db, tenantId, (tx) =>
        tx.delete(accounts).where(eq(accounts.id, 'acc-legacy')),
      );
    }
  });

  it('the global shortcut opens the link modal for admins and a refusal for others', async () => {
    const shortcut = (user: string) =>
      interaction({
        type: 'shortcut',
        callback_id: 'copilot_link_channel',
        trigger_id: `trig-${user}`,
        team: { id: 'TLNK' },
        user: { id: user, team_id: 'TLNK' },
      });
    expect((await shortcut('UADMIN')).status).toBe(200);
    expect((await shortcut('UREP')).status).toBe(200);
    const opened = slack.of('views.open');
    expect(opened).toHaveLength(2);
    const [forAdmin, forRep] = opened.map((c) => c.args.view as Record<string, unknown>);
    expect(opened[0]!.args.trigger_id).toBe('trig-UADMIN');
    expect(forAdmin).toMatchObject({ type: 'modal', callback_id: 'copilot_link_modal' });
    expect(JSON.stringify(forAdmin)).toContain('"default_to_current_conversation":true');
    expect(forRep!.callback_id).toBeUndefined();
    expect(JSON.stringify(forRep)).toContain('Only workspace admins');
  });

  it("the shortcut's modal links the chosen channel; a refused account is an inline error; non-admins change nothing", async () => {
    const submit = (user: string, channel: string, account: string) =>
      interaction({
        type: 'view_submission',
        team: { id: 'TLNK' },
        user: { id: user, team_id: 'TLNK' },
        view: {
          callback_id: 'copilot_link_modal',
          state: {
            values: {
              channel: { channel: { type: 'conversations_select', selected_conversation: channel } },
              account: { account: { type: 'plain_text_input', value: account } },
            },
          },
        },
      });
    const ambiguous = await submit('UADMIN', 'CSUPPORT1', 'twins.example');
    expect(await ambiguous.json()).toEqual({
      response_action: 'errors',
      errors: { account: 'Several accounts match (tw-1, tw-2): use the account id.' },
    });
    const byRep = await submit('UREP', 'CSUPPORT1', 'acc-kestrel');
    expect(await byRep.json()).toMatchObject({ response_action: 'errors' });
    expect((await settingsOf(tenantId)).channels).toEqual({});
    const ok = await submit('UADMIN', 'CSUPPORT1', 'acc-kestrel');
    const body = (await ok.json()) as { response_action: string; view: unknown };
    expect(body.response_action).toBe('update');
    expect(JSON.stringify(body.view)).toContain('<#CSUPPORT1> is now linked to *Kestrel Freight*');
    expect((await settingsOf(tenantId)).channels).toEqual({ CSUPPORT1: 'acc-kestrel' });
    expect((await auditOf(tenantId)).at(-1)).toMatchObject({
      action: 'slack.channel_linked',
      actor: { type: 'slack_user', userId: 'UADMIN' },
    });
  });
});
