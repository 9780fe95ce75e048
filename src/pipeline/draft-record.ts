import { audit } from '../audit/audit.ts';
import { drafts, llmUsage } from '../db/schema/index.ts';
import { newId } from '../lib/ids.ts';
import type { ServiceCtx } from '../tenancy/context.ts';
import type { DraftResult } from './drafting/types.ts';
import type { GuardVerdict } from './leak-guard.ts';
import type { RouteDecision } from './routing.ts';
import type { AccountContext, PipelineTicket } from './types.ts';

export type StoredDraftStatus = 'pending' | 'blocked';

export interface DraftRecordInput {
  draftId: string;
  ticket: PipelineTicket;
  route: RouteDecision;
  context: AccountContext;
  draft: DraftResult;
  guard: { verdict: GuardVerdict; body: string };
  now: Date;
  /** Where the draft was asked for (default 'zendesk'); a Slack question names its ticket or none. */
  source?: 'zendesk' | 'slack';
  /** The Zendesk ticket the draft answers (default `ticket.id`; null for a Slack question with no ticket). */
  ticketId?: string | null;
  /** The agent's Regenerate instruction the draft was written with, if any (kept in the snapshot). */
  instruction?: string | null;
}

/**
 * The write step of the ticket pipeline, one verb in the caller's tenant transaction: the draft
 * (`pending`, or `blocked` by the leak guard) with its citations, context snapshot (the ticket's
 * subject and body as the drafter read them, the facts, per-provider timings, what was missing)
 * and verdict,
 * the model usage, and the audit events `context.loaded` and `draft.created` / `draft.blocked`.
 * All or nothing. Idempotent by draft id: when the draft exists already (a retried job that raced
 * another attempt), nothing is written and `created` is false.
 */
export async function recordDraft(
  ctx: ServiceCtx,
  input: DraftRecordInput,
): Promise<{ created: boolean; status: StoredDraftStatus }> {
  const { tx, tenantId } = ctx;
  const { draftId, ticket, route, context, draft, guard, now } = input;
  const status: StoredDraftStatus = guard.verdict.action === 'blocked' ? 'blocked' : 'pending';
  const known = new Set(context.facts.map((f) => f.id));
  const citations = draft.citedFactIds.filter((id) => known.has(id));
  const inserted = await tx
    .insert(drafts)
    .values({
      tenantId,
      id: draftId,
      source: input.source ?? 'zendesk',
      ticketId: input.ticketId === undefined ? ticket.id : input.ticketId,
      route: route.level,
      accountId: route.accountId,
      endUserEmail: route.endUserEmail,
      status,
      body: guard.body,
      citations,
      confidence: draft.confidence,
      needsHumanReason: draft.needsHumanReason,
      contextSnapshot: {
        level: context.level,
        accountId: context.accountId,
        endUserEmail: context.endUserEmail,
        routeReason: route.reason,
        facts: context.facts,
        missing: context.missing,
        elapsedMs: context.elapsedMs,
        // Per provider: time, facts kept, why missing (the console's draft page shows them).
        ...(context.providers ? { providers: context.providers } : {}),
        // The ticket as the drafter read it (the console's draft page shows it).
        ticket: { subject: ticket.subject, body: ticket.body },
        // Feedback and auto-send are per playbook (src/zendesk/sidebar-feedback.ts, sidebar-auto-send.ts).
        playbookId: draft.playbookKey ?? null,
        ticketCreatedAt: ticket.createdAt,
        ...(input.instruction ? { instruction: input.instruction } : {}),
      },
      guardVerdict: { ...guard.verdict },
      drafter: draft.drafter,
      model: draft.model,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning({ id: drafts.id });
  if (inserted.length === 0) return { created: false, status };
  if (draft.usage) {
    await tx.insert(llmUsage).values({
      tenantId,
      id: newId('llm'),
      draftId,
      model: draft.usage.model,
      promptTokens: draft.usage.promptTokens,
      completionTokens: draft.usage.completionTokens,
      costMicroUsd: draft.usage.costMicroUsd,
      createdAt: now,
    });
  }
  await audit(ctx, {
    action: 'context.loaded',
    target: `zendesk:ticket:${ticket.id}`,
    outcome: context.missing.length ? 'failure' : 'success',
    detail: {
      draftId,
      route: route.level,
      reason: route.reason,
      accountId: route.accountId,
      facts: context.facts.length,
      sources: [...new Set(context.facts.map((f) => f.source))],
      missing: context.missing,
      elapsedMs: context.elapsedMs,
    },
  });
  await audit(ctx, {
    action: status === 'blocked' ? 'draft.blocked' : 'draft.created',
    target: draftId,
    outcome: status === 'blocked' ? 'denied' : 'success',
    detail: {
      ticketId: ticket.id,
      route: route.level,
      drafter: draft.drafter,
      model: draft.model,
      citations: citations.length,
      confidence: draft.confidence,
      playbook: draft.playbookKey ?? null,
      guard: guard.verdict.action,
      findings: guard.verdict.findings.map((f) => f.kind),
    },
  });
  return { created: true, status };
}
