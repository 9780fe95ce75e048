import { App, type Logger as BoltLogger, LogLevel, type Receiver } from '@slack/bolt';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { slackInstallations } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { Logger } from '../lib/logger.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import { tenantIdBySlackCached } from '../tenancy/lookup.ts';
import type { SlackEventListener } from './events.ts';

/**
 * Bolt behind our own route. The route has already verified the signature, answered
 * url_verification and ssl_check, and resolved the installation key; this bridge then hands the
 * parsed envelope to `app.processEvent` (the body must be the parsed object, P-S10) with the
 * tenant id as a custom property (`context.tenantId` in listeners). Bolt acks events itself
 * before running listeners; the route answers Slack after `processEvent` settles, so listeners
 * must stay fast and put slow work in a durable job.
 *
 * `authorize` reads the bot user and bot ids from the tenant's installation and the token from
 * the token manager (which refreshes rotated tokens, P-S1). Uninstall events never reach Bolt:
 * the route handles them (and Bolt skips authorize for them anyway).
 */
export interface SlackBolt {
  /** Register listeners here: `bolt.app.event('app_mention', ...)`. */
  app: App;
  /** The dispatcher fallback that feeds events for a resolved tenant to Bolt. */
  listener: SlackEventListener;
}

class RouteReceiver implements Receiver {
  bolt: App | undefined;
  init(app: App): void {
    this.bolt = app;
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

/**
 * The `fetch` Bolt's WebClient gets. @slack/web-api 8 calls its stored fetch unbound, which workerd
 * refuses ("Illegal invocation"), and passes `redirect: 'error'`, which workerd does not support:
 * this calls the global fetch looked up per call (so msw intercepts clients built before
 * `listen()`), sends `'error'` as `'manual'`, and then refuses a 3xx itself, as `'error'` would.
 */
export const slackClientFetch = async (
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> => {
  const refuseRedirects = init?.redirect === 'error';
  const res = await globalThis.fetch(input, refuseRedirects ? { ...init, redirect: 'manual' } : init);
  if (refuseRedirects && res.status >= 300 && res.status < 400) {
    await res.body?.cancel().catch(() => {});
    throw new TypeError(`fetch failed: the server answered a redirect (${res.status}), which is refused`);
  }
  return res;
};

function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.WARN;
  const text = (msgs: unknown[]) =>
    msgs.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...m: unknown[]) => log.debug(`bolt: ${text(m)}`),
    info: (...m: unknown[]) => log.info(`bolt: ${text(m)}`),
    warn: (...m: unknown[]) => log.warn(`bolt: ${text(m)}`),
    error: (...m: unknown[]) => log.error(`bolt: ${text(m)}`),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export function createSlackBolt(opts: { db: Db; tokens: TokenProvider; logger: Logger }): SlackBolt {
  const receiver = new RouteReceiver();
  const tenantOf = new WeakMap<object, string>();
  const app = new App({
    receiver,
    logger: boltLogger(opts.logger),
    logLevel: LogLevel.WARN,
    clientOptions: { fetch: slackClientFetch },
    authorize: async (source, body) => {
      const tenantId = (body && tenantOf.get(body)) ?? null;
      if (!tenantId) throw new Error('event was not resolved to a tenant');
      const key = source.isEnterpriseInstall
        ? and(
            eq(slackInstallations.enterpriseId, source.enterpriseId ?? ''),
            eq(slackInstallations.isEnterpriseInstall, true),
          )
        : and(
            eq(slackInstallations.teamId, source.teamId ?? ''),
            eq(slackInstallations.isEnterpriseInstall, false),
          );
      const [inst] = await withTenant(opts.db, tenantId, (tx) =>
        tx
          .select({ botUserId: slackInstallations.botUserId, botId: slackInstallations.botId })
          .from(slackInstallations)
          .where(key)
          .limit(1),
      );
      if (!inst) throw new Error('the installation is not in the resolved tenant');
      return {
        botToken: await opts.tokens.getAccessToken(tenantId, 'slack'),
        botUserId: inst.botUserId ?? undefined,
        botId: inst.botId ?? undefined,
        teamId: source.teamId,
        enterpriseId: source.enterpriseId,
      };
    },
  });

  const listener: SlackEventListener = async (ctx) => {
    // Cached for up to 30 s (tenancy/lookup.ts): safe because authorize above re-reads the
    // installation inside the tenant and a revoked one has no token, so no listener runs.
    const tenantId = await tenantIdBySlackCached(ctx.db, ctx.key);
    if (!tenantId) return { result: 'no_tenant' };
    const bolt = receiver.bolt;
    if (!bolt) throw new Error('Bolt receiver was not initialized');
    const body = ctx.body;
    tenantOf.set(body, tenantId);
    await bolt.processEvent({
      body,
      ack: async () => {},
      retryNum: ctx.retryNum,
      customProperties: { tenantId },
    });
    return { result: 'dispatched', tenantId };
  };
  return { app, listener };
}
