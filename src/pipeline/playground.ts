import { z } from 'zod';
import { audit } from '../audit/audit.ts';
import { withTenant } from '../db/tenant.ts';
import { randomToken } from '../lib/ids.ts';
import type { Actor } from '../tenancy/context.ts';
import { type ComposeDeps, composeDraft } from './compose-draft.ts';
import type { DraftResult } from './drafting/types.ts';
import { type GuardVerdict, guardDraft } from './leak-guard.ts';
import { type Limits, type QuotaReached, type QuotaUsage, quotaReached, quotaUsage } from './quota.ts';
import { type RouteDecision, routeTicket } from './routing.ts';
import { readPipelineSettings } from './settings.ts';
import type { AccountContext, PipelineTicket } from './types.ts';

/**
 * The console's playground: a ticket typed by an admin goes through the pipeline's own steps
 * (routeTicket, composeDraft with the tenant's providers and drafter within its quota, guardDraft)
 * and nothing else. No Zendesk call (the Zendesk provider is left out), no job, no draft row, no
 * note; the only write is the audit event `playground.run` (metadata only, never the text).
 * A model call that fails is not retried: the offline drafter writes the draft at once and says why.
 */
const email = z
  .string()
  .trim()
  .max(320, 'at most 320 characters')
  .refine((v) => v === '' || z.email().safeParse(v).success, 'an email address (name@example.com), or empty');

export const playgroundInputSchema = z.object({
  subject: z.string().trim().max(300, 'at most 300 characters').default(''),
  body: z
    .string()
    .trim()
    .min(1, 'write the message the requester sent')
    .max(10_000, 'at most 10,000 characters'),
  email: email.default(''),
  brand: z.string().trim().max(200, 'at most 200 characters').default(''),
});
export type PlaygroundInput = z.infer<typeof playgroundInputSchema>;

export interface PlaygroundResult {
  ticket: PipelineTicket;
  route: RouteDecision;
  context: AccountContext;
  draft: DraftResult;
  guard: { verdict: GuardVerdict; body: string };
  quota: { limits: Limits | undefined; usage: QuotaUsage | null; reached: QuotaReached | null };
  /** The drafter configured for the tenant (`openai` or `offline`), whichever wrote this draft. */
  drafter: string;
}

export async function runPlayground(
  deps: ComposeDeps & { now?: () => Date },
  ctx: { tenantId: string; actor: Actor; requestId?: string | undefined },
  input: PlaygroundInput,
): Promise<PlaygroundResult> {
  const now = deps.now ?? (() => new Date());
  const { tenantId } = ctx;
  const db = deps.database.db;
  const ticket: PipelineTicket = {
    id: `playground:${randomToken(9)}`,
    subject: input.subject,
    body: input.body,
    requester: { id: null, email: input.email || null, name: null },
    organization: null,
    brand: input.brand || null,
    recipient: null,
    via: 'playground',
    createdAt: now().toISOString(),
  };
  const setup = await withTenant(db, tenantId, async (tx) => {
    const settings = await readPipelineSettings(tx);
    const usage = await quotaUsage(tx, settings.limits, now());
    const route = await routeTicket(tx, ticket, settings.routing);
    return { settings, usage, route, reached: quotaReached(settings.limits, usage) };
  });
  const { route } = setup;
  const { context, draft } = await composeDraft(deps, {
    tenantId,
    ticket,
    route,
    settings: setup.settings,
    quota: setup.reached,
    zendesk: null,
    now,
    // The only attempt: a model failure gives the offline draft now instead of a retry later.
    drafting: { attempt: 1, maxAttempts: 1 },
  });
  const guard = await withTenant(db, tenantId, async (tx) => {
    const g = await guardDraft(tx, route, draft.reply);
    await audit(
      { tenantId, tx, actor: ctx.actor, requestId: ctx.requestId },
      {
        action: 'playground.run',
        target: null,
        outcome: 'success',
        detail: {
          route: route.level,
          reason: route.reason,
          accountId: route.accountId,
          facts: context.facts.length,
          missing: context.missing,
          drafter: draft.drafter,
          model: draft.model,
          usage: draft.usage ?? null,
          quota: setup.reached?.kind ?? null,
          guard: g.verdict.action,
          findings: g.verdict.findings.map((f) => f.kind),
          subjectLength: ticket.subject.length,
          bodyLength: ticket.body.length,
        },
      },
    );
    return g;
  });
  return {
    ticket,
    route,
    context,
    draft,
    guard,
    quota: { limits: setup.settings.limits, usage: setup.usage, reached: setup.reached },
    drafter: deps.drafter.name,
  };
}
