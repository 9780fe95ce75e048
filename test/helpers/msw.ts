import type { RequestHandler } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';

/**
 * msw for a test file: everything outside this machine (Slack, Zendesk, OpenAI, tenant APIs) is
 * mocked at the network, and any request no handler answers fails the test. (msw 3 calls the
 * option `onUnhandledFrame`; the old `onUnhandledRequest` would be silently ignored.)
 * Handlers added with `server.use()` in a test are reset after it.
 */
export function useMsw(...handlers: RequestHandler[]) {
  const server = setupServer(...handlers);
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}
