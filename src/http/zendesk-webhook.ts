import { Hono } from 'hono';
import { isAppError } from '../lib/errors.ts';
import { acceptZendeskWebhook, createHookCache, ingestGroupCommit } from '../zendesk/webhook.ts';
import {
  ZENDESK_INVOCATION_HEADER,
  ZENDESK_SIGNATURE_HEADER,
  ZENDESK_TIMESTAMP_HEADER,
} from '../zendesk/webhook-verify.ts';
import { limitBody } from './middleware.ts';
import type { AppEnv } from './types.ts';

/** Trigger bodies carry ids only (a few hundred bytes); anything near this size is not ours. */
const MAX_WEBHOOK_BODY = 64 * 1024;

/**
 * `POST /webhooks/zendesk/:hookId`: verify, dedupe, enqueue, answer 200 `{ ok, duplicate }`.
 * All the work is in zendesk/webhook.ts; this maps the request in and logs refusals (without
 * the body or headers), which is where signature-mismatch support cases start. Accepted
 * deliveries are not logged one by one (the access log line has the request; the delivery row
 * is the record).
 */
export function zendeskWebhookRoutes() {
  const app = new Hono<AppEnv>();
  const hooks = createHookCache();
  app.post('/webhooks/zendesk/:hookId', limitBody(MAX_WEBHOOK_BODY), async (c) => {
    const deps = c.get('deps');
    const body = new Uint8Array(await c.req.arrayBuffer());
    try {
      const result = await acceptZendeskWebhook(
        {
          database: deps.database,
          vault: deps.vault,
          now: deps.now ?? (() => new Date()),
          hooks,
          commits: ingestGroupCommit(deps.database),
        },
        {
          hookId: c.req.param('hookId'),
          signature: c.req.header(ZENDESK_SIGNATURE_HEADER),
          timestamp: c.req.header(ZENDESK_TIMESTAMP_HEADER),
          invocationId: c.req.header(ZENDESK_INVOCATION_HEADER),
          body,
        },
      );
      if (!result.duplicate) deps.jobsEnqueued?.();
      return c.json({ ok: true, duplicate: result.duplicate });
    } catch (e) {
      if (isAppError(e) && e.status < 500) c.get('log').warn('zendesk webhook refused', { code: e.code });
      throw e;
    }
  });
  return app;
}
