import { AppError, describeError, isRetryLater } from '../../lib/errors.ts';
import { createOfflineDrafter } from './offline.ts';
import type { Drafter, DraftInput, DraftResult, LlmUsage } from './types.ts';

/**
 * A model drafter that fails safely. When the model call fails:
 * - over quota, unreachable, or refusing the request (bad key, unknown model): the offline
 *   drafter writes the draft now;
 * - rate limited, a server error or an unusable answer on an attempt that is not the job's last:
 *   the error goes to the queue (a RetryLaterError keeps the server's Retry-After as the job's
 *   retry time), and the usage of an unusable answer is reported through `onFailedUsage`;
 * - on the job's last attempt, whatever the failure: the offline drafter writes the draft.
 * A fallback draft says so in `needsHumanReason` (the ticket note shows it), has at most 0.5
 * confidence, and carries the usage of the failed answer, if any, so it is recorded.
 * When the caller does not say which attempt this is, retryable failures go to the queue.
 */
export function createFallbackDrafter(primary: Drafter, fallback: Drafter = createOfflineDrafter()): Drafter {
  return {
    name: primary.name,
    async draft(input: DraftInput): Promise<DraftResult> {
      try {
        return await primary.draft(input);
      } catch (e) {
        // Held back by the tenant's limits (a pause, an open breaker): the job waits for the model.
        if (isRetryLater(e) && e.keepsAttempt) throw e;
        const failure = modelFailure(e);
        const usage = failedUsage(e);
        const last =
          input.attempt !== undefined &&
          input.maxAttempts !== undefined &&
          input.attempt >= input.maxAttempts;
        const now = failure === 'over_quota' || failure === 'unavailable' || failure === 'refused';
        const retryable = e instanceof AppError ? e.retryable : true;
        if (!now && !last && retryable) {
          if (usage) await input.onFailedUsage?.(usage);
          throw e;
        }
        const why =
          failure === 'over_quota'
            ? 'the model is over its quota'
            : failure === 'unavailable'
              ? 'the model could not be reached'
              : failure === 'refused'
                ? 'the model server refused the request'
                : `the model failed on the last attempt (${describeError(e)})`;
        const draft = markedFallback(await fallback.draft(input), primary.name, failure ?? 'error', why);
        return { ...draft, ...(usage ? { usage } : {}) };
      }
    },
  };
}

/**
 * A draft the offline drafter wrote in `from`'s place, marked as such: at most 0.5 confidence,
 * the reason first in its needs-human reason, and the note for the ticket in `fallback`.
 */
export function markedFallback(draft: DraftResult, from: string, reason: string, why: string): DraftResult {
  const note = `Written by the offline drafter because ${why}.`;
  return {
    ...draft,
    confidence: Math.min(draft.confidence, 0.5),
    needsHumanReason: [note, draft.needsHumanReason].filter(Boolean).join(' '),
    fallback: { from, reason, note },
  };
}

function modelFailure(e: unknown): string | null {
  const f = e instanceof AppError ? e.detail?.modelFailure : undefined;
  return typeof f === 'string' ? f : null;
}

function failedUsage(e: unknown): LlmUsage | null {
  const u = e instanceof AppError ? e.detail?.usage : undefined;
  if (!u || typeof u !== 'object') return null;
  const x = u as Partial<LlmUsage>;
  return typeof x.model === 'string' && typeof x.promptTokens === 'number' ? (x as LlmUsage) : null;
}
