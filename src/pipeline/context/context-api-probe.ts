import { z } from 'zod';
import { audit } from '../../audit/audit.ts';
import type { Db } from '../../db/client.ts';
import { withTenant } from '../../db/tenant.ts';
import { AppError } from '../../lib/errors.ts';
import type { Actor } from '../../tenancy/context.ts';
import type { Vault } from '../../tenancy/vault.ts';
import type { RouteDecision } from '../routing.ts';
import { readPipelineSettings } from '../settings.ts';
import type { PipelineTicket } from '../types.ts';
import { ContextApiError, createContextApiProvider } from './context-api.ts';
import { RefusedUrlError, type Resolver } from './net-guard.ts';

/**
 * The console's "Send test request": one load through the pipeline's own Context API provider
 * (context-api.ts: the same body, signature, address checks, timeouts, retry and answer
 * validation), for a sample account the admin names, with the cache left out so a request is
 * always sent. The network is wrapped to record what went out (method, URL, headers with the
 * signature, body: the secret itself is never in a request) and what came back (status, time,
 * the body's first PROBE_BODY_CHARS characters). Audited as `context_api.tested`.
 */
export const PROBE_BODY_CHARS = 2000;
/** The `ticketId` a test request carries (no real ticket is involved). */
export const PROBE_TICKET_ID = 'console-test';

export const contextApiProbeInputSchema = z
  .object({
    accountId: z.string().trim().min(1, 'is required').max(200),
    /** Asks at the end-user level for this email instead of the account level. */
    endUserEmail: z.string().trim().toLowerCase().email().max(320).optional(),
  })
  .strict();
export type ContextApiProbeInput = z.infer<typeof contextApiProbeInputSchema>;

export interface ProbeAttempt {
  request: { method: string; url: string; headers: [string, string][]; body: string };
  response: { status: number; body: string; truncated: boolean } | null;
  /** Why no answer arrived (timeout, network), when none did. */
  error: string | null;
  elapsedMs: number;
}

export interface ContextApiProbe {
  ok: boolean;
  level: 'account' | 'end_user';
  /** Each request sent (the pipeline retries once on a 5xx or a timed-out attempt). */
  attempts: ProbeAttempt[];
  /** Facts the pipeline would keep (keys), when the answer was usable. */
  factKeys: string[];
  /** The pipeline's verdict when it was not (`answered 500`, `attempt timed out`, ...). */
  error: string | null;
  elapsedMs: number;
}

export interface ContextApiProbeDeps {
  db: Db;
  vault: Vault;
  now: () => Date;
  allowPrivate: boolean;
  resolver?: Resolver | undefined;
  fetch?: typeof fetch | undefined;
}

async function readTrimmed(res: Response): Promise<{ body: string; truncated: boolean }> {
  if (!res.body) return { body: '', truncated: false };
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length <= PROBE_BODY_CHARS) {
      const { done, value } = await reader.read();
      if (done) return { body: text + decoder.decode(), truncated: false };
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
  return { body: text.slice(0, PROBE_BODY_CHARS), truncated: true };
}

export async function probeContextApi(
  deps: ContextApiProbeDeps,
  ctx: { tenantId: string; actor: Actor; requestId?: string | undefined },
  input: ContextApiProbeInput,
): Promise<ContextApiProbe> {
  const { tenantId } = ctx;
  const settings = await withTenant(deps.db, tenantId, (tx) => readPipelineSettings(tx));
  const api = settings.contextApi;
  if (!api) throw new AppError('conflict', 'Save the Context API settings first.');
  const attempts: ProbeAttempt[] = [];
  const reads: Promise<void>[] = [];
  const network = deps.fetch ?? ((u: RequestInfo | URL, i?: RequestInit) => globalThis.fetch(u, i));
  const recording: typeof fetch = async (url, init) => {
    const started = performance.now();
    const attempt: ProbeAttempt = {
      request: {
        method: init?.method ?? 'GET',
        url: String(url),
        headers: [...new Headers(init?.headers).entries()],
        body: typeof init?.body === 'string' ? init.body : '',
      },
      response: null,
      error: null,
      elapsedMs: 0,
    };
    attempts.push(attempt);
    try {
      const res = await network(url, init);
      attempt.elapsedMs = Math.round(performance.now() - started);
      attempt.response = { status: res.status, body: '', truncated: false };
      reads.push(
        readTrimmed(res.clone()).then(
          (r) => {
            attempt.response = { status: res.status, ...r };
          },
          () => {},
        ),
      );
      return res;
    } catch (e) {
      attempt.elapsedMs = Math.round(performance.now() - started);
      attempt.error = init?.signal?.aborted
        ? 'no answer in time (the attempt was stopped)'
        : 'request failed';
      throw e;
    }
  };
  const provider = createContextApiProvider(
    {
      db: deps.db,
      vault: deps.vault,
      now: deps.now,
      allowPrivate: deps.allowPrivate,
      ...(deps.resolver ? { resolver: deps.resolver } : {}),
      fetch: recording,
      useCache: false,
    },
    api,
  );
  const level = input.endUserEmail ? 'end_user' : 'account';
  const route: RouteDecision = {
    level,
    accountId: input.accountId,
    endUserEmail: input.endUserEmail ?? null,
    endUserId: null,
    reason: 'org_field',
  };
  const ticket: PipelineTicket = {
    id: PROBE_TICKET_ID,
    subject: 'Context API test request',
    body: '',
    requester: { id: null, email: input.endUserEmail ?? null, name: null },
    organization: null,
    brand: null,
    recipient: null,
    via: null,
    createdAt: null,
  };
  // The pipeline gives the provider its own timeout (default: the context deadline).
  const budget = settings.context.providerTimeoutMs ?? settings.context.deadlineMs;
  const started = performance.now();
  let factKeys: string[] = [];
  let error: string | null = null;
  try {
    const facts = await provider.load(
      { tenantId, ticket, route, now: deps.now() },
      AbortSignal.timeout(budget),
    );
    factKeys = [...new Set(facts.map((f) => f.key))];
  } catch (e) {
    error =
      e instanceof ContextApiError
        ? e.message
        : e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')
          ? `no answer within the provider's time (${budget} ms): the pipeline would mark the Context API missing`
          : e instanceof RefusedUrlError
            ? `url refused: ${e.message}`
            : 'the request failed';
  }
  await Promise.all(reads);
  const result: ContextApiProbe = {
    ok: error === null,
    level,
    attempts,
    factKeys,
    error,
    elapsedMs: Math.round(performance.now() - started),
  };
  const host = new URL(api.url).host;
  await withTenant(deps.db, tenantId, (tx) =>
    audit(
      { tenantId, tx, actor: ctx.actor, requestId: ctx.requestId },
      {
        action: 'context_api.tested',
        target: host,
        outcome: result.ok ? 'success' : 'failure',
        detail: {
          host,
          level,
          accountId: input.accountId,
          attempts: attempts.length,
          status: attempts.at(-1)?.response?.status ?? null,
          error,
          factKeys,
        },
      },
    ),
  );
  return result;
}
