import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { audit } from '../audit/audit.ts';
import type { Database, Tx } from '../db/client.ts';
import { drafts, externalEffects, llmUsage, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { JobContext, JobHandler } from '../jobs/types.ts';
import { sha256Hex } from '../lib/crypto.ts';
import { AppError, describeError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { TokenProvider } from '../oauth/token-provider.ts';
import type { Actor } from '../tenancy/context.ts';
import type { Vault } from '../tenancy/vault.ts';
import { createZendeskApi, type ZendeskApi } from '../zendesk/api.ts';
import { createCatalogProvider } from './context/catalog-provider.ts';
import { createContextApiProvider } from './context/context-api.ts';
import { type ContextProvider, loadContext } from './context/loader.ts';
import type { Resolver } from './context/net-guard.ts';
import { createZendeskProvider } from './context/zendesk-provider.ts';
import type { Drafter } from './drafting/types.ts';
import { guardDraft } from './leak-guard.ts';
import { routeTicket } from './routing.ts';
import { readPipelineSettings } from './settings.ts';
import type { PipelineTicket } from './types.ts';

/**
 * The job handler for kind `zendesk.ticket`: ticket id -> route -> context -> draft -> guard ->
 * stored draft (pending, or blocked by the guard) -> one internal note on the ticket.
 *
 * At-least-once safe: the draft id is derived from (ticket, event stamp), so a retried job finds
 * its draft instead of drafting again; the note is claimed in `external_effects` before the call
 * and completed after, and a claim left `started` by a crash is reconciled by looking for the
 * draft's marker among the ticket's comments before posting. Drafts never send themselves.
 */
export const TICKET_JOB_KIND = 'zendesk.ticket';

export const ticketJobPayloadSchema = z
  .object({
    connectionId: z.string().min(1).max(200),
    ticketId: z.union([z.string().regex(/^\d{1,20}$/), z.number().int().positive()]).transform(String),
    event: z.string().min(1).max(64),
    invocationId: z.string().max(200).optional(),
    /** Optional stamp telling two events on one ticket apart (trigger `updated_at`, or an event key). */
    updatedAt: z.string().max(64).optional(),
    eventKey: z.string().max(300).optional(),
  })
  .passthrough();
export type TicketJobPayload = z.infer<typeof ticketJobPayloadSchema>;

export interface TicketPipelineDeps {
  database: Database;
  vault: Vault;
  tokens: TokenProvider;
  drafter: Drafter;
  logger: Logger;
  now?: () => Date;
  /** CONTEXT_API_ALLOW_PRIVATE (development only). */
  allowPrivateContextApi?: boolean;
  /** DNS resolver for Context API URLs (tests pass a fixed one). */
  resolver?: Resolver;
  /** Network for the Context API (production: createPinnedFetch; default: the global fetch). */
  contextFetch?: typeof fetch;
}

const ACTOR: Actor = { type: 'system', name: 'ticket-pipeline' };

const ticketSchema = z.object({
  ticket: z.object({
    id: z.number(),
    subject: z.string().nullish(),
    description: z.string().nullish(),
    requester_id: z.number().nullish(),
    organization_id: z.number().nullish(),
    brand_id: z.number().nullish(),
    recipient: z.string().nullish(),
    via: z
      .object({ channel: z.union([z.string(), z.number()]).nullish() })
      .passthrough()
      .nullish(),
    created_at: z.string().nullish(),
  }),
  users: z
    .array(
      z.object({ id: z.number(), name: z.string().nullish(), email: z.string().nullish() }).passthrough(),
    )
    .optional(),
  organizations: z
    .array(
      z
        .object({
          id: z.number(),
          name: z.string().nullish(),
          organization_fields: z.record(z.string(), z.unknown()).nullish(),
        })
        .passthrough(),
    )
    .optional(),
});
const brandSchema = z.object({ brand: z.object({ id: z.number(), name: z.string() }).passthrough() });
const commentsSchema = z.object({
  comments: z.array(
    z
      .object({
        body: z.string().nullish(),
        plain_body: z.string().nullish(),
        public: z.boolean().nullish(),
        author_id: z.number().nullish(),
      })
      .passthrough(),
  ),
});

/**
 * Loads a ticket with its requester and organization (one sideloading call) and its brand name.
 * For `comment_added` the body is the requester's latest public comment (the description is the
 * first message only); an agent's comment never becomes the text we answer.
 */
export async function loadZendeskTicket(
  api: ZendeskApi,
  ticketId: string,
  event = 'ticket_created',
): Promise<PipelineTicket> {
  const r = await api.request('GET', `/api/v2/tickets/${ticketId}.json`, {
    schema: ticketSchema,
    query: { include: 'users,organizations' },
  });
  const t = r.ticket;
  const requester = r.users?.find((u) => u.id === t.requester_id);
  const org = r.organizations?.find((o) => o.id === t.organization_id);
  let brand: string | null = null;
  if (t.brand_id) {
    const b = await api.request('GET', `/api/v2/brands/${t.brand_id}.json`, { schema: brandSchema });
    brand = b.brand.name;
  }
  let body = t.description ?? '';
  if (event === 'comment_added' && t.requester_id) {
    const c = await api.request('GET', `/api/v2/tickets/${ticketId}/comments.json`, {
      schema: commentsSchema,
      query: { sort_order: 'desc' },
    });
    const latest = c.comments.find((x) => x.public !== false && x.author_id === t.requester_id);
    if (latest) body = latest.plain_body ?? latest.body ?? body;
  }
  return {
    id: String(t.id),
    subject: t.subject ?? '',
    body,
    requester: {
      id: t.requester_id ? String(t.requester_id) : null,
      email: requester?.email ?? null,
      name: requester?.name ?? null,
    },
    organization: org
      ? { id: String(org.id), name: org.name ?? null, fields: org.organization_fields ?? {} }
      : null,
    brand,
    recipient: t.recipient ?? null,
    via: t.via?.channel != null ? String(t.via.channel) : null,
    createdAt: t.created_at ?? null,
  };
}

/** Deterministic draft id for (tenant, ticket, event stamp): the idempotency key of drafting. */
export async function draftIdFor(tenantId: string, ticketId: string, stamp: string): Promise<string> {
  const h = await sha256Hex(`${tenantId}|zendesk|${ticketId}|${stamp}`);
  return `dr_${Buffer.from(h.slice(0, 32), 'hex').toString('base64url')}`;
}

function stampOf(p: TicketJobPayload, jobId: string): string {
  if (p.eventKey) return p.eventKey;
  if (p.event === 'ticket_created') return 'ticket_created';
  return `${p.event}:${p.updatedAt ?? p.invocationId ?? jobId}`;
}

const noteMarker = (draftId: string) => `[copilot:${draftId}]`;

export interface ProcessResult {
  draftId: string;
  created: boolean;
  status: string;
  notePosted: boolean;
}

export async function processTicketJob(deps: TicketPipelineDeps, job: JobContext): Promise<ProcessResult> {
  const now = deps.now ?? (() => new Date());
  const parsed = ticketJobPayloadSchema.safeParse(job.payload);
  if (!parsed.success) throw new AppError('invalid_body', 'zendesk.ticket job payload is invalid');
  const p = parsed.data;
  const { tenantId } = job;
  const db = deps.database.db;
  const log = deps.logger.child({ tenantId, jobId: job.jobId, ticketId: p.ticketId });
  const ctx = (tx: Tx) => ({ tenantId, tx, actor: ACTOR, requestId: job.jobId });

  const draftId = await draftIdFor(tenantId, p.ticketId, stampOf(p, job.jobId));
  const setup = await withTenant(db, tenantId, async (tx) => {
    const [conn] = await tx
      .select({ subdomain: zendeskConnections.subdomain, status: zendeskConnections.status })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.id, p.connectionId))
      .limit(1);
    const [existing] = await tx
      .select({ status: drafts.status })
      .from(drafts)
      .where(eq(drafts.id, draftId))
      .limit(1);
    return { conn, existing, settings: await readPipelineSettings(tx) };
  });
  if (!setup.conn) throw new AppError('not_found', 'Zendesk connection of this job is gone');
  if (setup.conn.status === 'revoked') throw new AppError('forbidden', 'Zendesk connection was revoked');
  const api = createZendeskApi({
    tenantId,
    subdomain: setup.conn.subdomain,
    tokens: deps.tokens,
    timeoutMs: 10_000,
  });

  let status = setup.existing?.status ?? '';
  let created = false;
  if (!setup.existing) {
    const { settings } = setup;
    const ticket = await loadZendeskTicket(api, p.ticketId, p.event);
    const route = await withTenant(db, tenantId, (tx) => routeTicket(tx, ticket, settings.routing));
    const providers: ContextProvider[] = [
      // Its own client whose requests end with the context deadline (the loader stops waiting then).
      createZendeskProvider(
        createZendeskApi({
          tenantId,
          subdomain: setup.conn.subdomain,
          tokens: deps.tokens,
          timeoutMs: settings.context.providerTimeoutMs ?? settings.context.deadlineMs,
          maxInlineWaitMs: 0,
        }),
        { recentTickets: settings.context.recentTickets },
      ),
      createCatalogProvider({ db, kbLimit: settings.context.kbLimit }),
    ];
    if (settings.contextApi) {
      providers.push(
        createContextApiProvider(
          {
            db,
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
    const context = await loadContext({
      providers,
      input: { tenantId, ticket, route, now: now() },
      deadlineMs: settings.context.deadlineMs,
      ...(settings.context.providerTimeoutMs
        ? { providerTimeoutMs: settings.context.providerTimeoutMs }
        : {}),
    });
    await withTenant(db, tenantId, (tx) =>
      audit(ctx(tx), {
        action: 'context.loaded',
        target: `zendesk:ticket:${ticket.id}`,
        outcome: context.missing.length ? 'failure' : 'success',
        detail: {
          route: route.level,
          reason: route.reason,
          accountId: route.accountId,
          facts: context.facts.length,
          sources: [...new Set(context.facts.map((f) => f.source))],
          missing: context.missing,
          elapsedMs: context.elapsedMs,
        },
      }),
    );

    const draft = await deps.drafter.draft({
      tenantId,
      ticket,
      context,
      now: now(),
      model: settings.drafting.model,
    });
    const known = new Set(context.facts.map((f) => f.id));
    const citations = draft.citedFactIds.filter((id) => known.has(id));

    const stored = await withTenant(db, tenantId, async (tx) => {
      const guarded = await guardDraft(tx, route, draft.reply);
      const draftStatus = guarded.verdict.action === 'blocked' ? 'blocked' : 'pending';
      const inserted = await tx
        .insert(drafts)
        .values({
          tenantId,
          id: draftId,
          source: 'zendesk',
          ticketId: ticket.id,
          route: route.level,
          accountId: route.accountId,
          endUserEmail: route.endUserEmail,
          status: draftStatus,
          body: guarded.body,
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
          },
          guardVerdict: { ...guarded.verdict },
          drafter: draft.drafter,
          model: draft.model,
        })
        .onConflictDoNothing()
        .returning({ id: drafts.id });
      if (inserted.length === 0) return { created: false, status: draftStatus };
      if (draft.usage) {
        await tx.insert(llmUsage).values({
          tenantId,
          id: newId('llm'),
          draftId,
          model: draft.usage.model,
          promptTokens: draft.usage.promptTokens,
          completionTokens: draft.usage.completionTokens,
          costMicroUsd: draft.usage.costMicroUsd,
        });
      }
      await audit(ctx(tx), {
        action: draftStatus === 'blocked' ? 'draft.blocked' : 'draft.created',
        target: draftId,
        outcome: draftStatus === 'blocked' ? 'denied' : 'success',
        detail: {
          ticketId: ticket.id,
          route: route.level,
          drafter: draft.drafter,
          model: draft.model,
          citations: citations.length,
          confidence: draft.confidence,
          guard: guarded.verdict.action,
          findings: guarded.verdict.findings.map((f) => f.kind),
        },
      });
      return { created: true, status: draftStatus };
    });
    created = stored.created;
    status = stored.status;
    log.info('draft stored', {
      draftId,
      route: route.level,
      status,
      created,
      missing: context.missing.length,
    });
  }

  const notePosted = await postNoteOnce(deps, api, { tenantId, ticketId: p.ticketId, draftId, status, ctx });
  return { draftId, created, status, notePosted };
}

async function postNoteOnce(
  deps: TicketPipelineDeps,
  api: ZendeskApi,
  a: {
    tenantId: string;
    ticketId: string;
    draftId: string;
    status: string;
    ctx: (tx: Tx) => { tenantId: string; tx: Tx; actor: Actor; requestId: string };
  },
): Promise<boolean> {
  const db = deps.database.db;
  const key = `zendesk-note:${a.ticketId}:${a.draftId}`;
  const claim = await withTenant(db, a.tenantId, async (tx) => {
    const ins = await tx
      .insert(externalEffects)
      .values({ tenantId: a.tenantId, key, kind: 'zendesk.note', status: 'started' })
      .onConflictDoNothing()
      .returning({ key: externalEffects.key });
    if (ins.length) return 'claimed' as const;
    const [row] = await tx.select().from(externalEffects).where(eq(externalEffects.key, key)).limit(1);
    return row?.status === 'done' ? ('done' as const) : ('unsure' as const);
  });
  if (claim === 'done') return false;
  const marker = noteMarker(a.draftId);
  if (claim === 'unsure') {
    // An earlier attempt claimed the note and did not record the outcome: it may have posted.
    const c = await api.request('GET', `/api/v2/tickets/${a.ticketId}/comments.json`, {
      schema: commentsSchema,
      query: { sort_order: 'desc' },
    });
    if (c.comments.some((x) => x.public === false && (x.body ?? '').includes(marker))) {
      await complete(db, a, key, { reconciled: true });
      return false;
    }
  }
  const body =
    a.status === 'blocked'
      ? `Copilot drafted a reply, but the leak guard held it back: review it in the Copilot sidebar before anything is sent. ${marker}`
      : `Copilot: a draft reply is ready for review in the Copilot sidebar. Nothing has been sent to the requester. ${marker}`;
  try {
    await api.send('PUT', `/api/v2/tickets/${a.ticketId}.json`, {
      ticket: { comment: { body, public: false } },
    });
  } catch (e) {
    await withTenant(db, a.tenantId, async (tx) => {
      await tx
        .update(externalEffects)
        .set({ status: 'failed', result: { error: describeError(e) }, updatedAt: new Date() })
        .where(and(eq(externalEffects.key, key), eq(externalEffects.status, 'started')));
      await audit(a.ctx(tx), {
        action: 'zendesk.note_posted',
        target: `zendesk:ticket:${a.ticketId}`,
        outcome: 'failure',
        detail: { draftId: a.draftId, error: describeError(e) },
      });
    });
    throw e;
  }
  await complete(db, a, key, {});
  return true;
}

async function complete(
  db: Database['db'],
  a: {
    tenantId: string;
    ticketId: string;
    draftId: string;
    ctx: (tx: Tx) => ReturnType<Parameters<typeof postNoteOnce>[2]['ctx']>;
  },
  key: string,
  result: Record<string, unknown>,
) {
  await withTenant(db, a.tenantId, async (tx) => {
    await tx
      .update(externalEffects)
      .set({ status: 'done', result, updatedAt: new Date() })
      .where(eq(externalEffects.key, key));
    await audit(a.ctx(tx), {
      action: 'zendesk.note_posted',
      target: `zendesk:ticket:${a.ticketId}`,
      outcome: 'success',
      detail: { draftId: a.draftId, ...result },
    });
  });
}

/** The JobHandler registered for `zendesk.ticket`. */
export function createTicketHandler(deps: TicketPipelineDeps): JobHandler {
  return async (job) => {
    await processTicketJob(deps, job);
  };
}
