import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, request } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { isRefusedAddress, RefusedUrlError } from './net-guard.ts';

/**
 * A `fetch` for tenant-supplied https URLs whose address check happens at connect time: the
 * socket's own DNS look-up refuses private and reserved addresses, so a name that resolved to a
 * public address during the pre-check and to 127.0.0.1 a moment later (DNS rebinding) cannot
 * reach the inside. Used for the Context API in production (src/entry/node.ts); tests use the
 * global fetch, which msw intercepts. POST/GET with a string body is all it supports.
 */
export function createPinnedFetch(opts: {
  allowPrivate: boolean;
  /** Extra trusted CA certificates (PEM), e.g. for a test server. */
  ca?: string;
}): typeof fetch {
  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { family: options.family ?? 0, all: true }, (err, addresses: LookupAddress[]) => {
      const cb = callback as (e: Error | null, a: string | LookupAddress[], f?: number) => void;
      if (err) return cb(err, '', 0);
      const bad = addresses.find((a) => isRefusedAddress(a.address));
      if (!opts.allowPrivate && (bad || addresses.length === 0))
        return cb(
          new RefusedUrlError(`host resolves to a private or reserved address (${bad?.address ?? 'none'})`),
          '',
          0,
        );
      if (options.all) return cb(null, addresses);
      const first = addresses[0]!;
      return cb(null, first.address, first.family);
    });
  };

  // Its own connection pool: a pooled socket was opened through `lookup`, and no other code's
  // sockets (checked differently, or not at all) are ever reused for these requests.
  const agent = new Agent({ keepAlive: true, maxSockets: 50, ...(opts.ca ? { ca: opts.ca } : {}) });

  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:') throw new RefusedUrlError('only https URLs are allowed');
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const body = typeof init?.body === 'string' ? init.body : undefined;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const signal = init?.signal ?? undefined;
    return new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init?.method ?? 'GET',
          headers,
          lookup,
          agent,
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const x of v) h.append(k, x);
            else if (v !== undefined) h.set(k, v);
          }
          const status = res.statusCode ?? 502;
          const noBody = [101, 204, 205, 304].includes(status);
          if (noBody) res.resume();
          resolve(
            new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
              status,
              statusText: res.statusMessage ?? '',
              headers: h,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }) as typeof fetch;
}
