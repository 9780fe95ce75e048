import type { Database } from '../db/client.ts';
import type { UpstreamLimiter } from '../limits/upstream.ts';
import type { Vault } from '../tenancy/vault.ts';
import type { ZendeskResources } from '../zendesk/resources.ts';
import { createCatalogProvider } from './context/catalog-provider.ts';
import { createContextApiProvider } from './context/context-api.ts';
import { type ContextProvider, loadContext } from './context/loader.ts';
import type { Resolver } from './context/net-guard.ts';
import { createZendeskProvider } from './context/zendesk-provider.ts';
import { drafterForTenant } from './drafting/tenant-model.ts';
import type { Drafter, DraftInput, DraftResult } from './drafting/types.ts';
import { drafterWithinQuota, type QuotaReached } from './quota.ts';
import type { RouteDecision } from './routing.ts';
import type { PipelineSettings } from './settings.ts';
import type { AccountContext, PipelineTicket } from './types.ts';

/**
 * The compute half of drafting, shared by the ticket pipeline (process-ticket.ts), Slack
 * questions (src/slack/ask.ts) and the console's playground (playground.ts): the context for a
 * routed ticket from the tenant's providers under its deadline, then the draft by the tenant's
 * drafter within its quota. Writes nothing (a model answer that could not be used reports its
 * usage through `onFailedUsage`); the guard and the record are the caller's.
 */
export interface ComposeDeps {
  database: Database;
  vault: Vault;
  drafter: Drafter;
  /** The tenant's shared limits toward Zendesk and the model (src/limits/upstream.ts); none without. */
  limits?: UpstreamLimiter | undefined;
  /** CONTEXT_API_ALLOW_PRIVATE (development only). */
  allowPrivateContextApi?: boolean;
  /** DNS resolver for Context API URLs (tests pass a fixed one). */
  resolver?: Resolver;
  /** Network for the Context API (production: createPinnedFetch; default: the global fetch). */
  contextFetch?: typeof fetch;
}

/**
 * The context providers of a tenant's settings. `zendesk: null` leaves the Zendesk provider out
 * (the playground makes no Zendesk call); the catalog and directory, and the tenant's Context API
 * when configured, are always there.
 */
export function contextProviders(
  deps: ComposeDeps,
  settings: PipelineSettings,
  zendesk: ZendeskResources | null,
  now: () => Date,
): ContextProvider[] {
  const providers: ContextProvider[] = [
    ...(zendesk ? [createZendeskProvider(zendesk, { recentTickets: settings.context.recentTickets })] : []),
    createCatalogProvider({ db: deps.database.db, kbLimit: settings.context.kbLimit }),
  ];
  if (settings.contextApi) {
    providers.push(
      createContextApiProvider(
        {
          db: deps.database.db,
          vault: deps.vault,
          now,
          allowPrivate: deps.allowPrivateContextApi ?? false,
          ...(deps.resolver ? { resolver: deps.resolver } : {}),
          ...(deps.contextFetch ? { fetch: deps.contextFetch } : {}),
        },
        settings.contextApi,
      ),
    );
  }
  return providers;
}

export interface ComposeInput {
  tenantId: string;
  ticket: PipelineTicket;
  route: RouteDecision;
  settings: PipelineSettings;
  /** The limit the tenant reached (quota.ts), or null: at a limit the offline drafter writes. */
  quota: QuotaReached | null;
  /** The Zendesk provider's client, or null for none. */
  zendesk: ZendeskResources | null;
  now: () => Date;
  /** The tenant's sealed model key, when the caller read it already (null: none); else it is read here. */
  modelKey?: string | null;
  /** Passed to the drafter as they are. */
  drafting?: Pick<DraftInput, 'attempt' | 'maxAttempts' | 'onFailedUsage' | 'instruction'>;
}

export async function composeDraft(
  deps: ComposeDeps,
  a: ComposeInput,
): Promise<{ context: AccountContext; draft: DraftResult }> {
  const { settings } = a;
  const context = await loadContext({
    providers: contextProviders(deps, settings, a.zendesk, a.now),
    input: { tenantId: a.tenantId, ticket: a.ticket, route: a.route, now: a.now() },
    deadlineMs: settings.context.deadlineMs,
    ...(settings.context.providerTimeoutMs ? { providerTimeoutMs: settings.context.providerTimeoutMs } : {}),
  });
  // The tenant's own model account when it stored a key (tenant-model.ts), else the server's drafter.
  const drafter = await drafterForTenant(deps, a.tenantId, settings.drafting, a.modelKey);
  const draft = await drafterWithinQuota(drafter, a.quota).draft({
    tenantId: a.tenantId,
    ticket: a.ticket,
    context,
    now: a.now(),
    model: settings.drafting.model,
    replyLanguage: settings.drafting.replyLanguage,
    limits: deps.limits,
    ...a.drafting,
  });
  return { context, draft };
}
