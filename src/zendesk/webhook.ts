import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { zendeskConnections } from '../db/schema/index.ts';
import { type GroupCommit, type Statement, tenantTransaction, withTenant } from '../db/tenant.ts';
import { AppError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { TICKET_JOB_KIND, type TicketJobPayload } from '../pipeline/ticket-job.ts';
import { createLookupCache, type LookupCache, tenantIdByZendeskHook } from '../tenancy/lookup.ts';
import type { Vault } from '../tenancy/vault.ts';
import { eventKey, TRIGGER_EVENTS, type TriggerPayload, triggerPayloadSchema } from './trigger-payload.ts';
import { isFreshTimestamp, verifyZendeskSignatureSync } from './webhook-verify.ts';

export interface ZendeskWebhookDeps {
  database: Database;
  vault: Vault;
  now: () => Date;
  /** Optional hook id -> connection cache (see createHookCache). */
  hooks?: HookCache;
  /** Optional group commit (src/db/tenant.ts): concurrent webhooks share one transaction. */
  commits?: GroupCommit;
}

/**
 * What the hot path needs to know about a hook id: its tenant, connection, the sealed signing
 * secret as stored and that secret opened (AES-GCM under the tenant's derived key). Cached per
 * hook id (one connection, one tenant, one key version: the sealed value names it) so that an
 * accepted webhook costs no look-up, no transaction to read the connection and no vault open.
 */
export interface HookEntry {
  tenantId: string;
  connectionId: string;
  /** The stored sealed value the secret was opened from; the ingest statement requires it unchanged. */
  sealed: string | null;
  secret: string | null;
}

/**
 * The hook cache: 30 s, 10,000 hook ids (src/tenancy/lookup.ts). A stale entry can never accept
 * anything the database would refuse: the ingest statement inserts only where the connection
 * with this id, hook id and sealed secret is still not revoked and its tenant is still `active`,
 * in the same statement as the insert, and a miss there drops the entry and re-reads. A secret
 * rotated elsewhere is picked up at the first signature that does not verify with the cached one.
 */
export type HookCache = LookupCache<HookEntry>;

export function createHookCache(opts: { ttlMs?: number; max?: number } = {}): HookCache {
  return createLookupCache<HookEntry>({ ttlMs: 30_000, max: 10_000, ...opts });
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
  /** The job this delivery created; null for a duplicate. */
  jobId: string | null;
  /** True when this invocation, or another invocation of the same ticket event, was seen before. */
  duplicate: boolean;
}

const HOOK_ID = /^[A-Za-z0-9_-]{8,128}$/;
const INVOCATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The tenant, connection and opened secret of a hook id, from the database (cache miss). */
async function loadHook(deps: ZendeskWebhookDeps, hookId: string): Promise<HookEntry | null> {
  const tenant = await tenantIdByZendeskHook(deps.database.db, hookId);
  if (!tenant) return null;
  return withTenant(deps.database.db, tenant, async (tx) => {
    const [conn] = await tx
      .select({
        id: zendeskConnections.id,
        status: zendeskConnections.status,
        sealedSecret: zendeskConnections.webhookSecret,
      })
      .from(zendeskConnections)
      .where(eq(zendeskConnections.hookId, hookId))
      .limit(1);
    if (!conn || conn.status === 'revoked') return null;
    if (!conn.sealedSecret) return { tenantId: tenant, connectionId: conn.id, sealed: null, secret: null };
    const secret = await deps.vault.open(tenant, 'zendesk_webhook_secret', conn.sealedSecret);
    return { tenantId: tenant, connectionId: conn.id, sealed: conn.sealedSecret, secret };
  });
}

/**
 * The delivery and its job in ONE statement, under the tenant's claim (RLS checks both inserts).
 * `conn` re-checks, in the same snapshot as the insert, that the connection (id, hook id, the
 * sealed secret the signature was checked with) is not revoked and the tenant is `active`; with no
 * such row nothing is inserted and `found` is 0. The delivery is the dedupe gate (its primary key
 * is the invocation id, its unique key the event key); the job is inserted only from a delivery
 * that was, under the event key as its dedupe key, so a ticket event is one job however often it
 * arrives (a job already holding the key, with no delivery, is reused: `created` is then 0).
 */
const INGEST = `with conn as (
  select c.id from zendesk_connections c
  where c.tenant_id = $1 and c.hook_id = $2 and c.id = $3 and c.status <> 'revoked' and c.webhook_secret = $4
    and exists (select 1 from tenants t where t.id = $1 and t.status = 'active')
), d as (
  insert into webhook_deliveries (tenant_id, connection_id, invocation_id, event_key, ticket_id, event, job_id, received_at)
  select $1, conn.id, $5, $6, $7, $8,
    coalesce((select j.id from jobs j where j.tenant_id = $1 and j.dedupe_key = $6), $9), $10::timestamptz
  from conn
  on conflict do nothing
  returning job_id
), j as (
  insert into jobs (tenant_id, id, kind, payload, dedupe_key, max_attempts)
  select $1, d.job_id, $11, $12::jsonb, $6, 8 from d where d.job_id = $9
  on conflict (tenant_id, dedupe_key) do nothing
  returning id
)
select (select count(*) from conn)::int as found, (select count(*) from d)::int as delivered,
  (select count(*) from j)::int as created`;

/**
 * Accepts one Zendesk trigger call: the hook id's connection (cached), the signature over the
 * raw bytes with its opened secret, freshness, the body, and then the delivery row plus the job in
 * one statement of one transaction (shared with concurrent webhooks when group commit is on),
 * answered only after that transaction committed. Every refusal throws an AppError before
 * anything is written.
 *
 * Dedupe has two keys: the invocation id (Zendesk re-sends one invocation on retries) and the
 * event key (ticket id + event + updated-at stamp: two invocations reporting one change). The job's
 * dedupe key is the event key, so a ticket event becomes one job however often it arrives.
 *
 * Connection status: `revoked` connections are not found (404, and Zendesk does not retry 404s).
 * `needs_reauth` connections are still accepted and enqueued: the event is durable, the job
 * fails visibly (dead-lettered with the token error) and can be re-run after the admin
 * reconnects, whereas refusing would make Zendesk drop the event and count failures toward
 * its webhook circuit breaker. A tenant that is not `active` (being deleted) stores nothing (404).
 */
export async function acceptZendeskWebhook(
  deps: ZendeskWebhookDeps,
  req: ZendeskWebhookRequest,
): Promise<ZendeskWebhookResult> {
  if (!HOOK_ID.test(req.hookId)) throw notFound();
  return accept(deps, req, true);
}

const notFound = () => new AppError('not_found', 'No webhook here.');

async function accept(
  deps: ZendeskWebhookDeps,
  req: ZendeskWebhookRequest,
  useCache: boolean,
): Promise<ZendeskWebhookResult> {
  let entry = useCache ? deps.hooks?.get(req.hookId) : undefined;
  const fromCache = entry !== undefined;
  if (!entry) {
    entry = (await loadHook(deps, req.hookId)) ?? undefined;
    if (!entry) {
      deps.hooks?.delete(req.hookId);
      throw notFound();
    }
    deps.hooks?.set(req.hookId, entry);
  }
  if (!req.signature || !req.timestamp) {
    throw new AppError(
      'invalid_signature',
      'Missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp.',
    );
  }
  const { signature, timestamp } = req;
  const verifies = (e: HookEntry) =>
    e.secret !== null &&
    verifyZendeskSignatureSync({ secret: e.secret, timestamp, body: req.body, signature });
  if (!verifies(entry)) {
    // The secret may have been rotated since the entry was cached: read it once more.
    if (fromCache) return accept(deps, req, false);
    if (!entry.secret)
      throw new AppError('invalid_signature', 'This webhook has no signing secret yet; reconnect Zendesk.');
    throw new AppError('invalid_signature', 'The webhook signature does not match.');
  }
  const now = deps.now();
  if (!isFreshTimestamp(timestamp, now))
    throw new AppError('stale_request', 'The webhook timestamp is more than 5 minutes from our clock.');
  if (!req.invocationId || !INVOCATION_ID.test(req.invocationId))
    throw new AppError('bad_request', 'Missing or malformed X-Zendesk-Webhook-Invocation-Id.');
  const invocationId = req.invocationId;

  const payload = parseBody(req.body);
  const key = eventKey(payload);
  const jobId = newId('job');
  const job: TicketJobPayload = {
    connectionId: entry.connectionId,
    ticketId: payload.ticket_id,
    event: payload.event,
    invocationId,
    eventKey: key,
  };
  const statement: Statement = {
    text: INGEST,
    params: [
      entry.tenantId,
      req.hookId,
      entry.connectionId,
      entry.sealed,
      invocationId,
      key,
      payload.ticket_id,
      payload.event,
      jobId,
      now.toISOString(),
      TICKET_JOB_KIND,
      JSON.stringify(job),
    ],
  };
  const rows = deps.commits
    ? await deps.commits.submit(entry.tenantId, statement)
    : (
        await tenantTransaction(deps.database.db, [{ tenantId: entry.tenantId, statements: [statement] }])
      )[0]![0]!;
  const r = rows[0] as { found: number; delivered: number; created: number } | undefined;
  if (!r || Number(r.found) === 0) {
    // Revoked, re-keyed or its tenant no longer active since it was read: never stored.
    deps.hooks?.delete(req.hookId);
    if (fromCache) return accept(deps, req, false);
    throw notFound();
  }
  const created = Number(r.delivered) === 1 && Number(r.created) === 1;
  return { tenantId: entry.tenantId, jobId: created ? jobId : null, duplicate: !created };
}

const TRIGGER_EVENT_SET: ReadonlySet<string> = new Set(TRIGGER_EVENTS);
const TICKET_ID = /^\d{1,20}$/;

/**
 * The trigger payload without zod on the hot path: the exact shape our triggers send (strictly
 * these keys). Anything else goes to the schema, which either accepts it (the schema is the
 * contract) or explains the refusal.
 */
function quickPayload(json: unknown): TriggerPayload | null {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return null;
  const o = json as Record<string, unknown>;
  let n = 0;
  for (const k in o) {
    if (k !== 'ticket_id' && k !== 'event' && k !== 'updated_at') return null;
    n++;
  }
  const { ticket_id: id, event, updated_at: stamp } = o;
  const ticketId =
    typeof id === 'string' && TICKET_ID.test(id)
      ? id
      : typeof id === 'number' && Number.isSafeInteger(id) && id > 0
        ? String(id)
        : null;
  if (ticketId === null || typeof event !== 'string' || !TRIGGER_EVENT_SET.has(event)) return null;
  if (stamp === undefined)
    return n === 2 ? { ticket_id: ticketId, event: event as TriggerPayload['event'] } : null;
  if (typeof stamp !== 'string' || stamp.length > 64) return null;
  return { ticket_id: ticketId, event: event as TriggerPayload['event'], updated_at: stamp };
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function parseBody(body: Uint8Array): TriggerPayload {
  let text: string;
  let json: unknown;
  try {
    text = utf8Strict.decode(body);
  } catch {
    throw new AppError('invalid_body', 'The body is not UTF-8 text.');
  }
  try {
    json = JSON.parse(text);
  } catch {
    throw new AppError('invalid_body', 'The body is not valid JSON.');
  }
  const quick = quickPayload(json);
  if (quick) return quick;
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
