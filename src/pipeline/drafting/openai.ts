import type OpenAI from 'openai';
import { AppError, isRetryLater, RetryLaterError, retryAfterMs } from '../../lib/errors.ts';
import { UpstreamDeferredError } from '../../limits/upstream.ts';
import { createFallbackDrafter } from './fallback.ts';
import { createOfflineDrafter } from './offline.ts';
import { buildDraftPrompt, draftPlaybookKey, RESPONSE_SCHEMA } from './prompt.ts';
import {
  type Drafter,
  type DraftInput,
  type DraftResult,
  draftAnswerSchema,
  type LlmUsage,
} from './types.ts';

/**
 * The OpenAI drafter (any OpenAI-compatible server via OPENAI_BASE_URL): one Chat Completions
 * call with a strict JSON schema, the answer validated with zod, usage and estimated cost
 * returned for `llm_usage`. The prompt carries only the level-filtered context (the loader
 * already dropped what this level may not see), the matching playbooks and KB hits; the ticket
 * goes in a block delimited by a random boundary and is declared untrusted data.
 */

/** USD per million tokens (input, output). Unknown models are recorded at cost 0. */
export const MODEL_PRICES: Record<string, { input: number; output: number }> = {
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
};

/** The price of `model`: its own entry or that of the model it is a dated snapshot of (`gpt-4.1-2025-04-14`). */
export function modelPrice(model: string): { input: number; output: number } | null {
  const key = Object.keys(MODEL_PRICES)
    .filter((k) => model === k || model.startsWith(`${k}-20`))
    .sort((a, b) => b.length - a.length)[0];
  return key ? MODEL_PRICES[key]! : null;
}

/** Estimated cost in micro-dollars: tokens x (USD per million tokens) is exactly micro-dollars. */
export function estimateCostMicroUsd(model: string, promptTokens: number, completionTokens: number): number {
  const price = modelPrice(model);
  if (!price) return 0;
  return Math.round(promptTokens * price.input + completionTokens * price.output);
}

export interface OpenAiDrafterOptions {
  apiKey: string;
  baseURL?: string | undefined;
  timeoutMs?: number;
  /**
   * Retries inside the SDK (default 0): the job queue retries instead, at the server's
   * Retry-After however long it is (the SDK ignores waits over 60 s and would hold the job).
   */
  maxRetries?: number;
  /** Clock for Retry-After dates (tests pass a fixed one). */
  now?: () => Date;
}

/** Why a model call gave no usable draft; the fallback drafter decides from it. */
export type ModelFailure =
  | 'unavailable'
  | 'over_quota'
  | 'rate_limited'
  | 'server_error'
  | 'refused'
  | 'bad_answer';

/** Without a Retry-After, a rate-limited draft is retried by the queue's own backoff. */
function requestError(cause: unknown, now: Date): AppError {
  const err = cause as { status?: unknown; code?: unknown; headers?: unknown; error?: { code?: unknown } };
  const status = typeof err.status === 'number' ? err.status : null;
  const code = String(err.code ?? err.error?.code ?? '');
  const at = `The model server refused the draft request${status ? ` (${status})` : ''}`;
  if (status === null)
    return new AppError('upstream_error', 'The model server could not be reached', {
      retryable: true,
      cause,
      detail: { modelFailure: 'unavailable' },
    });
  if ((status === 429 && /quota|billing/i.test(code)) || status === 402)
    return new AppError('rate_limited', `${at}: over quota`, {
      retryable: true,
      cause,
      detail: { modelFailure: 'over_quota', status },
    });
  if (status === 429) {
    const headers = err.headers as { get(n: string): string | null } | undefined;
    const wait = retryAfterMs(typeof headers?.get === 'function' ? headers : undefined, now);
    return wait !== null
      ? new RetryLaterError(`${at}: rate limited`, new Date(now.getTime() + wait), {
          cause,
          detail: { modelFailure: 'rate_limited', status, retryAfterMs: wait },
        })
      : new AppError('rate_limited', `${at}: rate limited`, {
          retryable: true,
          cause,
          detail: { modelFailure: 'rate_limited', status },
        });
  }
  if (status >= 500 || status === 408)
    return new AppError('upstream_error', at, {
      retryable: true,
      cause,
      detail: { modelFailure: 'server_error', status },
    });
  return new AppError('upstream_error', at, {
    retryable: false,
    cause,
    detail: { modelFailure: 'refused', status },
  });
}

export function createOpenAiDrafter(opts: OpenAiDrafterOptions): Drafter {
  // The SDK is loaded at the first draft, not at start: a server without a key never loads it,
  // and one with a key does not pay for it before the first ticket (bench/server-rss.ts).
  let client: Promise<OpenAI> | undefined;
  const sdk = () => {
    client ??= import('openai').then(
      ({ default: OpenAISdk }) =>
        new OpenAISdk({
          apiKey: opts.apiKey,
          ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
          timeout: opts.timeoutMs ?? 30_000,
          maxRetries: opts.maxRetries ?? 0,
          // Resolve fetch per call (msw and other interceptors patch the global after construction).
          fetch: (url, init) => globalThis.fetch(url, init),
        }),
    );
    return client;
  };
  return {
    name: 'openai',
    async draft(input: DraftInput): Promise<DraftResult> {
      const prompt = buildDraftPrompt(input);
      // The tenant's model tokens a minute (src/limits/upstream.ts), charged at an estimate of the
      // prompt (about 4 characters a token) plus the longest answer we expect.
      const permit = await input.limits?.acquire(input.tenantId, {
        upstream: 'model',
        cost: Math.ceil((prompt.system.length + prompt.user.length) / 4) + 800,
      });
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      try {
        completion = await (await sdk()).chat.completions.create({
          model: input.model,
          temperature: 0.2,
          messages: [
            { role: 'system', content: prompt.system },
            { role: 'user', content: prompt.user },
          ],
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'draft_reply', strict: true, schema: RESPONSE_SCHEMA },
          },
        });
      } catch (cause) {
        const error = requestError(cause, (opts.now ?? (() => new Date()))());
        const failure = error.detail?.modelFailure;
        if (failure === 'rate_limited' && permit) {
          const retryAt = isRetryLater(error) ? error.retryAt : new Date(Date.now() + 20_000);
          await permit.throttled(retryAt);
          throw new UpstreamDeferredError('model', 'paused', retryAt);
        }
        if (failure === 'server_error' || failure === 'unavailable') {
          if ((await permit?.failed(error.message)) === 'open') throw permit!.deferral();
        } else await permit?.ok();
        throw error;
      }
      await permit?.ok();
      const model = completion.model || input.model;
      const promptTokens = completion.usage?.prompt_tokens ?? 0;
      const completionTokens = completion.usage?.completion_tokens ?? 0;
      const usage: LlmUsage = {
        model,
        promptTokens,
        completionTokens,
        costMicroUsd: estimateCostMicroUsd(model, promptTokens, completionTokens),
      };
      const badAnswer = (message: string) =>
        new AppError('upstream_error', message, {
          retryable: true,
          detail: { modelFailure: 'bad_answer', usage },
        });
      const content = completion.choices[0]?.message?.content ?? '';
      let json: unknown;
      try {
        json = JSON.parse(content);
      } catch {
        throw badAnswer('The model did not answer with JSON');
      }
      const parsed = draftAnswerSchema.safeParse(json);
      if (!parsed.success) throw badAnswer('The model answer does not match the draft schema');
      const known = new Set(input.context.facts.map((f) => f.id));
      const cited = parsed.data.citedFactIds.filter((id) => known.has(id));
      let { confidence, needsHumanReason } = parsed.data;
      if (cited.length === 0 && input.context.level !== 'unknown') {
        // A draft grounded in nothing we can show is not a confident draft.
        confidence = Math.min(confidence, 0.3);
        const invented = parsed.data.citedFactIds.length;
        needsHumanReason = [
          needsHumanReason,
          invented
            ? `The model cited ${invented} fact id${invented === 1 ? '' : 's'} that the context does not have, and no valid one; check every claim.`
            : 'The model cited no context fact; check every claim.',
        ]
          .filter(Boolean)
          .join(' ');
      }
      return {
        reply: parsed.data.reply,
        citedFactIds: cited,
        confidence,
        needsHumanReason,
        drafter: 'openai',
        model,
        playbookKey: draftPlaybookKey(prompt, cited),
        usage,
      };
    },
  };
}

/** The drafter the configuration asks for: OpenAI when a key is set, else the offline drafter. */
export function drafterFromConfig(config: {
  OPENAI_API_KEY?: string | undefined;
  OPENAI_BASE_URL?: string | undefined;
}): Drafter {
  if (config.OPENAI_API_KEY)
    return createFallbackDrafter(
      createOpenAiDrafter({ apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL }),
    );
  return createOfflineDrafter();
}
