import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../../src/db/client.ts';
import { accounts, endUsers } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { accountsByIdentifier, routeTicket } from '../../src/pipeline/routing.ts';
import { readPipelineSettings, updatePipelineSettings } from '../../src/pipeline/settings.ts';
import type { PipelineTicket } from '../../src/pipeline/types.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const system = { type: 'system', name: 'test' } as const;

function ticket(over: Partial<PipelineTicket> & { email?: string | null }): PipelineTicket {
  const { email, ...rest } = over;
  return {
    id: '1',
    subject: 'Help',
    body: 'Hello',
    requester: { id: '11', email: email ?? 'someone@freemail.example', name: 'Some One' },
    organization: null,
    brand: 'Main',
    recipient: null,
    via: 'email',
    createdAt: null,
    ...rest,
  };
}

describe.each(backends())('routing on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'Routing Co', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'Other Co', actor: system })).id;
    await withTenant(database.db, tenantId, async (tx) => {
      await tx.insert(accounts).values([
        {
          tenantId,
          id: 'acc_a',
          name: 'Alpha Ltd',
          domains: ['alpha.example'],
          emails: ['boss@alpha.example'],
        },
        {
          tenantId,
          id: 'acc_m',
          name: 'Merchant M',
          domains: ['merchant.example'],
          emails: ['Owner@Merchant.example'],
        },
        { tenantId, id: 'acc_x', name: 'Shared One', domains: ['shared.example'], emails: [] },
        { tenantId, id: 'acc_y', name: 'Shared Two', domains: ['shared.example'], emails: [] },
        { tenantId, id: 'acc_b', name: 'Beta', domains: [], emails: ['freelancer@freemail.example'] },
        // A legacy account claiming a shared mailbox provider's domain (directory sync refuses it now).
        {
          tenantId,
          id: 'acc_legacy',
          name: 'Legacy Shop',
          domains: ['gmail.com', 'legacy.example'],
          emails: ['owner@gmail.com'],
        },
      ]);
      await tx
        .insert(endUsers)
        .values({ tenantId, id: 'eu_1', accountId: 'acc_m', email: 'shopper@mail.example', name: 'Shopper' });
      await updatePipelineSettings(tx, tenantId, {
        routing: {
          orgField: 'account_id',
          brands: { 'Merchant Store': 'acc_m', 'Legacy Store': 'acc_legacy' },
        },
      });
    });
    // Another tenant's directory claims the same domain: it must never be seen.
    await withTenant(database.db, otherTenant, (tx) =>
      tx
        .insert(accounts)
        .values({ tenantId: otherTenant, id: 'acc_z', name: 'Zed', domains: ['zed.example'], emails: [] }),
    );
  });
  afterAll(() => database?.close());

  const route = (t: PipelineTicket) =>
    withTenant(database.db, tenantId, async (tx) =>
      routeTicket(tx, t, (await readPipelineSettings(tx)).routing),
    );

  it('account: the configured organization field holds a known account id', async () => {
    const r = await route(
      ticket({ organization: { id: '5', name: 'Alpha', fields: { account_id: 'acc_a' } } }),
    );
    expect(r).toMatchObject({ level: 'account', accountId: 'acc_a', reason: 'org_field' });
  });

  it('account: by requester email (case-insensitive), then by email domain', async () => {
    expect(await route(ticket({ email: 'owner@merchant.EXAMPLE' }))).toMatchObject({
      level: 'account',
      accountId: 'acc_m',
      reason: 'requester_email',
    });
    expect(await route(ticket({ email: 'new.hire@alpha.example' }))).toMatchObject({
      level: 'account',
      accountId: 'acc_a',
      reason: 'requester_domain',
    });
  });

  it('end_user: a non-member writing on a brand mapped to an account', async () => {
    const r = await route(ticket({ email: 'shopper@mail.example', brand: 'merchant store' }));
    expect(r).toMatchObject({
      level: 'end_user',
      accountId: 'acc_m',
      endUserEmail: 'shopper@mail.example',
      endUserId: 'eu_1',
      reason: 'brand',
    });
    // A member of that account on the same brand is the account itself.
    expect(await route(ticket({ email: 'staff@merchant.example', brand: 'Merchant Store' }))).toMatchObject({
      level: 'account',
      accountId: 'acc_m',
    });
  });

  it('unknown: nothing matches, even with an account name in the text; ambiguous domains are not guessed', async () => {
    const r = await route(ticket({ subject: 'We are Alpha Ltd', body: 'acc_a here, Alpha Ltd' }));
    expect(r).toEqual({
      level: 'unknown',
      accountId: null,
      endUserEmail: null,
      endUserId: null,
      reason: 'no_match',
    });
    expect(await route(ticket({ email: 'x@shared.example' }))).toMatchObject({
      level: 'unknown',
      reason: 'ambiguous_requester',
    });
    // An org field naming an account the directory does not know is not trusted either.
    expect(
      await route(ticket({ organization: { id: '6', name: 'Ghost', fields: { account_id: 'acc_ghost' } } })),
    ).toMatchObject({ level: 'unknown' });
    // Another tenant's domain is invisible here.
    expect(await route(ticket({ email: 'a@zed.example' }))).toMatchObject({ level: 'unknown' });
  });

  it('a free-mail domain never routes, even when an account lists it: only the exact email does', async () => {
    expect(await route(ticket({ email: 'stranger@gmail.com' }))).toMatchObject({
      level: 'unknown',
      reason: 'no_match',
    });
    expect(await route(ticket({ email: 'Owner@Gmail.com' }))).toMatchObject({
      level: 'account',
      accountId: 'acc_legacy',
      reason: 'requester_email',
    });
    // On the account's brand a stranger @gmail.com is an end user, not one of the account's people.
    expect(await route(ticket({ email: 'shopper@gmail.com', brand: 'Legacy Store' }))).toMatchObject({
      level: 'end_user',
      accountId: 'acc_legacy',
      reason: 'brand',
    });
    expect(await route(ticket({ email: 'staff@legacy.example', brand: 'Legacy Store' }))).toMatchObject({
      level: 'account',
      accountId: 'acc_legacy',
    });
  });

  it("the email and domain index follows every write to the directory's accounts", async () => {
    const write = (fn: Parameters<typeof withTenant>[2]) => withTenant(database.db, tenantId, fn);
    await write((tx) =>
      tx.insert(accounts).values({
        tenantId,
        id: 'acc_w',
        name: 'Writes',
        domains: ['writes.example'],
        emails: ['Lead@Writes.example'],
      }),
    );
    expect(await route(ticket({ email: 'lead@writes.example' }))).toMatchObject({
      accountId: 'acc_w',
      reason: 'requester_email',
    });
    await write((tx) =>
      tx
        .update(accounts)
        .set({ domains: ['renamed.example'], emails: [] })
        .where(eq(accounts.id, 'acc_w')),
    );
    expect((await route(ticket({ email: 'lead@writes.example' }))).level).toBe('unknown');
    expect(await route(ticket({ email: 'lead@renamed.example' }))).toMatchObject({
      accountId: 'acc_w',
      reason: 'requester_domain',
    });
    await write((tx) => tx.delete(accounts).where(eq(accounts.id, 'acc_w')));
    expect((await route(ticket({ email: 'lead@renamed.example' }))).level).toBe('unknown');
  });

  it.runIf(backend === 'postgres')(
    'look-ups by email and by domain probe the index under row-level security (EXPLAIN)',
    async () => {
      for (const [kind, value] of [
        ['email', 'boss@alpha.example'],
        ['domain', 'alpha.example'],
      ] as const) {
        const plan = await withTenant(database.db, tenantId, async (tx) => {
          // The table is tiny here; with sequential scans off the plan shows whether the index
          // CAN serve the look-up as the runtime role (a non-leakproof operator could not).
          await tx.execute(sql`set local enable_seqscan = off`);
          const q = accountsByIdentifier(tx, kind, value).getSQL();
          return JSON.stringify(rowsOf(await tx.execute(sql`explain (format json) ${q}`)));
        });
        expect(plan).toContain('"Index Name":"account_identifiers_tenant_id_kind_value_account_id_pk"');
        expect(plan).toMatch(/"Index Cond":"[^"]*\(value = /);
        expect(plan).not.toContain('"Filter"');
      }
    },
  );

  it('rules are per-tenant settings: another org field, brand or recipient map needs no code change', async () => {
    const t1 = ticket({ organization: { id: '7', name: 'Alpha', fields: { crm_ref: 'acc_a' } } });
    expect((await route(t1)).level).toBe('unknown');
    const t2 = ticket({
      email: 'shopper@mail.example',
      brand: 'Main',
      recipient: 'help@merchant-shop.example',
    });
    expect((await route(t2)).level).toBe('unknown');
    await withTenant(database.db, tenantId, (tx) =>
      updatePipelineSettings(tx, tenantId, {
        routing: {
          orgField: 'crm_ref',
          brands: {},
          recipients: { 'help@merchant-shop.example': 'acc_m' },
        },
      }),
    );
    expect(await route(t1)).toMatchObject({ level: 'account', accountId: 'acc_a', reason: 'org_field' });
    expect(await route(t2)).toMatchObject({ level: 'end_user', accountId: 'acc_m', reason: 'recipient' });
    // The old brand mapping is gone with the settings change.
    expect((await route(ticket({ email: 'shopper@mail.example', brand: 'Merchant Store' }))).level).toBe(
      'unknown',
    );
  });

  it('invalid routing settings are refused when written', async () => {
    await expect(
      withTenant(database.db, tenantId, (tx) =>
        updatePipelineSettings(tx, tenantId, { routing: { orgField: '', brands: { a: 1 } } }),
      ),
    ).rejects.toThrow(/routing/);
  });
});
