import type { Context } from 'hono';
import { Hono } from 'hono';
import { describeError } from '../lib/errors.ts';
import { createUpstreamLimiter } from '../limits/upstream.ts';
import { handleCommand, handleInteraction, type InteractionDeps } from '../slack/interactions.ts';
import { isSslCheck, verifySlackSignature } from '../slack/verify.ts';
import type { SlackLimiter } from '../slack/web.ts';
import { errorResponse } from './errors.ts';
import type { AppDeps, AppEnv } from './types.ts';

/**
 * `POST /slack/interactions` (buttons, the select menu, modal submissions) and
 * `POST /slack/commands` (`/copilot`), verified exactly like `POST /slack/events`: feature check,
 * the exact `ssl_check=1` probe (nothing else in that body used), the signature over the raw
 * bytes and the timestamp window, then the form body is parsed. A refused request changes nothing.
 */
async function verified(c: Context<AppEnv>): Promise<Response | URLSearchParams> {
  const { config, now } = c.get('deps');
  const secret = config.SLACK_SIGNING_SECRET;
  if (!config.features.slackEvents || !secret) {
    return errorResponse(
      c,
      'feature_disabled',
      'Slack interactivity is off: SLACK_SIGNING_SECRET is not set.',
    );
  }
  const raw = new Uint8Array(await c.req.arrayBuffer());
  const text = new TextDecoder().decode(raw);
  if (isSslCheck(c.req.header('content-type'), text)) return c.body(null, 200);
  const verdict = await verifySlackSignature({
    signingSecret: secret,
    rawBody: raw,
    signature: c.req.header('x-slack-signature'),
    timestamp: c.req.header('x-slack-request-timestamp'),
    now: now?.() ?? new Date(),
  });
  if (!verdict.ok) {
    c.get('log').warn('slack request refused', { reason: verdict.reason });
    return errorResponse(c, verdict.reason, verdict.message);
  }
  if (!c.req.header('content-type')?.toLowerCase().startsWith('application/x-www-form-urlencoded'))
    return errorResponse(c, 'invalid_body', 'Slack sends interactions and commands form-encoded.');
  return new URLSearchParams(text);
}

/** The app's upstream limiter (shared by every process through the database); one per app when the entry passed none. */
const fallbackLimiters = new WeakMap<AppDeps, SlackLimiter>();
function limiterOf(d: AppDeps): SlackLimiter {
  if (d.slackLimiter) return d.slackLimiter;
  let l = fallbackLimiters.get(d);
  if (!l) {
    l = createUpstreamLimiter({ db: d.database.db });
    fallbackLimiters.set(d, l);
  }
  return l;
}

/** The Slack job dependencies of this app (also used by the console's channel page), or the 503 that says what is missing. */
export function interactionDeps(c: Context<AppEnv>): InteractionDeps | Response {
  const d = c.get('deps');
  if (!d.tokens || !d.queue || !d.drafter) {
    return errorResponse(
      c,
      'feature_disabled',
      'Slack interactivity needs the token manager, job queue and drafter.',
    );
  }
  return {
    database: d.database,
    vault: d.vault,
    tokens: d.tokens,
    drafter: d.drafter,
    logger: d.logger,
    log: c.get('log'),
    queue: d.queue,
    limiter: limiterOf(d),
    publicUrl: d.config.PUBLIC_URL,
    ...(d.now ? { now: d.now } : {}),
    ...(d.jobsEnqueued ? { jobsEnqueued: d.jobsEnqueued } : {}),
  };
}

export function slackInteractionRoutes() {
  const app = new Hono<AppEnv>();
  app.post('/slack/interactions', async (c) => {
    const form = await verified(c);
    if (form instanceof Response) return form;
    const deps = interactionDeps(c);
    if (deps instanceof Response) return deps;
    try {
      const out = await handleInteraction(deps, form.get('payload'));
      if (out.status === 400) return errorResponse(c, out.code, out.message);
      return out.body ? c.json(out.body) : c.body(null, 200);
    } catch (e) {
      c.get('log').error('slack interaction failed', { error: describeError(e) });
      return errorResponse(c, 'internal', 'The interaction could not be processed.');
    }
  });
  app.post('/slack/commands', async (c) => {
    const form = await verified(c);
    if (form instanceof Response) return form;
    const deps = interactionDeps(c);
    if (deps instanceof Response) return deps;
    try {
      const out = await handleCommand(deps, form);
      if (out.status === 400) return errorResponse(c, out.code, out.message);
      return c.json(out.body);
    } catch (e) {
      c.get('log').error('slack command failed', { error: describeError(e) });
      return c.json({ response_type: 'ephemeral', text: 'Something went wrong; nothing was changed.' });
    }
  });
  return app;
}
