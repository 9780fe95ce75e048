import { readFileSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { accounts, endUsers } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { createMatcherCache } from '../../src/pipeline/guard-cache.ts';
import { guardDraft, REDACTED } from '../../src/pipeline/leak-guard.ts';
import type { RouteDecision } from '../../src/pipeline/routing.ts';
import { testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { parseScenario } from '../scenario/format.ts';
import { seedScenario } from '../scenario/run.ts';

const scenario = parseScenario(
  readFileSync(new URL('../fixtures/scenarios/end-user-other-merchant-brand.json', import.meta.url), 'utf8'),
  'fixture',
);

const endUser: RouteDecision = {
  level: 'end_user',
  accountId: 'm_cedar',
  endUserEmail: 'jamie.r@postbox.example',
  endUserId: null,
  reason: 'brand',
};
const account: RouteDecision = {
  level: 'account',
  accountId: 'm_cedar',
  endUserEmail: null,
  endUserId: null,
  reason: 'org_field',
};
const unknown: RouteDecision = {
  level: 'unknown',
  accountId: null,
  endUserEmail: null,
  endUserId: null,
  reason: 'no_match',
};

describe.each(backends())('leak guard on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (
      await seedScenario(
        database,
        testVault(),
        scenario,
        'https://ctx.example/c',
        'secret-of-the-tenant-context-api',
      )
    ).tenantId;
  });
  afterAll(() => database?.close());

  const guard = (route: RouteDecision, body: string) =>
    withTenant(database.db, tenantId, (tx) => guardDraft(tx, route, body));

  it("end-user drafts: account-private values are redacted, the end user's own record stays", async () => {
    const body =
      'Your reservation R-7781 is confirmed for 2026-12-02. Noor Haddad (staff@cedargoods.example) on the Premium plan ($149) ' +
      'says Lee Wong has R-7790. Note: Disputed a chargeback in November.';
    const r = await guard(endUser, body);
    expect(r.verdict.action).toBe('redacted');
    expect(r.body).toContain('R-7781');
    expect(r.body).toContain('2026-12-02');
    for (const leak of [
      'Noor Haddad',
      'staff@cedargoods.example',
      'Premium',
      '149',
      'Lee Wong',
      'R-7790',
      'chargeback',
    ])
      expect(r.body, leak).not.toContain(leak);
    expect(r.body).toContain(REDACTED);
    expect(r.verdict.findings.map((f) => f.kind).sort()).toEqual(
      ['internal_note', 'other_end_user', 'other_end_user_record', 'plan', 'price', 'staff', 'staff'].sort(),
    );
    // The verdict masks what it found.
    expect(JSON.stringify(r.verdict)).not.toContain('Noor Haddad');
  });

  it("another account's name, id, domain or user email blocks the draft at every level", async () => {
    for (const [route, text] of [
      [endUser, 'Oakline Outfitters can help too.'],
      [account, 'Like m_oak, you could reconnect.'],
      [account, 'Write to hello@oakline.example.'],
      [unknown, 'Are you Cedar Goods?'],
      [unknown, 'Is your domain cedargoods.example?'],
    ] as const) {
      const r = await guard(route, text);
      expect(r.verdict.action, text).toBe('blocked');
      expect(r.body).toBe(text);
    }
  });

  it('clean drafts pass; an account draft may name its own plan and staff; word boundaries hold', async () => {
    expect((await guard(endUser, 'Your reservation R-7781 is confirmed.')).verdict.action).toBe('pass');
    expect((await guard(account, 'You are on Premium; Noor Haddad is your owner.')).verdict.action).toBe(
      'pass',
    );
    // "Oakline" inside another word or "premiums" are not matches.
    expect((await guard(endUser, 'We ship premiums and 1490 items.')).verdict.action).toBe('pass');
  });

  it("an end user's own values stay even when they equal a private one (149 points vs the $149 plan)", async () => {
    await withTenant(database.db, tenantId, (tx) =>
      tx
        .update(endUsers)
        .set({ records: { reservations: [{ id: 'R-7781', status: 'confirmed' }], points: 149 } })
        .where(eq(endUsers.email, 'jamie.r@postbox.example')),
    );
    const r = await guard(endUser, 'You have 149 points and reservation R-7781.');
    expect(r.verdict.action).toBe('pass');
    expect(r.body).toContain('149 points');
  });

  it('another account written with zero-width, format or fullwidth characters still blocks', async () => {
    for (const [route, text] of [
      [endUser, 'Oak\u200Bline Outfitters can help too.'],
      [account, 'Ask O\u00ADakline\u2060 Out\uFEFFfitters.'],
      [account, 'Write to ｈｅｌｌｏ＠ｏａｋｌｉｎｅ．ｅｘａｍｐｌｅ today.'],
      [account, 'Sam\u200D Oak owns that store.'],
      [unknown, 'Is your domain ｃｅｄａｒｇｏｏｄｓ.example?'],
    ] as const) {
      const r = await guard(route, text);
      expect(r.verdict.action, text).toBe('blocked');
      expect(r.body).toBe(text);
    }
  });

  it('redaction replaces the span of the original text, zero-width and fullwidth characters included', async () => {
    const body =
      'Hi! Ask N\u200Boor Haddad or ｓｔａｆｆ＠ｃｅｄａｒｇｏｏｄｓ．ｅｘａｍｐｌｅ about R-7781.';
    const r = await guard(endUser, body);
    expect(r.verdict.action).toBe('redacted');
    expect(r.body).toBe(`Hi! Ask ${REDACTED} or ${REDACTED} about R-7781.`);
  });

  it("a distinctive word of another account's name blocks; generic words, shared words and the own name's do not", async () => {
    await withTenant(database.db, tenantId, (tx) =>
      tx.insert(accounts).values(
        [
          ['g_1', 'Globex Industrial Holdings'],
          ['h_1', 'Harbor Freight Lines'],
          ['h_2', 'Harbor Dental Care'],
          ['h_3', 'Harbor Bikes'],
          ['c_2', 'Cedar Ridge Partners'],
        ].map(([id, name]) => ({ tenantId, id: id!, name: name! })),
      ),
    );
    for (const [route, text] of [
      [account, 'Globex can help with that.'],
      [account, 'Ask GLOBEX.'],
      [account, 'As Ridge did last year, reconnect.'],
      [endUser, 'Oakline has the same item.'],
      // "Cedar" is a word of two other accounts' names when the requester is unknown.
      [unknown, 'Cedar can help.'],
    ] as const)
      expect((await guard(route, text)).verdict.action, text).toBe('blocked');
    for (const [route, text] of [
      // Generic company words, whoever's name they are in.
      [account, 'Our Industrial Holdings team will call.'],
      // A word three names share is this tenant's trade, not a name.
      [account, 'Harbor pickup is open on Sundays.'],
      // A word of the route's own account name ("Cedar Goods"), though "Cedar Ridge Partners" has it too.
      [account, 'Cedar support is here to help.'],
      // A name's word written as an ordinary word.
      [account, 'The globex protocol and a mountain ridge.'],
    ] as const)
      expect((await guard(route, text)).verdict.action, text).toBe('pass');
  });

  it('matchers follow directory writes from another connection; a rolled-back write leaves no trace', async () => {
    const cache = createMatcherCache();
    const writer = database.url ? await openDatabase({ url: database.url, maxConnections: 1 }) : database;
    const check = async (text: string) =>
      (await withTenant(database.db, tenantId, (tx) => guardDraft(tx, account, text, { cache }))).verdict
        .action;
    try {
      expect(await check('Zephyrine Analytics can help.')).toBe('pass');
      expect(await check('Zephyrine Analytics can help.')).toBe('pass');
      expect(cache.stats().builds).toBe(1); // the directory's, once
      await expect(
        withTenant(writer.db, tenantId, async (tx) => {
          await tx.insert(accounts).values({ tenantId, id: 'z_1', name: 'Zephyrine Analytics' });
          expect(
            (await guardDraft(tx, account, 'Zephyrine Analytics can help.', { cache })).verdict.action,
          ).toBe('blocked');
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      // What the writing transaction built was not cached, and its version was rolled back too.
      expect(await check('Zephyrine Analytics can help.')).toBe('pass');
      expect(cache.stats().builds).toBe(1);
      await withTenant(writer.db, tenantId, (tx) =>
        tx.insert(accounts).values({ tenantId, id: 'z_1', name: 'Zephyrine Analytics' }),
      );
      expect(await check('Zephyrine Analytics can help.')).toBe('blocked');
      expect(cache.stats().builds).toBe(2);
      await withTenant(writer.db, tenantId, (tx) => tx.delete(accounts).where(eq(accounts.id, 'z_1')));
      expect(await check('Zephyrine Analytics can help.')).toBe('pass');
    } finally {
      if (writer !== database) await writer.close();
    }
  });
});
