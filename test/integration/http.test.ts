import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.ts';
import { captureLogger, testApp } from '../helpers/app.ts';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe.each(backends())('http basics on %s', (backend) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(backend);
  });
  afterAll(() => database?.close());

  it('GET /healthz answers while the process is up', async () => {
    const { app } = testApp(database);
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('GET /readyz reports the database and current migrations', async () => {
    const { app } = testApp(database);
    const res = await app.request('/readyz');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, { ok: boolean; detail: unknown }> };
    expect(body.checks.database?.ok).toBe(true);
    expect(body.checks.migrations).toEqual({ ok: true, detail: { applied: 20, expected: 20 } });
    expect(body.checks.isolation?.detail).toEqual({
      // The test database uses the public development claim key, so never database-enforced here.
      level: 'application-only',
    });
  });

  it('GET / is a small page linking the admin console, the install routes and the health checks', async () => {
    const { app } = testApp(database);
    const res = await app.request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    const page = await res.text();
    for (const href of [
      'href="/admin"',
      'href="/slack/install"',
      'action="/zendesk/connect"',
      'href="/healthz"',
      'href="/readyz"',
    ]) {
      expect(page).toContain(href);
    }
    // testApp has no Slack or Zendesk credentials: the page says how to turn them on.
    expect(page).toContain('set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET');
    expect(page).toContain('<link rel="stylesheet" href="/assets/app.css">');
  });

  it('pages carry a strict CSP (no inline script or style) and their stylesheet is served', async () => {
    const { app } = testApp(database);
    for (const path of ['/', '/admin']) {
      const res = await app.request(path);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'none'");
      expect(csp, path).toContain("style-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      const page = await res.text();
      expect(page, path).not.toMatch(/<style|<script|style="/);
    }
    const css = await app.request('/assets/app.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(await css.text()).toContain('body{');
  });

  it('unknown routes get the error shape with the request id', async () => {
    const { app } = testApp(database);
    const res = await app.request('/nowhere', { headers: { 'x-request-id': 'trace-12345678' } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: { code: 'not_found', message: 'No route for GET /nowhere.', requestId: 'trace-12345678' },
    });
  });

  it('unexpected errors are 500 with no stack trace or internals', async () => {
    const { logger, lines } = captureLogger();
    const { app } = testApp(database, { logger });
    app.get('/boom', () => {
      throw new Error('db password=hunter2 at /srv/app.ts:12');
    });
    const res = await app.request('/boom');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe('internal');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('app.ts');
    expect(lines.some((l) => l.includes('unhandled error'))).toBe(true);
  });

  it('bodies over the limit are refused with 413, by length or by counting', async () => {
    const { app } = testApp(database, { maxBodyBytes: 1000 });
    let reached = false;
    app.post('/echo', async (c) => {
      reached = true;
      return c.json({ n: (await c.req.text()).length });
    });
    const big = 'x'.repeat(1001);
    const r1 = await app.request('/echo', {
      method: 'POST',
      body: big,
      headers: { 'content-length': '1001' },
    });
    expect(r1.status).toBe(413);
    expect(((await r1.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    const stream = new ReadableStream({
      start(ctrl) {
        for (let i = 0; i < 5; i++) ctrl.enqueue(new TextEncoder().encode('y'.repeat(300)));
        ctrl.close();
      },
    });
    const r2 = await app.request('/echo', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(r2.status).toBe(413);
    expect(reached).toBe(false);
    const ok = await app.request('/echo', { method: 'POST', body: 'z'.repeat(999) });
    expect(await ok.json()).toEqual({ n: 999 });
  });
});

describe('readiness without migrations', () => {
  it('answers 503 not_ready when the schema is missing', async () => {
    const database = await openDatabase({ dataDir: 'memory://' });
    try {
      const { app } = testApp(database);
      const res = await app.request('/readyz');
      expect(res.status).toBe(503);
      const body = (await res.json()) as { error: { code: string }; checks: { migrations: { ok: boolean } } };
      expect(body.error.code).toBe('not_ready');
      expect(body.checks.migrations.ok).toBe(false);
    } finally {
      await database.close();
    }
  });
});
