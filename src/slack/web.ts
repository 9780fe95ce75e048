import { z } from 'zod';
import { AppError } from '../lib/errors.ts';

/**
 * A small Slack Web API caller for jobs (form-encoded POST to `https://slack.com/api/{method}`,
 * objects JSON-encoded as Slack's SDK does; `ok: false` is an error; vendor shapes are parsed by
 * the caller with zod). Limits, in this process (the limits issue replaces it with the shared
 * limiter):
 *
 * - `chat.postMessage` / `chat.postEphemeral` / `chat.startStream`: at most one per second per
 *   channel per tenant (Slack's documented per-channel rate); later calls wait their turn.
 * - a 429 pauses THAT tenant's calls for `Retry-After` seconds (never every tenant), and the call
 *   fails with a retryable AppError carrying `retryAfterMs`, so the job is rescheduled.
 */
export interface SlackWeb {
  call<T extends z.ZodType>(method: string, args: Record<string, unknown>, schema?: T): Promise<z.infer<T>>;
}

const okSchema = z.looseObject({ ok: z.boolean(), error: z.string().optional() });

export interface SlackLimiter {
  /** Waits until a call of `method` in `channel` may go out for this tenant. */
  acquire(tenantId: string, method: string, channel: string | undefined): Promise<void>;
  /** Records a 429 for this tenant. */
  pause(tenantId: string, untilMs: number): void;
  pausedUntil(tenantId: string): number;
}

const PER_CHANNEL = new Set(['chat.postMessage', 'chat.postEphemeral', 'chat.startStream']);

export function createSlackLimiter(
  opts: { now?: () => number; sleep?: (ms: number) => Promise<void>; perChannelMs?: number } = {},
): SlackLimiter {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const spacing = opts.perChannelMs ?? 1000;
  const nextSlot = new Map<string, number>();
  const paused = new Map<string, number>();
  return {
    async acquire(tenantId, method, channel) {
      const pause = paused.get(tenantId) ?? 0;
      if (pause > now()) {
        throw new AppError('rate_limited', 'Slack asked us to slow down for this workspace.', {
          retryable: true,
          detail: { retryAfterMs: pause - now() },
        });
      }
      if (!channel || !PER_CHANNEL.has(method)) return;
      const key = `${tenantId}|${channel}`;
      const t = now();
      const slot = Math.max(t, nextSlot.get(key) ?? 0);
      nextSlot.set(key, slot + spacing);
      if (nextSlot.size > 10_000) for (const [k, v] of nextSlot) if (v < t) nextSlot.delete(k);
      if (slot > t) await sleep(slot - t);
    },
    pause(tenantId, untilMs) {
      paused.set(tenantId, Math.max(untilMs, paused.get(tenantId) ?? 0));
    },
    pausedUntil: (tenantId) => paused.get(tenantId) ?? 0,
  };
}

function formBody(args: Record<string, unknown>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(args)) {
    if (v === undefined || v === null) continue;
    p.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return p.toString();
}

export function createSlackWeb(opts: {
  tenantId: string;
  token: string;
  limiter: SlackLimiter;
  fetch?: typeof fetch;
  now?: () => number;
}): SlackWeb {
  const doFetch = opts.fetch ?? ((u: string | URL | Request, i?: RequestInit) => globalThis.fetch(u, i));
  const now = opts.now ?? Date.now;
  return {
    async call(method, args, schema) {
      const channel = typeof args.channel === 'string' ? args.channel : undefined;
      await opts.limiter.acquire(opts.tenantId, method, channel);
      const res = await doFetch(`https://slack.com/api/${method}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${opts.token}`,
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        },
        body: formBody(args),
        redirect: 'manual',
      });
      if (res.status === 429) {
        const seconds = Number(res.headers.get('retry-after'));
        const ms = (Number.isFinite(seconds) && seconds > 0 ? seconds : 30) * 1000;
        opts.limiter.pause(opts.tenantId, now() + ms);
        throw new AppError('rate_limited', `Slack rate-limited ${method}.`, {
          retryable: true,
          detail: { retryAfterMs: ms, method },
        });
      }
      if (!res.ok) {
        throw new AppError('upstream_error', `Slack ${method} answered HTTP ${res.status}.`, {
          retryable: res.status >= 500,
          detail: { status: res.status, method },
        });
      }
      const json: unknown = await res.json();
      const base = okSchema.safeParse(json);
      if (!base.success) throw new AppError('upstream_error', `Slack ${method} answered an unexpected body.`);
      if (!base.data.ok) {
        throw new AppError('upstream_error', `Slack ${method} failed: ${base.data.error ?? 'unknown'}.`, {
          retryable: false,
          detail: { status: 400, method, slackError: base.data.error },
        });
      }
      if (!schema) return json as z.infer<typeof schema & z.ZodType>;
      const parsed = schema.safeParse(json);
      if (!parsed.success)
        throw new AppError('upstream_error', `Slack ${method} answered an unexpected shape.`);
      return parsed.data;
    },
  };
}
