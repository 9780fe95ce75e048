import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, rowsOf, type Tx } from '../db/client.ts';
import { tenantSettings } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, describeError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { ServiceCtx } from '../tenancy/context.ts';
import { activeTenantIds } from '../tenancy/lookup.ts';
import { audit, auditId } from './audit.ts';

/**
 * How long a tenant keeps its audit trail: the `audit` key of `tenant_settings.settings`
 * (`{ retentionDays: 30..3650 | null }`; absent or null keeps events forever, which is what the
 * product did before). Set by an owner or admin on /admin/audit (audited as
 * `audit.retention_changed`), enforced by `pruneAuditTrails`, which the periodic sweeps run (the
 * Node entry's hourly purge sweep, the Workers purge cron). Pruning goes through the definer
 * function `app_prune_audit_events` (migration 0018): it deletes the oldest events of the
 * transaction's own tenant only, never younger than 30 days, and appends an `audit.pruned`
 * event naming where the chain was cut, from which verifyAuditChain starts.
 */
export const RETENTION_MIN_DAYS = 30;
export const RETENTION_MAX_DAYS = 3650;

export const auditRetentionSchema = z.object({
  retentionDays: z.number().int().min(RETENTION_MIN_DAYS).max(RETENTION_MAX_DAYS).nullable().default(null),
});
export type AuditRetention = z.infer<typeof auditRetentionSchema>;

async function readDoc(tx: Tx): Promise<Record<string, unknown> | null> {
  const rows = await tx.select({ settings: tenantSettings.settings }).from(tenantSettings).limit(1);
  return rows[0] ? ((rows[0].settings ?? {}) as Record<string, unknown>) : null;
}

/** The tenant's retention (inside its transaction); a stored value that does not parse keeps forever. */
export async function readAuditRetention(tx: Tx): Promise<AuditRetention> {
  const parsed = auditRetentionSchema.safeParse((await readDoc(tx))?.audit ?? {});
  return parsed.success ? parsed.data : { retentionDays: null };
}

/**
 * Sets the retention (null: keep forever) and audits the change in the same transaction. Out of
 * bounds: `400 invalid_body`, nothing stored. Setting the value it already has changes nothing.
 */
export async function setAuditRetention(
  ctx: ServiceCtx,
  retentionDays: number | null,
): Promise<AuditRetention> {
  const parsed = auditRetentionSchema.safeParse({ retentionDays });
  if (!parsed.success)
    throw new AppError(
      'invalid_body',
      `retentionDays: a whole number of days from ${RETENTION_MIN_DAYS} to ${RETENTION_MAX_DAYS}, or none to keep events forever.`,
    );
  const doc = await readDoc(ctx.tx);
  const before = auditRetentionSchema.safeParse(doc?.audit ?? {});
  const from = before.success ? before.data.retentionDays : null;
  if (from === parsed.data.retentionDays) return parsed.data;
  const settings = { ...(doc ?? {}), audit: parsed.data };
  if (doc === null) await ctx.tx.insert(tenantSettings).values({ tenantId: ctx.tenantId, settings });
  else
    await ctx.tx
      .update(tenantSettings)
      .set({ settings, updatedAt: new Date() })
      .where(eq(tenantSettings.tenantId, ctx.tenantId));
  await audit(ctx, {
    action: 'audit.retention_changed',
    target: ctx.tenantId,
    outcome: 'success',
    detail: { from, to: parsed.data.retentionDays },
  });
  return parsed.data;
}

/** Deletes this tenant's events older than its retention; returns how many (0 without a retention). */
export async function pruneAuditTrail(db: Db, tenantId: string, now = new Date()): Promise<number> {
  return withTenant(db, tenantId, async (tx) => {
    const { retentionDays } = await readAuditRetention(tx);
    if (retentionDays === null) return 0;
    const before = new Date(now.getTime() - retentionDays * 86_400_000);
    const r = rowsOf<{ n: number | string }>(
      await tx.execute(
        sql`select public.app_prune_audit_events(${before.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz, ${auditId(now.getTime())}) as n`,
      ),
    );
    return Number(r[0]?.n ?? 0);
  });
}

/** The sweep: every active tenant with a retention, one transaction each; a failure is logged and the sweep goes on. */
export async function pruneAuditTrails(db: Db, now = new Date(), log?: Logger): Promise<number> {
  let total = 0;
  for (const tenantId of await activeTenantIds(db)) {
    try {
      const n = await pruneAuditTrail(db, tenantId, now);
      if (n > 0) log?.info('audit events pruned', { tenantId, count: n });
      total += n;
    } catch (e) {
      log?.error('audit prune failed', { tenantId, error: describeError(e) });
    }
  }
  return total;
}
