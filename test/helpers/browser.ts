import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';

/** The Chromium the browser tests drive (`apt-get install chromium`); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where the browser tests keep their screenshots (test/.output/, ignored by git). */
export const SCREENSHOTS = new URL('../.output/', import.meta.url).pathname;

/** Headless Chromium with the flags this machine needs, plus `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...extraArgs],
  });
}

export interface TestServer {
  /** `http://127.0.0.1:PORT`: known before the app is built, so it can be the app's PUBLIC_URL. */
  origin: string;
  /** The app that answers from now on (it gets @hono/node-server's bindings: the socket's peer). */
  serveApp(app: { fetch: (req: Request, env?: unknown) => Response | Promise<Response> }): void;
  close(): Promise<void>;
}

/** The real app on @hono/node-server, on 127.0.0.1 and an ephemeral port. */
export async function startTestServer(): Promise<TestServer> {
  let current: { fetch: (req: Request, env?: unknown) => Response | Promise<Response> } | undefined;
  const server = serve({
    // `env` is { incoming, outgoing }: routes that check the TCP peer (the local admin link) need it.
    fetch: (req, env) => (current ? current.fetch(req, env) : new Response('not ready', { status: 503 })),
    port: 0,
    hostname: '127.0.0.1',
  });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serveApp(app) {
      current = app;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
