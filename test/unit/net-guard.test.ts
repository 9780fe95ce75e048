import { describe, expect, it } from 'vitest';
import { assertPublicHttpsUrl, isRefusedAddress } from '../../src/pipeline/context/net-guard.ts';

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
    '203.0.113.7',
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
});
