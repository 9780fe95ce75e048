import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPinnedFetch } from '../../src/pipeline/context/pinned-fetch.ts';

/** A local port with nothing listening (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('pinned fetch (connect-time address check)', () => {
  it('refuses a name that resolves to loopback when the socket looks it up, and plain http', async () => {
    const port = await closedPort();
    const f = createPinnedFetch({ allowPrivate: false });
    await expect(f(`https://localhost:${port}/context`, { method: 'POST', body: '{}' })).rejects.toThrow(
      /private or reserved/,
    );
    await expect(f('http://example.com/')).rejects.toThrow(/https/);
  });

  it('with the development opt-in it connects (and here finds nothing listening)', async () => {
    const port = await closedPort();
    const f = createPinnedFetch({ allowPrivate: true });
    await expect(
      f(`https://localhost:${port}/context`, { method: 'POST', body: '{}' }),
    ).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  function selfSigned(): { key: string; cert: string } | null {
    try {
      const dir = mkdtempSync(join(tmpdir(), 'pinned-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=DNS:localhost',
          '-keyout',
          join(dir, 'k.pem'),
          '-out',
          join(dir, 'c.pem'),
        ],
        { stdio: 'ignore' },
      );
      return {
        key: readFileSync(join(dir, 'k.pem'), 'utf8'),
        cert: readFileSync(join(dir, 'c.pem'), 'utf8'),
      };
    } catch {
      return null;
    }
  }

  it('carries method, headers and body, and streams the answer back as a Response (local TLS server)', async (ctx) => {
    const tls = selfSigned();
    if (!tls) return ctx.skip();
    let seen: { method?: string; sig?: string; body?: string } = {};
    const srv = createHttpsServer(tls, (req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen = { method: req.method, sig: String(req.headers['x-copilot-signature']), body };
        res.writeHead(200, { 'content-type': 'application/json', 'x-multi': ['a', 'b'] });
        res.end(JSON.stringify({ facts: [] }));
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address() as { port: number };
    try {
      const f = createPinnedFetch({ allowPrivate: true, ca: tls.cert });
      const res = await f(`https://localhost:${port}/context`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-copilot-signature': 'v1=abc' },
        body: '{"keys":["plan"]}',
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-multi')).toBe('a, b');
      expect(await res.json()).toEqual({ facts: [] });
      expect(seen).toEqual({ method: 'POST', sig: 'v1=abc', body: '{"keys":["plan"]}' });
      // The same server refused when private addresses are not allowed.
      await expect(
        createPinnedFetch({ allowPrivate: false, ca: tls.cert })(`https://localhost:${port}/context`),
      ).rejects.toThrow(/private or reserved/);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });
});
