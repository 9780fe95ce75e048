import { createHash } from 'node:crypto';
import { and, desc, eq, sql } from 'drizzle-orm';
import { audit, exportAuditTrail } from '../audit/audit.ts';
import { pruneAuditTrails } from '../audit/retention.ts';
import { type Db, rowsOf, type Tx } from '../db/client.ts';
import {
  adminSessions,
  auditEvents,
  ERASED_SLACK_CREDENTIALS,
  ERASED_ZENDESK_CREDENTIALS,
  sidebarCredentials,
  slackInstallations,
  tenantSecrets,
  tenants,
  zendeskConnections,
} from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, describeError } from '../lib/errors.ts';
import { isTenantId } from '../lib/ids.ts';
import type { Logger } from '../lib/logger.ts';
import type { Actor } from './context.ts';
import { forgetTenantLookups, tenantIdsByStatus, tenantStatus } from './lookup.ts';
import { deleteExpiredSessions } from './sessions.ts';

/**
 * Tenant deletion in two steps.
 *
 * 1. `requestTenantDeletion`: the tenant turns `deleting` with `delete_after = now + retention`,
 *    and its provider tokens, webhook secret and tenant secrets are erased at once (Zendesk
 *    provisioning is removed first, best effort, while the token still works); its admin
 *    sessions and sidebar credentials are ended in the same transaction.
 * 2. `purgeDueTenants` (periodic sweep, or the CLI): for each tenant past `delete_after`, every
 *    row in every table with a `tenant_id` column is deleted (tables discovered from the catalog,
 *    so a new table is covered without touching this file), including its audit trail; a
 *    tombstone records counts and the SHA-256 digest of the exported trail; the tenants row stays
 *    as an id reservation with status `purged` and a blank name.
 *
 * Both run inside withTenant as the runtime role. The two steps the application role may not do
 * with plain SQL (change a tenant's status; delete audit events, write the tombstone) are narrow
 * SECURITY DEFINER functions acting on the transaction's own claimed tenant only
 * (`app_mark_tenant_deleting`, `app_finish_purge`, migration 0008). Every statement also names
 * the tenant explicitly.
 */

/** Removes what we provisioned in the tenant's Zendesk (webhook, triggers). Best effort. */
export type Deprovision = (tenantId: string) => Promise<void>;

async function asTenant<T>(db: Db, tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  if (!isTenantId(tenantId)) throw new AppError('bad_request', 'That is not a tenant id.');
  return withTenant(db, tenantId, fn);
}

export interface DeletionRequest {
  tenantId: string;
  actor: Actor;
  retentionDays: number;
  requestId?: string | undefined;
  now?: Date;
  deprovision?: Deprovision | undefined;
  log?: Logger | undefined;
}

export interface DeletionRequested {
  tenantId: string;
  status: 'deleting';
  deleteAfter: Date;
  /** True when the tenant was already being deleted: nothing changed. */
  alreadyRequested: boolean;
}

export async function requestTenantDeletion(db: Db, req: DeletionRequest): Promise<DeletionRequested> {
  const now = req.now ?? new Date();
  const status = isTenantId(req.tenantId) ? await tenantStatus(db, req.tenantId) : null;
  if (!status) throw new AppError('not_found', 'No such tenant.');
  if (status === 'purged') throw new AppError('conflict', 'This tenant has already been purged.');

  let deprovisioned: 'done' | 'failed' | 'unavailable' | 'skipped' = 'skipped';
  if (status === 'active') {
    if (!req.deprovision) deprovisioned = 'unavailable';
    else {
      try {
        await req.deprovision(req.tenantId);
        deprovisioned = 'done';
      } catch (e) {
        // The tokens are erased below either way; what stays in Zendesk then points at a hook
        // id that no longer verifies, so its deliveries are refused.
        deprovisioned = 'failed';
        req.log?.warn('zendesk deprovisioning failed during tenant deletion', {
          tenantId: req.tenantId,
          error: describeError(e),
        });
      }
    }
  }

  const requested = await asTenant(db, req.tenantId, async (tx): Promise<DeletionRequested> => {
    const rows = await tx
      .select({ status: tenants.status, deleteAfter: tenants.deleteAfter })
      .from(tenants)
      .where(eq(tenants.id, req.tenantId))
      .for('update');
    const row = rows[0];
    if (!row) throw new AppError('not_found', 'No such tenant.');
    if (row.status === 'purged') throw new AppError('conflict', 'This tenant has already been purged.');
    if (row.status === 'deleting' && row.deleteAfter) {
      return {
        tenantId: req.tenantId,
        status: 'deleting',
        deleteAfter: row.deleteAfter,
        alreadyRequested: true,
      };
    }
    const deleteAfter = new Date(now.getTime() + req.retentionDays * 86_400_000);
    await tx.execute(
      sql`select public.app_mark_tenant_deleting(${deleteAfter.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz)`,
    );
    const slack = await tx
      .update(slackInstallations)
      .set({
        ...ERASED_SLACK_CREDENTIALS,
        status: 'revoked',
        statusDetail: 'tenant_deleted',
        updatedAt: now,
      })
      .where(eq(slackInstallations.tenantId, req.tenantId))
      .returning({ id: slackInstallations.id });
    const zendesk = await tx
      .update(zendeskConnections)
      .set({
        ...ERASED_ZENDESK_CREDENTIALS,
        status: 'revoked',
        statusDetail: 'tenant_deleted',
        updatedAt: now,
      })
      .where(eq(zendeskConnections.tenantId, req.tenantId))
      .returning({ id: zendeskConnections.id });
    const secrets = await tx
      .delete(tenantSecrets)
      .where(eq(tenantSecrets.tenantId, req.tenantId))
      .returning({ purpose: tenantSecrets.purpose });
    // Every signed-in admin and open sidebar is signed out now: a session kept after the request
    // could still change settings (a new Context API secret) for the retention window. Principals
    // of a tenant that is not active are refused anyway (lookupSession, verifySidebarCredential).
    const sessions = await tx
      .delete(adminSessions)
      .where(eq(adminSessions.tenantId, req.tenantId))
      .returning({ userId: adminSessions.userId });
    const sidebar = await tx
      .delete(sidebarCredentials)
      .where(eq(sidebarCredentials.tenantId, req.tenantId))
      .returning({ agentId: sidebarCredentials.agentId });
    await audit(
      { tenantId: req.tenantId, tx, actor: req.actor, requestId: req.requestId },
      {
        action: 'tenant.deletion_requested',
        target: req.tenantId,
        outcome: 'success',
        detail: {
          requestedAt: now.toISOString(),
          deleteAfter: deleteAfter.toISOString(),
          retentionDays: req.retentionDays,
          slackInstallationsRevoked: slack.length,
          zendeskConnectionsRevoked: zendesk.length,
          tenantSecretsErased: secrets.length,
          adminSessionsEnded: sessions.length,
          sidebarCredentialsEnded: sidebar.length,
          zendeskDeprovisioning: deprovisioned,
        },
      },
    );
    return { tenantId: req.tenantId, status: 'deleting', deleteAfter, alreadyRequested: false };
  });
  // This process's cached look-ups (webhook hook ids, Slack teams) go with the connections.
  forgetTenantLookups(req.tenantId);
  return requested;
}

/**
 * Every table in `public` with a `tenant_id` column, children before parents (by foreign keys),
 * so each row is deleted, and counted, by its own table's DELETE rather than by a cascade.
 */
export async function tenantOwnedTables(db: Db | Tx): Promise<string[]> {
  const tables = rowsOf<{ name: string }>(
    await db.execute(sql`
      select c.relname as name
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
      where n.nspname = 'public' and c.relkind in ('r', 'p')
      order by 1`),
  ).map((r) => r.name);
  const edges = rowsOf<{ child: string; parent: string }>(
    await db.execute(sql`
      select ch.relname as child, pa.relname as parent
      from pg_constraint k
      join pg_class ch on ch.oid = k.conrelid
      join pg_class pa on pa.oid = k.confrelid
      join pg_namespace n on n.oid = ch.relnamespace
      where k.contype = 'f' and n.nspname = 'public' and ch.oid <> pa.oid`),
  );
  const set = new Set(tables);
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (t: string) => {
    if (ordered.includes(t) || visiting.has(t)) return;
    visiting.add(t);
    // Children (tables referencing t) go first.
    for (const e of edges) if (e.parent === t && set.has(e.child)) visit(e.child);
    visiting.delete(t);
    ordered.push(t);
  };
  for (const t of tables) visit(t);
  return ordered;
}

export interface PurgeResult {
  tenantId: string;
  rowsDeleted: number;
  auditEventsDeleted: number;
  auditDigest: string;
  perTable: Record<string, number>;
}

function describeActor(actor: unknown): string {
  const a = (actor ?? {}) as Record<string, unknown>;
  switch (a.type) {
    case 'admin':
      return `admin:${String(a.userId)} via ${String(a.via)}`;
    case 'cli':
    case 'system':
      return `${String(a.type)}:${String(a.name)}`;
    default:
      return JSON.stringify(a).slice(0, 200);
  }
}

async function digestAuditTrail(db: Db, tenantId: string): Promise<{ digest: string; count: number }> {
  const hash = createHash('sha256');
  let count = 0;
  for await (const line of exportAuditTrail(db, tenantId)) {
    hash.update(line);
    count++;
  }
  return { digest: hash.digest('hex'), count };
}

/** The tenant's rows changed during the purge: roll back and start over. */
class TrailChanged extends Error {}

/** When deletion was requested: the request's own clock (in the detail), else the event time. */
function requestedAtOf(e: { at: Date; detail: Record<string, unknown> } | undefined): Date | undefined {
  if (!e) return undefined;
  const d = typeof e.detail.requestedAt === 'string' ? new Date(e.detail.requestedAt) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : e.at;
}

/** Purges one tenant that is in `deleting` (whatever its delete_after): see the module comment. */
export async function purgeTenant(db: Db, tenantId: string, now = new Date()): Promise<PurgeResult | null> {
  const requested = await withTenant(db, tenantId, (tx) =>
    tx
      .select({ at: auditEvents.at, actor: auditEvents.actor, detail: auditEvents.detail })
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'tenant.deletion_requested'), eq(auditEvents.outcome, 'success')))
      .orderBy(desc(auditEvents.id))
      .limit(1),
  );
  for (let attempt = 1; ; attempt++) {
    // The digest is of the trail exactly as exportAuditTrail gives it, computed before deletion;
    // if an event lands between export and delete, the counts differ and we start over.
    const { digest, count } = await digestAuditTrail(db, tenantId);
    try {
      return await asTenant(db, tenantId, async (tx) => {
        const rows = await tx
          .select({ status: tenants.status })
          .from(tenants)
          .where(eq(tenants.id, tenantId))
          .for('update');
        if (rows[0]?.status !== 'deleting') return null;
        const perTable: Record<string, number> = {};
        let total = 0;
        for (const table of await tenantOwnedTables(tx)) {
          // The audit trail is deleted by app_finish_purge (the application role may not).
          if (table === 'audit_events') continue;
          const r = rowsOf<{ n: number | string }>(
            await tx.execute(
              sql`with d as (delete from ${sql.identifier(table)} where tenant_id = ${tenantId} returning 1) select count(*)::int as n from d`,
            ),
          );
          const n = Number(r[0]?.n ?? 0);
          perTable[table] = n;
          total += n;
        }
        // A row committed by another transaction while we deleted (a late job) is visible to a
        // new statement: check every table is empty for the tenant, else retry.
        for (const table of Object.keys(perTable)) {
          const left = rowsOf<{ n: number | string }>(
            await tx.execute(
              sql`select count(*)::int as n from ${sql.identifier(table)} where tenant_id = ${tenantId}`,
            ),
          );
          if (Number(left[0]?.n ?? 0) > 0) throw new TrailChanged();
        }
        const finished = rowsOf<{ n: number | string }>(
          await tx.execute(
            sql`select public.app_finish_purge(${(requestedAtOf(requested[0]) ?? now).toISOString()}::timestamptz, ${now.toISOString()}::timestamptz, ${total}::int, ${digest}, ${requested[0] ? describeActor(requested[0].actor) : 'unknown'}) as n`,
          ),
        );
        const auditDeleted = Number(finished[0]?.n ?? 0);
        // An audit event that landed between the digest and the delete: start over.
        if (auditDeleted !== count) throw new TrailChanged();
        perTable.audit_events = auditDeleted;
        total += auditDeleted;
        return {
          tenantId,
          rowsDeleted: total,
          auditEventsDeleted: auditDeleted,
          auditDigest: digest,
          perTable,
        };
      });
    } catch (e) {
      if (e instanceof TrailChanged && attempt < 3) continue;
      throw e;
    }
  }
}

/**
 * Purges every tenant in `deleting` whose `delete_after` has passed (or every tenant in
 * `deleting` with `ignoreRetention`, the CLI's `--now`). Tenants are purged one by one; a
 * failure is logged and the sweep goes on.
 */
export async function purgeDueTenants(
  db: Db,
  now = new Date(),
  opts: { ignoreRetention?: boolean; log?: Logger } = {},
): Promise<PurgeResult[]> {
  const ids = await tenantIdsByStatus(db, 'deleting');
  const done: PurgeResult[] = [];
  for (const id of ids) {
    const row = await withTenant(db, id, (tx) =>
      tx.select({ deleteAfter: tenants.deleteAfter }).from(tenants).where(eq(tenants.id, id)),
    );
    const deleteAfter = row[0]?.deleteAfter;
    if (!opts.ignoreRetention && (!deleteAfter || deleteAfter > now)) continue;
    try {
      const r = await purgeTenant(db, id, now);
      if (r) {
        done.push(r);
        opts.log?.info('tenant purged', {
          tenantId: id,
          rowsDeleted: r.rowsDeleted,
          auditEventsDeleted: r.auditEventsDeleted,
        });
      }
    } catch (e) {
      opts.log?.error('tenant purge failed', { tenantId: id, error: describeError(e) });
    }
  }
  return done;
}

/**
 * The periodic sweep the Node entry runs (first run shortly after start): purges due tenants,
 * deletes expired admin sessions and prunes audit trails past their tenant's retention. Returns a
 * stop function.
 */
export function startPurgeSweep(db: Db, log: Logger, everyMs = 60 * 60 * 1000): () => void {
  let running = false;
  const run = async () => {
    if (running) return;
    running = true;
    try {
      await purgeDueTenants(db, new Date(), { log });
      const expired = await deleteExpiredSessions(db, new Date());
      if (expired > 0) log.info('expired admin sessions deleted', { count: expired });
      // Each tenant's audit retention (src/audit/retention.ts).
      await pruneAuditTrails(db, new Date(), log);
    } catch (e) {
      log.error('purge sweep failed', { error: describeError(e) });
    } finally {
      running = false;
    }
  };
  const first = setTimeout(() => void run(), 5_000);
  const timer = setInterval(() => void run(), everyMs);
  first.unref?.();
  timer.unref?.();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}

export interface DeletionCancelled {
  tenantId: string;
  status: 'active';
  /** When the purge would have run. */
  deleteAfterWas: Date;
}

/**
 * Cancels a deletion request while its retention window is open: the tenant turns `active` again
 * with every row it had (nothing is deleted before the purge). What the request erased stays
 * erased: provider tokens, the webhook secret and tenant secrets, so Slack and Zendesk must be
 * connected again (the install and connect flows return to this same tenant), and nobody is signed
 * in (sessions ended with the request). Audited as `tenant.deletion_cancelled`; a refused
 * attempt on a tenant being deleted is audited with outcome `denied`.
 *
 * An operator's verb (`npm run tenant -- cancel-deletion <tenantId>`), not a console page: the
 * request signed every admin out and erased the Slack bot token that "Sign in with Slack" needs to
 * read the user's role, and no route accepts a principal of a tenant that is not active. Errors:
 * `404 not_found`, `409 conflict` (not being deleted, already purged, or the window has passed).
 */
export async function cancelTenantDeletion(
  db: Db,
  req: { tenantId: string; actor: Actor; requestId?: string | undefined; now?: Date },
): Promise<DeletionCancelled> {
  const now = req.now ?? new Date();
  const status = isTenantId(req.tenantId) ? await tenantStatus(db, req.tenantId) : null;
  if (!status) throw new AppError('not_found', 'No such tenant.');
  if (status === 'purged') throw new AppError('conflict', 'This tenant has already been purged.');
  if (status !== 'deleting') throw new AppError('conflict', 'This tenant is not being deleted.');
  const outcome = await asTenant(db, req.tenantId, async (tx) => {
    const [row] = await tx
      .select({ status: tenants.status, deleteAfter: tenants.deleteAfter })
      .from(tenants)
      .where(eq(tenants.id, req.tenantId));
    if (row?.status !== 'deleting' || !row.deleteAfter) return { kind: 'not_deleting' as const };
    const r = rowsOf<{ ok: boolean }>(
      await tx.execute(
        sql`select public.app_cancel_tenant_deletion(${now.toISOString()}::timestamptz) as ok`,
      ),
    );
    const ctx = { tenantId: req.tenantId, tx, actor: req.actor, requestId: req.requestId };
    const detail = { deleteAfter: row.deleteAfter.toISOString(), at: now.toISOString() };
    if (!r[0]?.ok) {
      await audit(ctx, {
        action: 'tenant.deletion_cancelled',
        target: req.tenantId,
        outcome: 'denied',
        detail: { ...detail, reason: 'retention_window_passed' },
      });
      return { kind: 'too_late' as const, deleteAfter: row.deleteAfter };
    }
    await audit(ctx, {
      action: 'tenant.deletion_cancelled',
      target: req.tenantId,
      outcome: 'success',
      detail,
    });
    return { kind: 'cancelled' as const, deleteAfter: row.deleteAfter };
  });
  if (outcome.kind === 'not_deleting') throw new AppError('conflict', 'This tenant is not being deleted.');
  if (outcome.kind === 'too_late')
    throw new AppError(
      'conflict',
      `The retention window ended at ${outcome.deleteAfter.toISOString()}: the deletion can no longer be cancelled.`,
    );
  return { tenantId: req.tenantId, status: 'active', deleteAfterWas: outcome.deleteAfter };
}
