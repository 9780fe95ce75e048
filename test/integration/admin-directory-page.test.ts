import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditEvents } from '../../src/db/schema/index.ts';
import { withTenant } from '../../src/db/tenant.ts';
import { directoryFingerprint } from '../../src/pipeline/directory-import.ts';
import { routeTicket } from '../../src/pipeline/routing.ts';
import { readPipelineSettings } from '../../src/pipeline/settings.ts';
import { type DirectoryInput, syncDirectory } from '../../src/pipeline/tenant-config.ts';
import { readDirectoryPage } from '../../src/pipeline/tenant-config-read.ts';
import type { PipelineTicket } from '../../src/pipeline/types.ts';
import { createSession } from '../../src/tenancy/sessions.ts';
import { createTenant } from '../../src/tenancy/tenants.ts';
import { testApp, testVault } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/**
 * The console's directory page: paged accounts, and an upload (JSON or CSV) whose validation
 * report names failing rows by line, counts what would be added, changed and removed, flags
 * domains two accounts would claim (and routing does route those as unknown); only the
 * confirmation applies it, exactly as reported, and not after the directory changed.
 */
const system = { type: 'system', name: 'test' } as const;
const sameOrigin = { origin: 'https://copilot.test', 'sec-fetch-site': 'same-origin' };

const BASE: DirectoryInput = {
  mode: 'replace',
  accounts: [
    {
      id: 'acme',
      name: 'Acme Inc',
      plan: 'pro',
      domains: ['acme.com'],
      users: [{ email: 'ann@acme.com', role: 'owner' }],
    },
    {
      id: 'globex',
      name: 'Globex',
      domains: ['globex.com'],
      endUsers: [
        { email: 'eve@example.org', name: 'Eve' },
        { email: 'bob@example.org', name: 'Bob' },
      ],
    },
    { id: 'initech', name: 'Initech', domains: ['initech.com'] },
  ],
};

function ticket(email: string): PipelineTicket {
  return {
    id: '1',
    subject: 's',
    body: 'b',
    requester: { id: null, email, name: null },
    organization: null,
    brand: null,
    recipient: null,
    via: null,
    createdAt: null,
  };
}

describe.each(backends())('directory page on %s', (backend) => {
  let database: TestDatabase;
  let tenantId: string;
  let otherTenant: string;
  let admin: string;
  let member: string;
  let otherAdmin: string;
  const vault = testVault();
  const app = () => testApp(database, { vault }).app;
  const get = (path: string, cookie = admin) => app().request(path, { headers: { cookie } });
  const post = (path: string, fields: Record<string, string | File>, cookie = admin) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return app().request(path, { method: 'POST', body: form, headers: { cookie, ...sameOrigin } });
  };
  const sync = (t: string, d: DirectoryInput) =>
    withTenant(database.db, t, (tx) => syncDirectory({ tenantId: t, tx, actor: system }, d));
  const accountsOf = (t: string) =>
    withTenant(database.db, t, (tx) => readDirectoryPage(tx, { limit: 1000 })).then((p) => p);
  const fingerprint = () => withTenant(database.db, tenantId, directoryFingerprint);
  const tokenOf = (html: string) => /name="preview" value="([^"]+)"/.exec(html)?.[1];

  beforeAll(async () => {
    database = await createTestDatabase(backend);
    tenantId = (await createTenant(database.db, { name: 'T', actor: system })).id;
    otherTenant = (await createTenant(database.db, { name: 'O', actor: system })).id;
    const session = (t: string, role: 'admin' | 'member') =>
      createSession(database.db, { tenantId: t, userId: `U_${role}`, role, via: 'slack_oidc' }).then(
        (s) => `hc_session=${s.token}`,
      );
    admin = await session(tenantId, 'admin');
    member = await session(tenantId, 'member');
    otherAdmin = await session(otherTenant, 'admin');
    await sync(otherTenant, {
      accounts: [{ id: 'umbrella', name: 'Umbrella Secret Corp', domains: ['acme.com', 'umbrella.example'] }],
    });
  });
  beforeEach(() => sync(tenantId, BASE));
  afterAll(() => database?.close());

  it("lists this tenant's accounts 50 a page, never another tenant's; members get 403", async () => {
    await sync(tenantId, {
      accounts: Array.from({ length: 52 }, (_, i) => ({
        id: `bulk-${String(i).padStart(2, '0')}`,
        name: `Bulk ${i}`,
      })),
    });
    const res = await get('/admin/directory');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<code>acme</code>');
    expect(html).not.toContain('Umbrella');
    expect(html).not.toContain('shared'); // acme.com is the other tenant's too, which is no concern here
    expect(html.match(/<tr><td><code>/g)).toHaveLength(50);
    const next = /href="\/admin\/directory\?after=([^"]+)">Next accounts/.exec(html);
    expect(next?.[1]).toBe('bulk-48');
    const second = await (await get(`/admin/directory?after=${next![1]}`)).text();
    expect(second.match(/<tr><td><code>/g)).toHaveLength(5);
    expect(second).toContain('<code>bulk-49</code>');
    expect(second).toContain('Globex</td><td></td><td>globex.com</td><td>0</td><td>2</td>');
    expect(second).toContain('<code>initech</code>');
    expect(second).not.toContain('Next accounts');
    expect((await get('/admin/directory', member)).status).toBe(403);
    expect(await (await get('/admin/directory', otherAdmin)).text()).toContain('Umbrella Secret Corp');
  });

  it('a CSV with failing rows lists each with its line and reason, and nothing changes', async () => {
    const before = await fingerprint();
    const csv = [
      'kind,account_id,name,plan,domains,email,role,notes',
      'account,hooli,Hooli,,hooli.com,,,',
      'account,bad,Bad Domains,,not_a_domain,,,',
      'account,freemail,Free,,gmail.com,,,',
      'user,nobody,Nobody,,,no@x.com,,',
      'user,hooli,Gavin,,,not-an-email,,',
      'robot,hooli,,,,,,',
    ].join('\n');
    const res = await post('/admin/directory/upload', { mode: 'upsert', file: new File([csv], 'd.csv') });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain(
      '<td>5</td><td><code>nobody</code></td><td><small></small></td><td>account &quot;nobody&quot; has no account row in this file</td>',
    );
    expect(html).toContain(
      '<td>7</td><td><code>hooli</code></td><td><small></small></td><td>kind &quot;robot&quot; is not account, user or end_user</td>',
    );
    expect(html).not.toContain('name="preview"');
    // The structural rows fixed, the schema's problems come with their lines.
    const csv2 = [
      'kind,account_id,name,domains,email',
      'account,hooli,Hooli,hooli.com,',
      'account,bad,Bad Domains,not_a_domain,',
      'user,hooli,Gavin,,not-an-email',
    ].join('\n');
    const html2 = await (await post('/admin/directory/upload', { document: csv2 })).text();
    expect(html2).toMatch(
      /<td>3<\/td><td><code>bad<\/code><\/td><td><small>accounts\.1\.domains\.0<\/small><\/td><td>must be a domain like example\.com/,
    );
    expect(html2).toMatch(
      /<td>4<\/td><td><code>hooli<\/code><\/td><td><small>accounts\.0\.users\.0\.email<\/small>/,
    );
    const free = await (
      await post('/admin/directory/upload', {
        document: 'kind,account_id,name,domains\naccount,f,Free,gmail.com\n',
      })
    ).text();
    expect(free).toContain(
      '<td>2</td><td><code>f</code></td><td><small>accounts.0.domains.0</small></td><td>gmail.com is a shared mailbox provider&#39;s domain',
    );
    expect(await fingerprint()).toBe(before);
  });

  it('invalid JSON rows are reported with their line, and nothing changes', async () => {
    const before = await fingerprint();
    const doc = JSON.stringify(
      {
        accounts: [
          { id: 'ok', name: 'OK' },
          { id: 'x', name: 'X', users: [{ email: 'nope' }] },
        ],
      },
      null,
      2,
    );
    const html = await (await post('/admin/directory/upload', { document: doc })).text();
    const line = doc.split('\n').findIndex((l) => l.includes('"nope"')) + 1;
    expect(html).toContain(
      `<td>${line}</td><td><code>x</code></td><td><small>accounts.1.users.0.email</small>`,
    );
    const broken = await post('/admin/directory/upload', { document: '{\n "accounts": [\n }' });
    expect(broken.status).toBe(400);
    expect(await broken.text()).toContain(
      '<td>3</td><td></td><td><small></small></td><td>not valid JSON</td>',
    );
    expect(await fingerprint()).toBe(before);
  });

  it('a valid upload reports counts and shared domains; confirming applies it, and routing sends the shared domain to unknown', async () => {
    const csv = [
      'kind,account_id,name,plan,domains,email,role,notes',
      'account,acme,Acme Inc,enterprise,acme.com,,,', // changed: plan; users now none
      'account,hooli,Hooli,,hooli.com|acme.com|initech.com,,,', // acme.com with acme (uploaded too), initech.com with initech (kept)
      'account,pied,Pied Piper,,shared.io,,,',
      'account,raviga,Raviga,,shared.io,,,', // shares shared.io within the upload
      'user,hooli,Gavin,,,gavin@hooli.com,ceo,',
      'end_user,pied,Jared,,,jared@example.net,,',
    ].join('\n');
    const res = await post('/admin/directory/upload', { mode: 'upsert', document: csv });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<tr><th scope="row">accounts</th><td>3</td><td>1</td><td>0</td><td>0</td></tr>');
    expect(html).toContain('<tr><th scope="row">end users</th><td>1</td><td>0</td><td>0</td><td>2</td></tr>');
    expect(html).toMatch(
      /<code>acme\.com<\/code><\/td><td><code>acme<\/code>, <code>hooli<\/code><\/td><td>within this upload/,
    );
    expect(html).toMatch(
      /<code>initech\.com<\/code><\/td><td><code>hooli<\/code>, <code>initech<\/code><\/td><td>between this upload and accounts you keep/,
    );
    expect(html).toMatch(
      /<code>shared\.io<\/code><\/td><td><code>pied<\/code>, <code>raviga<\/code><\/td><td>within this upload/,
    );
    expect(html).toContain('ambiguous_requester');
    expect((await accountsOf(tenantId)).accounts.map((a) => a.id)).toEqual(['acme', 'globex', 'initech']);

    expect(
      (await post('/admin/directory/upload/confirm', { preview: tokenOf(html)! }, otherAdmin)).status,
    ).toBe(400);
    const confirm = await post('/admin/directory/upload/confirm', { preview: tokenOf(html)! });
    expect(confirm.status).toBe(303);
    const after = await accountsOf(tenantId);
    expect(after.accounts.map((a) => a.id)).toEqual(['acme', 'globex', 'hooli', 'initech', 'pied', 'raviga']);
    expect(after.accounts.find((a) => a.id === 'acme')).toMatchObject({ plan: 'enterprise', users: [] });
    expect(after.endUserCounts).toMatchObject({ globex: 2, pied: 1 });
    // What the report says about routing is what routing does.
    const routed = await withTenant(database.db, tenantId, async (tx) => {
      const routing = (await readPipelineSettings(tx)).routing;
      return {
        shared: await routeTicket(tx, ticket('someone@acme.com'), routing),
        sharedWithKept: await routeTicket(tx, ticket('someone@initech.com'), routing),
        listed: await routeTicket(tx, ticket('gavin@hooli.com'), routing),
        alone: await routeTicket(tx, ticket('x@globex.com'), routing),
      };
    });
    expect(routed.shared).toMatchObject({ level: 'unknown', reason: 'ambiguous_requester' });
    expect(routed.sharedWithKept).toMatchObject({ level: 'unknown', reason: 'ambiguous_requester' });
    expect(routed.listed).toMatchObject({ level: 'account', accountId: 'hooli', reason: 'requester_email' });
    expect(routed.alone).toMatchObject({ level: 'account', accountId: 'globex' });
    // The page now flags the stored shared domains.
    const page = await (await get('/admin/directory')).text();
    expect(page).toContain('Domains claimed by more than one account');
    expect(page).toMatch(/acme\.com <span class="badge flag">shared<\/span>/);
    const audited = await withTenant(database.db, tenantId, (tx) =>
      tx.select({ action: auditEvents.action }).from(auditEvents),
    );
    expect(audited.map((a) => a.action)).toEqual(
      expect.arrayContaining(['directory.synced', 'directory.upload_confirmed']),
    );
  });

  it('replace mode reports what would be removed (with end users); a confirmation after a change is refused', async () => {
    const doc = {
      mode: 'replace',
      accounts: [
        {
          id: 'acme',
          name: 'Acme Inc',
          plan: 'pro',
          domains: ['acme.com'],
          users: [{ email: 'ann@acme.com', role: 'owner' }],
        },
      ],
    };
    const html = await (await post('/admin/directory/upload', { document: JSON.stringify(doc) })).text();
    expect(html).toContain('<tr><th scope="row">accounts</th><td>0</td><td>0</td><td>2</td><td>1</td></tr>');
    expect(html).toContain('<tr><th scope="row">end users</th><td>0</td><td>0</td><td>2</td><td>0</td></tr>');
    expect(html).toMatch(
      /Accounts removed \(with their end users\): <code>globex<\/code>, <code>initech<\/code>/,
    );
    const token = tokenOf(html)!;
    await sync(tenantId, { accounts: [{ id: 'newco', name: 'NewCo' }] }); // the API, meanwhile
    const before = await fingerprint();
    const stale = await post('/admin/directory/upload/confirm', { preview: token });
    expect(stale.status).toBe(409);
    expect(await stale.text()).toContain('The directory changed since this report');
    expect(await fingerprint()).toBe(before);
    // A fresh report applies.
    const fresh = tokenOf(
      await (await post('/admin/directory/upload', { document: JSON.stringify(doc) })).text(),
    )!;
    expect((await post('/admin/directory/upload/confirm', { preview: fresh })).status).toBe(303);
    expect((await accountsOf(tenantId)).accounts.map((a) => a.id)).toEqual(['acme']);
    // Replaying it: the directory is no longer the one reported on.
    expect((await post('/admin/directory/upload/confirm', { preview: fresh })).status).toBe(409);
  });

  it('an upload near the body limit confirms: the sealed report is compressed, not a second copy of the file', async () => {
    const notes = 'Pays yearly by invoice; renewal in March; prefers email. '.repeat(120);
    const doc = {
      accounts: Array.from({ length: 100 }, (_, i) => ({
        id: `big-${i}`,
        name: `Big ${i}`,
        internalNotes: `${i} ${notes}`,
      })),
    };
    const text = JSON.stringify(doc);
    expect(text.length).toBeGreaterThan(650_000);
    const html = await (await post('/admin/directory/upload', { file: new File([text], 'big.json') })).text();
    const token = tokenOf(html)!;
    expect(token.length).toBeLessThan(text.length / 4);
    expect((await post('/admin/directory/upload/confirm', { preview: token })).status).toBe(303);
    expect((await accountsOf(tenantId)).accounts).toHaveLength(103);
  });

  it("another tenant's upload is checked against that tenant's directory only", async () => {
    // Tenant T's initech lists initech.com; the other tenant has no such account.
    const res = await post(
      '/admin/directory/upload',
      { document: 'kind,account_id,name,domains\naccount,copycat,Copycat,initech.com\n' },
      otherAdmin,
    );
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain('No domain is claimed by more than one account.');
    expect(html).not.toContain('<code>initech</code>');
    expect(html).toContain('<tr><th scope="row">accounts</th><td>1</td><td>0</td><td>0</td><td>0</td></tr>');
  });

  it('end users are compared by account and email, records included; an identical upload changes nothing', async () => {
    const doc = {
      accounts: [
        {
          id: 'globex',
          name: 'Globex',
          domains: ['globex.com'],
          endUsers: [
            {
              email: 'eve@example.org',
              name: 'Eve',
              records: { tier: 'gold', orders: [{ id: 7, total: 12 }] },
            },
            { email: 'carol@example.org', name: 'Carol' },
          ],
        },
      ],
    };
    const html = await (await post('/admin/directory/upload', { document: JSON.stringify(doc) })).text();
    expect(html).toContain('<tr><th scope="row">end users</th><td>1</td><td>1</td><td>1</td><td>0</td></tr>');
    expect(html).toContain('<tr><th scope="row">accounts</th><td>0</td><td>0</td><td>0</td><td>1</td></tr>');
    expect((await post('/admin/directory/upload/confirm', { preview: tokenOf(html)! })).status).toBe(303);
    const again = await (await post('/admin/directory/upload', { document: JSON.stringify(doc) })).text();
    expect(again).toContain(
      '<tr><th scope="row">end users</th><td>0</td><td>0</td><td>0</td><td>2</td></tr>',
    );
  });
});
