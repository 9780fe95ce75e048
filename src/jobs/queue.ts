import { and, eq } from 'drizzle-orm';
import type { Tx } from '../db/client.ts';
import { jobs } from '../db/schema/index.ts';
import { AppError } from '../lib/errors.ts';
import { isTenantId, newId } from '../lib/ids.ts';
import type { EnqueueInput, JobQueue } from './types.ts';

/** Longest dedupe key and kind accepted (they are stored and indexed). */
const MAX_KEY = 200;

/**
 * The Postgres job queue (PGlite and PostgreSQL alike). `enqueue` runs in the caller's
 * `withTenant` transaction, so the job commits or rolls back with the caller's own writes
 * (a webhook's delivery row and its job are one commit). Idempotent by `dedupeKey`: the second
 * enqueue of a key returns the first job's id with `created: false`, even when both race
 * (the unique index makes the later insert wait for the earlier transaction, then do nothing).
 */
export function createJobQueue(): JobQueue {
  return {
    async enqueue(tx: Tx, tenantId: string, input: EnqueueInput) {
      if (!isTenantId(tenantId)) throw new AppError('internal', 'enqueue needs a valid tenant id');
      if (!input.kind || input.kind.length > MAX_KEY) throw new AppError('internal', 'job kind is invalid');
      if (input.dedupeKey !== undefined && (input.dedupeKey === '' || input.dedupeKey.length > MAX_KEY))
        throw new AppError('internal', 'job dedupe key is invalid');
      const maxAttempts = input.maxAttempts ?? 8;
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100)
        throw new AppError('internal', 'maxAttempts must be between 1 and 100');
      const id = newId('job');
      const inserted = await tx
        .insert(jobs)
        .values({
          tenantId,
          id,
          kind: input.kind,
          payload: input.payload,
          dedupeKey: input.dedupeKey ?? null,
          maxAttempts,
          ...(input.runAt ? { runAt: input.runAt } : {}),
        })
        .onConflictDoNothing({ target: [jobs.tenantId, jobs.dedupeKey] })
        .returning({ id: jobs.id });
      if (inserted[0]) return { id: inserted[0].id, created: true };
      const existing = await tx
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(eq(jobs.tenantId, tenantId), eq(jobs.dedupeKey, input.dedupeKey ?? '')))
        .limit(1);
      if (!existing[0]) throw new AppError('internal', 'job insert conflicted but no job holds its key');
      return { id: existing[0].id, created: false };
    },
  };
}
