import { HttpResponse, http } from 'msw';
import { describe, expect, it } from 'vitest';
import { assertPublicHttpsUrl } from '../../src/pipeline/context/net-guard.ts';
import {
  assertPublicHostName,
  createWorkersResolver,
  DEFAULT_DOH_URL,
} from '../../src/pipeline/context/workers-resolver.ts';
import { slackClientFetch } from '../../src/slack/bolt.ts';
import { useMsw } from '../helpers/msw.ts';

/**
 * What stands in, on workerd, for Node-only behaviour: the Context API's address check without a
 * pinned DNS look-up (name check + DNS-over-HTTPS), and Bolt's fetch wrapper. Runs on Node with the
 * network mocked by msw; test/workerd/smoke.ts runs the Worker itself on workerd.
 */
const server = useMsw();

/** A DNS-over-HTTPS server answering from a table (name -> addresses), counting queries. */
function doh(table: Record<string, { A?: string[]; AAAA?: string[] }>) {
  const queries: string[] = [];
  server.use(
    http.get(DEFAULT_DOH_URL, ({ request }) => {
      const url = new URL(request.url);
      const name = url.searchParams.get('name') ?? '';
      const type = url.searchParams.get('type') as 'A' | 'AAAA';
      queries.push(`${name}/${type}`);
      if (request.headers.get('accept') !== 'application/dns-json')
        return new HttpResponse(null, { status: 400 });
      const entry = table[name];
      if (!entry) return HttpResponse.json({ Status: 3 });
      const data = entry[type] ?? [];
      return HttpResponse.json({
        Status: 0,
        Answer: data.map((d) => ({ type: type === 'A' ? 1 : 28, data: d })),
      });
    }),
  );
  return queries;
}

const check = (url: string) =>
  assertPublicHttpsUrl(url, { resolver: createWorkersResolver(), allowPrivate: false });

describe('Context API address guard on workerd (no pinned look-up)', () => {
  it('refuses single-label and internal-only names before any look-up', async () => {
    const queries = doh({});
    for (const host of [
      'intranet',
      'db.internal',
      'printer.local',
      'nas.home.arpa',
      'x.corp',
      'app.localhost',
      'FOO.LAN.',
    ]) {
      expect(() => assertPublicHostName(host), host).toThrow(/not allowed/);
      await expect(check(`https://${host}/ctx`), host).rejects.toThrow();
    }
    expect(queries).toEqual([]);
  });

  it('refuses IP literals in refused ranges without a look-up, and accepts a public literal', async () => {
    const queries = doh({});
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '169.254.169.254',
      '192.168.0.1',
      '[::1]',
      '[::ffff:10.0.0.1]',
      '[fd00::1]',
    ])
      await expect(check(`https://${ip}/ctx`), ip).rejects.toThrow(/private or reserved/);
    await expect(check('https://93.184.215.14/ctx')).resolves.toBeInstanceOf(URL);
    expect(queries).toEqual([]);
  });

  it('refuses a public-looking name whose A or AAAA answer is private; accepts one that is public', async () => {
    const queries = doh({
      'inside.example.com': { A: ['93.184.215.14', '10.0.0.5'] },
      'v6inside.example.com': { A: ['93.184.215.14'], AAAA: ['fe80::1'] },
      'api.tenant.example': { A: ['93.184.215.14'], AAAA: ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'] },
    });
    await expect(check('https://inside.example.com/ctx')).rejects.toThrow(/10\.0\.0\.5/);
    await expect(check('https://v6inside.example.com/ctx')).rejects.toThrow(/fe80::1/);
    await expect(check('https://api.tenant.example/ctx')).resolves.toBeInstanceOf(URL);
    expect(queries).toContain('api.tenant.example/AAAA');
  });

  it('refuses a name that does not resolve, and fails closed when DNS-over-HTTPS fails', async () => {
    doh({});
    await expect(check('https://nowhere.example.com/ctx')).rejects.toThrow(/does not resolve/);
    server.use(http.get(DEFAULT_DOH_URL, () => new HttpResponse('down', { status: 502 })));
    await expect(check('https://api.tenant.example/ctx')).rejects.toThrow(/does not resolve/);
  });
});

describe("Bolt's fetch wrapper (slackClientFetch)", () => {
  it("sends redirect 'error' as 'manual' and refuses the redirect itself", async () => {
    // Our own message proves the 3xx came back (as with 'manual') and the wrapper refused it.
    server.use(
      http.post('https://slack.com/api/chat.postMessage', () => {
        return new HttpResponse(null, { status: 302, headers: { location: 'https://evil.example/' } });
      }),
    );
    await expect(
      slackClientFetch('https://slack.com/api/chat.postMessage', {
        method: 'POST',
        body: '{}',
        redirect: 'error',
      }),
    ).rejects.toThrow(/redirect \(302\)/);
  });

  it('passes other answers and redirect modes through, called unbound', async () => {
    server.use(http.post('https://slack.com/api/auth.test', () => HttpResponse.json({ ok: true })));
    const unbound = slackClientFetch;
    const res = await unbound('https://slack.com/api/auth.test', { method: 'POST', redirect: 'error' });
    expect(await res.json()).toEqual({ ok: true });
  });
});
