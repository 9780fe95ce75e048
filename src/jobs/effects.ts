import { and, eq, sql } from 'drizzle-orm';
import type { Database, Tx } from '../db/client.ts';
import { externalEffects } from '../db/schema/index.ts';
import { withTenant } from '../db/tenant.ts';
import { AppError, describeError, isAppError } from '../lib/errors.ts';
import { randomToken } from '../lib/ids.ts';

/**
 * The exactly-once effect ledger over `external_effects` (one row per tenant and key).
 *
 * `performEffectOnce` claims the key (row `started`, committed before anything is written
 * upstream), runs `perform`, and records the result (`done`). What callers may rely on:
 *
 * - **At most one performer per key at a time.** The claim is an INSERT on the (tenant, key)
 *   primary key; a caller that finds a live claim of someone else gets `EffectInProgressError`
 *   (AppError `conflict`, retryable, `detail.retryAfterMs` = when the claim lapses; the job
 *   worker reschedules on it). It does not wait for the result: call again later.
 * - **A claim is a lease.** The performer renews it every `leaseMs / 3` while `perform` runs, so a
 *   slow upstream does not lose it. A claim whose lease lapsed (its process crashed) is taken over
 *   by one caller (compare-and-set), which first calls `reconcile`: a non-null answer (the write
 *   landed before the crash) is recorded as the result (`reconciled`) and nothing is performed.
 * - **Done is final.** A `done` key returns its recorded result (`already_done`) without calling
 *   anything.
 * - **Failures.** `perform` throwing an upstream refusal (an AppError that is not retryable and
 *   carries a 4xx `detail.status`: the write certainly did not happen) records `failed` with a
 *   log-safe reason (`describeError`), and the next call performs again (it may decide otherwise
 *   by reading the row). Any other error (timeout, 5xx, network) leaves the claim `started` with
 *   its lease released, so the next call reconciles before performing: the write may have landed.
 *   The error is rethrown either way.
 *
 * Leases compare times of the given clock (`opts.now`); processes sharing a database should have
 * clocks within a fraction of `leaseMs`.
 */
export interface EffectSpec<T extends Record<string, unknown>> {
  /** Unique per tenant, e.g. `zendesk.note:${draftId}`, `zendesk.reply:${draftId}:v${n}`. */
  key: string;
  /** e.g. 'zendesk.internal_note', 'zendesk.public_reply', 'slack.message'. */
  kind: string;
  /** The external write; returns the JSON result to record. */
  perform: () => Promise<T>;
  /** After a crash left 'started': did the write land upstream? null = no. */
  reconcile: () => Promise<T | null>;
}

export type EffectOutcome<T> = { status: 'performed' | 'reconciled' | 'already_done'; result: T };

export interface EffectOptions<T> {
  now?: () => Date;
  /** How long a claim stays live without renewal (default 30 s). */
  leaseMs?: number;
  /**
   * Runs in the transaction that records the outcome (e.g. an audit event), so both commit
   * together. Called for `performed`, `reconciled`, `failed` (the upstream refused) and `unknown`
   * (perform threw and the write may have landed: the next call reconciles); not for `already_done`.
   */
  onRecorded?: (
    tx: Tx,
    event:
      | { status: 'performed' | 'reconciled'; result: T }
      | { status: 'failed' | 'unknown'; error: string },
  ) => Promise<void>;
}

export const DEFAULT_EFFECT_LEASE_MS = 30_000;

/** Another caller holds a live claim on this effect key. */
export class EffectInProgressError extends AppError {
  constructor(key: string, retryAfterMs: number) {
    super('conflict', `The effect ${key} is being performed by another caller.`, {
      retryable: true,
      detail: { reason: 'effect_in_progress', key, retryAfterMs },
    });
    this.name = 'EffectInProgressError';
  }
}

/** True when an error says the upstream refused the write (so it certainly did not happen). */
export function isUpstreamRefusal(e: unknown): boolean {
  if (!isAppError(e) || e.retryable) return false;
  const status = e.detail?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

const claimOf = (token: string) => ({ claim: token });

export async function performEffectOnce<T extends Record<string, unknown>>(
  database: Database,
  tenantId: string,
  spec: EffectSpec<T>,
  opts: EffectOptions<T> = {},
): Promise<EffectOutcome<T>> {
  const db = database.db;
  const now = opts.now ?? (() => new Date());
  const leaseMs = opts.leaseMs ?? DEFAULT_EFFECT_LEASE_MS;
  const token = randomToken(12);
  const mine = and(
    eq(externalEffects.key, spec.key),
    eq(externalEffects.status, 'started'),
    sql`${externalEffects.result}->>'claim' = ${token}`,
  );

  const claim = await withTenant(db, tenantId, async (tx) => {
    const t = now();
    const ins = await tx
      .insert(externalEffects)
      .values({
        tenantId,
        key: spec.key,
        kind: spec.kind,
        status: 'started',
        result: claimOf(token),
        updatedAt: t,
      })
      .onConflictDoNothing()
      .returning({ key: externalEffects.key });
    if (ins.length) return { kind: 'claimed' as const };
    const [row] = await tx
      .select()
      .from(externalEffects)
      .where(eq(externalEffects.key, spec.key))
      .for('update')
      .limit(1);
    if (!row) throw new AppError('internal', 'effect row vanished while claiming');
    if (row.status === 'done') return { kind: 'done' as const, result: (row.result ?? {}) as T };
    const lapsed = row.updatedAt.getTime() + leaseMs <= t.getTime();
    if (row.status === 'started' && !lapsed) {
      return { kind: 'busy' as const, retryAfterMs: row.updatedAt.getTime() + leaseMs - t.getTime() };
    }
    // Ours now: a failed effect (the upstream refused it) or a lapsed claim (a crash, or an
    // attempt that ended without knowing whether the write landed).
    await tx
      .update(externalEffects)
      .set({ status: 'started', result: claimOf(token), updatedAt: t })
      .where(eq(externalEffects.key, spec.key));
    return { kind: row.status === 'failed' ? ('claimed' as const) : ('takeover' as const) };
  });
  if (claim.kind === 'done') return { status: 'already_done', result: claim.result };
  if (claim.kind === 'busy') throw new EffectInProgressError(spec.key, Math.max(1, claim.retryAfterMs));

  const record = async (status: 'performed' | 'reconciled', result: T) => {
    await withTenant(db, tenantId, async (tx) => {
      await tx
        .update(externalEffects)
        .set({ status: 'done', result, updatedAt: now() })
        .where(and(eq(externalEffects.key, spec.key), eq(externalEffects.status, 'started')));
      await opts.onRecorded?.(tx, { status, result });
    });
    return { status, result };
  };

  // Renew the lease while we work, so only a dead process's claim lapses.
  const renew = setInterval(
    () => {
      withTenant(db, tenantId, (tx) =>
        tx.update(externalEffects).set({ updatedAt: now() }).where(mine),
      ).catch(() => {});
    },
    Math.max(10, Math.floor(leaseMs / 3)),
  );
  renew.unref?.();
  // Unknown whether anything landed: release the lease so the next call reconciles at once.
  const release = () =>
    withTenant(db, tenantId, (tx) =>
      tx
        .update(externalEffects)
        .set({ updatedAt: new Date(0) })
        .where(mine),
    );
  try {
    if (claim.kind === 'takeover') {
      let found: T | null;
      try {
        found = await spec.reconcile();
      } catch (e) {
        // The question went unanswered: nothing is performed, and the next call asks again.
        clearInterval(renew);
        await release();
        throw e;
      }
      if (found !== null) return await record('reconciled', found);
    }
    let result: T;
    try {
      result = await spec.perform();
    } catch (e) {
      clearInterval(renew);
      await withTenant(db, tenantId, async (tx) => {
        if (isUpstreamRefusal(e)) {
          const error = describeError(e);
          await tx
            .update(externalEffects)
            .set({
              status: 'failed',
              result: { error, status: (e as AppError).detail?.status },
              updatedAt: now(),
            })
            .where(mine);
          await opts.onRecorded?.(tx, { status: 'failed', error });
        } else {
          // Unknown whether it landed: release the lease (as `release` does) in this transaction.
          await tx
            .update(externalEffects)
            .set({ updatedAt: new Date(0) })
            .where(mine);
          await opts.onRecorded?.(tx, { status: 'unknown', error: describeError(e) });
        }
      });
      throw e;
    }
    return await record('performed', result);
  } finally {
    clearInterval(renew);
  }
}
