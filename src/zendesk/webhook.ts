import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { zendeskConnections } from '../db/schema/index.ts';
import {
  createGroupCommit,
  type GroupCommit,
  type GroupCommitSpec,
  tenantTransaction,
  withTenant,
} from '../db/tenant.ts';
import { AppError } from '../lib/errors.ts';
import { newId } from '../lib/ids.ts';
import { TICKET_JOB_KIND, type TicketJobPayload } from '../pipeline/ticket-job.ts';
import { createLookupCache, type LookupCache, tenantIdByZendeskHook } from '../tenancy/lookup.ts';
import type { Vault } from '../tenancy/vault.ts';
import { eventKey, TRIGGER_EVENTS, type TriggerPayload, triggerPayloadSchema } from './trigger-payload.ts';
import { openWebhookSecret, recordUnavailableSecret } from './webhook-secret.ts';
import { isFreshTimestamp, verifyZendeskSignatureSync } from './webhook-verify.ts';

export interface ZendeskWebhookDeps {
  database: Database;
  vault: Vault;
  now: () => Date;
  /** Optional hook id -> connection cache (see createHookCache). */
  hooks?: HookCache;
  /** Optional group commit (ingestGroupCommit): concurrent webhooks share one transaction. */
  commits?: GroupCommit<IngestItem, IngestOutcome>;
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
    // A secret that does not open: 401 webhook_secret_unavailable, connection marked (webhook-secret.ts).
    const secret = await openWebhookSecret(deps.vault, tenant, conn.id, conn.sealedSecret);
    return { tenantId: tenant, connectionId: conn.id, sealed: conn.sealedSecret, secret };
  }).catch(recordUnavailableSecret({ db: deps.database.db, now: deps.now }));
}

/** One accepted delivery, ready to store (the hook's entry plus what the request said). */
export interface IngestItem {
  hookId: string;
  connectionId: string;
  sealed: string | null;
  invocationId: string;
  eventKey: string;
  ticketId: string;
  event: string;
  jobId: string;
  receivedAt: string;
  payload: string;
}

export interface IngestOutcome {
  /** The connection (id, hook id, sealed secret) is live and its tenant active: 0 means nothing was stored. */
  found: boolean;
  /** A new delivery and a new job were stored (false: a duplicate). */
  created: boolean;
}

/**
 * One tenant's deliveries and their jobs in ONE statement, under the tenant's claim (RLS checks
 * every insert). `conn` re-checks, in the same snapshot as the inserts, that each row's connection
 * (id, hook id, and the sealed secret its signature was checked with) is not revoked and that the
 * tenant is `active`; a row without one inserts nothing (`found` false). The delivery is the
 * dedupe gate (primary key: invocation id; unique: event key), rows inserted in arrival order,
 * so among copies in one batch the first wins; a job is inserted only for a delivery that was,
 * with the event key as its dedupe key, so a ticket event is one job however often it arrives.
 * Jobs under these keys are written only here, each with its delivery, and deleted only with it
 * (tenant purge), so a new delivery never meets an existing job; should one exist anyway (SQL by
 * hand), the job insert does nothing and the answer is `created: false` (a duplicate). There is
 * deliberately no look-up of existing jobs: it is a probe of a fast-growing table whose cached
 * (prepared) plan, made while the table was small, cost 2.5x this statement's CPU until
 * autovacuum analyzed the table again (measured; bench/RESULTS.md).
 */
const INGEST = `with u as (
  select * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
    with ordinality as u(hook, conn, sealed, inv, key, ticket, event, job, received, payload, ord)
), conn as (
  select c.id, c.hook_id, c.webhook_secret from zendesk_connections c
  where c.tenant_id = $1 and c.status <> 'revoked'
    and exists (select 1 from tenants t where t.id = $1 and t.status = 'active')
), ok as (
  select u.* from u join conn c on c.hook_id = u.hook and c.id = u.conn and c.webhook_secret = u.sealed
), d as (
  insert into webhook_deliveries (tenant_id, connection_id, invocation_id, event_key, ticket_id, event, job_id, received_at)
  select $1, ok.conn, ok.inv, ok.key, ok.ticket, ok.event, ok.job, ok.received::timestamptz
  from ok
  order by ok.ord
  on conflict do nothing
  returning job_id
), j as (
  insert into jobs (tenant_id, id, kind, payload, dedupe_key, max_attempts)
  select $1, ok.job, $12, ok.payload::jsonb, ok.key, 8 from ok join d on d.job_id = ok.job
  order by ok.ord
  on conflict (tenant_id, dedupe_key) do nothing
  returning id
)
select u.ord, exists (select 1 from ok where ok.ord = u.ord) as found,
  exists (select 1 from j where j.id = u.job) as created
from u order by u.ord`;

const ingestSpec: GroupCommitSpec<IngestItem, IngestOutcome> = {
  statement(tenantId, items) {
    const col = (k: keyof IngestItem) => items.map((i) => i[k]);
    return {
      text: INGEST,
      params: [
        tenantId,
        col('hookId'),
        col('connectionId'),
        col('sealed'),
        col('invocationId'),
        col('eventKey'),
        col('ticketId'),
        col('event'),
        col('jobId'),
        col('receivedAt'),
        col('payload'),
        TICKET_JOB_KIND,
      ],
    };
  },
  results(rows, items) {
    return items.map((_, i) => {
      const r = rows[i] as { found?: unknown; created?: unknown } | undefined;
      return { found: r?.found === true, created: r?.created === true };
    });
  },
};
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
  const item: IngestItem = {
    hookId: req.hookId,
    connectionId: entry.connectionId,
    sealed: entry.sealed,
    invocationId,
    eventKey: key,
    ticketId: payload.ticket_id,
    event: payload.event,
    jobId,
    receivedAt: now.toISOString(),
    payload: JSON.stringify(job),
  };
  const outcome = deps.commits
    ? await deps.commits.submit(entry.tenantId, item)
    : await ingestAlone(deps, entry.tenantId, item);
  if (!outcome.found) {
    // Revoked, re-keyed or its tenant no longer active since it was read: nothing was stored.
    deps.hooks?.delete(req.hookId);
    if (fromCache) return accept(deps, req, false);
    throw notFound();
  }
  return { tenantId: entry.tenantId, jobId: outcome.created ? jobId : null, duplicate: !outcome.created };
}

/** The ingest statement for one tenant's deliveries (what the group commit sends; benchmarks use it). */
export function ingestStatement(tenantId: string, items: IngestItem[]) {
  return ingestSpec.statement(tenantId, items);
}

async function ingestAlone(deps: ZendeskWebhookDeps, tenantId: string, item: IngestItem) {
  const [[rows]] = (await tenantTransaction(deps.database.db, [
    { tenantId, statements: [ingestSpec.statement(tenantId, [item])] },
  ])) as [[Record<string, unknown>[]]];
  return ingestSpec.results(rows, [item])[0]!;
}

const commitsByDatabase = new WeakMap<Database, GroupCommit<IngestItem, IngestOutcome>>();

/**
 * The group commit of webhook deliveries for one database handle (created on first use; `opts`
 * apply only then).
 */
export function ingestGroupCommit(
  database: Database,
  opts?: Parameters<typeof createGroupCommit>[2],
): GroupCommit<IngestItem, IngestOutcome> {
  let c = commitsByDatabase.get(database);
  if (!c) {
    c = createGroupCommit(database.db, ingestSpec, opts);
    commitsByDatabase.set(database, c);
  }
  return c;
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
  // Anything unusual (too long, a NUL PostgreSQL cannot store) goes to the schema, which says why.
  if (typeof stamp !== 'string' || stamp.length > 64 || stamp.includes('\u0000')) return null;
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
