import { and, eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { jobs, webhookDeliveries, zendeskConnections } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import type { JobQueue } from '../jobs/types.ts';
import { AppError } from '../lib/errors.ts';
import { ticketJob } from '../pipeline/ticket-job.ts';
import { tenantIdByZendeskHook } from '../tenancy/lookup.ts';
import type { Vault } from '../tenancy/vault.ts';
import { eventKey, triggerPayloadSchema } from './trigger-payload.ts';
import { openWebhookSecret, recordUnavailableSecret } from './webhook-secret.ts';
import { isFreshTimestamp, verifyZendeskSignature } from './webhook-verify.ts';

export interface ZendeskWebhookDeps {
  database: Database;
  vault: Vault;
  queue: JobQueue;
  now: () => Date;
  /** Optional hook id -> tenant id cache (see createHookTenantCache). */
  hookTenants?: HookTenantCache;
}

/**
 * Remembers which tenant a hook id belongs to, saving the look-up transaction on the hot path.
 * Safe to be stale: the tenant transaction re-reads the connection by hook id and refuses a
 * missing or revoked one, so a cached entry can only ever lead to that same check. Only found
 * hook ids are cached (unknown ids cannot fill it), entries expire, and the map is bounded.
 */
export interface HookTenantCache {
  get(hookId: string, now: number): string | undefined;
  set(hookId: string, tenantId: string, now: number): void;
}

export function createHookTenantCache(opts: { ttlMs?: number; max?: number } = {}): HookTenantCache {
  const ttl = opts.ttlMs ?? 60_000;
  const max = opts.max ?? 10_000;
  const map = new Map<string, { tenantId: string; until: number }>();
  return {
    get(hookId, now) {
      const e = map.get(hookId);
      if (!e) return undefined;
      if (e.until < now) {
        map.delete(hookId);
        return undefined;
      }
      return e.tenantId;
    },
    set(hookId, tenantId, now) {
      if (map.size >= max) map.delete(map.keys().next().value as string);
      map.set(hookId, { tenantId, until: now + ttl });
    },
  };
}

export interface ZendeskWebhookRequest {
  /** The path segment: our unguessable per-connection id, not Zendesk's webhook id. */
  hookId: string;
  signature: string | undefined;
  timestamp: string | undefined;
  invocationId: string | undefined;
  /** The body bytes exactly as received. */
  body: Uint8Array;
}

export interface ZendeskWebhookResult {
  tenantId: string;
  jobId: string;
  /** True when this invocation, or another invocation of the same ticket event, was seen before. */
  duplicate: boolean;
}

const HOOK_ID = /^[A-Za-z0-9_-]{8,128}$/;
const INVOCATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Accepts one Zendesk trigger call: tenant from the hook id, then, inside withTenant, the
 * connection's sealed signing secret, the signature over the raw bytes, freshness, the body,
 * and finally the delivery row plus the job in one transaction. Every refusal throws an AppError
 * before anything is written (and the transaction rolls back regardless).
 *
 * Dedupe has two keys: the invocation id (Zendesk re-sends one invocation on retries) and the
 * event key (ticket id + event + updated-at stamp: two invocations reporting one change). The job's
 * dedupe key is the event key, so a ticket event becomes one job however often it arrives.
 *
 * Connection status: `revoked` connections are not found (404, and Zendesk does not retry 404s).
 * `needs_reauth` connections are still accepted and enqueued: the event is durable, the job
 * fails visibly (dead-lettered with the token error) and can be re-run after the admin
 * reconnects, whereas refusing would make Zendesk drop the event and count failures toward
 * its webhook circuit breaker.
 */
export async function acceptZendeskWebhook(
  deps: ZendeskWebhookDeps,
  req: ZendeskWebhookRequest,
): Promise<ZendeskWebhookResult> {
  const notFound = () => new AppError('not_found', 'No webhook here.');
  if (!HOOK_ID.test(req.hookId)) throw notFound();
  const t0 = Date.now();
  let tenantId = deps.hookTenants?.get(req.hookId, t0);
  if (!tenantId) {
    tenantId = (await tenantIdByZendeskHook(deps.database.db, req.hookId)) ?? undefined;
    if (!tenantId) throw notFound();
    deps.hookTenants?.set(req.hookId, tenantId, t0);
  }
  if (!req.signature || !req.timestamp) {
    throw new AppError(
      'invalid_signature',
      'Missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp.',
    );
  }
  const { signature, timestamp } = req;

  const tenant = tenantId;
  return withTenant(deps.database.db, tenant, async (tx) => {
    const [conn] = await tx
      .select({
        id: zendeskConnections.id,
        status: zendeskConnections.status,
        sealedSecret: zendeskConnections.webhookSecret,
      })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.hookId, req.hookId))
      .limit(1);
    if (!conn || conn.status === 'revoked') throw notFound();
    if (!conn.sealedSecret)
      throw new AppError('invalid_signature', 'This webhook has no signing secret yet; reconnect Zendesk.');
    // A secret that does not open: 401 webhook_secret_unavailable, connection marked (webhook-secret.ts).
    const secret = await openWebhookSecret(deps.vault, tenant, conn.id, conn.sealedSecret);
    if (!(await verifyZendeskSignature({ secret, timestamp, body: req.body, signature })))
      throw new AppError('invalid_signature', 'The webhook signature does not match.');
    const now = deps.now();
    if (!isFreshTimestamp(timestamp, now))
      throw new AppError('stale_request', 'The webhook timestamp is more than 5 minutes from our clock.');
    if (!req.invocationId || !INVOCATION_ID.test(req.invocationId))
      throw new AppError('bad_request', 'Missing or malformed X-Zendesk-Webhook-Invocation-Id.');
    const invocationId = req.invocationId;

    const payload = parseBody(req.body);
    const key = eventKey(payload);
    const job = await deps.queue.enqueue(
      tx,
      tenant,
      ticketJob({
        connectionId: conn.id,
        ticketId: payload.ticket_id,
        event: payload.event,
        invocationId,
        eventKey: key,
      }),
    );
    // Either unique key (invocation id, event key) makes this a duplicate: nothing more is stored.
    const inserted = await tx
      .insert(webhookDeliveries)
      .values({
        tenantId: tenant,
        connectionId: conn.id,
        invocationId,
        eventKey: key,
        ticketId: payload.ticket_id,
        event: payload.event,
        jobId: job.id,
        receivedAt: now,
      })
      .onConflictDoNothing()
      .returning({ invocationId: webhookDeliveries.invocationId });
    if (inserted.length === 0 && job.created) {
      // A known invocation id carrying another event (Zendesk does not do this; a replay with
      // an edited body cannot pass the signature): keep the first delivery's outcome only.
      await tx.delete(jobs).where(and(eq(jobs.tenantId, tenant), eq(jobs.id, job.id)));
      return { tenantId: tenant, jobId: job.id, duplicate: true };
    }
    return { tenantId: tenant, jobId: job.id, duplicate: !job.created || inserted.length === 0 };
  }).catch(recordUnavailableSecret({ db: deps.database.db, now: deps.now }));
}

function parseBody(body: Uint8Array) {
  let text: string;
  let json: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new AppError('invalid_body', 'The body is not UTF-8 text.');
  }
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('invalid_body', 'The body is not valid JSON.');
  }
  const parsed = triggerPayloadSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
      .join('; ');
    throw new AppError('invalid_body', `The body is not a trigger payload (${issues}).`);
  }
  return parsed.data;
}
