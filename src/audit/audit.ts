import { and, asc, gt, gte, lte, sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../db/client.ts';
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
        seq: e.seq,
        prevHash: e.prevHash,
        hash: e.hash,
      })}\n`;
    }
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.id;
  }
}

export interface ChainVerification {
  ok: boolean;
  events: number;
  /** Hash of the last event (the chain's head), or null for an empty trail. */
  head: string | null;
  /**
   * Where the trail starts when its oldest events were deleted by the retention sweep: the last
   * deleted event's seq and hash, as the `audit.pruned` event in the verified chain attests.
   */
  prunedThrough?: { seq: number; hash: string };
  /** The first place the chain breaks. */
  breaksAt?: { seq: number | null; id: string; reason: 'content_changed' | 'link_broken' | 'event_missing' };
}

/**
 * Recomputes the tenant's hash chain (app_audit_hash, migration 0008) inside withTenant and says
 * where it first breaks: an event whose content no longer matches its hash, a prev_hash that is
 * not the previous event's hash, or a gap in seq (a deleted event). A trail whose oldest events
 * were pruned (audit retention, migration 0018) starts where an `audit.pruned` event of the
 * retention sweep, itself inside the verified chain, says the chain was cut (seq and hash of the
 * last deleted event); without such an event a missing start is `event_missing` as before.
 */
export async function verifyAuditChain(db: Db, tenantId: string): Promise<ChainVerification> {
  const rows = await withTenant(db, tenantId, async (tx) =>
    rowsOf<{
      id: string;
      seq: number | string | null;
      prev_hash: string | null;
      hash: string | null;
      expect: string;
      cut_seq: string | null;
      cut_hash: string | null;
    }>(
      await tx.execute(sql`select id, seq, prev_hash, hash,
        public.app_audit_hash(tenant_id, seq, id, at, actor, action, target, outcome, detail, request_id, prev_hash) as expect,
        case when action = 'audit.pruned' and actor->>'type' = 'system' and actor->>'name' = 'audit-retention'
          then detail->>'throughSeq' end as cut_seq,
        case when action = 'audit.pruned' and actor->>'type' = 'system' and actor->>'name' = 'audit-retention'
          then detail->>'throughHash' end as cut_hash
        from audit_events order by seq nulls first, id`),
    ),
  );
  let prev: string | null = null;
  let expectedSeq = 1;
  let prunedThrough: { seq: number; hash: string } | undefined;
  const first = rows[0];
  if (first && first.seq !== null && Number(first.seq) > 1) {
    const cutSeq = Number(first.seq) - 1;
    const attested = rows.some(
      (r) => r.cut_seq !== null && Number(r.cut_seq) === cutSeq && r.cut_hash === first.prev_hash,
    );
    if (attested && first.prev_hash) {
      prunedThrough = { seq: cutSeq, hash: first.prev_hash };
      prev = first.prev_hash;
      expectedSeq = Number(first.seq);
    }
  }
  const pruned = prunedThrough ? { prunedThrough } : {};
  for (const r of rows) {
    const seq = r.seq === null ? null : Number(r.seq);
    if (seq !== expectedSeq)
      return {
        ok: false,
        events: rows.length,
        head: prev,
        ...pruned,
        breaksAt: { seq, id: r.id, reason: 'event_missing' },
      };
    if (r.hash !== r.expect)
      return {
        ok: false,
        events: rows.length,
        head: prev,
        ...pruned,
        breaksAt: { seq, id: r.id, reason: 'content_changed' },
      };
    if (r.prev_hash !== prev)
      return {
        ok: false,
        events: rows.length,
        head: prev,
        ...pruned,
        breaksAt: { seq, id: r.id, reason: 'link_broken' },
      };
    prev = r.hash;
    expectedSeq++;
  }
  return { ok: true, events: rows.length, head: prev, ...pruned };
}

/** The export followed by one last line: `{"chain": ChainVerification}`. */
export async function* exportVerifiedAuditTrail(db: Db, tenantId: string): AsyncGenerator<string> {
  yield* exportAuditTrail(db, tenantId);
  yield `${JSON.stringify({ chain: await verifyAuditChain(db, tenantId) })}\n`;
}
