import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../src/lib/errors.ts';
import { newId } from '../../src/lib/ids.ts';
import type { TokenProvider } from '../../src/oauth/token-provider.ts';
import { createVault, generateMasterKey } from '../../src/tenancy/vault.ts';
import { createZendeskApi, retryAfterDate, ZendeskApiError } from '../../src/zendesk/api.ts';
import { zendeskResources } from '../../src/zendesk/resources.ts';
import { useMsw } from '../helpers/msw.ts';

const server = useMsw();
const tenantId = newId('tn');
const ticket = z.object({ ticket: z.object({ id: z.number() }) });

function tokens(): TokenProvider & { issued: number; invalidated: number } {
  const t = {
    issued: 0,
    invalidated: 0,
    async getAccessToken() {
      t.issued++;
      return `tok-${t.issued}`;
    },
    invalidate() {
      t.invalidated++;
    },
  };
  return t;
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

describe('Zendesk API client', () => {
  const sleeps: number[] = [];
  const api = (t = tokens()) =>
    createZendeskApi({ tenantId, subdomain: 'acme', tokens: t, sleep: async (ms) => void sleeps.push(ms) });

  it('waits out a short text-bodied 429 and then succeeds', async () => {
    let calls = 0;
    server.use(
      http.get('https://acme.zendesk.com/api/v2/tickets/1.json', () => {
        calls++;
        return calls === 1
          ? new HttpResponse('Too Many Requests', { status: 429, headers: { 'retry-after': '2' } })
          : HttpResponse.json({ ticket: { id: 1 } });
      }),
    );
    sleeps.length = 0;
    expect(await api().request('GET', '/api/v2/tickets/1.json', { schema: ticket })).toEqual({
      ticket: { id: 1 },
    });
    expect(sleeps).toEqual([2000]);
    // Vault operations after a discarded msw body must keep working (src/lib/http.ts explains the
    // Node abort that cancel() caused; it reproduces in a plain script, not reliably in this worker).
    const vault = createVault([{ version: 1, key: generateMasterKey() }]);
    expect(await vault.open(tenantId, 'p', await vault.seal(tenantId, 'p', 'still alive'))).toBe(
      'still alive',
    );
  });

  it('gives up with a retryable rate_limited error when Retry-After is long', async () => {
    server.use(
      http.get(
        'https://acme.zendesk.com/api/v2/tickets/2.json',
        () => new HttpResponse('slow down', { status: 429, headers: { 'retry-after': '120' } }),
      ),
    );
    const now = new Date('2026-12-01T10:00:00Z');
    const e = await failure(
      createZendeskApi({ tenantId, subdomain: 'acme', tokens: tokens(), now: () => now }).request(
        'GET',
        '/api/v2/tickets/2.json',
        { schema: ticket },
      ),
    );
    expect(e).toBeInstanceOf(ZendeskApiError);
    expect([e.code, e.retryable, e.detail]).toEqual([
      'rate_limited',
      true,
      { status: 429, retryAfterMs: 120_000 },
    ]);
    expect((e as ZendeskApiError).retryAt).toEqual(new Date('2026-12-01T10:02:00Z'));
    expect((e as ZendeskApiError).upstreamStatus).toBe(429);
  });

  it('maps 5xx to retryable and 404 to not retryable, with the status', async () => {
    server.use(
      http.get(
        'https://acme.zendesk.com/api/v2/tickets/3.json',
        () => new HttpResponse('<html>oops</html>', { status: 503 }),
      ),
      http.get('https://acme.zendesk.com/api/v2/tickets/4.json', () =>
        HttpResponse.json({ error: 'RecordNotFound' }, { status: 404 }),
      ),
    );
    const e503 = await failure(api().request('GET', '/api/v2/tickets/3.json', { schema: ticket }));
    expect([e503.code, e503.retryable, e503.detail]).toEqual(['upstream_error', true, { status: 503 }]);
    const e404 = await failure(api().request('GET', '/api/v2/tickets/4.json', { schema: ticket }));
    expect([e404.code, e404.retryable, e404.detail]).toEqual(['upstream_error', false, { status: 404 }]);
  });

  it('after a 401 invalidates the token once and retries with a fresh one', async () => {
    const seen: string[] = [];
    server.use(
      http.get('https://acme.zendesk.com/api/v2/tickets/5.json', ({ request }) => {
        seen.push(request.headers.get('authorization') ?? '');
        return seen.length === 1
          ? new HttpResponse('Unauthorized', { status: 401 })
          : HttpResponse.json({ ticket: { id: 5 } });
      }),
    );
    const t = tokens();
    await api(t).request('GET', '/api/v2/tickets/5.json', { schema: ticket });
    expect(seen).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(t.invalidated).toBe(1);
  });

  it('refuses a response that does not match the schema, naming the path', async () => {
    server.use(
      http.get('https://acme.zendesk.com/api/v2/tickets/6.json', () =>
        HttpResponse.json({ ticket: { id: 'six' } }),
      ),
    );
    const e = await failure(api().request('GET', '/api/v2/tickets/6.json', { schema: ticket }));
    expect(e.code).toBe('upstream_error');
    expect(e.message).toContain('unexpected response for GET /api/v2/tickets/6.json');
  });

  it('refuses absolute URLs that would leave the tenant subdomain', async () => {
    const e = await failure(api().request('GET', 'https://evil.example/x', { schema: ticket }));
    expect(e.code).toBe('internal');
  });

  it('a 503 with a long Retry-After (an HTTP date) is retryable with retryAt; a short one is waited out', async () => {
    const now = new Date('2026-12-01T10:00:00Z');
    let calls = 0;
    server.use(
      http.get(
        'https://acme.zendesk.com/api/v2/tickets/7.json',
        () =>
          new HttpResponse('maintenance', {
            status: 503,
            headers: { 'retry-after': 'Tue, 01 Dec 2026 10:05:00 GMT' },
          }),
      ),
      http.get('https://acme.zendesk.com/api/v2/tickets/8.json', () => {
        calls++;
        return calls === 1
          ? new HttpResponse('busy', { status: 503, headers: { 'retry-after': '1' } })
          : HttpResponse.json({ ticket: { id: 8 } });
      }),
    );
    const client = createZendeskApi({
      tenantId,
      subdomain: 'acme',
      tokens: tokens(),
      now: () => now,
      sleep: async () => {},
    });
    const e = await failure(client.request('GET', '/api/v2/tickets/7.json', { schema: ticket }));
    expect(e).toMatchObject({ code: 'upstream_error', retryable: true, upstreamStatus: 503 });
    expect((e as ZendeskApiError).retryAt).toEqual(new Date('2026-12-01T10:05:00Z'));
    expect(e.detail).toEqual({ status: 503, retryAfterMs: 300_000 });
    expect(await client.request('GET', '/api/v2/tickets/8.json', { schema: ticket })).toEqual({
      ticket: { id: 8 },
    });
    expect(calls).toBe(2);
  });

  it('reads Retry-After as seconds or a date, and an unreadable one as 60 s', () => {
    const now = new Date('2026-12-01T10:00:00Z');
    expect(retryAfterDate('30', now)).toEqual(new Date('2026-12-01T10:00:30Z'));
    expect(retryAfterDate('Tue, 01 Dec 2026 10:01:00 GMT', now)).toEqual(new Date('2026-12-01T10:01:00Z'));
    expect(retryAfterDate('soon', now)).toEqual(new Date('2026-12-01T10:01:00Z'));
    expect(retryAfterDate(null, now)).toEqual(new Date('2026-12-01T10:01:00Z'));
  });
});

describe('Zendesk resource methods', () => {
  const base = 'https://acme.zendesk.com';
  const zd = () => zendeskResources(createZendeskApi({ tenantId, subdomain: 'acme', tokens: tokens() }));

  it('getTicket joins requester, organization and brand from one sideloading call and the brand', async () => {
    const seen: string[] = [];
    server.use(
      http.get(`${base}/api/v2/tickets/42.json`, ({ request }) => {
        seen.push(new URL(request.url).search);
        return HttpResponse.json({
          ticket: {
            id: 42,
            subject: 'Export broken',
            description: 'It does nothing.',
            requester_id: 7,
            organization_id: 9,
            brand_id: 3,
            recipient: 'help@acme.example',
            via: { channel: 'email' },
            created_at: '2026-12-01T09:00:00Z',
          },
          users: [
            { id: 8, name: 'Other' },
            { id: 7, name: 'Pat', email: 'pat@example.com' },
          ],
          organizations: [{ id: 9, name: 'Pine', organization_fields: { account_id: 'acc_1' } }],
        });
      }),
      http.get(`${base}/api/v2/brands/3.json`, () =>
        HttpResponse.json({ brand: { id: 3, name: 'Pine Rewards' } }),
      ),
    );
    expect(await zd().getTicket('42')).toEqual({
      id: '42',
      subject: 'Export broken',
      description: 'It does nothing.',
      requester: { id: '7', name: 'Pat', email: 'pat@example.com' },
      organization: { id: '9', name: 'Pine', fields: { account_id: 'acc_1' } },
      brand: { id: '3', name: 'Pine Rewards' },
      recipient: 'help@acme.example',
      via: 'email',
      createdAt: '2026-12-01T09:00:00Z',
    });
    expect(seen).toEqual(['?include=users%2Corganizations']);
  });

  it('refuses a ticket id that is not numeric before calling Zendesk', async () => {
    const e = await failure(zd().getTicket('../users/1'));
    expect(e.code).toBe('internal');
  });

  it("the requester's latest public comment skips agents' comments and internal notes", async () => {
    server.use(
      http.get(`${base}/api/v2/tickets/42/comments.json`, ({ request }) => {
        expect(new URL(request.url).searchParams.get('sort_order')).toBe('desc');
        return HttpResponse.json({
          comments: [
            { id: 5, author_id: 7, public: false, body: 'note by the requester?' },
            { id: 4, author_id: 99, public: true, body: 'agent reply' },
            { id: 3, author_id: 7, public: true, plain_body: 'second message', body: '<p>second</p>' },
            { id: 1, author_id: 7, public: true, body: 'first' },
          ],
        });
      }),
    );
    expect(await zd().latestPublicCommentBy('42', '7')).toMatchObject({ id: '3', body: 'second message' });
    expect(await zd().latestPublicCommentBy('42', '12345')).toBeNull();
  });

  it('an internal note is private; a public reply is public and written as the given agent', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.put(`${base}/api/v2/tickets/42.json`, async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json({
          ticket: { id: 42 },
          audit: {
            id: 777,
            events: [
              { id: 778, type: 'Comment' },
              { id: 779, type: 'Change' },
            ],
          },
        });
      }),
    );
    expect(await zd().addInternalNote('42', 'draft ready')).toEqual({
      ticketId: '42',
      commentId: '778',
      auditId: '777',
    });
    await zd().addPublicReply('42', { body: 'Hello Pat', authorId: '5001' });
    expect(bodies).toEqual([
      { ticket: { comment: { body: 'draft ready', public: false } } },
      { ticket: { comment: { body: 'Hello Pat', public: true, author_id: 5001 } } },
    ]);
  });

  it('a 204 DELETE resolves (no Error result); a 404 DELETE is a ZendeskApiError with the status', async () => {
    server.use(
      http.delete(`${base}/api/v2/triggers/1`, () => new HttpResponse(null, { status: 204 })),
      http.delete(`${base}/api/v2/triggers/2`, () =>
        HttpResponse.json({ error: 'RecordNotFound' }, { status: 404 }),
      ),
      http.delete(`${base}/api/v2/oauth/tokens/current.json`, () => new HttpResponse(null, { status: 204 })),
    );
    await expect(zd().deleteTrigger('1')).resolves.toBeUndefined();
    await expect(zd().revokeCurrentToken()).resolves.toBeUndefined();
    const e = await failure(zd().deleteTrigger('2'));
    expect(e).toMatchObject({ upstreamStatus: 404, retryable: false });
  });

  it('Apps API: uploads the package as multipart, builds, installs, reads the public key, uninstalls and deletes', async () => {
    const calls: string[] = [];
    server.use(
      http.post(`${base}/api/v2/apps/uploads.json`, async ({ request }) => {
        const form = await request.formData();
        const file = form.get('uploaded_data') as File;
        calls.push(`upload ${file.name} ${file.type} ${new Uint8Array(await file.arrayBuffer()).length}`);
        return HttpResponse.json({ id: 123 }, { status: 201 });
      }),
      http.post(`${base}/api/v2/apps.json`, async ({ request }) => {
        calls.push(`create ${JSON.stringify(await request.json())}`);
        return HttpResponse.json({ job_id: 'job-9' }, { status: 202 });
      }),
      http.get(`${base}/api/v2/apps/job_statuses/job-9`, () =>
        HttpResponse.json({ id: 'job-9', status: 'completed', app_id: 456, message: null }),
      ),
      http.post(`${base}/api/v2/apps/installations.json`, async ({ request }) => {
        calls.push(`install ${JSON.stringify(await request.json())}`);
        return HttpResponse.json({ id: 789, app_id: 456, enabled: true, settings: { name: 'Copilot' } });
      }),
      http.get(
        `${base}/api/v2/apps/456/public_key.pem`,
        () =>
          new HttpResponse('-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----\n', {
            headers: { 'content-type': 'application/x-pem-file' },
          }),
      ),
      http.delete(
        `${base}/api/v2/apps/installations/789.json`,
        () => new HttpResponse(null, { status: 204 }),
      ),
      http.delete(`${base}/api/v2/apps/456.json`, () => new HttpResponse(null, { status: 204 })),
    );
    const z = zd();
    const { uploadId } = await z.uploadAppPackage(new Uint8Array([80, 75, 3, 4]), 'copilot.zip');
    expect(uploadId).toBe('123');
    const { jobId } = await z.createApp({ name: 'Copilot', shortDescription: 'Drafts', uploadId });
    expect(await z.getAppJobStatus(jobId)).toEqual({ status: 'completed', appId: '456', message: null });
    expect(await z.installApp({ appId: '456', settings: { name: 'Copilot' } })).toEqual({
      id: '789',
      appId: '456',
      enabled: true,
    });
    expect(await z.getAppPublicKey('456')).toBe(
      '-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----',
    );
    await z.uninstallApp('789');
    await z.deleteApp('456');
    expect(calls).toEqual([
      'upload copilot.zip application/zip 4',
      'create {"name":"Copilot","short_description":"Drafts","upload_id":123}',
      'install {"app_id":456,"settings":{"name":"Copilot"}}',
    ]);
  });

  it('refuses a public key answer that is not a PEM public key', async () => {
    server.use(
      http.get(`${base}/api/v2/apps/1/public_key.pem`, () => new HttpResponse('<html>login</html>')),
    );
    const e = await failure(zd().getAppPublicKey('1'));
    expect(e.code).toBe('upstream_error');
  });

  it('findWebhooks follows the cursor to the last page', async () => {
    const afters: (string | null)[] = [];
    server.use(
      http.get(`${base}/api/v2/webhooks`, ({ request }) => {
        const after = new URL(request.url).searchParams.get('page[after]');
        afters.push(after);
        return HttpResponse.json(
          after
            ? { webhooks: [{ id: 'w2', endpoint: 'https://b' }], meta: { has_more: false } }
            : {
                webhooks: [{ id: 'w1', endpoint: 'https://a' }],
                meta: { has_more: true, after_cursor: 'c1' },
              },
        );
      }),
    );
    expect((await zd().findWebhooks('Helpdesk Copilot')).map((w) => w.id)).toEqual(['w1', 'w2']);
    expect(afters).toEqual([null, 'c1']);
  });
});
