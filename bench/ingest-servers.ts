/**
 * The two reference servers of bench/ingest-side-by-side.ts (spawned by it, one process each):
 *
 *   BENCH_SERVER=floor  bare node:http: read the body, check the Slack HMAC (node:crypto), answer
 *                       200. No framework, no parsing, no database: the floor of an HTTP ack here.
 *   BENCH_SERVER=bolt   @slack/bolt's own HTTPReceiver with one `message` listener and a static
 *                       authorize (no network, no database): Bolt's in-memory receiver.
 *
 * Env: BENCH_SLACK_SECRET (the signing secret). Prints one JSON line `{"port":N}` when listening;
 * stops on SIGTERM.
 */
import './usage.ts'; // --help: first, before any other module runs
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const secret = process.env.BENCH_SLACK_SECRET ?? '';
if (!secret) throw new Error('BENCH_SLACK_SECRET is required');
const mode = process.env.BENCH_SERVER;

function listening(port: number) {
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

if (mode === 'floor') {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const ts = String(req.headers['x-slack-request-timestamp'] ?? '');
      const sig = String(req.headers['x-slack-signature'] ?? '');
      const skew = Math.abs(Math.floor(Date.now() / 1000) - Number(ts));
      const expected = Buffer.from(
        `v0=${createHmac('sha256', secret).update(`v0:${ts}:`).update(body).digest('hex')}`,
      );
      const given = Buffer.from(sig);
      const ok = skew <= 300 && given.length === expected.length && timingSafeEqual(given, expected);
      res.writeHead(ok ? 200 : 401, { 'content-length': '0' });
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => listening((server.address() as AddressInfo).port));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
} else if (mode === 'bolt') {
  const { App, HTTPReceiver, LogLevel } = await import('@slack/bolt');
  const receiver = new HTTPReceiver({ signingSecret: secret, endpoints: '/slack/events' });
  const app = new App({
    receiver,
    logLevel: LogLevel.ERROR,
    authorize: async () => ({ botToken: 'xoxb-bench', botId: 'BBENCH', botUserId: 'UBOT' }),
  });
  let seen = 0;
  app.event('message', async () => {
    seen++;
  });
  const server = (await app.start(0)) as import('node:http').Server;
  server.keepAliveTimeout = 60_000;
  listening((server.address() as AddressInfo).port);
  process.on('SIGTERM', async () => {
    server.closeAllConnections();
    await app.stop();
    process.stderr.write(`bolt: ${seen} events\n`);
    process.exit(0);
  });
} else {
  throw new Error('BENCH_SERVER must be floor or bolt');
}
