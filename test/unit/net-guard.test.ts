import { describe, expect, it } from 'vitest';
import {
  assertContextApiUrlAllowed,
  assertPublicHttpsUrl,
  isRefusedAddress,
} from '../../src/pipeline/context/net-guard.ts';

describe('outbound address policy', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.0.0.5',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.127.255.254',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd12:3456:789a::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '::ffff:169.254.169.254',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::',
    // Documentation, benchmarking, 6to4 relay and IETF blocks (IANA special-purpose registries).
    '192.0.2.10',
    '198.51.100.7',
    '203.0.113.7',
    '192.88.99.1',
    '192.0.0.9',
    '198.19.255.1',
    '::ffff:0:7f00:1', // IPv4-translated ::ffff:0:a.b.c.d
    '::ffff:0:8.8.8.8',
    '::8.8.8.8', // deprecated IPv4-compatible
    '64:ff9b:1::a9fe:a9fe', // local-use NAT64 64:ff9b:1::/48
    '64:ff9b:1::808:808',
    '2001:db8::1',
    '2001:db8:ffff::1',
    '2001::1', // Teredo 2001::/32
    '2001:0:4136:e378:8000:63bf:3fff:fdd2',
    '2001:2::1', // benchmarking
    '2001:10::1', // ORCHID
    '2002:808:808::1', // 6to4, whatever it embeds
    '3fff::1', // documentation 3fff::/20
    '3fff:fff::1',
    '100::1', // discard
    '5f00::1', // SRv6 SIDs, outside 2000::/3
    '4000::1',
    'not-an-ip',
  ])('refuses %s', (ip) => {
    expect(isRefusedAddress(ip)).toBe(true);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808', // well-known NAT64 of a public address
    '2001:4860:4860::8888',
    '2001:200::1', // just past 2001::/23
    '2620:fe::fe',
    '3fff:1000::1', // just past 3fff::/20
    '192.0.3.1',
    '203.0.114.1',
    '198.20.0.1',
  ])('allows %s', (ip) => {
    expect(isRefusedAddress(ip)).toBe(false);
  });

  const publicResolver = async () => ['93.184.216.34'];
  const refuse = (url: string, resolver = publicResolver) =>
    expect(assertPublicHttpsUrl(url, { resolver, allowPrivate: false })).rejects.toThrow();

  it('refuses http, literal private addresses, credentials and names resolving privately', async () => {
    await refuse('http://api.tenant.example/context');
    await refuse('https://127.0.0.1/context');
    await refuse('https://10.1.2.3/context');
    await refuse('https://169.254.169.254/latest/meta-data');
    await refuse('https://[::1]/context');
    await refuse('https://[::ffff:127.0.0.1]/context');
    await refuse('https://0x7f.1/context'); // the URL parser normalizes this to 127.0.0.1
    await refuse('https://localhost/context');
    await refuse('https://user:pw@api.tenant.example/context');
    await refuse('https://internal.tenant.example/context', async () => ['10.0.0.8']);
    // One private answer among public ones is enough to refuse.
    await refuse('https://mixed.tenant.example/context', async () => ['93.184.216.34', 'fd00::5']);
    await refuse('https://nowhere.tenant.example/context', async () => {
      throw new Error('ENOTFOUND');
    });
  });

  it('accepts a public https URL, and private ones only when explicitly allowed', async () => {
    const ok = await assertPublicHttpsUrl('https://api.tenant.example/context', {
      resolver: publicResolver,
      allowPrivate: false,
    });
    expect(ok.hostname).toBe('api.tenant.example');
    const dev = await assertPublicHttpsUrl('https://127.0.0.1:8443/context', {
      resolver: publicResolver,
      allowPrivate: true,
    });
    expect(dev.port).toBe('8443');
    await expect(
      assertPublicHttpsUrl('http://127.0.0.1/context', { resolver: publicResolver, allowPrivate: true }),
    ).rejects.toThrow(/https/);
  });

  describe('when a Context API URL is saved', () => {
    const allowed = (
      url: string,
      opts: Parameters<typeof assertContextApiUrlAllowed>[1] = { allowPrivate: false },
    ) => assertContextApiUrlAllowed(url, opts);

    it.each([
      'http://api.tenant.example/context',
      'https://user:pw@api.tenant.example/context',
      'https://127.0.0.1/context',
      'https://[::1]:8443/context',
      'https://10.0.0.1/context',
      'https://203.0.113.7/context',
      'https://[2001:db8::1]/context',
      'https://[::ffff:0:7f00:1]/context',
      'https://localhost/context',
      'https://localhost:8443/context',
      'https://api.localhost/context',
      'https://metadata.google.internal/computeMetadata',
      'https://printer.local/context',
      'https://intranet/context',
      'not a url',
    ])('refuses %s', async (url) => {
      await expect(allowed(url)).rejects.toThrow();
    });

    it('accepts public names and addresses; a name that does not resolve yet is left to fetch time', async () => {
      expect((await allowed('https://api.tenant.example/context')).hostname).toBe('api.tenant.example');
      await allowed('https://93.184.216.34/context');
      await allowed('https://[2606:4700::1111]/context');
      await allowed('https://api.tenant.example/context', {
        allowPrivate: false,
        resolver: async () => {
          throw new Error('ENOTFOUND');
        },
      });
      await allowed('https://slow.tenant.example/context', {
        allowPrivate: false,
        timeoutMs: 20,
        resolver: () => new Promise(() => {}),
      });
    });

    it('with a resolver, refuses a name resolving to a refused address', async () => {
      await expect(
        allowed('https://inside.tenant.example/context', {
          allowPrivate: false,
          resolver: async () => ['93.184.216.34', '192.168.1.9'],
        }),
      ).rejects.toThrow(/192\.168\.1\.9/);
    });

    it('CONTEXT_API_ALLOW_PRIVATE lets loopback and internal names through, still https only', async () => {
      const dev = { allowPrivate: true };
      expect((await allowed('https://127.0.0.1:8443/context', dev)).port).toBe('8443');
      await allowed('https://localhost/context', dev);
      await expect(allowed('http://127.0.0.1/context', dev)).rejects.toThrow(/https/);
    });
  });
});
