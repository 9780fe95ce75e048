import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Signed tenant claims (migration 0006). The application and the database share one 32-byte
 * claim key: the application holds it in memory (derived from ENCRYPTION_KEY), the database in
 * `app_claim_key`, a table no role but the owner can read. withTenant opens its transaction with
 * `app_enter_tenant(tenant, issued, nonce, mac)` where mac = HMAC(key, "enter:tenant:issued:nonce");
 * the function verifies it and sets a claim bound to the backend and the transaction's start,
 * which `app_current_tenant()` (called by every policy) verifies. SQL running as the runtime role
 * can read its own claim but can neither sign one for another tenant nor reuse one in another
 * transaction.
 */

/**
 * The key used when none is configured: tests, benches and the embedded database. It is public
 * (it is in this file), so a database using it gives no protection against injected SQL; the
 * server's start check refuses it on PostgreSQL (src/db/role-check.ts).
 */
export const DEVELOPMENT_CLAIM_KEY: Uint8Array = createHash('sha256')
  .update('helpdesk-copilot development claim key (public: never for production)')
  .digest();

/** The claim key derived from a master key (base64, 32 bytes): HKDF-SHA256, its own label. */
export function deriveClaimKey(masterKeyBase64: string): Uint8Array {
  const ikm = Buffer.from(masterKeyBase64, 'base64');
  return new Uint8Array(hkdfSync('sha256', ikm, 'helpdesk-copilot', 'db-tenant-claim-v1', 32));
}

/** The key's inner and outer HMAC pads (what the database stores). */
export function claimKeyPads(key: Uint8Array): { ikey: Buffer; okey: Buffer } {
  if (key.length !== 32) throw new Error('claim key must be 32 bytes');
  const ikey = Buffer.alloc(64, 0x36);
  const okey = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < key.length; i++) {
    ikey[i] = ikey[i]! ^ key[i]!;
    okey[i] = okey[i]! ^ key[i]!;
  }
  return { ikey, okey };
}

const keys = new WeakMap<object, Uint8Array>();

/** Binds a claim key to a database handle (openDatabase does it). */
export function setClaimKey(db: object, key: Uint8Array): void {
  keys.set(db, key);
}

export function claimKeyOf(db: object): Uint8Array {
  return keys.get(db) ?? DEVELOPMENT_CLAIM_KEY;
}

export function isDevelopmentClaimKey(key: Uint8Array): boolean {
  return Buffer.from(key).equals(Buffer.from(DEVELOPMENT_CLAIM_KEY));
}

export interface EnterClaim {
  issued: number;
  nonce: string;
  mac: string;
}

/** The arguments of `app_enter_tenant` for one transaction (no round trip: computed here). */
export function signEnterClaim(key: Uint8Array, tenantId: string, now = Date.now()): EnterClaim {
  const issued = Math.floor(now / 1000);
  const nonce = randomBytes(12).toString('base64url');
  const mac = createHmac('sha256', key).update(`enter:${tenantId}:${issued}:${nonce}`).digest('hex');
  return { issued, nonce, mac };
}
