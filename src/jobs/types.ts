import type { Tx } from '../db/client.ts';

/**
 * The durable job queue's contract (src/jobs/ implements it on Postgres; Workers use the same
 * tables with waitUntil plus a sweep). At-least-once: a handler may run again after a crash, so
 * every external effect it makes carries an idempotency key.
 */
export interface EnqueueInput {
  kind: string;
  payload: Record<string, unknown>;
  /** Unique per tenant: enqueueing the same key twice creates one job. */
  dedupeKey?: string;
  runAt?: Date;
  maxAttempts?: number;
}

export interface JobQueue {
  /** Inserts in the caller's tenant transaction (so a webhook's delivery row and its job commit together). */
  enqueue(tx: Tx, tenantId: string, input: EnqueueInput): Promise<{ id: string; created: boolean }>;
}

export interface JobContext {
  tenantId: string;
  jobId: string;
  kind: string;
  payload: Record<string, unknown>;
  /** 1 on the first run. */
  attempt: number;
  /** The job's attempt limit: `attempt === maxAttempts` is the last run (the worker sets it). */
  maxAttempts?: number;
  signal: AbortSignal;
}

/** Throw to fail the attempt; an AppError with retryable=false (or the last attempt) dead-letters the job. */
export type JobHandler = (job: JobContext) => Promise<void>;
