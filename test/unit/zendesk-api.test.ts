import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../src/lib/errors.ts';
import { newId } from '../../src/lib/ids.ts';
import type { TokenProvider } from '../../src/oauth/token-provider.ts';
import { createVault, generateMasterKey } from '../../src/tenancy/vault.ts';
import { createZendeskApi } from '../../src/zendesk/api.ts';
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
    const e = await failure(api().request('GET', '/api/v2/tickets/2.json', { schema: ticket }));
    expect([e.code, e.retryable, e.detail]).toEqual(['rate_limited', true, { retryAfterMs: 120_000 }]);
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
});
