import { describe, expect, it } from 'vitest';
import { newId } from '../../src/lib/ids.ts';
import { createVault, generateMasterKey } from '../../src/tenancy/vault.ts';

describe('vault', () => {
  const k1 = generateMasterKey();
  const k2 = generateMasterKey();
  const a = newId('tn');
  const b = newId('tn');

  it('round-trips a secret and never stores the plaintext', async () => {
    const v = createVault([{ version: 1, key: k1 }]);
    const sealed = await v.seal(a, 'slack_access_token', 'xoxe.xoxb-1-secret');
    expect(sealed).toMatch(/^v1\.1\./);
    expect(sealed).not.toContain('secret');
    expect(await v.open(a, 'slack_access_token', sealed)).toBe('xoxe.xoxb-1-secret');
  });

  it('two seals of the same value differ (random IV)', async () => {
    const v = createVault([{ version: 1, key: k1 }]);
    expect(await v.seal(a, 'p', 'x')).not.toBe(await v.seal(a, 'p', 'x'));
  });

  it("a ciphertext copied into another tenant's row does not open", async () => {
    const v = createVault([{ version: 1, key: k1 }]);
    const sealed = await v.seal(a, 'zendesk_refresh_token', 'r1');
    await expect(v.open(b, 'zendesk_refresh_token', sealed)).rejects.toThrow(/does not open/);
  });

  it('a ciphertext used for another purpose does not open', async () => {
    const v = createVault([{ version: 1, key: k1 }]);
    const sealed = await v.seal(a, 'zendesk_refresh_token', 'r1');
    await expect(v.open(a, 'zendesk_access_token', sealed)).rejects.toThrow(/does not open/);
  });

  it('a tampered ciphertext fails', async () => {
    const v = createVault([{ version: 1, key: k1 }]);
    const sealed = await v.seal(a, 'p', 'hello world');
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    parts[3] = ct.toString('base64url');
    await expect(v.open(a, 'p', parts.join('.'))).rejects.toThrow(/does not open/);
    // Claiming another key version is tampering too.
    const relabeled = sealed.replace(/^v1\.1\./, 'v1.2.');
    await expect(createVault([{ version: 2, key: k1 }]).open(a, 'p', relabeled)).rejects.toThrow(
      /does not open/,
    );
  });

  it('rotation: new seals use the newest key, old ciphertexts still open', async () => {
    const old = createVault([{ version: 1, key: k1 }]);
    const sealedOld = await old.seal(a, 'p', 'before');
    const rotated = createVault([
      { version: 2, key: k2 },
      { version: 1, key: k1 },
    ]);
    const sealedNew = await rotated.seal(a, 'p', 'after');
    expect(rotated.keyVersionOf(sealedNew)).toBe(2);
    expect(await rotated.open(a, 'p', sealedOld)).toBe('before');
    expect(await rotated.open(a, 'p', sealedNew)).toBe('after');
    // Once the old key is removed, old ciphertexts are refused with a clear reason.
    await expect(createVault([{ version: 2, key: k2 }]).open(a, 'p', sealedOld)).rejects.toThrow(
      /key version 1/,
    );
  });

  it('the wrong master key does not open', async () => {
    const sealed = await createVault([{ version: 1, key: k1 }]).seal(a, 'p', 'x');
    await expect(createVault([{ version: 1, key: k2 }]).open(a, 'p', sealed)).rejects.toThrow(
      /does not open/,
    );
  });

  it('refuses a malformed tenant id', async () => {
    await expect(createVault([{ version: 1, key: k1 }]).seal('nope', 'p', 'x')).rejects.toThrow(/tenant id/);
  });
});
