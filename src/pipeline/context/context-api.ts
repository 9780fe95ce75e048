import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/client.ts';
import { contextCache, tenantSecrets } from '../../db/schema/index.ts';
import { withTenant } from '../../db/tenant.ts';
import { hmacSha256, sha256Hex } from '../../lib/crypto.ts';
import { discardBody, readStreamCapped } from '../../lib/http.ts';
import type { Vault } from '../../tenancy/vault.ts';
import type { ContextApiSettings } from '../settings.ts';
import type { ContextFact, Visibility } from '../types.ts';
import type { ContextProvider, ProviderInput } from './loader.ts';
import { assertPublicHttpsUrl, type Resolver, systemResolver } from './net-guard.ts';

/**
 * The tenant's own Context API (ARCHITECTURE.md, "The Context API").
 *
 * Request: `POST <url>` with `content-type: application/json` and the body
 * `{"keys":[...],"account":{"id":...},"endUser":{"email":...}|null,"ticketId":"...","level":"account"|"end_user"}`.
 * Signature: `X-Copilot-Timestamp: <unix seconds>` and
 * `X-Copilot-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>`, the secret being
 * the tenant's `context_api_secret` (sealed in tenant_secrets). Receivers should recompute it over
 * the raw bytes, compare in constant time and refuse timestamps older than a few minutes.
 *
 * Answer: `{"facts":[{"key","value","ttlSeconds"?,"visibility":"account"|"end_user"|"public"}]}`;
 * `value: null` means "no data". Only requested keys are kept; at level end_user only facts
 * with visibility end_user are kept.
 *
 * Behaviour: https only, private and loopback addresses refused (unless allowPrivate), no
 * redirects followed, body capped while streaming, one retry on 5xx or an attempt timeout,
 * facts cached per (level, account, end user, key) for their TTL, 4xx remembered briefly.
 * Unknown requesters never reach it: there is no account to ask about.
 */
export const SIGNATURE_HEADER = 'x-copilot-signature';
export const TIMESTAMP_HEADER = 'x-copilot-timestamp';

export async function signContextRequest(secret: string, timestamp: string, body: string): Promise<string> {
  const mac = await hmacSha256(secret, `${timestamp}.${body}`);
  return `v1=${Buffer.from(mac).toString('hex')}`;
}

const responseSchema = z.object({
  facts: z
    .array(
      z.object({
        key: z.string().min(1).max(200),
        value: z.unknown(),
        ttlSeconds: z.number().int().min(0).max(86_400).optional(),
        visibility: z.enum(['account', 'end_user', 'public']),
      }),
    )
    .max(1000),
});

type CachedEntry =
  | { kind: 'facts'; fetchedAt: string; facts: { value: unknown; visibility: Visibility }[] }
  | { kind: 'error'; fetchedAt: string; status: number };

export interface ContextApiDeps {
  db: Db;
  vault: Vault;
  now: () => Date;
  allowPrivate: boolean;
  resolver?: Resolver;
  /** The network (default: the global fetch, looked up per call). */
  fetch?: typeof fetch;
  /** Read and write the fact cache (default true; the console's test request sets false so it always sends). */
  useCache?: boolean;
}

export class ContextApiError extends Error {
  override readonly name = 'ContextApiError';
  readonly retryable: boolean;
  constructor(message: string, retryable = false) {
    super(message);
    this.retryable = retryable;
  }
}

/**
 * Reads the body as text, counting bytes as they arrive. Over `max`, stops: `abort` (the
 * request's own controller) when given, else the reader is cancelled.
 */
async function readCapped(res: Response, max: number, abort?: () => void): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 'NaN');
  if (Number.isFinite(declared) && declared > max) {
    if (abort) abort();
    else void discardBody(res);
    throw new ContextApiError(`response larger than ${max} bytes`);
  }
  if (!res.body) return '';
  const buf = await readStreamCapped(res.body, max, abort);
  if (!buf) throw new ContextApiError(`response larger than ${max} bytes`);
  return Buffer.from(buf).toString('utf8');
}

export function createContextApiProvider(
  deps: ContextApiDeps,
  settings: ContextApiSettings,
): ContextProvider {
  const resolver = deps.resolver ?? systemResolver;
  return {
    source: 'context_api',
    async load(input: ProviderInput, signal: AbortSignal): Promise<ContextFact[]> {
      const { route, tenantId } = input;
      if (route.level === 'unknown' || !route.accountId) return [];
      const level = route.level;
      const keys = [...new Set(settings.keys[level])];
      if (keys.length === 0) return [];
      const now = deps.now();
      const cacheKeyOf = async (key: string) =>
        `ctxapi:v1:${await sha256Hex(JSON.stringify([level, route.accountId, route.endUserEmail ?? '', key]))}`;
      const cacheKeys = new Map<string, string>();
      for (const k of keys) cacheKeys.set(k, await cacheKeyOf(k));

      const { cached, sealed } = await withTenant(deps.db, tenantId, async (tx) => {
        const rows =
          deps.useCache === false
            ? []
            : await tx
                .select({ cacheKey: contextCache.cacheKey, value: contextCache.value })
                .from(contextCache)
                .where(
                  and(
                    inArray(contextCache.cacheKey, [...cacheKeys.values()]),
                    gt(contextCache.expiresAt, now),
                  ),
                );
        const secret = await tx
          .select({ sealed: tenantSecrets.sealed })
          .from(tenantSecrets)
          .where(eq(tenantSecrets.purpose, 'context_api_secret'))
          .limit(1);
        return {
          cached: new Map(rows.map((r) => [r.cacheKey, r.value as CachedEntry])),
          sealed: secret[0]?.sealed ?? null,
        };
      });

      const facts: ContextFact[] = [];
      const pushFacts = (key: string, entry: Extract<CachedEntry, { kind: 'facts' }>) => {
        entry.facts.forEach((f, i) => {
          if (level === 'end_user' && f.visibility !== 'end_user') return;
          facts.push({
            id: entry.facts.length === 1 ? `ctx:${key}` : `ctx:${key}:${i + 1}`,
            source: 'context_api',
            key,
            value: f.value,
            fetchedAt: entry.fetchedAt,
            visibility: f.visibility,
          });
        });
      };
      const toFetch: string[] = [];
      let cachedError: number | null = null;
      for (const k of keys) {
        const hit = cached.get(cacheKeys.get(k)!);
        if (!hit) toFetch.push(k);
        else if (hit.kind === 'error') cachedError = hit.status;
        else pushFacts(k, hit);
      }
      if (toFetch.length === 0) {
        if (cachedError !== null) throw new ContextApiError(`answered ${cachedError} (cached)`);
        return facts;
      }

      if (!sealed) throw new ContextApiError('no context_api_secret configured');
      const secret = await deps.vault.open(tenantId, 'context_api_secret', sealed);
      const url = await assertPublicHttpsUrl(settings.url, { resolver, allowPrivate: deps.allowPrivate });
      const body = JSON.stringify({
        keys: toFetch,
        account: { id: route.accountId },
        endUser: route.endUserEmail ? { email: route.endUserEmail } : null,
        ticketId: input.ticket.id,
        level,
      });

      const attempt = async (): Promise<
        { ok: true; data: z.infer<typeof responseSchema> } | { ok: false; status: number }
      > => {
        const timestamp = String(Math.floor(deps.now().getTime() / 1000));
        const stop = new AbortController();
        const attemptSignal = AbortSignal.any([
          signal,
          stop.signal,
          AbortSignal.timeout(settings.attemptTimeoutMs),
        ]);
        let res: Response;
        try {
          res = await (deps.fetch ?? globalThis.fetch)(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              accept: 'application/json',
              [TIMESTAMP_HEADER]: timestamp,
              [SIGNATURE_HEADER]: await signContextRequest(secret, timestamp, body),
            },
            body,
            redirect: 'manual',
            signal: attemptSignal,
          });
        } catch (e) {
          if (signal.aborted) throw e;
          throw new ContextApiError(attemptSignal.aborted ? 'attempt timed out' : 'request failed', true);
        }
        if (res.status >= 500) {
          void discardBody(res);
          throw new ContextApiError(`answered ${res.status}`, true);
        }
        if (res.status >= 300 && res.status < 400) {
          void discardBody(res);
          throw new ContextApiError(`answered a redirect (${res.status}); redirects are not followed`);
        }
        if (res.status >= 400) {
          void discardBody(res);
          return { ok: false, status: res.status };
        }
        let text: string;
        try {
          text = await readCapped(res, settings.maxResponseBytes, () => stop.abort());
        } catch (e) {
          if (e instanceof ContextApiError) throw e;
          if (signal.aborted) throw e;
          throw new ContextApiError('attempt timed out while reading', true);
        }
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          throw new ContextApiError('answer is not JSON');
        }
        const parsed = responseSchema.safeParse(json);
        if (!parsed.success) throw new ContextApiError('answer does not match the expected shape');
        return { ok: true, data: parsed.data };
      };

      let result: Awaited<ReturnType<typeof attempt>>;
      try {
        result = await attempt();
      } catch (e) {
        if (!(e instanceof ContextApiError) || !e.retryable || signal.aborted) throw e;
        result = await attempt();
      }

      const fetchedAt = deps.now();
      const writes: { key: string; entry: CachedEntry; ttl: number }[] = [];
      if (!result.ok) {
        for (const k of toFetch)
          writes.push({
            key: k,
            entry: { kind: 'error', fetchedAt: fetchedAt.toISOString(), status: result.status },
            ttl: settings.errorTtlSeconds,
          });
      } else {
        const wanted = new Set(toFetch);
        for (const k of toFetch) {
          const mine = result.data.facts.filter((f) => f.key === k && wanted.has(f.key));
          const entry: CachedEntry = {
            kind: 'facts',
            fetchedAt: fetchedAt.toISOString(),
            facts: mine
              .filter((f) => f.value !== null && f.value !== undefined)
              .map((f) => ({ value: f.value, visibility: f.visibility })),
          };
          const ttls = mine.map((f) => f.ttlSeconds).filter((t): t is number => t !== undefined);
          writes.push({ key: k, entry, ttl: ttls.length ? Math.min(...ttls) : settings.defaultTtlSeconds });
          pushFacts(k, entry);
        }
      }
      const toStore = deps.useCache === false ? [] : writes.filter((w) => w.ttl > 0);
      if (toStore.length > 0) {
        await withTenant(deps.db, tenantId, async (tx) => {
          for (const w of toStore) {
            const expiresAt = new Date(fetchedAt.getTime() + w.ttl * 1000);
            await tx
              .insert(contextCache)
              .values({ tenantId, cacheKey: cacheKeys.get(w.key)!, value: w.entry, expiresAt })
              .onConflictDoUpdate({
                target: [contextCache.tenantId, contextCache.cacheKey],
                set: { value: sql`excluded.value`, expiresAt: sql`excluded.expires_at` },
              });
          }
        });
      }
      if (!result.ok) throw new ContextApiError(`answered ${result.status}`);
      return facts;
    },
  };
}
