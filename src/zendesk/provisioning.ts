import { eq } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { ERASED_ZENDESK_CREDENTIALS, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, describeError } from '../lib/errors.ts';
import { liveZendeskConnection } from '../oauth/connections.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import type { Actor } from '../tenancy/context.ts';
import { forgetTenantLookups } from '../tenancy/lookup.ts';
import type { Vault } from '../tenancy/vault.ts';
import { createZendeskApi, isZendeskNotFound } from './api.ts';
import {
  type ZendeskResources,
  type ZendeskTrigger,
  type ZendeskTriggerDefinition,
  zendeskResources,
} from './resources.ts';
import { provisionSidebarApp, removeSidebarApp, type SidebarAppResult } from './sidebar-app.ts';
import { TRIGGER_EVENTS, type TriggerEvent, triggerBody } from './trigger-payload.ts';

/**
 * What we create in a tenant's Zendesk so tickets reach us without any manual step:
 * one webhook in trigger mode (`conditional_ticket_events`; the mode is fixed forever, facts
 * sheet P-Z8) pointing at `PUBLIC_URL/webhooks/zendesk/<hookId>`, its signing secret (sealed,
 * purpose zendesk_webhook_secret), and one trigger per event in TRIGGER_EVENTS whose
 * notification_webhook action sends `triggerBody(event)` (ids only, P-Z3).
 *
 * Idempotent: stored ids are verified (GET) before reuse, and before creating anything we look
 * for ours by stable identity (the webhook by its exact endpoint, triggers by exact title), so
 * a crash between a create and the database write does not leave a duplicate behind. Each id is
 * stored as soon as it exists. Every step is audited in the tenant's trail.
 */
export const WEBHOOK_NAME = 'Helpdesk Copilot';
export const TRIGGER_TITLES: Record<TriggerEvent, string> = {
  ticket_created: 'Helpdesk Copilot: ticket created',
  comment_added: 'Helpdesk Copilot: requester commented',
  agent_replied: 'Helpdesk Copilot: agent replied publicly',
};

export interface ProvisioningDeps {
  db: Db;
  vault: Vault;
  tokens: TokenProvider;
  publicUrl: string;
  actor: Actor;
  requestId?: string | undefined;
  /** Test hook: how long the API client may wait on Retry-After in-process. */
  maxInlineWaitMs?: number;
  /** The sidebar app package for PUBLIC_URL (the Node entry builds it from zendesk-app/). */
  sidebarAppPackage?: (() => Uint8Array | Promise<Uint8Array>) | undefined;
  /** Test hook: the interval between polls of the app build job (default 1 s). */
  appJobPollMs?: number;
}

export interface ProvisionResult {
  webhookId: string;
  triggerIds: Record<string, string>;
  created: string[];
  reused: string[];
  /** The sidebar app (src/zendesk/sidebar-app.ts): installed, refused by the plan, or failed. */
  sidebarApp: SidebarAppResult;
}

export function webhookEndpoint(publicUrl: string, hookId: string): string {
  return `${publicUrl}/webhooks/zendesk/${hookId}`;
}

/** Trigger conditions per event (Zendesk conditions reference: update_type, comment_is_public, role). */
export function triggerDefinition(event: TriggerEvent, webhookId: string): ZendeskTriggerDefinition {
  const all =
    event === 'ticket_created'
      ? [{ field: 'update_type', operator: 'is', value: 'Create' }]
      : [
          { field: 'update_type', operator: 'is', value: 'Change' },
          { field: 'comment_is_public', operator: 'is', value: 'true' },
          ...(event === 'comment_added' ? [{ field: 'role', operator: 'is', value: 'end_user' }] : []),
        ];
  // An agent's public comment (admins are agents too): matched back to an inserted draft.
  const any =
    event === 'agent_replied'
      ? [
          { field: 'role', operator: 'is', value: 'agent' },
          { field: 'role', operator: 'is', value: 'admin' },
        ]
      : [];
  return {
    title: TRIGGER_TITLES[event],
    active: true,
    description:
      'Created by Helpdesk Copilot. Sends ticket ids to the copilot; removed when you disconnect it.',
    conditions: { all, any },
    actions: [{ field: 'notification_webhook', value: [webhookId, triggerBody(event)] }],
  };
}

async function findWebhookByEndpoint(zendesk: ZendeskResources, endpoint: string) {
  return (await zendesk.findWebhooks(WEBHOOK_NAME)).find((w) => w.endpoint === endpoint);
}

async function findTriggerByTitle(zendesk: ZendeskResources, title: string) {
  return (await zendesk.searchTriggers(title)).find((t) => t.title === title);
}

/** The tenant's current (not revoked) Zendesk connection row, read inside its tenant scope. */
function liveConnection(deps: ProvisioningDeps, tenantId: string) {
  // One live connection per tenant is a database invariant (the partial unique index).
  return withTenant(deps.db, tenantId, (tx) => liveZendeskConnection(tx));
}

function connectionApi(deps: ProvisioningDeps, tenantId: string, subdomain: string) {
  return zendeskResources(
    createZendeskApi({
      tenantId,
      subdomain,
      tokens: deps.tokens,
      maxInlineWaitMs: deps.maxInlineWaitMs,
    }),
  );
}

/** Creates (or finds and verifies) the webhook, its secret and the triggers for one tenant's connection. */
export async function provisionZendesk(deps: ProvisioningDeps, tenantId: string): Promise<ProvisionResult> {
  const conn = await liveConnection(deps, tenantId);
  if (!conn) throw new AppError('not_found', 'This tenant has no active Zendesk connection.');
  const api = connectionApi(deps, tenantId, conn.subdomain);
  const ctx = { actor: deps.actor, requestId: deps.requestId };
  const record = (action: string, outcome: 'success' | 'failure', target: string | null, detail = {}) =>
    withTenant(deps.db, tenantId, (tx) =>
      audit(
        { tenantId, tx, ...ctx },
        { action, target, outcome, detail: { subdomain: conn.subdomain, ...detail } },
      ),
    );
  const save = (set: Partial<typeof zendeskConnections.$inferInsert>) =>
    withTenant(deps.db, tenantId, (tx) =>
      tx
        .update(zendeskConnections)
        .set({ ...set, updatedAt: new Date() })
        .where(eq(zendeskConnections.id, conn.id)),
    );

  const endpoint = webhookEndpoint(deps.publicUrl, conn.hookId);
  const created: string[] = [];
  const reused: string[] = [];
  try {
    // 1. The webhook: stored id if it still exists, else ours by endpoint, else a new one.
    let webhookId: string | undefined;
    if (conn.zendeskWebhookId) {
      try {
        const webhook = await api.getWebhook(conn.zendeskWebhookId);
        webhookId = webhook.id;
        if (webhook.endpoint !== endpoint) {
          await api.updateWebhookEndpoint(webhook.id, endpoint);
          await record('zendesk.webhook.updated', 'success', webhook.id, { endpointChanged: true });
        }
      } catch (e) {
        if (!isZendeskNotFound(e)) throw e;
      }
    }
    webhookId ??= (await findWebhookByEndpoint(api, endpoint))?.id;
    if (webhookId) reused.push('webhook');
    else {
      const webhook = await api.createWebhook({
        name: WEBHOOK_NAME,
        description: 'Ticket ids for Helpdesk Copilot. Created automatically; removed on disconnect.',
        status: 'active',
        endpoint,
        http_method: 'POST',
        request_format: 'json',
        subscriptions: ['conditional_ticket_events'],
      });
      webhookId = webhook.id;
      created.push('webhook');
      await record('zendesk.webhook.created', 'success', webhookId);
    }
    await save({ zendeskWebhookId: webhookId });

    // 2. Its signing secret (read every time: cheap, and right after a webhook was replaced).
    const secret = await api.getWebhookSigningSecret(webhookId);
    await save({ webhookSecret: await deps.vault.seal(tenantId, 'zendesk_webhook_secret', secret) });
    await record('zendesk.webhook.secret_stored', 'success', webhookId);

    // 3. One trigger per event.
    const triggerIds: Record<string, string> = { ...conn.triggerIds };
    for (const event of TRIGGER_EVENTS) {
      const def = triggerDefinition(event, webhookId);
      let trigger: ZendeskTrigger | undefined;
      const storedId = triggerIds[event];
      if (storedId) {
        try {
          trigger = await api.getTrigger(storedId);
        } catch (e) {
          if (!isZendeskNotFound(e)) throw e;
        }
      }
      trigger ??= await findTriggerByTitle(api, def.title);
      if (trigger) {
        reused.push(`trigger:${event}`);
        if (trigger.webhookId !== webhookId || !trigger.active) {
          await api.updateTrigger(trigger.id, def);
          await record('zendesk.trigger.updated', 'success', trigger.id, { event });
        }
      } else {
        trigger = await api.createTrigger(def);
        created.push(`trigger:${event}`);
        await record('zendesk.trigger.created', 'success', trigger.id, { event });
      }
      triggerIds[event] = trigger.id;
      await save({ triggerIds: { ...triggerIds } });
    }
    // 4. The sidebar app (its failure is recorded, and does not undo the webhook and triggers).
    const sidebarApp = await provisionSidebarApp({
      db: deps.db,
      api,
      tenantId,
      connectionId: conn.id,
      appPackage: deps.sidebarAppPackage,
      record,
      ...(deps.appJobPollMs === undefined ? {} : { jobPollMs: deps.appJobPollMs }),
    });
    if (sidebarApp.status === 'installed') {
      created.push(...sidebarApp.created.map((x) => `sidebar_${x}`));
      reused.push(...sidebarApp.reused.map((x) => `sidebar_${x}`));
    }
    await save({ provisionedAt: new Date() });
    await record('zendesk.provisioned', 'success', webhookId, {
      created,
      reused,
      sidebarApp: sidebarApp.status,
    });
    return { webhookId, triggerIds, created, reused, sidebarApp };
  } catch (e) {
    await record('zendesk.provisioned', 'failure', null, { error: describeError(e), created, reused }).catch(
      () => {},
    );
    throw e;
  }
}

export interface DeprovisionResult {
  removed: string[];
  failed: string[];
  tokenRevoked: boolean;
}

/**
 * Disconnect: uninstalls and deletes the sidebar app we provisioned, deletes our triggers (first: Zendesk refuses to delete a webhook triggers still
 * use), then the webhook, then revokes the access token (DELETE /api/v2/oauth/tokens/current.json).
 * Upstream steps are best effort (already gone counts as done; failures are audited); then the
 * stored tokens and secret are erased and the connection is marked revoked, which also makes
 * the webhook path unknown to us.
 */
export async function disconnectZendesk(
  deps: ProvisioningDeps,
  tenantId: string,
): Promise<DeprovisionResult> {
  const conn = await liveConnection(deps, tenantId);
  if (!conn) throw new AppError('not_found', 'This tenant has no Zendesk connection to disconnect.');
  const api = connectionApi(deps, tenantId, conn.subdomain);
  const ctx = { tenantId, actor: deps.actor, requestId: deps.requestId };
  const record = (action: string, outcome: 'success' | 'failure', target: string | null, detail = {}) =>
    withTenant(deps.db, tenantId, (tx) =>
      audit({ ...ctx, tx }, { action, target, outcome, detail: { subdomain: conn.subdomain, ...detail } }),
    );
  const removed: string[] = [];
  const failed: string[] = [];
  const attempt = async (what: string, action: string, target: string, call: () => Promise<unknown>) => {
    try {
      await call();
      removed.push(what);
      await record(action, 'success', target);
    } catch (e) {
      if (isZendeskNotFound(e)) {
        removed.push(what);
        await record(action, 'success', target, { alreadyGone: true });
        return;
      }
      failed.push(what);
      await record(action, 'failure', target, { error: describeError(e) });
    }
  };
  // Only a usable connection can call Zendesk; a needs_reauth one is cleaned up locally only.
  const canCall = conn.status === 'active' && conn.accessToken !== null;
  let tokenRevoked = false;
  // The sidebar app first (while the token works); a manual upload stays, its tokens stop working.
  const app = await removeSidebarApp({ db: deps.db, api, tenantId, connectionId: conn.id, record }, canCall);
  removed.push(...app.removed);
  failed.push(...app.failed);
  if (canCall) {
    for (const [event, id] of Object.entries(conn.triggerIds)) {
      await attempt(`trigger:${event}`, 'zendesk.trigger.deleted', id, () => api.deleteTrigger(id));
    }
    if (conn.zendeskWebhookId) {
      const id = conn.zendeskWebhookId;
      await attempt('webhook', 'zendesk.webhook.deleted', id, () => api.deleteWebhook(id));
    }
    await attempt('token', 'zendesk.token.revoked', conn.id, () => api.revokeCurrentToken());
    tokenRevoked = removed.includes('token');
  } else {
    // Without a usable token nothing can be removed in Zendesk: keep the ids and say so.
    for (const event of Object.keys(conn.triggerIds)) failed.push(`trigger:${event}`);
    if (conn.zendeskWebhookId) failed.push('webhook');
  }
  await withTenant(deps.db, tenantId, async (tx) => {
    await tx
      .update(zendeskConnections)
      .set({
        ...ERASED_ZENDESK_CREDENTIALS,
        zendeskWebhookId: failed.includes('webhook') ? conn.zendeskWebhookId : null,
        triggerIds: Object.fromEntries(
          Object.entries(conn.triggerIds).filter(([e]) => failed.includes(`trigger:${e}`)),
        ),
        provisionedAt: null,
        status: 'revoked',
        statusDetail: failed.length ? `disconnected; left in Zendesk: ${failed.join(', ')}` : 'disconnected',
        updatedAt: new Date(),
      })
      .where(eq(zendeskConnections.id, conn.id));
    await audit(
      { ...ctx, tx },
      {
        action: 'zendesk.disconnected',
        target: conn.id,
        outcome: failed.length ? 'failure' : 'success',
        detail: { subdomain: conn.subdomain, removed, failed, tokenRevoked, calledZendesk: canCall },
      },
    );
  });
  // The webhook's cached hook entry (zendesk/webhook.ts) in this process goes with the connection.
  forgetTenantLookups(tenantId);
  return { removed, failed, tokenRevoked };
}

/**
 * For tenant deletion (AppDeps.deprovision): removes what we provisioned in the tenant's Zendesk
 * and revokes the token, best effort. A tenant without a Zendesk connection has nothing to remove.
 */
export function zendeskDeprovisioner(deps: Omit<ProvisioningDeps, 'actor' | 'requestId'>) {
  return async (tenantId: string): Promise<void> => {
    try {
      await disconnectZendesk({ ...deps, actor: { type: 'system', name: 'tenant-deletion' } }, tenantId);
    } catch (e) {
      if (e instanceof AppError && e.code === 'not_found') return;
      throw e;
    }
  };
}
