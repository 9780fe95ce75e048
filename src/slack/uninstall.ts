import { and, eq } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Tx } from '../db/client.ts';
import { ERASED_SLACK_CREDENTIALS, slackInstallations } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { slackKeyWhere, tenantIdBySlack } from '../tenancy/lookup.ts';
import type { SlackEventContext, SlackEventListener, SlackInstallKey } from './events.ts';

async function loadInstallation(tx: Tx, key: SlackInstallKey) {
  const rows = await tx.select().from(slackInstallations).where(slackKeyWhere(key)).limit(1);
  return rows[0];
}

/**
 * A delayed retry of an old uninstall event must not wipe a later reinstall: an active
 * installation written after the event happened is left alone.
 */
function reinstalledSince(inst: { status: string; updatedAt: Date }, ctx: SlackEventContext): boolean {
  const t = ctx.envelope.event_time;
  return inst.status === 'active' && t !== undefined && inst.updatedAt.getTime() > t * 1000;
}

async function eraseTokens(tx: Tx, tenantId: string, id: string, detail: string, now: Date) {
  await tx
    .update(slackInstallations)
    .set({
      ...ERASED_SLACK_CREDENTIALS,
      status: 'revoked',
      statusDetail: detail,
      tokenVersion: 0,
      updatedAt: now,
    })
    .where(and(eq(slackInstallations.tenantId, tenantId), eq(slackInstallations.id, id)));
}

const actorOf = (ctx: SlackEventContext) => ({
  type: 'webhook' as const,
  provider: 'slack' as const,
  id: ctx.envelope.event_id,
});

/**
 * `app_uninstalled`: the app is gone from the workspace. Erases the bot token pair and marks the
 * installation revoked with detail `app_uninstalled`. Idempotent, in either order with
 * `tokens_revoked`: one audit event per actual change, none for a repeat (it is logged only).
 */
export const onAppUninstalled: SlackEventListener = async (ctx) => {
  const tenantId = await tenantIdBySlack(ctx.db, ctx.key, { includeRevoked: true });
  if (!tenantId) return { result: 'no_tenant' };
  return withTenant(ctx.db, tenantId, async (tx) => {
    const inst = await loadInstallation(tx, ctx.key);
    if (!inst) return { result: 'no_tenant' as const };
    if (reinstalledSince(inst, ctx)) return { result: 'noop' as const, tenantId };
    const hadTokens = inst.accessToken !== null || inst.refreshToken !== null;
    if (!hadTokens && inst.status === 'revoked' && inst.statusDetail === 'app_uninstalled') {
      return { result: 'noop' as const, tenantId };
    }
    await eraseTokens(tx, tenantId, inst.id, 'app_uninstalled', ctx.now);
    await audit(
      { tenantId, tx, actor: actorOf(ctx), requestId: ctx.requestId },
      {
        action: 'slack.app_uninstalled',
        target: inst.id,
        outcome: 'success',
        detail: { tokensErased: hadTokens, previousStatus: inst.status, eventId: ctx.envelope.event_id },
      },
    );
    return { result: 'changed' as const, tenantId };
  });
};

const tokensRevokedEvent = (ev: Record<string, unknown>): { bot: string[]; oauth: string[] } => {
  const tokens = (ev.tokens ?? {}) as { bot?: unknown; oauth?: unknown };
  const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return { bot: ids(tokens.bot), oauth: ids(tokens.oauth) };
};

/**
 * `tokens_revoked`: `event.tokens = { oauth: [user ids], bot: [bot user ids] }` (ids, not tokens).
 * We store only the bot token pair, so the installation is revoked when its bot user id is listed
 * (or, if we never learned the bot user id, when any bot id is listed: an app has one bot user
 * per workspace). User-token revocations change nothing we store.
 */
export const onTokensRevoked: SlackEventListener = async (ctx) => {
  const { bot } = tokensRevokedEvent(ctx.envelope.event);
  const tenantId = await tenantIdBySlack(ctx.db, ctx.key, { includeRevoked: true });
  if (!tenantId) return { result: 'no_tenant' };
  return withTenant(ctx.db, tenantId, async (tx) => {
    const inst = await loadInstallation(tx, ctx.key);
    if (!inst) return { result: 'no_tenant' as const };
    if (reinstalledSince(inst, ctx)) return { result: 'noop' as const, tenantId };
    const matches = inst.botUserId ? bot.includes(inst.botUserId) : bot.length > 0;
    const hadTokens = inst.accessToken !== null || inst.refreshToken !== null;
    if (!matches || (!hadTokens && inst.status === 'revoked')) return { result: 'noop' as const, tenantId };
    await eraseTokens(tx, tenantId, inst.id, 'tokens_revoked', ctx.now);
    await audit(
      { tenantId, tx, actor: actorOf(ctx), requestId: ctx.requestId },
      {
        action: 'slack.tokens_revoked',
        target: inst.id,
        outcome: 'success',
        detail: { tokensErased: hadTokens, previousStatus: inst.status, eventId: ctx.envelope.event_id },
      },
    );
    return { result: 'changed' as const, tenantId };
  });
};
