import { desc, eq } from 'drizzle-orm';
import { audit } from '../audit/audit.ts';
import type { Db } from '../db/client.ts';
import { playbooks, sidebarAppProvisioning, sidebarSettings } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError } from '../lib/errors.ts';
import { liveZendeskConnection } from '../oauth/connections.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import type { Actor } from '../tenancy/context.ts';
import { createZendeskApi } from './api.ts';
import { zendeskResources } from './resources.ts';

/**
 * The tenant's sidebar settings for the console: the ticket status after a send (picked from the
 * statuses read from the tenant's own Zendesk at runtime, so custom statuses such as "Awaiting
 * Vendor" need no code change) and the auto-send threshold, per playbook or tenant-wide (`*`).
 */
export interface TicketStatusChoice {
  /** What `status_after_send` stores: a custom status id, or a standard status. */
  value: string;
  label: string;
  category: string;
}

/** Standard statuses: valid in every account (`PUT ticket.status`), whether or not it has custom ones. */
const STANDARD: TicketStatusChoice[] = ['open', 'pending', 'hold', 'solved'].map((s) => ({
  value: s,
  label: s[0]!.toUpperCase() + s.slice(1),
  category: s,
}));

async function liveSubdomain(db: Db, tenantId: string): Promise<string> {
  const conn = await withTenant(db, tenantId, (tx) => liveZendeskConnection(tx));
  if (conn?.status !== 'active')
    throw new AppError('conflict', 'This tenant has no active Zendesk connection.');
  return conn.subdomain;
}

/** The statuses an agent can pick, read now from the tenant's Zendesk: its active custom statuses, then the standard ones. */
export async function listTicketStatusChoices(
  deps: { db: Db; tokens: TokenProvider },
  tenantId: string,
): Promise<TicketStatusChoice[]> {
  const subdomain = await liveSubdomain(deps.db, tenantId);
  const api = zendeskResources(
    createZendeskApi({ tenantId, subdomain, tokens: deps.tokens, maxInlineWaitMs: 0 }),
  );
  const custom = (await api.listCustomStatuses())
    .filter((s) => s.active && s.category !== 'new')
    .map((s) => ({ value: s.id, label: s.agentLabel, category: s.category }));
  return [...custom, ...STANDARD];
}

export interface SidebarSettingInput {
  /** `*` (tenant-wide) or a playbook key. */
  scope: string;
  statusAfterSend?: string | null | undefined;
  autoSendThreshold?: number | null | undefined;
}

/**
 * Sets one scope's settings. `statusAfterSend` must be one of the statuses read from the
 * tenant's Zendesk now (else 400 invalid_status, and nothing changes); null clears it (no
 * status change after a send). Audited as `sidebar.settings_updated`.
 */
export async function setSidebarSetting(
  deps: { db: Db; tokens: TokenProvider },
  ctx: { tenantId: string; actor: Actor; requestId?: string | undefined },
  input: SidebarSettingInput,
) {
  let label: string | null | undefined;
  if (input.statusAfterSend) {
    const choices = await listTicketStatusChoices(deps, ctx.tenantId);
    const hit = choices.find((s) => s.value === input.statusAfterSend);
    if (!hit)
      throw new AppError(
        'invalid_body',
        `statusAfterSend: ${JSON.stringify(input.statusAfterSend)} is not a status of this Zendesk account.`,
        { detail: { reason: 'invalid_status', choices: choices.map((s) => s.value) } },
      );
    label = hit.label;
  } else if (input.statusAfterSend === null) label = null;
  await withTenant(deps.db, ctx.tenantId, async (tx) => {
    if (input.scope !== '*') {
      const [book] = await tx
        .select({ key: playbooks.key })
        .from(playbooks)
        .where(eq(playbooks.key, input.scope));
      if (!book) throw new AppError('invalid_body', `scope: no playbook ${JSON.stringify(input.scope)}.`);
    }
    const set = {
      ...(input.statusAfterSend !== undefined
        ? { statusAfterSend: input.statusAfterSend, statusAfterSendLabel: label ?? null }
        : {}),
      ...(input.autoSendThreshold !== undefined ? { autoSendThreshold: input.autoSendThreshold } : {}),
      updatedAt: new Date(),
    };
    await tx
      .insert(sidebarSettings)
      .values({ tenantId: ctx.tenantId, scope: input.scope, ...set })
      .onConflictDoUpdate({ target: [sidebarSettings.tenantId, sidebarSettings.scope], set });
    await audit(
      { tenantId: ctx.tenantId, tx, actor: ctx.actor, requestId: ctx.requestId },
      {
        action: 'sidebar.settings_updated',
        target: `sidebar_settings:${input.scope}`,
        outcome: 'success',
        detail: {
          scope: input.scope,
          statusAfterSend: input.statusAfterSend,
          autoSendThreshold: input.autoSendThreshold,
        },
      },
    );
  });
  return readSidebarSettings(deps.db, ctx.tenantId);
}

export async function readSidebarSettings(db: Db, tenantId: string) {
  return withTenant(db, tenantId, async (tx) => {
    const rows = await tx.select().from(sidebarSettings).orderBy(sidebarSettings.scope);
    const [app] = await tx
      .select()
      .from(sidebarAppProvisioning)
      .orderBy(desc(sidebarAppProvisioning.updatedAt))
      .limit(1);
    return {
      scopes: rows.map((r) => ({
        scope: r.scope,
        statusAfterSend: r.statusAfterSend,
        statusAfterSendLabel: r.statusAfterSendLabel,
        autoSendThreshold: r.autoSendThreshold,
      })),
      sidebarApp: app ? { status: app.status, detail: app.detail, installationId: app.installationId } : null,
    };
  });
}
