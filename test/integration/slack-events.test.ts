import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents, slackInstallations } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { captureLogger, testApp, testConfig, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { eventEnvelope, signedSlackRequest, slackSignature } from '../helpers/slack-sign.ts';

const SECRET = 'slack-signing-secret-for-tests';
const NOW = new Date('2026-11-23T05:00:00Z');
const TS = Math.floor(NOW.getTime() / 1000);
const system = { type: 'system', name: 'test' } as const;

describe.each(backends())('POST /slack/events on %s', (backend) => {
  let database: TestDatabase;
  const vault = testVault();
  let app: ReturnType<typeof testApp>['app'];
  let lines: string[];
  let a: string;
  let b: string;
  let c: string;

  async function install(tenantId: string, id: string, teamId: string, botUserId: string) {
    const sealedA = await vault.seal(tenantId, 'slack_access_token', `xoxe.xoxb-${teamId}-access`);
    const sealedR = await vault.seal(tenantId, 'slack_refresh_token', `xoxe-1-${teamId}-refresh`);
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(slackInstallations).values({
        tenantId,
        id,
        teamId,
        botUserId,
        accessToken: sealedA,
        refreshToken: sealedR,
        status: 'active',
        updatedAt: new Date('2023-01-01T00:00:00Z'),
      }),
    );
  }

  async function snapshot(tenantId: string) {
    return withTenant(database.db, tenantId, async (tx) => ({
      installs: await tx.select().from(slackInstallations),
      audit: (await tx.select().from(auditEvents)).map((e) => ({ action: e.action, detail: e.detail })),
    }));
  }

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    a = (await createTenant(database.db, { name: 'A', actor: system })).id;
    b = (await createTenant(database.db, { name: 'B', actor: system })).id;
    c = (await createTenant(database.db, { name: 'C', actor: system })).id;
    await install(a, 'si_a', 'TAAA', 'UBOTA');
    await install(b, 'si_b', 'TBBB', 'UBOTB');
    await install(c, 'si_c', 'TCCC', 'UBOTC');
  });
  afterAll(() => database?.close());
  beforeEach(() => {
    const cap = captureLogger();
    lines = cap.lines;
    app = testApp(database, {
      config: testConfig({ SLACK_SIGNING_SECRET: SECRET }),
      vault,
      logger: cap.logger,
      now: () => NOW,
    }).app;
  });

  const post = (_body: string, init: RequestInit) => app.request('/slack/events', init);
  const uninstallBody = (team: string) => JSON.stringify(eventEnvelope(team, { type: 'app_uninstalled' }));
  const revokedBody = (team: string, bot: string[], oauth: string[] = []) =>
    JSON.stringify(eventEnvelope(team, { type: 'tokens_revoked', tokens: { oauth, bot } }));

  it('answers 503 feature_disabled when no signing secret is configured', async () => {
    const off = testApp(database, { vault, now: () => NOW }).app;
    const body = uninstallBody('TAAA');
    const res = await off.request('/slack/events', signedSlackRequest(SECRET, body, TS));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('feature_disabled');
  });

  it('answers url_verification with the challenge once the signature verifies', async () => {
    const body = JSON.stringify({ token: 'x', challenge: 'chal-123', type: 'url_verification' });
    const res = await post(body, signedSlackRequest(SECRET, body, TS));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'chal-123' });
    const unsigned = await post(body, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.status).toBe(401);
  });

  it('refuses bad, stale, tampered, unversioned and unsigned requests, storing nothing', async () => {
    const before = await snapshot(a);
    const body = uninstallBody('TAAA');
    const good = signedSlackRequest(SECRET, body, TS);
    const cases: [string, RequestInit, string][] = [
      ['wrong secret', signedSlackRequest('another-secret', body, TS), 'invalid_signature'],
      [
        'tampered body',
        { ...good, body: body.replace('app_uninstalled', 'app_uninstalleD') },
        'invalid_signature',
      ],
      ['stale by 301 s', signedSlackRequest(SECRET, body, TS - 301), 'stale_request'],
      ['future by 301 s', signedSlackRequest(SECRET, body, TS + 301), 'stale_request'],
      [
        'missing signature',
        { method: 'POST', body, headers: { 'x-slack-request-timestamp': String(TS) } },
        'invalid_signature',
      ],
      [
        'missing timestamp',
        { method: 'POST', body, headers: { 'x-slack-signature': slackSignature(SECRET, TS, body) } },
        'invalid_signature',
      ],
      [
        'v1 signature',
        {
          method: 'POST',
          body,
          headers: {
            'x-slack-request-timestamp': String(TS),
            'x-slack-signature': slackSignature(SECRET, TS, body).replace('v0=', 'v1='),
          },
        },
        'invalid_signature',
      ],
      [
        'signature for another timestamp',
        {
          method: 'POST',
          body,
          headers: {
            'x-slack-request-timestamp': String(TS),
            'x-slack-signature': slackSignature(SECRET, TS - 1, body),
          },
        },
        'invalid_signature',
      ],
    ];
    for (const [name, init, code] of cases) {
      const res = await post(body, init);
      expect(res.status, name).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code, name).toBe(code);
    }
    // Within the window in both directions is accepted (here: a repeated no-op for another tenant).
    for (const ts of [TS - 299, TS + 299]) {
      const ok = JSON.stringify(eventEnvelope('TNOPE', { type: 'app_uninstalled' }));
      expect((await post(ok, signedSlackRequest(SECRET, ok, ts))).status).toBe(200);
    }
    expect(await snapshot(a)).toEqual(before);
  });

  it('ssl_check=1 is answered without verification and a smuggled payload is ignored', async () => {
    const before = await snapshot(a);
    const smuggled = `ssl_check=1&token=x&payload=${encodeURIComponent(uninstallBody('TAAA'))}`;
    const res = await post(smuggled, {
      method: 'POST',
      body: smuggled,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    // Not an exact ssl_check=1 (or not a form body): the signature is required as usual.
    for (const [ct, bodyText] of [
      [
        'application/x-www-form-urlencoded',
        `ssl_check=1&ssl_check=1&payload=${encodeURIComponent(uninstallBody('TAAA'))}`,
      ],
      [
        'application/x-www-form-urlencoded',
        `ssl_check=true&payload=${encodeURIComponent(uninstallBody('TAAA'))}`,
      ],
      ['application/json', uninstallBody('TAAA').replace('{', '{"ssl_check":"1",')],
    ] as const) {
      const r = await post(bodyText, { method: 'POST', body: bodyText, headers: { 'content-type': ct } });
      expect(r.status, bodyText.slice(0, 30)).toBe(401);
    }
    expect(await snapshot(a)).toEqual(before);
  });

  it('app_uninstalled then tokens_revoked (and repeats) erase the tokens once; others untouched', async () => {
    const bBefore = await snapshot(b);
    const first = uninstallBody('TAAA');
    expect((await post(first, signedSlackRequest(SECRET, first, TS))).status).toBe(200);
    let s = await snapshot(a);
    expect(s.installs[0]).toMatchObject({
      accessToken: null,
      refreshToken: null,
      status: 'revoked',
      statusDetail: 'app_uninstalled',
    });
    for (const body of [
      revokedBody('TAAA', ['UBOTA']),
      uninstallBody('TAAA'),
      revokedBody('TAAA', ['UBOTA']),
    ]) {
      const res = await post(
        body,
        signedSlackRequest(SECRET, body, TS, { headers: { 'x-slack-retry-num': '1' } }),
      );
      expect(res.status).toBe(200);
    }
    s = await snapshot(a);
    const slackEvents = s.audit.filter((e) => e.action.startsWith('slack.'));
    expect(slackEvents).toHaveLength(1);
    expect(slackEvents[0]).toMatchObject({ action: 'slack.app_uninstalled', detail: { tokensErased: true } });
    expect(s.installs[0]).toMatchObject({ accessToken: null, refreshToken: null, status: 'revoked' });
    expect(await snapshot(b)).toEqual(bBefore);
    expect(lines.join('\n')).not.toContain('xoxe');
  });

  it('tokens_revoked then app_uninstalled: erased once, the uninstall recorded without a second erase', async () => {
    const aBefore = await snapshot(a);
    // A user-token-only revocation changes nothing we store.
    const userOnly = revokedBody('TBBB', [], ['U123']);
    expect((await post(userOnly, signedSlackRequest(SECRET, userOnly, TS))).status).toBe(200);
    // Another bot user id (not ours) changes nothing either.
    const otherBot = revokedBody('TBBB', ['UOTHER']);
    expect((await post(otherBot, signedSlackRequest(SECRET, otherBot, TS))).status).toBe(200);
    expect((await snapshot(b)).installs[0]?.accessToken).not.toBeNull();

    const revoked = revokedBody('TBBB', ['UBOTB']);
    expect((await post(revoked, signedSlackRequest(SECRET, revoked, TS))).status).toBe(200);
    let s = await snapshot(b);
    expect(s.installs[0]).toMatchObject({
      accessToken: null,
      refreshToken: null,
      status: 'revoked',
      statusDetail: 'tokens_revoked',
    });
    for (const body of [uninstallBody('TBBB'), uninstallBody('TBBB'), revoked]) {
      expect((await post(body, signedSlackRequest(SECRET, body, TS))).status).toBe(200);
    }
    s = await snapshot(b);
    const slackEvents = s.audit.filter((e) => e.action.startsWith('slack.'));
    expect(slackEvents.map((e) => [e.action, (e.detail as { tokensErased: boolean }).tokensErased])).toEqual([
      ['slack.tokens_revoked', true],
      ['slack.app_uninstalled', false],
    ]);
    expect(s.installs[0]).toMatchObject({
      status: 'revoked',
      statusDetail: 'app_uninstalled',
      accessToken: null,
    });
    expect(await snapshot(a)).toEqual(aBefore);
    // Tenant C was never touched by any of this.
    const cNow = await snapshot(c);
    expect(cNow.installs[0]).toMatchObject({ status: 'active' });
    expect(cNow.installs[0]?.accessToken).toMatch(/^v1\./);
  });

  it('resolves the tenant from authorizations[0] (Slack Connect), not the top-level team_id', async () => {
    const body = JSON.stringify(
      eventEnvelope(
        'TAAA',
        { type: 'tokens_revoked', tokens: { oauth: [], bot: ['UBOTC'] } },
        {
          team_id: 'TAAA',
          context_team_id: 'TCCC',
          event_time: TS,
          authorizations: [
            {
              enterprise_id: null,
              team_id: 'TCCC',
              user_id: 'UBOTC',
              is_bot: true,
              is_enterprise_install: false,
            },
          ],
        },
      ),
    );
    // A retry of an event from before a reinstall must not wipe the newer install.
    const stale = JSON.stringify({ ...JSON.parse(body), event_time: 1_600_000_000 });
    await withTenant(database.db, c, (tx) =>
      tx
        .update(slackInstallations)
        .set({ updatedAt: new Date('2024-01-01T00:00:00Z') })
        .where(eq(slackInstallations.id, 'si_c')),
    );
    expect((await post(stale, signedSlackRequest(SECRET, stale, TS))).status).toBe(200);
    expect((await snapshot(c)).installs[0]?.status).toBe('active');

    expect((await post(body, signedSlackRequest(SECRET, body, TS))).status).toBe(200);
    const s = await snapshot(c);
    expect(s.installs[0]).toMatchObject({ status: 'revoked', accessToken: null });
  });

  it('org-wide (Enterprise Grid) installs are keyed by enterprise id, not team id', async () => {
    const e = (await createTenant(database.db, { name: 'Grid', actor: system })).id;
    const sealed = await vault.seal(e, 'slack_access_token', 'xoxe.xoxb-grid');
    await withTenant(database.db, e, (tx) =>
      tx.insert(slackInstallations).values({
        tenantId: e,
        id: 'si_e',
        enterpriseId: 'E0GRID',
        teamId: null,
        isEnterpriseInstall: true,
        botUserId: 'UBOTE',
        accessToken: sealed,
        // Installed before the (fixed) test clock: a later install would make the event stale.
        updatedAt: new Date('2023-01-01T00:00:00Z'),
      }),
    );
    const orgAuth = {
      authorizations: [
        {
          enterprise_id: 'E0GRID',
          team_id: null,
          user_id: 'UBOTE',
          is_bot: true,
          is_enterprise_install: true,
        },
      ],
      enterprise_id: 'E0GRID',
      is_enterprise_install: true,
      event_time: TS,
    };
    // A workspace-keyed event naming a team inside the org does not match the org-wide install.
    const wrongKey = JSON.stringify(
      eventEnvelope('TINORG', { type: 'app_uninstalled' }, { enterprise_id: 'E0GRID' }),
    );
    expect((await post(wrongKey, signedSlackRequest(SECRET, wrongKey, TS))).status).toBe(200);
    expect((await snapshot(e)).installs[0]?.status).toBe('active');
    const body = JSON.stringify(eventEnvelope('TINORG', { type: 'app_uninstalled' }, orgAuth));
    expect((await post(body, signedSlackRequest(SECRET, body, TS))).status).toBe(200);
    const s = await snapshot(e);
    expect(s.installs[0]).toMatchObject({
      status: 'revoked',
      accessToken: null,
      statusDetail: 'app_uninstalled',
    });
    expect(s.audit.filter((x) => x.action === 'slack.app_uninstalled')).toHaveLength(1);
  });

  it('events for workspaces with no tenant are acknowledged, logged and change nothing', async () => {
    const body = JSON.stringify(eventEnvelope('TUNKNOWN', { type: 'app_mention', text: 'hi' }));
    const res = await post(body, signedSlackRequest(SECRET, body, TS));
    expect(res.status).toBe(200);
    expect(lines.some((l) => l.includes('nothing done') && l.includes('TUNKNOWN'))).toBe(true);
    const garbage = JSON.stringify({ type: 'event_callback', team_id: 'TAAA' });
    expect((await post(garbage, signedSlackRequest(SECRET, garbage, TS))).status).toBe(200);
    const notJson = 'not json';
    expect((await post(notJson, signedSlackRequest(SECRET, notJson, TS))).status).toBe(400);
  });
});
