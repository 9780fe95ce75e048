import { Hono } from 'hono';
import { describeError } from '../lib/errors.ts';
import {
  createSlackEventDispatcher,
  eventCallbackSchema,
  installKeyOf,
  type SlackEventListener,
  urlVerificationSchema,
} from '../slack/events.ts';
import { onAppUninstalled, onTokensRevoked } from '../slack/uninstall.ts';
import { isSslCheck, verifySlackSignature } from '../slack/verify.ts';
import { forgetSlackKey, forgetTenantLookups, tenantIdBySlackCached } from '../tenancy/lookup.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './types.ts';

/**
 * Any other event type when Bolt is not mounted: resolved to exactly one active installation
 * from the signed payload, or nothing is done; a resolved event is acknowledged and ignored.
 * The look-up goes through the 30-second event cache (tenancy/lookup.ts): nothing is stored
 * here, so a stale entry can only acknowledge an event that would have been acknowledged anyway.
 */
const resolveOnly: SlackEventListener = async (ctx) => {
  const tenantId = await tenantIdBySlackCached(ctx.db, ctx.key);
  return tenantId ? { result: 'ignored', tenantId } : { result: 'no_tenant' };
};

/**
 * An uninstall listener that also drops the key (and its tenant's cached look-ups) from this
 * process's caches, changed or not: the next event for it reads the database again.
 */
const forgetting =
  (listener: SlackEventListener): SlackEventListener =>
  async (ctx) => {
    try {
      const out = await listener(ctx);
      if (out.tenantId) forgetTenantLookups(out.tenantId);
      return out;
    } finally {
      forgetSlackKey(ctx.db, ctx.key);
    }
  };

/** Events this route handles itself (never Bolt): the manifest test checks them against manifest.json. */
export const uninstallListeners = {
  app_uninstalled: forgetting(onAppUninstalled),
  tokens_revoked: forgetting(onTokensRevoked),
};
const plainDispatch = createSlackEventDispatcher(uninstallListeners, resolveOnly);

/**
 * `POST /slack/events`. Order: feature check, ssl_check probe (exact `ssl_check=1` form body,
 * everything else in it discarded), signature over the raw bytes and timestamp window, then
 * `url_verification` or `event_callback`. A refused request stores nothing.
 *
 * Events that cannot be tied to one tenant (workspace never installed, or already uninstalled)
 * are answered 200 with nothing done, and logged. The request is still refused in substance
 * (no tenant, no effect); a non-2xx answer would only make Slack retry three times and count
 * towards disabling the app's event subscriptions for every tenant.
 */
const utf8 = new TextDecoder();

export function slackEventRoutes() {
  const app = new Hono<AppEnv>();
  app.post('/slack/events', async (c) => {
    const { config, database, now, slackBolt } = c.get('deps');
    const log = c.get('log');
    const secret = config.SLACK_SIGNING_SECRET;
    if (!config.features.slackEvents || !secret) {
      return errorResponse(c, 'feature_disabled', 'Slack events are off: SLACK_SIGNING_SECRET is not set.');
    }
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const text = utf8.decode(raw);
    if (isSslCheck(c.req.header('content-type'), text)) return c.body(null, 200);

    const at = now?.() ?? new Date();
    const verdict = await verifySlackSignature({
      signingSecret: secret,
      rawBody: raw,
      signature: c.req.header('x-slack-signature'),
      timestamp: c.req.header('x-slack-request-timestamp'),
      now: at,
    });
    if (!verdict.ok) {
      log.warn('slack request refused', { reason: verdict.reason });
      return errorResponse(c, verdict.reason, verdict.message);
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return errorResponse(c, 'invalid_body', 'The event body is not JSON.');
    }
    // Only a url_verification body is parsed as one (a failed zod parse builds an error: not per event).
    if ((body as { type?: unknown } | null)?.type === 'url_verification') {
      const challenge = urlVerificationSchema.safeParse(body);
      if (challenge.success) return c.json({ challenge: challenge.data.challenge });
    }

    const parsed = eventCallbackSchema.safeParse(body);
    if (!parsed.success) {
      const type = (body as { type?: unknown })?.type;
      log.info('slack payload ignored', { type: typeof type === 'string' ? type : undefined });
      return c.body(null, 200);
    }
    const envelope = parsed.data;
    const key = installKeyOf(envelope);
    const retry = Number(c.req.header('x-slack-retry-num'));
    try {
      // Uninstall events are ours; everything else goes to Bolt when the entry mounted it.
      const dispatch = slackBolt
        ? createSlackEventDispatcher(uninstallListeners, slackBolt.listener)
        : plainDispatch;
      const final = await dispatch({
        db: database.db,
        envelope,
        body: body as Record<string, unknown>,
        key,
        log,
        now: at,
        requestId: c.get('requestId'),
        retryNum: Number.isInteger(retry) ? retry : undefined,
      });
      const fields = {
        eventId: envelope.event_id,
        eventType: envelope.event.type,
        result: final.result,
        tenantId: final.tenantId,
        teamId: key.teamId,
        enterpriseId: key.enterpriseId,
        retryNum: Number.isInteger(retry) ? retry : undefined,
      };
      // Per-event lines at debug only: at info this route would write one per event on the hot path.
      if (final.result === 'no_tenant') log.warn('slack event for no installed tenant: nothing done', fields);
      else log.debug('slack event', fields);
    } catch (e) {
      // Answering 500 makes Slack retry; every listener is idempotent.
      log.error('slack event failed', { eventId: envelope.event_id, error: describeError(e) });
      return errorResponse(c, 'internal', 'The event could not be processed; Slack will retry.');
    }
    return c.body(null, 200);
  });
  return app;
}
