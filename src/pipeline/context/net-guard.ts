import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { assertPublicHostName, InternalHostNameError } from './workers-resolver.ts';

/**
 * Outbound address policy for tenant-supplied URLs (the Context API): https only, and every
 * address the host name resolves to must be global unicast. The ranges follow the IANA IPv4 and
 * IPv6 Special-Purpose Address Registries (RFC 6890 and later): an address in a block that the
 * registry does not mark globally reachable is refused, and so are multicast, broadcast and
 * reserved space. A few small blocks the registry marks global (anycast service addresses inside
 * 192.0.0.0/24 and 2001::/23) are refused too: no tenant API lives there.
 *
 * IPv4 refused: 0/8, 10/8, 100.64/10 (CGNAT), 127/8, 169.254/16, 172.16/12, 192.0.0/24,
 * 192.0.2/24, 198.51.100/24, 203.0.113/24 (documentation), 192.88.99/24 (6to4 relay), 192.168/16,
 * 198.18/15 (benchmarking), 224/4 (multicast), 240/4 (reserved, broadcast).
 *
 * IPv6: only 2000::/3 (global unicast) is allowed, less 2001::/23 (IETF protocol assignments:
 * Teredo 2001::/32, benchmarking, ORCHID, ...), 2001:db8::/32 and 3fff::/20 (documentation) and
 * 2002::/16 (6to4, deprecated by RFC 7526). Two forms outside it stand for an IPv4 address and
 * are judged by that address: `::ffff:a.b.c.d` (IPv4-mapped) and `64:ff9b::/96` (the well-known
 * NAT64 prefix, which a DNS64 resolver answers on IPv6-only hosts). Everything else is refused,
 * among it `::`, `::1`, `::a.b.c.d` (deprecated compatible), `::ffff:0:a.b.c.d` (IPv4-translated),
 * `64:ff9b:1::/48` (local-use NAT64), `100::/64` (discard), fc00::/7, fe80::/10 and ff00::/8.
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

/** IPv4 blocks that are not global unicast (IANA IPv4 Special-Purpose Address Registry, RFC 6890). */
const V4_REFUSED: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (CGNAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
  ['192.0.2.0', 24], // documentation (TEST-NET-1)
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation (TEST-NET-2)
  ['203.0.113.0', 24], // documentation (TEST-NET-3)
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 limited broadcast
];

const V4_RANGES = V4_REFUSED.map(([base, bits]) => [ipv4ToInt(base)!, 2 ** (32 - bits)] as const);

function isRefusedV4(ip: string): boolean {
  const n = ipv4ToInt(ip);
  if (n === null) return true;
  return V4_RANGES.some(([b, size]) => n >= b && n < b + size);
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

function isRefusedV6(ip: string): boolean {
  const g = ipv6Groups(ip);
  if (!g) return true;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (IPv4-mapped): the socket connects to the IPv4 address.
  if (zeros(0, 5) && g[5] === 0xffff) return isRefusedV4(v4(g[6]!, g[7]!));
  // 64:ff9b::/96, the well-known NAT64 prefix: the translator connects to the IPv4 address.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return isRefusedV4(v4(g[6]!, g[7]!));
  const [a, b] = [g[0]!, g[1]!];
  if ((a & 0xe000) !== 0x2000) return true; // outside 2000::/3, global unicast
  if (a === 0x2001 && b < 0x200) return true; // 2001::/23 IETF protocol assignments (Teredo 2001::/32, ...)
  if (a === 0x2001 && b === 0xdb8) return true; // 2001:db8::/32 documentation
  if (a === 0x2002) return true; // 2002::/16 6to4 (deprecated; relays reach any IPv4 address)
  if (a === 0x3fff && b < 0x1000) return true; // 3fff::/20 documentation
  return false;
}

/**
 * True when `ip` (IPv4 or IPv6 text) may not be reached from the server: anything but a global
 * unicast address (see the module comment). Unparseable counts as refused.
 */
export function isRefusedAddress(ip: string): boolean {
  const kind = isIP(ip.split('%')[0]!);
  if (kind === 4) return isRefusedV4(ip);
  if (kind === 6) return isRefusedV6(ip);
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

/**
 * The check when a tenant admin saves a Context API URL, so a URL that could only ever be refused
 * is refused at once (400) instead of at every fetch. Throws RefusedUrlError for: not https,
 * credentials in the URL, an IP literal that is not global unicast, `localhost`, names under an
 * internal-only suffix (`.localhost`, `.internal`, `.local`, ... : assertPublicHostName) or with a
 * single label. With a `resolver`, the name is also resolved (bounded by `timeoutMs`) and refused
 * when any answer is refused; a name that does not resolve (yet) is accepted, since the fetch-time
 * check (assertPublicHttpsUrl, and the pinned look-up on Node) refuses it then. `allowPrivate`
 * (CONTEXT_API_ALLOW_PRIVATE, development only) skips the address and name checks, as at fetch time.
 */
export async function assertContextApiUrlAllowed(
  raw: string,
  opts: { allowPrivate: boolean; resolver?: Resolver | undefined; timeoutMs?: number },
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
  if (isIP(host)) {
    if (isRefusedAddress(host)) throw new RefusedUrlError(`${host} is not a public address`);
    return url;
  }
  try {
    assertPublicHostName(host);
  } catch (e) {
    if (e instanceof InternalHostNameError) throw new RefusedUrlError(e.message);
    throw e;
  }
  if (!opts.resolver) return url;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const addresses = await Promise.race([
    opts.resolver(host).catch(() => [] as string[]),
    new Promise<string[]>((resolve) => {
      timer = setTimeout(() => resolve([]), opts.timeoutMs ?? 2_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const bad = addresses.find(isRefusedAddress);
  if (bad !== undefined) throw new RefusedUrlError(`host resolves to a private or reserved address (${bad})`);
  return url;
}
