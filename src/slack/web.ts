import { z } from 'zod';
import { AppError } from '../lib/errors.ts';
import { SLACK_TIERS, UpstreamDeferredError, type UpstreamLimiter } from '../limits/upstream.ts';

/**
 * A small Slack Web API caller for jobs (form-encoded POST to `https://slack.com/api/{method}`,
 * objects JSON-encoded as Slack's SDK does; `ok: false` is an error; vendor shapes are parsed by
 * the caller with zod). Limits, shared by every process (src/limits/upstream.ts):
 *
 * - each method spends a token of the tenant's bucket for its Slack tier (SLACK_TIERS);
 * - `chat.postMessage` / `chat.postEphemeral` / `chat.startStream` also one of the channel's
 *   bucket: about one a second per channel per tenant (Slack's documented per-channel rate);
 * - a 429 pauses THAT tenant's calls of that tier for `Retry-After` seconds in every process
 *   (never another tenant's), and the call fails with UpstreamDeferredError, so the job is
 *   rescheduled for then without spending an attempt; 5xx and no answer count toward the
 *   tenant's Slack breaker.
 */
export interface SlackWeb {
  call<T extends z.ZodType>(method: string, args: Record<string, unknown>, schema?: T): Promise<z.infer<T>>;
}

const okSchema = z.looseObject({ ok: z.boolean(), error: z.string().optional() });

/**
 * Slack's limits are the tenant's shared upstream limits (src/limits/upstream.ts): a bucket per
 * method tier (SLACK_TIERS) and, for posts, one per channel (about one a second).
 */
export type SlackLimiter = UpstreamLimiter;

const PER_CHANNEL = new Set(['chat.postMessage', 'chat.postEphemeral', 'chat.startStream']);

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
      const tier = SLACK_TIERS[method] ?? 'tier3';
      const permit = await opts.limiter.acquire(opts.tenantId, { upstream: 'slack', key: tier });
      if (channel && PER_CHANNEL.has(method))
        await opts.limiter.acquire(
          opts.tenantId,
          { upstream: 'slack', key: `channel:${channel}` },
          { maxWaitMs: 5_000 },
        );
      let res: Response;
      try {
        res = await doFetch(`https://slack.com/api/${method}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${opts.token}`,
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          },
          body: formBody(args),
          redirect: 'manual',
        });
      } catch (cause) {
        if ((await permit.failed(`no answer to ${method}`)) === 'open') throw permit.deferral();
        throw new AppError('upstream_error', `Slack did not answer ${method}.`, { retryable: true, cause });
      }
      if (res.status === 429) {
        const seconds = Number(res.headers.get('retry-after'));
        const ms = (Number.isFinite(seconds) && seconds > 0 ? seconds : 30) * 1000;
        const retryAt = new Date(now() + ms);
        await permit.throttled(retryAt);
        throw new UpstreamDeferredError('slack', 'paused', retryAt);
      }
      if (res.status >= 500) {
        if ((await permit.failed(`${res.status} to ${method}`)) === 'open') throw permit.deferral();
      } else await permit.ok();
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
