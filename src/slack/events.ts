import { z } from 'zod';
import type { Db } from '../db/client.ts';
import type { Logger } from '../lib/logger.ts';

/**
 * The Events API envelope (`type: "event_callback"`), parsed at the boundary. Only the fields we
 * use are named; the rest of the event passes through untouched for listeners.
 */
const authorization = z.object({
  enterprise_id: z.string().nullish(),
  team_id: z.string().nullish(),
  user_id: z.string().nullish(),
  is_bot: z.boolean().optional(),
  is_enterprise_install: z.boolean().optional(),
});

export const eventCallbackSchema = z.object({
  type: z.literal('event_callback'),
  team_id: z.string().nullish(),
  enterprise_id: z.string().nullish(),
  context_team_id: z.string().nullish(),
  context_enterprise_id: z.string().nullish(),
  api_app_id: z.string().optional(),
  event_id: z.string().min(1),
  event_time: z.number().optional(),
  is_enterprise_install: z.boolean().optional(),
  authorizations: z.array(authorization).optional(),
  event: z.looseObject({ type: z.string().min(1) }),
});
export type EventCallback = z.infer<typeof eventCallbackSchema>;

export const urlVerificationSchema = z.object({
  type: z.literal('url_verification'),
  challenge: z.string().min(1).max(500),
});

/** How an installation is keyed: org-wide installs by enterprise id, workspace installs by team id (P-S4). */
export interface SlackInstallKey {
  teamId: string | null;
  enterpriseId: string | null;
  isEnterpriseInstall: boolean;
}

/**
 * The installation an event was delivered for, from the signed payload only: `authorizations[0]`
 * first (what Bolt uses), then the Slack Connect `context_*` fields, then the top-level ids.
 * In shared channels the top-level `team_id` can name the other workspace, so it comes last.
 */
export function installKeyOf(env: EventCallback): SlackInstallKey {
  const a = env.authorizations?.[0];
  return {
    isEnterpriseInstall: a?.is_enterprise_install ?? env.is_enterprise_install ?? false,
    enterpriseId: a?.enterprise_id ?? env.context_enterprise_id ?? env.enterprise_id ?? null,
    teamId: a?.team_id ?? env.context_team_id ?? env.team_id ?? null,
  };
}

export interface SlackEventContext {
  db: Db;
  /** The verified envelope, parsed (known fields only at the top level). */
  envelope: EventCallback;
  /** The verified body exactly as JSON-parsed, every field kept (what Bolt's processEvent takes). */
  body: Record<string, unknown>;
  key: SlackInstallKey;
  log: Logger;
  now: Date;
  requestId: string;
  retryNum?: number | undefined;
}

/** What a listener did, for the log line and tests: `changed` when it stored something. */
export type SlackEventOutcome = {
  result: 'changed' | 'noop' | 'no_tenant' | 'ignored' | 'dispatched';
  tenantId?: string;
};

export type SlackEventListener = (ctx: SlackEventContext) => Promise<SlackEventOutcome>;

/**
 * A small dispatcher by inner event type. Listeners must be idempotent: Slack retries
 * (up to 3 times, and while we are still working on `http_timeout`), and we do not dedupe on
 * `event_id` yet. Later Bolt-based listeners can be mounted here as one more listener that calls
 * `app.processEvent` with the already verified and parsed body.
 */
export function createSlackEventDispatcher(
  listeners: Record<string, SlackEventListener>,
  fallback?: SlackEventListener,
) {
  return async (ctx: SlackEventContext): Promise<SlackEventOutcome> => {
    const listener = Object.hasOwn(listeners, ctx.envelope.event.type)
      ? listeners[ctx.envelope.event.type]
      : fallback;
    if (!listener) return { result: 'ignored' };
    return listener(ctx);
  };
}
