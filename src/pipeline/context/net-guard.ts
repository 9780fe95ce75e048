import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/**
 * Outbound address policy for tenant-supplied URLs (the Context API): https only, and every
 * address the host name resolves to must be public. Refused: loopback, private (RFC 1918),
 * CGNAT (100.64/10), link-local (169.254/16, fe80::/10), unique-local (fc00::/7), unspecified,
 * multicast, reserved and benchmark ranges, and IPv6 forms that embed an IPv4 address
 * (::ffff:a.b.c.d mapped, ::a.b.c.d compatible, 64:ff9b::/96 NAT64, 2002::/16 6to4) when the
 * embedded address is refused.
 */
export type Resolver = (hostname: string) => Promise<string[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

function ipv4ToInt(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

const V4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

function isBlockedV4(ip: string): boolean {
  const n = ipv4ToInt(ip);
  if (n === null) return true;
  return V4_BLOCKED.some(([base, bits]) => {
    const b = ipv4ToInt(base)!;
    const size = 2 ** (32 - bits);
    return n >= b && n < b + size;
  });
}

/** Expands an IPv6 address (with optional trailing dotted IPv4) to 8 16-bit groups. */
function ipv6Groups(ip: string): number[] | null {
  let s = ip.toLowerCase().split('%')[0]!;
  const lastColon = s.lastIndexOf(':');
  const maybeV4 = s.slice(lastColon + 1);
  if (maybeV4.includes('.')) {
    const n = ipv4ToInt(maybeV4);
    if (n === null) return null;
    s = `${s.slice(0, lastColon + 1)}${Math.floor(n / 65536).toString(16)}:${(n % 65536).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? Number.parseInt(g, 16) : -1));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const groups = [...head, ...Array<number>(8 - total).fill(0), ...rest];
  if (groups.some((g) => g < 0)) return null;
  return groups;
}

function isBlockedV6(ip: string): boolean {
  const g = ipv6Groups(ip);
  if (!g) return true;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 8)) return true; // ::
  if (zeros(0, 7) && g[7] === 1) return true; // ::1
  if (zeros(0, 5) && g[5] === 0xffff) return isBlockedV4(v4(g[6]!, g[7]!)); // ::ffff:a.b.c.d
  if (zeros(0, 6)) return isBlockedV4(v4(g[6]!, g[7]!)); // ::a.b.c.d (deprecated compatible form)
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return isBlockedV4(v4(g[6]!, g[7]!)); // NAT64
  if (g[0] === 0x2002) return isBlockedV4(v4(g[1]!, g[2]!)); // 6to4
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((first & 0xff00) === 0xff00) return true; // multicast
  if (first === 0x100 && zeros(1, 4)) return true; // 100::/64 discard
  return false;
}

/** True when `ip` (IPv4 or IPv6 text) may not be reached from the server. Unparseable counts as refused. */
export function isRefusedAddress(ip: string): boolean {
  const kind = isIP(ip.split('%')[0]!);
  if (kind === 4) return isBlockedV4(ip);
  if (kind === 6) return isBlockedV6(ip);
  return true;
}

export class RefusedUrlError extends Error {
  override readonly name = 'RefusedUrlError';
}

/**
 * Checks a tenant-supplied URL before a request: https only, no credentials in the URL, and
 * every resolved address public unless `allowPrivate` (development only: CONTEXT_API_ALLOW_PRIVATE).
 * This pre-check resolves the name once; fetch resolves it again. The Node entry therefore sends
 * Context API requests through createPinnedFetch (pinned-fetch.ts), which applies the same policy
 * inside the socket's own look-up, so an answer that changes in between (rebinding) is refused.
 */
export async function assertPublicHttpsUrl(
  raw: string,
  opts: { resolver: Resolver; allowPrivate: boolean },
): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedUrlError('not a URL');
  }
  if (url.protocol !== 'https:') throw new RefusedUrlError('only https URLs are allowed');
  if (url.username || url.password) throw new RefusedUrlError('credentials in the URL are not allowed');
  if (opts.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    if (host === 'localhost' || host.endsWith('.localhost')) throw new RefusedUrlError('loopback host');
    try {
      addresses = await opts.resolver(host);
    } catch {
      throw new RefusedUrlError('host name does not resolve');
    }
  }
  if (addresses.length === 0) throw new RefusedUrlError('host name does not resolve');
  const bad = addresses.find(isRefusedAddress);
  if (bad !== undefined) throw new RefusedUrlError(`host resolves to a private or reserved address (${bad})`);
  return url;
}
