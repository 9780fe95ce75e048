import { z } from 'zod';
import type { Resolver } from './net-guard.ts';

/**
 * The Context API's address check on Cloudflare Workers, where the Node entry's pinned fetch
 * (pinned-fetch.ts: the check inside the socket's own DNS look-up) has no equivalent: workerd's
 * fetch takes no custom look-up. What protects a tenant-supplied URL there:
 *
 * 1. assertPublicHttpsUrl (net-guard.ts) as everywhere: https only, no credentials, IP literals
 *    checked against the refused ranges (loopback, RFC 1918, link-local, CGNAT, mapped IPv6, ...).
 * 2. This resolver's name check: single-label names and internal-only suffixes (`.local`,
 *    `.localhost`, `.internal`, `.home.arpa`, `.lan`, `.intranet`, `.corp`, `.private`) are
 *    refused before any look-up.
 * 3. Other names are resolved over DNS-over-HTTPS (A and AAAA), and net-guard refuses the URL when
 *    any answer is a refused address (e.g. `inside.example.com -> 10.0.0.5`).
 * 4. Cloudflare's egress: a Worker's `fetch` leaves from Cloudflare's edge, which has no route to
 *    the operator's private networks, and refuses to fetch IP addresses directly. This is what
 *    closes the rebinding window between step 3 and the fetch's own resolution, which on Node the
 *    pinned fetch closes.
 *
 * A look-up failure refuses the URL (net-guard maps a throwing resolver to "does not resolve").
 */
const INTERNAL_SUFFIXES = [
  'local',
  'localhost',
  'internal',
  'home.arpa',
  'lan',
  'intranet',
  'corp',
  'private',
];

export class InternalHostNameError extends Error {
  override readonly name = 'InternalHostNameError';
}

/** Throws InternalHostNameError for names that can only mean a private network. */
export function assertPublicHostName(hostname: string): void {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (!host.includes('.')) throw new InternalHostNameError('single-label host names are not allowed');
  for (const s of INTERNAL_SUFFIXES)
    if (host === s || host.endsWith(`.${s}`))
      throw new InternalHostNameError(`host names under .${s} are not allowed`);
}

const dohAnswer = z.object({
  Status: z.number(),
  Answer: z.array(z.object({ type: z.number(), data: z.string() })).optional(),
});

/** Default DNS-over-HTTPS endpoint (JSON API). */
export const DEFAULT_DOH_URL = 'https://cloudflare-dns.com/dns-query';

/**
 * A Resolver for workerd: name check, then A and AAAA over DNS-over-HTTPS. `fetch` defaults to the
 * global one, looked up per call (msw intercepts it in tests).
 */
export function createWorkersResolver(
  opts: { dohUrl?: string; fetch?: typeof fetch; timeoutMs?: number } = {},
): Resolver {
  const dohUrl = opts.dohUrl ?? DEFAULT_DOH_URL;
  const query = async (name: string, type: 'A' | 'AAAA'): Promise<string[]> => {
    const url = new URL(dohUrl);
    url.searchParams.set('name', name);
    url.searchParams.set('type', type);
    const res = await (opts.fetch ?? globalThis.fetch)(url, {
      headers: { accept: 'application/dns-json' },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 2_000),
    });
    if (!res.ok) throw new Error(`DNS-over-HTTPS answered ${res.status}`);
    const body = dohAnswer.parse(await res.json());
    // 0 NOERROR, 3 NXDOMAIN (no addresses); anything else is a failure.
    if (body.Status !== 0 && body.Status !== 3) throw new Error(`DNS status ${body.Status}`);
    const want = type === 'A' ? 1 : 28;
    return (body.Answer ?? []).filter((a) => a.type === want).map((a) => a.data);
  };
  return async (hostname) => {
    assertPublicHostName(hostname);
    const [a, aaaa] = await Promise.all([query(hostname, 'A'), query(hostname, 'AAAA')]);
    return [...a, ...aaaa];
  };
}
