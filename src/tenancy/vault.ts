import { utf8 } from '../lib/crypto.ts';
import { AppError } from '../lib/errors.ts';
import { fromBase64Url, isTenantId, toBase64Url } from '../lib/ids.ts';

/**
 * Secret vault: AES-256-GCM with a key derived per tenant (HKDF-SHA256 from the master key, the
 * tenant id as info) and associated data binding tenant id, purpose and key version. A ciphertext
 * copied into another tenant's row, or used for another purpose, does not open.
 *
 * Format: `v1.<keyVersion>.<iv>.<ciphertext+tag>` (base64url parts). New seals use the newest
 * master key; older versions still open while their key is configured (rotation).
 * Web Crypto only, so the same code runs on Node and on Workers.
 */
export type SecretPurpose =
  | 'slack_access_token'
  | 'slack_refresh_token'
  | 'zendesk_access_token'
  | 'zendesk_refresh_token'
  | 'zendesk_webhook_secret'
  | 'context_api_secret'
  | (string & { readonly __purpose?: never });

export interface MasterKey {
  version: number;
  /** 32 bytes, base64 */
  key: string;
}

export interface Vault {
  seal(tenantId: string, purpose: SecretPurpose, plaintext: string): Promise<string>;
  open(tenantId: string, purpose: SecretPurpose, sealed: string): Promise<string>;
  /** Version of the key a sealed value was written with (for re-sealing after rotation). */
  keyVersionOf(sealed: string): number;
  readonly currentVersion: number;
}

const SALT = utf8('helpdesk-copilot/vault/v1');

/**
 * A sealed value that cannot be opened: unknown format, a key version that is not configured,
 * or it does not decrypt (tampered, or moved from another tenant's row or purpose). Still an
 * `internal` AppError (a 500) for callers that do not handle it; callers that can name the
 * failure to their client (the Zendesk webhook) check for this class.
 */
export class SealedSecretError extends AppError {
  readonly reason: 'format' | 'key_version' | 'does_not_open';
  constructor(reason: SealedSecretError['reason'], message: string, opts: { cause?: unknown } = {}) {
    super('internal', message, opts);
    this.name = 'SealedSecretError';
    this.reason = reason;
  }
}

export function createVault(masterKeys: MasterKey[]): Vault {
  if (masterKeys.length === 0) throw new Error('vault needs at least one master key');
  const byVersion = new Map<number, Promise<CryptoKey>>();
  for (const mk of masterKeys) {
    const raw = Buffer.from(mk.key, 'base64');
    if (raw.length !== 32) throw new Error(`master key version ${mk.version} is not 32 bytes`);
    byVersion.set(mk.version, crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey']));
  }
  const currentVersion = Math.max(...masterKeys.map((k) => k.version));
  const derived = new Map<string, Promise<CryptoKey>>();

  function tenantKey(version: number, tenantId: string): Promise<CryptoKey> {
    const cacheKey = `${version}:${tenantId}`;
    let k = derived.get(cacheKey);
    if (!k) {
      const master = byVersion.get(version);
      if (!master)
        throw new SealedSecretError(
          'key_version',
          `secret was sealed with key version ${version}, which is not configured`,
        );
      k = master.then((m) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: utf8(`tenant:${tenantId}`) },
          m,
          { name: 'AES-GCM', length: 256 },
          false,
          ['encrypt', 'decrypt'],
        ),
      );
      if (derived.size > 10_000) derived.clear();
      derived.set(cacheKey, k);
    }
    return k;
  }

  const aad = (tenantId: string, purpose: string, version: number) =>
    utf8(`${tenantId}|${purpose}|${version}`);

  return {
    currentVersion,
    async seal(tenantId, purpose, plaintext) {
      if (!isTenantId(tenantId)) throw new AppError('internal', 'seal needs a valid tenant id');
      const iv = new Uint8Array(12);
      crypto.getRandomValues(iv);
      const key = await tenantKey(currentVersion, tenantId);
      const ct = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: aad(tenantId, purpose, currentVersion) },
        key,
        utf8(plaintext),
      );
      return `v1.${currentVersion}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`;
    },
    async open(tenantId, purpose, sealed) {
      const parts = sealed.split('.');
      if (parts.length !== 4 || parts[0] !== 'v1' || !/^\d+$/.test(parts[1]!)) {
        throw new SealedSecretError('format', 'sealed secret has an unknown format');
      }
      const version = Number(parts[1]);
      const key = await tenantKey(version, tenantId);
      try {
        const pt = await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: fromBase64Url(parts[2]!), additionalData: aad(tenantId, purpose, version) },
          key,
          fromBase64Url(parts[3]!),
        );
        return new TextDecoder().decode(pt);
      } catch (cause) {
        // Wrong tenant, wrong purpose, tampered bytes or wrong key: all look the same by design.
        throw new SealedSecretError(
          'does_not_open',
          'sealed secret does not open for this tenant and purpose',
          {
            cause,
          },
        );
      }
    },
    keyVersionOf(sealed) {
      const v = Number(sealed.split('.')[1]);
      if (!Number.isInteger(v)) throw new AppError('internal', 'sealed secret has an unknown format');
      return v;
    },
  };
}

/** 32 random bytes, base64: a fresh master key. */
export function generateMasterKey(): string {
  const b = new Uint8Array(32);
  crypto.getRandomValues(b);
  return Buffer.from(b).toString('base64');
}
