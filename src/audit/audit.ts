import { and, asc, gt, gte, lte } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { auditEvents } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { randomToken } from '../lib/ids.ts';
import { redact } from '../lib/logger.ts';
import type { ServiceCtx } from '../tenancy/context.ts';

export interface AuditEntry {
  action: string;
  target?: string | null;
  outcome: 'success' | 'failure' | 'denied';
  detail?: Record<string, unknown>;
}

/** Time-ordered ids: sorting by id sorts by creation time (ms), then randomly within a millisecond. */
export function auditId(now = Date.now()): string {
  return `ae_${now.toString(36).padStart(10, '0')}${randomToken(6)}`;
}

/**
 * Appends one event to the tenant's trail in the caller's transaction: if the caller's work
 * rolls back, so does its audit record, and vice versa. Details pass through the log redactor,
 * so a token that slips into `detail` is masked before it is stored.
 */
export async function audit(ctx: ServiceCtx, entry: AuditEntry): Promise<void> {
  await ctx.tx.insert(auditEvents).values({
    tenantId: ctx.tenantId,
    id: auditId(),
    actor: ctx.actor,
    action: entry.action,
    target: entry.target ?? null,
    outcome: entry.outcome,
    detail: (redact(entry.detail ?? {}) as Record<string, unknown>) ?? {},
    requestId: ctx.requestId ?? null,
  });
}

/**
 * One tenant's trail as JSON Lines, oldest first, read in pages inside withTenant (so RLS
 * guarantees no other tenant's event can appear). Yields one line (with trailing newline) per event.
 */
export async function* exportAuditTrail(
  db: Db,
  tenantId: string,
  opts: { since?: Date; until?: Date; pageSize?: number } = {},
): AsyncGenerator<string> {
  const pageSize = opts.pageSize ?? 500;
  let after = '';
  for (;;) {
    const page = await withTenant(db, tenantId, (tx) =>
      tx
        .select()
        .from(auditEvents)
        .where(
          and(
            gt(auditEvents.id, after),
            opts.since ? gte(auditEvents.at, opts.since) : undefined,
            opts.until ? lte(auditEvents.at, opts.until) : undefined,
          ),
        )
        .orderBy(asc(auditEvents.id))
        .limit(pageSize),
    );
    for (const e of page) {
      yield `${JSON.stringify({
        id: e.id,
        at: e.at.toISOString(),
        tenantId: e.tenantId,
        actor: e.actor,
        action: e.action,
        target: e.target,
        outcome: e.outcome,
        detail: e.detail,
        requestId: e.requestId,
      })}\n`;
    }
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.id;
  }
}
